"""Providers, diagnoses, medical records, biometric alerts and AI insights: rules and
actions beyond the generic API tests."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.choices import Role
from clinical import services
from clinical.choices import AlertStatus
from clinical.models import Diagnosis, MedicalRecord, PredictionLog
from core.exceptions import InvalidTransition
from tests.factories import member

from .factories import (
    AIModelFactory,
    BiometricAlertFactory,
    DiagnosisFactory,
    DigitalTwinFactory,
    HealthInsightFactory,
    MedicalRecordFactory,
    PatientFactory,
    PredictionLogFactory,
    ProviderFactory,
    make_npi,
)


@pytest.fixture
def clinician(company):
    return member(company, Role.CLINICIAN, email="clinician-records@a.test")


# Providers -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_provider_needs_a_valid_npi_unique_in_the_company(
    company, other_company, admin_user, api_client_for
):
    ProviderFactory(company=company, npi="1234567893")
    ProviderFactory(company=other_company, npi="1558598797")
    client = api_client_for(admin_user)
    data = {"first_name": "A", "last_name": "B", "credential": "MD", "specialty": "other"}
    response = client.post(
        reverse("api:provider-list"), {**data, "npi": "1234567890"}, format="json"
    )
    assert response.status_code == 400
    assert "check digit" in response.json()["error"]["fields"]["npi"][0]
    response = client.post(
        reverse("api:provider-list"), {**data, "npi": "1234567893"}, format="json"
    )
    assert response.status_code == 400
    assert "already has a provider with this NPI" in str(response.json()["error"]["fields"])
    # Another company's prescriber with the same NPI is no obstacle.
    response = client.post(
        reverse("api:provider-list"), {**data, "npi": "1558598797"}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_verification_is_an_action_with_a_date(company, admin_user, api_client_for):
    provider = ProviderFactory(company=company)
    client = api_client_for(admin_user)
    url = reverse("api:provider-detail", args=[provider.pk])
    client.patch(url, {"is_verified": True}, format="json")
    provider.refresh_from_db()
    assert not provider.is_verified
    response = client.post(reverse("api:provider-verify", args=[provider.pk]))
    assert response.status_code == 200
    assert response.json()["is_verified"]
    assert response.json()["verified_at"]
    response = client.post(reverse("api:provider-unverify", args=[provider.pk]))
    assert response.json()["is_verified"] is False
    assert response.json()["verified_at"] is None


@pytest.mark.django_db
def test_the_database_refuses_verified_without_a_date(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderFactory(company=company, is_verified=True, verified_at=None)


@pytest.mark.django_db
def test_a_licence_state_needs_its_number(company, admin_user, api_client_for):
    response = api_client_for(admin_user).post(
        reverse("api:provider-list"),
        {
            "first_name": "A",
            "last_name": "B",
            "credential": "MD",
            "specialty": "other",
            "npi": make_npi(7),
            "license_state": "oh",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "license_number" in response.json()["error"]["fields"]


# Diagnoses and records -----------------------------------------------------------------


@pytest.mark.django_db
def test_codes_are_stored_without_the_dot_and_shown_with_it(company, clinician, api_client_for):
    patient = PatientFactory(company=company)
    client = api_client_for(clinician)
    response = client.post(
        reverse("api:diagnosis-list"),
        {"patient": str(patient.pk), "code": "g47.33", "description": "OSA"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "G47.33"
    diagnosis = Diagnosis.objects.get()
    assert diagnosis.code == "G4733"
    assert str(diagnosis) == "G47.33"
    # The filter takes either spelling.
    for code in ("G47.33", "G4733"):
        response = client.get(reverse("api:diagnosis-list"), {"code": code})
        assert [row["id"] for row in response.json()["results"]] == [str(diagnosis.pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["G4.733", "47.33", "G47.", "G47.33333", "GG7.33"])
def test_a_malformed_code_is_refused_with_its_reason(company, clinician, api_client_for, code):
    patient = PatientFactory(company=company)
    response = api_client_for(clinician).post(
        reverse("api:diagnosis-list"),
        {"patient": str(patient.pk), "code": code},
        format="json",
    )
    assert response.status_code == 400
    assert "ICD-10-CM" in response.json()["error"]["fields"]["code"][0]


@pytest.mark.django_db
def test_one_active_diagnosis_per_code_and_patient(company, clinician, api_client_for):
    existing = DiagnosisFactory(company=company, code="J44.9")
    assert existing.code == "J449"
    client = api_client_for(clinician)
    data = {"patient": str(existing.patient.pk), "code": "J44.9"}
    response = client.post(reverse("api:diagnosis-list"), data, format="json")
    assert response.status_code == 400
    assert "already has this diagnosis" in str(response.json()["error"]["fields"])
    response = client.post(
        reverse("api:diagnosis-list"), {**data, "is_active": False}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_record_codes_are_validated_normalised_and_shown_dotted(company, clinician, api_client_for):
    patient = PatientFactory(company=company)
    client = api_client_for(clinician)
    data = {"patient": str(patient.pk), "record_type": "visit_note", "visit_date": "2026-01-05"}
    response = client.post(
        reverse("api:medicalrecord-list"),
        {**data, "diagnosis_codes": ["G47.33", "XX", "j44.9"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["diagnosis_codes"][0].startswith("XX:")
    response = client.post(
        reverse("api:medicalrecord-list"),
        {**data, "diagnosis_codes": ["G47.33", "e11.65", "G4733"]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["diagnosis_codes"] == ["G47.33", "E11.65"]
    assert MedicalRecord.objects.get().diagnosis_codes == ["G4733", "E1165"]


@pytest.mark.django_db
def test_records_filter_by_patient_type_and_visit_dates(company, clinician, api_client_for):
    target = MedicalRecordFactory(company=company, visit_date=datetime.date(2026, 1, 10))
    MedicalRecordFactory(
        company=company, patient=target.patient, visit_date=datetime.date(2025, 6, 1)
    )
    MedicalRecordFactory(company=company, visit_date=datetime.date(2026, 1, 10))
    response = api_client_for(clinician).get(
        reverse("api:medicalrecord-list"),
        {
            "patient": target.patient.pk,
            "record_type": "sleep_study",
            "visit_date_after": "2026-01-01",
            "visit_date_before": "2026-01-31",
        },
    )
    assert [row["id"] for row in response.json()["results"]] == [str(target.pk)]
    assert response.json()["results"][0]["results"] == {"ahi": 32.5, "spo2_nadir": 81}


# Biometric alerts ----------------------------------------------------------------------


@pytest.mark.django_db
def test_alerts_are_acknowledged_then_resolved_with_who_and_when(company, clinician):
    alert = BiometricAlertFactory(company=company)
    alert = services.acknowledge_alert(alert, clinician)
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == clinician
    assert alert.acknowledged_at
    with pytest.raises(InvalidTransition):
        services.acknowledge_alert(alert, clinician)
    alert = services.resolve_alert(alert, clinician, note="Replaced the sensor.")
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == clinician
    assert alert.resolution_note == "Replaced the sensor."
    with pytest.raises(InvalidTransition, match="already resolved"):
        services.resolve_alert(alert, clinician)


@pytest.mark.django_db
def test_resolving_an_open_alert_acknowledges_it_too(company, clinician):
    alert = services.resolve_alert(BiometricAlertFactory(company=company), clinician)
    assert alert.acknowledged_by == clinician
    assert alert.acknowledged_at == alert.resolved_at


@pytest.mark.django_db
def test_the_alert_api_actions_and_read_only_status(company, clinician, api_client_for):
    alert = BiometricAlertFactory(company=company)
    client = api_client_for(clinician)
    response = client.patch(
        reverse("api:biometricalert-detail", args=[alert.pk]),
        {"status": "resolved", "acknowledged_by": str(clinician.pk)},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    response = client.post(reverse("api:biometricalert-acknowledge", args=[alert.pk]))
    assert response.json()["status"] == "acknowledged"
    assert response.json()["acknowledged_by"] == str(clinician.pk)
    response = client.post(
        reverse("api:biometricalert-resolve", args=[alert.pk]), {"note": "ok"}, format="json"
    )
    assert response.json()["status"] == "resolved"
    assert response.json()["unit"] == "%"
    response = client.get(reverse("api:biometricalert-list"), {"status": "open"})
    assert response.json()["results"] == []


# AI models, predictions, insights, twins -----------------------------------------------


@pytest.mark.django_db
def test_a_model_version_is_registered_once(company, admin_user, api_client_for):
    AIModelFactory(company=company, name="risk", version="1.0")
    response = api_client_for(admin_user).post(
        reverse("api:aimodel-list"),
        {"name": "risk", "version": "1.0", "kind": "risk"},
        format="json",
    )
    assert response.status_code == 400
    assert "already registered" in str(response.json()["error"]["fields"])


@pytest.mark.django_db
@pytest.mark.parametrize("confidence", ["1.0001", "-0.1", "2"])
def test_confidence_must_be_between_0_and_1(company, admin_user, api_client_for, confidence):
    response = api_client_for(admin_user).post(
        reverse("api:predictionlog-list"),
        {
            "model": str(AIModelFactory(company=company).pk),
            "patient": str(PatientFactory(company=company).pk),
            "prediction": {"x": 1},
            "confidence": confidence,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "confidence" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_database_checks_confidence_too(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        PredictionLogFactory(company=company, confidence=Decimal("1.5"))


@pytest.mark.django_db
def test_predictions_are_append_only_and_cursor_paginated(company, admin_user, api_client_for):
    prediction = PredictionLogFactory(company=company)
    client = api_client_for(admin_user)
    url = reverse("api:predictionlog-detail", args=[prediction.pk])
    assert client.delete(url).status_code == 405
    assert PredictionLog.objects.filter(pk=prediction.pk).exists()
    response = client.get(reverse("api:predictionlog-list"), {"ordering": "confidence"})
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["results"][0]["input_data"] == {"usage_hours_7d": [3.1, 2.8, 4.2]}


@pytest.mark.django_db
def test_an_insight_action_is_recorded_once(company, clinician, api_client_for):
    insight = HealthInsightFactory(company=company)
    client = api_client_for(clinician)
    url = reverse("api:healthinsight-take-action", args=[insight.pk])
    assert url.endswith("/take-action/")
    response = client.post(url, {"action": "Called patient; booked a mask refit."})
    assert response.status_code == 200, response.content
    assert response.json()["action_taken_by"] == str(clinician.pk)
    assert response.json()["action_taken"] == "Called patient; booked a mask refit."
    again = client.post(url, {"action": "Again"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "action_already_taken"
    assert client.post(url, {}).status_code == 400


@pytest.mark.django_db
def test_an_informational_insight_takes_no_action(company, clinician):
    insight = HealthInsightFactory(company=company, is_actionable=False)
    with pytest.raises(InvalidTransition, match="informational"):
        services.record_insight_action(insight, clinician, "Called")


@pytest.mark.django_db
def test_insight_filters_current_and_awaiting_action(company, clinician, api_client_for):
    from django.utils import timezone

    now = timezone.now()
    waiting = HealthInsightFactory(company=company, expires_at=now + datetime.timedelta(days=1))
    HealthInsightFactory(company=company, expires_at=now - datetime.timedelta(days=1))
    done = HealthInsightFactory(company=company)
    services.record_insight_action(done, clinician, "Done")
    client = api_client_for(clinician)
    response = client.get(
        reverse("api:healthinsight-list"), {"current": "true", "awaiting_action": "true"}
    )
    assert [row["id"] for row in response.json()["results"]] == [str(waiting.pk)]
    response = client.get(reverse("api:healthinsight-list"), {"current": "false"})
    assert len(response.json()["results"]) == 1


@pytest.mark.django_db
def test_one_digital_twin_per_patient(company, clinician, api_client_for):
    twin = DigitalTwinFactory(company=company)
    response = api_client_for(clinician).post(
        reverse("api:digitaltwin-list"),
        {"patient": str(twin.patient.pk), "computed_at": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_an_insight_cannot_point_at_another_companys_model(
    company, other_company, clinician, api_client_for
):
    theirs = AIModelFactory(company=other_company)
    response = api_client_for(clinician).post(
        reverse("api:healthinsight-list"),
        {
            "patient": str(PatientFactory(company=company).pk),
            "model": str(theirs.pk),
            "insight_type": "other",
            "title": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "model" in response.json()["error"]["fields"]
