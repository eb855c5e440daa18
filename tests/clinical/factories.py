"""factory_boy factories for the clinical models. Every value is made up."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from clinical.choices import (
    AIModelKind,
    AppointmentKind,
    Credential,
    InsightType,
    Metric,
    RecordType,
    Severity,
    Sex,
    Specialty,
)
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
from core.validators import npi_check_digit
from tests.factories import CompanyFactory, LocationFactory


def make_npi(n):
    """A valid individual NPI (starts with 1) from a sequence number."""
    first_nine = f"1{n % 100_000_000:08d}"
    return f"{first_nine}{npi_check_digit(first_nine)}"


class ProviderFactory(DjangoModelFactory):
    class Meta:
        model = Provider

    company = factory.SubFactory(CompanyFactory)
    first_name = "Avery"
    last_name = factory.Sequence(lambda n: f"Okafor{n}")
    npi = factory.Sequence(make_npi)
    credential = Credential.MD
    specialty = Specialty.SLEEP_MEDICINE
    license_number = "35.123456"
    license_state = "OH"


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    company = factory.SubFactory(CompanyFactory)
    first_name = "Jordan"
    last_name = factory.Sequence(lambda n: f"Testpatient{n}")
    dob = datetime.date(1950, 1, 2)
    sex = Sex.FEMALE
    phone = "(614) 555-0134"
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    address_line1 = "742 Evergreen Terrace"
    city = "Columbus"
    state = "OH"
    postal_code = "43215"
    notes = "Prefers morning calls."


def _slot(n):
    # One-hour slots an hour apart: factory appointments never overlap one another.
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(
        days=1, hours=2 * n
    )
    return start


class AppointmentFactory(DjangoModelFactory):
    class Meta:
        model = Appointment

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    provider = factory.SubFactory(ProviderFactory, company=factory.SelfAttribute("..company"))
    location = factory.SubFactory(LocationFactory, company=factory.SelfAttribute("..company"))
    kind = AppointmentKind.SETUP
    starts_at = factory.Sequence(_slot)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    notes = "Bring the full face mask in size M."


class MedicalRecordFactory(DjangoModelFactory):
    class Meta:
        model = MedicalRecord

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    provider = factory.SubFactory(ProviderFactory, company=factory.SelfAttribute("..company"))
    record_type = RecordType.SLEEP_STUDY
    visit_date = datetime.date(2026, 1, 15)
    diagnosis_codes = ["G4733"]
    symptoms = "Loud snoring, daytime sleepiness (ESS 14)."
    treatment = "CPAP 5-15 cm H2O auto."
    results = {"ahi": 32.5, "spo2_nadir": 81}


class DiagnosisFactory(DjangoModelFactory):
    class Meta:
        model = Diagnosis

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    code = "G4733"
    description = "Obstructive sleep apnea (adult)"
    onset_date = datetime.date(2025, 11, 3)


class BiometricAlertFactory(DjangoModelFactory):
    class Meta:
        model = BiometricAlert

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    metric = Metric.SPO2
    value = Decimal("86.00")
    threshold = Decimal("88.00")
    severity = Severity.HIGH
    observed_at = factory.LazyFunction(timezone.now)
    source = "oximeter-gateway"


class AIModelFactory(DjangoModelFactory):
    class Meta:
        model = AIModel

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"adherence-model-{n}")
    version = "1.0.0"
    kind = AIModelKind.ADHERENCE
    accuracy = Decimal("0.9100")


class PredictionLogFactory(DjangoModelFactory):
    class Meta:
        model = PredictionLog

    company = factory.SubFactory(CompanyFactory)
    model = factory.SubFactory(AIModelFactory, company=factory.SelfAttribute("..company"))
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    input_data = {"usage_hours_7d": [3.1, 2.8, 4.2]}
    prediction = {"non_adherence_risk": "high"}
    confidence = Decimal("0.8700")
    processing_ms = 42


class HealthInsightFactory(DjangoModelFactory):
    class Meta:
        model = HealthInsight

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    insight_type = InsightType.ADHERENCE_RISK
    title = "CPAP use below 4 h on 5 of 7 nights"
    description = "Usage fell after the mask change on day 3."
    data = {"nights_below_4h": 5}
    confidence = Decimal("0.8000")
    is_actionable = True


class DigitalTwinFactory(DjangoModelFactory):
    class Meta:
        model = DigitalTwin

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    symptom_forecast = {"daytime_sleepiness": "improving"}
    biometric_correlations = {"spo2_vs_usage": 0.62}
    medication_responses = {}
    computed_at = factory.LazyFunction(timezone.now)


def analyzed_name_table(company, count=2000):
    """``count`` patients under 200 names (``Balan``, ``Demran``...) in one INSERT, then
    ``ANALYZE``d: fresh statistics, as a real company's table has them, so a plan test
    sees what the planner picks at scale rather than the seq scan of a handful of rows."""
    from django.db import connection

    names = [f"{a}{b}{c}an" for a in "ABCDEFGHIJ" for b in "aeiou" for c in "lmnr"]
    Patient.objects.bulk_create(
        Patient(
            company=company,
            number=f"P-9{index:05d}",
            first_name=names[(index * 7) % len(names)],
            last_name=names[index % len(names)],
            dob=datetime.date(1950, 1, 1),
        )
        for index in range(count)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE clinical_patient")
