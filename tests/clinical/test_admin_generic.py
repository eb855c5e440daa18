"""Every clinical ModelAdmin through the generic admin tests (changelist, change and
add pages per role, another company's record a 404, constant changelist queries)."""

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
from tests.admin_base import TenantAdminTests

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
)


class TestPatientAdmin(TenantAdminTests):
    model = Patient
    factory = PatientFactory


class TestProviderAdmin(TenantAdminTests):
    model = Provider
    factory = ProviderFactory


class TestAppointmentAdmin(TenantAdminTests):
    model = Appointment
    factory = AppointmentFactory


class TestMedicalRecordAdmin(TenantAdminTests):
    model = MedicalRecord
    factory = MedicalRecordFactory


class TestDiagnosisAdmin(TenantAdminTests):
    model = Diagnosis
    factory = DiagnosisFactory


class TestBiometricAlertAdmin(TenantAdminTests):
    model = BiometricAlert
    factory = BiometricAlertFactory


class TestAIModelAdmin(TenantAdminTests):
    model = AIModel
    factory = AIModelFactory


class TestPredictionLogAdmin(TenantAdminTests):
    model = PredictionLog
    factory = PredictionLogFactory
    change_roles = add_roles = ()  # a trail: written by the API only


class TestHealthInsightAdmin(TenantAdminTests):
    model = HealthInsight
    factory = HealthInsightFactory


class TestDigitalTwinAdmin(TenantAdminTests):
    model = DigitalTwin
    factory = DigitalTwinFactory
