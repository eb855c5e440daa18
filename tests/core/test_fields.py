"""The one HCPCS model field (``core.fields.HCPCSCodeField``), used by the catalogue
and by claim lines, and the API/form fields beside it."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.exceptions import ValidationError as APIValidationError

from clinical.fields import ICD10CodeField
from core.api.fields import HCPCSCodeField as HCPCSSerializerField
from core.fields import HCPCSCodeField, HCPCSFormField, NormalizedCodeField
from dme.models import Equipment
from hme.models import ClaimLine
from tests.dme.factories import EquipmentFactory
from tests.hme.factories import ClaimFactory


def test_the_catalogue_and_claim_lines_share_one_hcpcs_field():
    for model, name in ((Equipment, "hcpcs_code"), (ClaimLine, "hcpcs")):
        field = model._meta.get_field(name)
        assert type(field) is HCPCSCodeField
        assert field.max_length == 5
    assert issubclass(ICD10CodeField, NormalizedCodeField)


def test_it_normalises_then_validates():
    field = HCPCSCodeField()
    assert field.clean(" e0601 ", None) == "E0601"
    with pytest.raises(ValidationError) as refused:
        field.clean("E06O1", None)
    assert refused.value.error_list[0].code == "invalid_hcpcs"


def test_its_migration_keeps_only_what_differs_from_the_defaults():
    _, path, _, kwargs = HCPCSCodeField("HCPCS").deconstruct()
    assert path == "core.fields.HCPCSCodeField"
    assert kwargs == {"verbose_name": "HCPCS"}


@pytest.mark.django_db
def test_equipment_saved_in_lower_case_is_stored_and_found_upper_case(company):
    equipment = EquipmentFactory(company=company, hcpcs_code=" a7030")
    equipment.refresh_from_db()
    assert equipment.hcpcs_code == "A7030"
    assert list(Equipment.objects.filter(hcpcs_code="a7030")) == [equipment]


@pytest.mark.django_db
def test_a_claim_lines_code_is_found_whatever_its_case(company):
    claim = ClaimFactory(company=company)
    assert list(ClaimLine.objects.filter(claim=claim, hcpcs="e0601")) == [claim.lines.get()]


def test_the_form_field_reads_lower_case():
    field = HCPCSFormField(required=False)
    assert field.clean(" k0001 ") == "K0001"
    assert field.clean("") == ""
    assert isinstance(HCPCSCodeField().formfield(), HCPCSFormField)


def test_the_serializer_field_normalises_and_validates():
    field = HCPCSSerializerField()
    assert field.run_validation("e0601") == "E0601"
    with pytest.raises(APIValidationError):
        field.run_validation("E060")
