"""seed_demo: realistic, valid, and idempotent clinical demo data."""

import pytest
from django.core.management import call_command

from clinical.choices import AppointmentStatus, PatientStatus
from clinical.models import (
    AIModel,
    Appointment,
    BiometricAlert,
    Diagnosis,
    DigitalTwin,
    HealthInsight,
    MedicalRecord,
    Patient,
    PredictionLog,
    Provider,
)
from core.validators import validate_icd10, validate_npi

MODELS = [
    Provider,
    Patient,
    Appointment,
    MedicalRecord,
    Diagnosis,
    BiometricAlert,
    AIModel,
    PredictionLog,
    HealthInsight,
    DigitalTwin,
]


@pytest.mark.django_db
def test_it_seeds_clinical_data_once(capsys):
    call_command("seed_demo", allow_production=True)
    counts = {model: model.objects.count() for model in MODELS}
    first_output = capsys.readouterr().out
    call_command("seed_demo", allow_production=True)
    assert {model: model.objects.count() for model in MODELS} == counts
    assert "25 patients" in first_output
    assert "6 prescribers" in first_output

    assert counts[Patient] == 25
    assert counts[Provider] == 6
    for provider in Provider.objects.all():
        validate_npi(provider.npi)
        assert provider.is_verified
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert statuses == set(AppointmentStatus.values)
    codes = set(Diagnosis.objects.values_list("code", flat=True))
    assert {"G4733", "J449", "E1165"} <= codes
    for code in codes:
        validate_icd10(code)
    for record in MedicalRecord.objects.all():
        assert record.diagnosis_codes
    assert Patient.objects.filter(status=PatientStatus.DECEASED).count() == 1
    assert not Appointment.objects.filter(patient__status=PatientStatus.DECEASED).exists()
    assert BiometricAlert.objects.filter(status="open").exists()
    assert counts[HealthInsight]
    assert counts[PredictionLog]
    assert counts[DigitalTwin]
    numbers = list(Patient.objects.order_by("number").values_list("number", flat=True))
    assert numbers[0] == "P-000001"
    assert numbers[-1] == "P-000025"
