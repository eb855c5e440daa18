"""Every clinical endpoint through the generic API tests (CRUD, roles, tenancy, access
log), with the list query count checked from 1 to 50 rows."""

import datetime

from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from clinical.choices import AppointmentKind, Credential, Metric, RecordType, Specialty
from tests.api_base import TenantAPITests
from tests.factories import LocationFactory

from .factories import (
    AIModelFactory,
    AppointmentFactory,
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


class ClinicalAPITests(TenantAPITests):
    # "List endpoints ... run a constant number of queries from 1 to 50 rows."
    rows_for_query_check = 50


class TestPatientAPI(ClinicalAPITests):
    basename = "patient"
    factory = PatientFactory
    write_role = Role.INTAKE

    def create_data(self, company):
        return {
            "first_name": "Rosa",
            "last_name": "Delgado",
            "dob": "1948-07-19",
            "sex": "F",
            "phone": "(614) 555-0188",
            "home_location": str(LocationFactory(company=company).pk),
            "primary_prescriber": str(ProviderFactory(company=company).pk),
        }

    def update_data(self, obj):
        return {"notes": "Hard of hearing: speak slowly.", "status": "inactive"}


class TestProviderAPI(ClinicalAPITests):
    basename = "provider"
    factory = ProviderFactory
    write_role = Role.INTAKE

    def create_data(self, company):
        return {
            "first_name": "Imani",
            "last_name": "Brooks",
            "npi": make_npi(424242),
            "credential": Credential.DO,
            "specialty": Specialty.PULMONOLOGY,
            "license_number": "34.009876",
            "license_state": "oh",
            "fax": "(614) 555-0111",
        }

    def update_data(self, obj):
        return {"fax": "(614) 555-0112"}


class TestAppointmentAPI(ClinicalAPITests):
    basename = "appointment"
    factory = AppointmentFactory
    write_role = Role.INTAKE

    def create_data(self, company):
        start = timezone.now() + datetime.timedelta(days=30)
        return {
            "patient": str(PatientFactory(company=company).pk),
            "provider": str(ProviderFactory(company=company).pk),
            "location": str(LocationFactory(company=company).pk),
            "kind": AppointmentKind.FITTING,
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(minutes=45)).isoformat(),
        }

    def update_data(self, obj):
        return {"notes": "Patient asked for a nasal pillow trial."}


class TestMedicalRecordAPI(ClinicalAPITests):
    basename = "medicalrecord"
    factory = MedicalRecordFactory
    write_role = Role.CLINICIAN

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "record_type": RecordType.OXIMETRY,
            "visit_date": "2026-02-03",
            "diagnosis_codes": ["J44.9", "g47.33"],
            "results": {"spo2_mean": 89.5, "minutes_below_88": 41},
        }

    def update_data(self, obj):
        return {"treatment": "Home oxygen 2 L/min at night."}


class TestDiagnosisAPI(ClinicalAPITests):
    basename = "diagnosis"
    factory = DiagnosisFactory
    write_role = Role.INTAKE

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "code": "E11.65",
            "description": "Type 2 diabetes with hyperglycemia",
        }

    def update_data(self, obj):
        return {"is_active": False}


class TestBiometricAlertAPI(ClinicalAPITests):
    basename = "biometricalert"
    factory = BiometricAlertFactory
    write_role = Role.CLINICIAN

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "metric": Metric.CPAP_USAGE_HOURS,
            "value": "2.40",
            "threshold": "4.00",
            "severity": "medium",
            "observed_at": timezone.now().isoformat(),
            "source": "cpap-cloud",
        }

    def update_data(self, obj):
        return {"severity": "critical"}


class TestAIModelAPI(ClinicalAPITests):
    basename = "aimodel"
    factory = AIModelFactory

    def create_data(self, company):
        return {"name": "resupply-forecaster", "version": "2.1", "kind": "resupply"}

    def update_data(self, obj):
        return {"accuracy": "0.9350"}


class TestPredictionLogAPI(ClinicalAPITests):
    basename = "predictionlog"
    factory = PredictionLogFactory
    deletable = False

    def create_data(self, company):
        return {
            "model": str(AIModelFactory(company=company).pk),
            "patient": str(PatientFactory(company=company).pk),
            "input_data": {"usage_hours_7d": [5.0, 6.1]},
            "prediction": {"non_adherence_risk": "low"},
            "confidence": "0.9400",
            "processing_ms": 18,
        }

    def update_data(self, obj):
        return {"confidence": "0.1000"}

    def test_it_updates(self, company, writer, api_client_for):
        # Append-only: a prediction is never changed.
        obj = self.make(company)
        client = api_client_for(writer)
        assert client.patch(self.detail_url(obj), self.update_data(obj)).status_code == 405
        assert client.put(self.detail_url(obj), self.create_data(company)).status_code == 405
        obj.refresh_from_db()
        assert str(obj.confidence) == "0.8700"


class TestHealthInsightAPI(ClinicalAPITests):
    basename = "healthinsight"
    factory = HealthInsightFactory
    write_role = Role.CLINICIAN

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "insight_type": "resupply_need",
            "title": "Mask cushion due",
            "data": {"days_since_last": 95},
            "confidence": "0.7000",
            "expires_at": (timezone.now() + datetime.timedelta(days=14)).isoformat(),
            "is_actionable": True,
        }

    def update_data(self, obj):
        return {"description": "Confirmed with the device cloud."}


class TestDigitalTwinAPI(ClinicalAPITests):
    basename = "digitaltwin"
    factory = DigitalTwinFactory
    write_role = Role.CLINICIAN

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "symptom_forecast": {"fatigue": [3, 2, 2, 1]},
            "computed_at": timezone.now().isoformat(),
        }

    def update_data(self, obj):
        return {"medication_responses": {"metformin": "stable"}}


def test_every_clinical_endpoint_is_under_api_v1():
    names = {
        "patient": "/api/v1/patients/",
        "provider": "/api/v1/providers/",
        "appointment": "/api/v1/appointments/",
        "medicalrecord": "/api/v1/medical-records/",
        "diagnosis": "/api/v1/diagnoses/",
        "biometricalert": "/api/v1/biometric-alerts/",
        "aimodel": "/api/v1/ai-models/",
        "predictionlog": "/api/v1/predictions/",
        "healthinsight": "/api/v1/health-insights/",
        "digitaltwin": "/api/v1/digital-twins/",
    }
    for basename, path in names.items():
        assert reverse(f"api:{basename}-list") == path
