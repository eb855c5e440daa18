"""Clinical demo data: prescribers, patients, appointments, records, alerts, insights.

Every person here is invented: names from common name lists, phone numbers in the
555-01xx range reserved for fiction, e-mail addresses under example.test. NPIs are
well-formed (check digit computed) but made up. Running it again creates nothing twice.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from core.validators import npi_check_digit

from . import services
from .choices import (
    AIModelKind,
    AppointmentKind,
    AppointmentStatus,
    Credential,
    InsightType,
    Metric,
    PatientStatus,
    RecordType,
    Severity,
    Sex,
    Specialty,
)
from .models import (
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

# first name, last name, credential, specialty, first nine digits of the NPI
PROVIDERS = [
    ("Helena", "Marsh", Credential.MD, Specialty.SLEEP_MEDICINE, "104729384"),
    ("Samuel", "Okonkwo", Credential.DO, Specialty.PULMONOLOGY, "119283746"),
    ("Priya", "Raman", Credential.MD, Specialty.FAMILY_MEDICINE, "128374659"),
    ("Daniel", "Whitfield", Credential.NP, Specialty.INTERNAL_MEDICINE, "137465928"),
    ("Grace", "Lindqvist", Credential.MD, Specialty.ENDOCRINOLOGY, "146372819"),
    ("Marcus", "Bell", Credential.RRT, Specialty.RESPIRATORY_THERAPY, "155463728"),
]

# first, last, date of birth, sex, city, ZIP, diagnoses (ICD-10-CM, description)
OSA = ("G47.33", "Obstructive sleep apnea (adult)")
COPD = ("J44.9", "Chronic obstructive pulmonary disease, unspecified")
T2DM = ("E11.65", "Type 2 diabetes mellitus with hyperglycemia")
RESP_FAILURE = ("J96.11", "Chronic respiratory failure with hypoxia")
HEART_FAILURE = ("I50.9", "Heart failure, unspecified")
OBESITY = ("E66.01", "Morbid (severe) obesity due to excess calories")
KNEE_OA = ("M17.11", "Unilateral primary osteoarthritis, right knee")
PATIENTS = [
    ("Margaret", "Alvarez", "1946-03-14", Sex.FEMALE, "Columbus", "43215", [OSA, T2DM]),
    ("Robert", "Chen", "1952-11-02", Sex.MALE, "Dublin", "43017", [COPD, RESP_FAILURE]),
    ("Linda", "Okafor", "1958-06-21", Sex.FEMALE, "Westerville", "43081", [OSA, OBESITY]),
    ("James", "Kowalski", "1949-01-30", Sex.MALE, "Grove City", "43123", [COPD]),
    ("Patricia", "Nguyen", "1961-09-08", Sex.FEMALE, "Hilliard", "43026", [OSA]),
    ("Michael", "Brennan", "1944-12-17", Sex.MALE, "Columbus", "43206", [HEART_FAILURE]),
    ("Barbara", "Haddad", "1955-04-25", Sex.FEMALE, "Reynoldsburg", "43068", [T2DM]),
    ("William", "Osei", "1950-07-11", Sex.MALE, "Gahanna", "43230", [OSA, HEART_FAILURE]),
    ("Elizabeth", "Duarte", "1963-02-03", Sex.FEMALE, "Upper Arlington", "43221", [OSA]),
    ("David", "Fischer", "1947-10-19", Sex.MALE, "Worthington", "43085", [COPD, T2DM]),
    ("Susan", "Mbeki", "1959-05-28", Sex.FEMALE, "Pickerington", "43147", [KNEE_OA]),
    ("Richard", "Yamamoto", "1953-08-06", Sex.MALE, "Powell", "43065", [OSA, OBESITY]),
    ("Jennifer", "Castellano", "1966-12-12", Sex.FEMALE, "Delaware", "43015", [OSA]),
    ("Thomas", "Lindgren", "1941-06-09", Sex.MALE, "Columbus", "43214", [RESP_FAILURE]),
    ("Karen", "Abernathy", "1957-03-22", Sex.FEMALE, "Canal Winchester", "43110", [T2DM]),
    ("Charles", "Petrov", "1948-09-15", Sex.MALE, "Lancaster", "43130", [COPD]),
    ("Nancy", "Oyelaran", "1962-01-27", Sex.FEMALE, "Marysville", "43040", [OSA]),
    ("Joseph", "Gallagher", "1945-11-04", Sex.MALE, "Newark", "43055", [HEART_FAILURE, T2DM]),
    ("Sandra", "Iwasaki", "1960-10-10", Sex.FEMALE, "Lewis Center", "43035", [OSA]),
    ("Kenneth", "Morales", "1951-05-05", Sex.MALE, "Circleville", "43113", [COPD, OSA]),
    ("Donna", "Fitzgerald", "1954-07-29", Sex.FEMALE, "Columbus", "43209", [KNEE_OA]),
    ("Steven", "Adebayo", "1964-04-16", Sex.MALE, "Galloway", "43119", [OSA, T2DM]),
    ("Carol", "Nakamura", "1943-08-23", Sex.FEMALE, "Bexley", "43209", [RESP_FAILURE]),
    ("Paul", "Sorensen", "1956-02-14", Sex.MALE, "Sunbury", "43074", [OSA]),
    ("Ruth", "Achebe", "1939-12-01", Sex.FEMALE, "Columbus", "43220", [HEART_FAILURE]),
]
DECEASED = {"Ruth Achebe"}
INACTIVE = {"Carol Nakamura"}

STREETS = ["Maple Ave", "High St", "Oak Ridge Dr", "Cleveland Ave", "Riverside Dr"]

# What a patient's first record is, by their first diagnosis.
FIRST_RECORD = {
    OSA[0]: (RecordType.SLEEP_STUDY, {"ahi": 31.4, "spo2_nadir": 82, "study": "home (HSAT)"}),
    COPD[0]: (RecordType.OXIMETRY, {"spo2_mean": 87.9, "minutes_below_88": 64}),
    RESP_FAILURE[0]: (RecordType.OXIMETRY, {"spo2_mean": 86.1, "minutes_below_88": 122}),
    T2DM[0]: (RecordType.LAB_RESULT, {"hba1c_percent": 8.9, "glucose_mg_dl": 212}),
    HEART_FAILURE[0]: (RecordType.VISIT_NOTE, {"nyha_class": "III", "ef_percent": 35}),
    OBESITY[0]: (RecordType.VISIT_NOTE, {"bmi": 41.2}),
    KNEE_OA[0]: (RecordType.IMAGING, {"kellgren_lawrence_grade": 3}),
}

# (past status, upcoming status) cycled through the patients: every status appears.
APPOINTMENT_STATUSES = [
    (AppointmentStatus.COMPLETED, AppointmentStatus.SCHEDULED),
    (AppointmentStatus.COMPLETED, AppointmentStatus.CONFIRMED),
    (AppointmentStatus.NO_SHOW, AppointmentStatus.SCHEDULED),
    (AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED),
    (AppointmentStatus.CANCELLED, AppointmentStatus.CONFIRMED),
]
APPOINTMENT_KINDS = [
    AppointmentKind.SETUP,
    AppointmentKind.FOLLOW_UP,
    AppointmentKind.FITTING,
    AppointmentKind.RESPIRATORY_THERAPY,
    AppointmentKind.TELEHEALTH,
]


def _count(context, label, number):
    # Only what was created: a second run reports nothing new.
    if number:
        context.count(label, number)


def seed(context):
    company = context.company
    providers = seed_providers(context)
    patients = seed_patients(context, providers)
    seed_clinical_history(context, patients, providers)
    seed_alerts(context, patients)
    seed_insights(context, patients)
    return company


def demo_patients(company):
    """The demo's own patients, in ``PATIENTS`` order, found as ``seed_patients`` finds
    them (name and date of birth): other demo parts work on these only, never on the
    company's other patients (``seed_demo --scale`` adds thousands)."""
    patients = []
    for first, last, dob, *_ in PATIENTS:
        patient = (
            Patient.objects.filter(company=company, first_name=first, last_name=last)
            .filter_blind("dob", dob)
            .order_by("number")
            .first()
        )
        if patient is not None:
            patients.append(patient)
    return patients


def seed_providers(context):
    providers = []
    created = 0
    for first, last, credential, specialty, first_nine in PROVIDERS:
        npi = f"{first_nine}{npi_check_digit(first_nine)}"
        provider, was_created = Provider.objects.get_or_create(
            company=context.company,
            npi=npi,
            defaults={
                "first_name": first,
                "last_name": last,
                "credential": credential,
                "specialty": specialty,
                "license_number": f"35.{first_nine[-6:]}",
                "license_state": "OH",
                "phone": f"(614) 555-01{len(providers) + 40:02d}",
                "fax": f"(614) 555-01{len(providers) + 60:02d}",
            },
        )
        if was_created:
            services.verify_provider(provider)
            created += 1
        providers.append(provider)
    _count(context, "prescribers", created)
    return providers


def seed_patients(context, providers):
    patients = []
    created = 0
    for index, (first, last, dob, sex, city, postal_code, _) in enumerate(PATIENTS):
        patient = (
            Patient.objects.filter(company=context.company, first_name=first, last_name=last)
            .filter_blind("dob", dob)
            .first()
        )
        if patient is None:
            name = f"{first} {last}"
            status = PatientStatus.ACTIVE
            if name in DECEASED:
                status = PatientStatus.DECEASED
            elif name in INACTIVE:
                status = PatientStatus.INACTIVE
            patient = services.register_patient(
                Patient(
                    company=context.company,
                    first_name=first,
                    last_name=last,
                    dob=datetime.date.fromisoformat(dob),
                    sex=sex,
                    phone=f"(614) 555-01{index:02d}",
                    email=f"{first.lower()}.{last.lower()}@example.test",
                    address_line1=f"{100 + 37 * index} {STREETS[index % len(STREETS)]}",
                    city=city,
                    state="OH",
                    postal_code=postal_code,
                    emergency_contact_name=f"Alex {last}",
                    emergency_contact_phone=f"(614) 555-01{index + 50:02d}",
                    emergency_contact_relationship="Child",
                    home_location=context.locations[0],
                    primary_prescriber=providers[index % len(providers)],
                    status=status,
                    notes="Demo patient: invented data.",
                )
            )
            created += 1
        patients.append(patient)
    _count(context, "patients", created)
    return patients


def _at(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def seed_clinical_history(context, patients, providers):
    """Diagnoses, a first record, and a past and an upcoming appointment per patient
    that has none yet."""
    today = timezone.localdate()
    location = context.locations[0]
    counts = {"diagnoses": 0, "medical records": 0, "appointments": 0}
    for index, patient in enumerate(patients):
        diagnoses = PATIENTS[index][6]
        provider = providers[index % len(providers)]
        if not Diagnosis.objects.filter(patient=patient).exists():
            for code, description in diagnoses:
                Diagnosis.objects.create(
                    company=context.company,
                    patient=patient,
                    code=code,
                    description=description,
                    onset_date=today - datetime.timedelta(days=400 + 11 * index),
                )
                counts["diagnoses"] += 1
        if not MedicalRecord.objects.filter(patient=patient).exists():
            record_type, results = FIRST_RECORD[diagnoses[0][0]]
            MedicalRecord.objects.create(
                company=context.company,
                patient=patient,
                provider=provider,
                record_type=record_type,
                visit_date=today - datetime.timedelta(days=90 + index),
                diagnosis_codes=[code for code, _ in diagnoses],
                symptoms="Daytime fatigue; family reports loud snoring.",
                treatment="Start therapy; follow up in 30 days.",
                results=results,
            )
            MedicalRecord.objects.create(
                company=context.company,
                patient=patient,
                provider=provider,
                record_type=RecordType.PRESCRIPTION,
                visit_date=today - datetime.timedelta(days=80 + index),
                diagnosis_codes=[diagnoses[0][0]],
                medications="See standard written order.",
            )
            counts["medical records"] += 2
        if patient.status == PatientStatus.DECEASED:
            continue
        if Appointment.objects.filter(patient=patient).exists():
            continue
        # Provider index % 6 and hour index // 6: no provider is booked twice.
        hour = 9 + index // len(providers)
        past_status, next_status = APPOINTMENT_STATUSES[index % len(APPOINTMENT_STATUSES)]
        kind = APPOINTMENT_KINDS[index % len(APPOINTMENT_KINDS)]
        for day, status in [
            (today - datetime.timedelta(days=7), past_status),
            (today + datetime.timedelta(days=3), next_status),
        ]:
            appointment = services.book_appointment(
                Appointment(
                    company=context.company,
                    patient=patient,
                    provider=provider,
                    location=location,
                    kind=kind,
                    starts_at=_at(day, hour),
                    ends_at=_at(day, hour) + datetime.timedelta(minutes=45),
                    is_virtual=kind == AppointmentKind.TELEHEALTH,
                )
            )
            if status != AppointmentStatus.SCHEDULED:
                services.change_appointment_status(appointment, status)
            counts["appointments"] += 1
    for label, number in counts.items():
        _count(context, label, number)


def seed_alerts(context, patients):
    if BiometricAlert.objects.filter(company=context.company).exists():
        return
    now = timezone.now()
    staff = context.users.get("clinician")
    rows = [
        (patients[1], Metric.SPO2, "85.00", "88.00", Severity.HIGH, None),
        (patients[0], Metric.CPAP_USAGE_HOURS, "2.70", "4.00", Severity.MEDIUM, None),
        (patients[2], Metric.AHI, "18.40", "10.00", Severity.MEDIUM, "acknowledge"),
        (patients[5], Metric.HEART_RATE, "124.00", "110.00", Severity.CRITICAL, "resolve"),
        (patients[13], Metric.SPO2, "83.00", "88.00", Severity.CRITICAL, None),
    ]
    for patient, metric, value, threshold, severity, follow_up in rows:
        alert = BiometricAlert.objects.create(
            company=context.company,
            patient=patient,
            metric=metric,
            value=Decimal(value),
            threshold=Decimal(threshold),
            severity=severity,
            observed_at=now - datetime.timedelta(hours=6),
            source="demo-monitoring-hub",
        )
        if follow_up == "acknowledge":
            services.acknowledge_alert(alert, staff)
        elif follow_up == "resolve":
            services.resolve_alert(alert, staff, note="Rechecked at rest: 88 bpm.")
    _count(context, "biometric alerts", len(rows))


def seed_insights(context, patients):
    model, created = AIModel.objects.get_or_create(
        company=context.company,
        name="cpap-adherence",
        version="1.4.0",
        defaults={
            "kind": AIModelKind.ADHERENCE,
            "accuracy": Decimal("0.8870"),
            "description": "Demo: flags patients likely to miss the 4 h/night compliance "
            "threshold in their first 90 days.",
        },
    )
    _count(context, "AI models", int(created))
    if HealthInsight.objects.filter(company=context.company).exists():
        return
    now = timezone.now()
    osa_patients = [p for p, row in zip(patients, PATIENTS, strict=True) if OSA in row[6]][:4]
    for patient, risk in zip(osa_patients, ["0.8200", "0.6400", "0.3100", "0.9100"], strict=False):
        PredictionLog.objects.create(
            company=context.company,
            model=model,
            patient=patient,
            input_data={"usage_hours_last_7": [3.2, 4.1, 2.9, 5.0, 3.8, 0.0, 4.4]},
            prediction={"non_adherence_risk": float(risk)},
            confidence=Decimal(risk),
            processing_ms=37,
        )
        HealthInsight.objects.create(
            company=context.company,
            patient=patient,
            model=model,
            insight_type=InsightType.ADHERENCE_RISK,
            title="CPAP use below 4 h on several recent nights",
            description="Usage dropped after the last mask change; consider a refit call.",
            data={"nights_below_4h_last_7": 4},
            confidence=Decimal(risk),
            expires_at=now + datetime.timedelta(days=14),
            is_actionable=Decimal(risk) > Decimal("0.5"),
        )
        DigitalTwin.objects.get_or_create(
            patient=patient,
            defaults={
                "company": context.company,
                "model": model,
                "symptom_forecast": {"daytime_sleepiness_next_4_weeks": [12, 11, 10, 9]},
                "biometric_correlations": {"usage_hours_vs_ahi": -0.58},
                "medication_responses": {},
                "computed_at": now,
            },
        )
    _count(context, "predictions", len(osa_patients))
    _count(context, "health insights", len(osa_patients))
