"""Multiple-choice filters keep DISTINCT only where a to-many join can repeat rows: on a
big table, DISTINCT over every column made ?status= pages slow (benchmarks)."""

import django_filters
import pytest
from django.test import RequestFactory

from accounts.choices import Role
from clinical.api.filters import AppointmentFilter
from clinical.choices import PatientStatus
from clinical.models import Appointment, Patient
from core.api.filters import TenantFilterSet, _joins_many
from dme.models import Delivery
from tests.clinical.factories import DiagnosisFactory, PatientFactory
from tests.factories import member


class PatientCodeFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PatientStatus.choices)
    code = django_filters.MultipleChoiceFilter(
        field_name="diagnoses__code", choices=[("G4733", "G47.33"), ("J449", "J44.9")]
    )

    class Meta:
        model = Patient
        fields = []


def filtered(filterset_class, user, queryset, **params):
    request = RequestFactory().get("/", params)
    request.user = user
    return filterset_class(request.GET, queryset=queryset, request=request).qs


def test_it_knows_which_paths_can_repeat_rows():
    assert not _joins_many(Patient, "status")
    assert not _joins_many(Delivery, "order__status")
    assert not _joins_many(Delivery, "order__patient__status")
    assert _joins_many(Patient, "diagnoses__code")
    assert not _joins_many(Patient, "status__iexact")
    assert _joins_many(Patient, "no_such_relation__status")


@pytest.mark.django_db
def test_a_filter_on_the_rows_own_column_adds_no_distinct(company):
    user = member(company, Role.INTAKE)
    PatientFactory.create_batch(2, company=company)
    patients = filtered(
        PatientCodeFilter, user, Patient.objects.for_user(user), status=["active", "inactive"]
    )
    assert not patients.query.distinct
    assert patients.count() == 2
    appointments = filtered(
        AppointmentFilter, user, Appointment.objects.for_user(user), status="scheduled"
    )
    assert not appointments.query.distinct


@pytest.mark.django_db
def test_a_filter_through_a_to_many_relation_keeps_distinct(company):
    user = member(company, Role.INTAKE)
    patient = PatientFactory(company=company)
    DiagnosisFactory(company=company, patient=patient, code="G4733")
    DiagnosisFactory(company=company, patient=patient, code="J449")
    patients = filtered(
        PatientCodeFilter, user, Patient.objects.for_user(user), code=["G4733", "J449"]
    )
    assert patients.query.distinct
    assert list(patients) == [patient]
