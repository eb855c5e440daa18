"""Search the way clerks type: equipment by any word, code or synonym; misspelt patient
names on PostgreSQL; a coverage picker that tells policies apart and lists only the
chosen patient's."""

import datetime
import json

import pytest
from django.db import connection
from django.urls import reverse

from accounts.choices import Role
from dme.admin.catalogue import equipment_search
from dme.models import Equipment
from tests.clinical.factories import PatientFactory
from tests.dme.factories import EquipmentFactory
from tests.hme.factories import CoverageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(company):
    return {
        "cpap": EquipmentFactory(
            company=company, name="AirSense 11 AutoSet", hcpcs_code="E0601", description=""
        ),
        "mask": EquipmentFactory(
            company=company,
            name="AirFit F20",
            hcpcs_code="A7030",
            description="Full face mask, medium cushion",
        ),
        "chair": EquipmentFactory(
            company=company, name="Drive Cruiser", hcpcs_code="K0001", synonyms="chair, wc"
        ),
    }


def found(company, term):
    return set(equipment_search(Equipment.objects.filter(company=company), term))


def test_it_finds_equipment_the_way_clerks_type(company, catalogue):
    assert found(company, "cpap") == {catalogue["cpap"]}
    assert found(company, "CPAP") == {catalogue["cpap"]}
    assert found(company, "full face mask") == {catalogue["mask"]}
    assert found(company, "mask") == {catalogue["mask"]}
    assert found(company, "e0601") == {catalogue["cpap"]}
    assert found(company, "chair") == {catalogue["chair"]}  # its synonyms
    assert found(company, "airfit medium") == {catalogue["mask"]}  # every word
    assert found(company, "airfit cpap") == {catalogue["cpap"]}  # or the phrase's code
    assert found(company, "nothing like it") == set()


def test_the_equipment_list_and_picker_search_so(client, admin_user, company, catalogue):
    client.force_login(admin_user)
    response = client.get(reverse("admin:dme_equipment_changelist"), {"q": "cpap"})
    assert list(response.context["cl"].result_list) == [catalogue["cpap"]]
    picker = client.get(
        reverse("admin:autocomplete"),
        {
            "term": "full face mask",
            "app_label": "dme",
            "model_name": "orderline",
            "field_name": "equipment",
        },
    )
    assert [r["id"] for r in json.loads(picker.content)["results"]] == [str(catalogue["mask"].pk)]


def test_another_companys_equipment_is_never_found(client, outsider, company, catalogue):
    client.force_login(outsider)
    response = client.get(reverse("admin:dme_equipment_changelist"), {"q": "cpap"})
    assert list(response.context["cl"].result_list) == []


def test_a_misspelt_name_finds_the_patient_on_postgresql(client, admin_user, company):
    patient = PatientFactory(company=company, last_name="Johnson", first_name="Mary")
    PatientFactory(company=company, last_name="Smith", first_name="Ann")
    client.force_login(admin_user)
    response = client.get(reverse("admin:clinical_patient_changelist"), {"q": "Jonson"})
    results = list(response.context["cl"].result_list)
    if connection.vendor == "postgresql":
        assert results == [patient]
    else:
        assert results == []  # SQLite: prefixes only
    exact = client.get(reverse("admin:clinical_patient_changelist"), {"q": "Johns"})
    assert list(exact.context["cl"].result_list) == [patient]


def coverage_picker(client, **params):
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "", "app_label": "hme", "model_name": "claim", "field_name": "coverage", **params},
    )
    assert response.status_code == 200
    return json.loads(response.content)["results"]


def test_the_coverage_picker_tells_policies_apart_for_the_chosen_patient(client, personas, company):
    mine = CoverageFactory(company=company, effective_date=datetime.date(2026, 1, 1))
    CoverageFactory(company=company)  # another patient's
    client.force_login(personas[Role.BILLING])
    results = coverage_picker(client, patient=str(mine.patient_id))
    assert [r["id"] for r in results] == [str(mine.pk)]
    text = results[0]["text"]
    assert mine.payer.name in text
    assert mine.member_id[-4:] in text
    assert mine.member_id not in text
    assert "01/01/2026-open" in text or "01/01/2026-" in text
    assert len(coverage_picker(client)) == 2  # no patient chosen yet: all of them
    assert coverage_picker(client, patient="not-a-uuid") == []


def test_the_coverage_picker_never_lists_another_companys(client, outsider, company):
    coverage = CoverageFactory(company=company)
    client.force_login(outsider)
    assert coverage_picker(client, patient=str(coverage.patient_id)) == []
