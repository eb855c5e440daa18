"""Clinical part of the bulk demo data (``manage.py seed_demo --scale N``): the missing
patients, with prescribers, diagnoses, medical records, appointments and a few alerts.

Numbers: the patients take the next numbers of the company's counter, which is locked
for the run and left past them. One new prescriber per 100 new patients (a supplier
of 100,000 patients works with about a thousand); each has the appointments of its
own 100 patients in distinct hourly slots, so no provider is ever double-booked, in
this run or the next. Everybody is invented: names drawn from common name lists,
phone numbers in the 555-01xx range kept for fiction, e-mail addresses under
example.test, well-formed but made-up NPIs (prefix 2, unlike the normal demo's).
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from core.seeding import PATIENT_BATCH, each_batch, insert, row, weighted
from core.validators import normalize_icd10, npi_check_digit

from .choices import (
    AppointmentKind,
    AppointmentStatus,
    Credential,
    Metric,
    PatientStatus,
    RecordType,
    Severity,
    Sex,
    Specialty,
)
from .models import (
    Appointment,
    BiometricAlert,
    Diagnosis,
    MedicalRecord,
    Patient,
    PatientNumberCounter,
    Provider,
)
from .models.patients import format_patient_number

PATIENTS_PER_PROVIDER = 100
# Appointments: 8 hourly slots a day, 45 minutes each, one slot per patient of the
# provider's block of 100 (so 13 days back and 13 days ahead at most).
SLOTS_PER_DAY = 8
FIRST_HOUR = 8
# Batches start on a block boundary: a batch creates the providers of its blocks.
assert PATIENT_BATCH % PATIENTS_PER_PROVIDER == 0


def _names(text):
    """The words of a long string: name lists stay readable a dozen to a line."""
    return text.split()


FEMALE_NAMES = _names(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy "
    "Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa "
    "Deborah Stephanie Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley "
    "Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen Debra Rachel "
    "Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia "
    "Lauren Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline "
    "Martha Madison Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean "
    "Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn Beverly Charlotte "
    "Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Rosa Wanda Aaliyah "
    "Priya Mei Fatima Yolanda Ngozi Keiko Lucia Ingrid Aisha Rosalind Imani Guadalupe"
)
MALE_NAMES = _names(
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles "
    "Daniel Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian "
    "Timothy Ronald George Jason Edward Jeffrey Ryan Jacob Nicholas Gary Eric Jonathan "
    "Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank "
    "Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter "
    "Kyle Noah Ethan Jeremy Christian Walter Keith Austin Roger Terry Sean Gerald Carl "
    "Dylan Harold Jordan Jesse Bryan Lawrence Arthur Gabriel Bruce Logan Billy Joe Alan "
    "Juan Elijah Willie Albert Wayne Randy Mason Vincent Liam Roy Bobby Caleb Bradley "
    "Russell Lucas Rahul Kenji Omar Tariq Chinedu Mateo Olaf Dmitri Hamza Malik Santiago"
)
LAST_NAMES = _names(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright "
    "Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins "
    "Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez "
    "Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel "
    "Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman "
    "Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant "
    "Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens "
    "Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
    "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva "
    "Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd "
    "Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold "
    "Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan "
    "Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins "
    "Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval "
    "Okafor Kowalski Nakamura Lindqvist Abernathy Oyelaran Haddad Brennan Achebe Iwasaki "
    "Yamamoto Sorensen Petrov Mbeki Adebayo Castellano Fitzgerald Whitfield Gallagher"
)
# (city, ZIP) in central Ohio, and the area codes there.
PLACES = [
    ("Columbus", "43215"), ("Columbus", "43201"), ("Columbus", "43206"),
    ("Columbus", "43214"), ("Columbus", "43220"), ("Columbus", "43229"),
    ("Dublin", "43017"), ("Westerville", "43081"), ("Grove City", "43123"),
    ("Hilliard", "43026"), ("Reynoldsburg", "43068"), ("Gahanna", "43230"),
    ("Upper Arlington", "43221"), ("Worthington", "43085"), ("Pickerington", "43147"),
    ("Powell", "43065"), ("Delaware", "43015"), ("Canal Winchester", "43110"),
    ("Lancaster", "43130"), ("Marysville", "43040"), ("Newark", "43055"),
    ("Lewis Center", "43035"), ("Circleville", "43113"), ("Galloway", "43119"),
    ("Bexley", "43209"), ("Sunbury", "43074"), ("London", "43140"), ("Zanesville", "43701"),
]  # fmt: skip
AREA_CODES = ["614", "380", "740", "937", "419", "330"]
STREETS = [
    "Maple Ave", "High St", "Oak Ridge Dr", "Cleveland Ave", "Riverside Dr", "Main St",
    "Broad St", "Sawmill Rd", "Morse Rd", "Karl Rd", "Livingston Ave", "Parsons Ave",
    "Hamilton Rd", "Refugee Rd", "Cemetery Rd", "Frantz Rd", "Schrock Rd", "Bethel Rd",
]  # fmt: skip
RELATIONSHIPS = ["Spouse", "Child", "Sibling", "Parent", "Friend", "Caregiver"]

# Conditions a DME supplier's patients have, with their ICD-10-CM diagnoses (the first
# decides the equipment DME orders, see dme.demo_scale) and the first record's type.
CONDITIONS = [
    # weight, diagnoses (code, description); the first record (type, results)
    (30, [("G47.33", "Obstructive sleep apnea (adult)")],
     [("E66.01", "Morbid (severe) obesity due to excess calories"),
      ("I10", "Essential (primary) hypertension")],
     (RecordType.SLEEP_STUDY, {"ahi": 28.6, "spo2_nadir": 83, "study": "home (HSAT)"})),
    (20, [("J44.9", "Chronic obstructive pulmonary disease, unspecified")],
     [("J96.11", "Chronic respiratory failure with hypoxia"),
      ("Z99.81", "Dependence on supplemental oxygen")],
     (RecordType.OXIMETRY, {"spo2_mean": 87.4, "minutes_below_88": 71})),
    (15, [("E11.65", "Type 2 diabetes mellitus with hyperglycemia")],
     [("E66.01", "Morbid (severe) obesity due to excess calories")],
     (RecordType.LAB_RESULT, {"hba1c_percent": 8.7, "glucose_mg_dl": 204})),
    (15, [("M17.11", "Unilateral primary osteoarthritis, right knee")],
     [("R26.89", "Other abnormalities of gait and mobility")],
     (RecordType.IMAGING, {"kellgren_lawrence_grade": 3})),
    (10, [("I50.9", "Heart failure, unspecified")],
     [("L89.154", "Pressure ulcer of sacral region, stage 4")],
     (RecordType.VISIT_NOTE, {"nyha_class": "III", "ef_percent": 35})),
    (10, [("I69.351", "Hemiplegia following cerebral infarction affecting right dominant "
                      "side")],
     [("I10", "Essential (primary) hypertension")],
     (RecordType.VISIT_NOTE, {"mrs_score": 3})),
]  # fmt: skip
PROVIDER_PROFILES = [
    (Credential.MD, Specialty.SLEEP_MEDICINE),
    (Credential.DO, Specialty.PULMONOLOGY),
    (Credential.MD, Specialty.FAMILY_MEDICINE),
    (Credential.NP, Specialty.INTERNAL_MEDICINE),
    (Credential.MD, Specialty.ENDOCRINOLOGY),
    (Credential.MD, Specialty.ORTHOPEDICS),
    (Credential.PA, Specialty.FAMILY_MEDICINE),
    (Credential.MD, Specialty.CARDIOLOGY),
]
PAST_STATUSES = [
    (AppointmentStatus.COMPLETED, 75),
    (AppointmentStatus.NO_SHOW, 10),
    (AppointmentStatus.CANCELLED, 15),
]
UPCOMING_STATUSES = [
    (AppointmentStatus.SCHEDULED, 60),
    (AppointmentStatus.CONFIRMED, 30),
    (AppointmentStatus.CANCELLED, 10),
]
KINDS = [
    AppointmentKind.SETUP,
    AppointmentKind.FOLLOW_UP,
    AppointmentKind.FITTING,
    AppointmentKind.RESPIRATORY_THERAPY,
    AppointmentKind.TELEHEALTH,
]
STATUSES = [(PatientStatus.ACTIVE, 93), (PatientStatus.INACTIVE, 5), (PatientStatus.DECEASED, 2)]


def seed_scale(context, plan):
    company = context.company
    # The counter row is locked until the run commits: numbers never collide with a
    # patient registered meanwhile, and the counter ends past this run's numbers.
    PatientNumberCounter.objects.get_or_create(pk=company.pk)
    counter = PatientNumberCounter.objects.select_for_update().get(pk=company.pk)
    existing = Patient.objects.filter(company=company).count()
    plan.count = max(plan.target - existing, 0)
    plan.first_number = counter.last_number + 1
    if not plan.count:
        return
    rng = plan.rng("clinical")
    today = timezone.localdate()
    now = timezone.now()
    for numbers in each_batch(context, "clinical", plan, plan.batches()):
        _seed_batch(context, plan, rng, numbers, today, now)
    counter.last_number = plan.first_number + plan.count - 1
    counter.save(update_fields=["last_number"])


def scaled_patients(context, plan, *fields):
    """This run's patients, a batch at a time: lists of dicts of ``fields`` (encrypted
    ones decrypted), in number order. One indexed query per batch."""
    for numbers in plan.batches():
        rows = Patient.objects.filter(
            company=context.company, number__in=[format_patient_number(n) for n in numbers]
        ).values("id", "number", *fields)
        yield sorted(rows, key=lambda row: row["number"])


def scaled_diagnoses(patient_ids):
    """``{patient id: [codes]}``: active diagnoses in the order billing uses (recorded
    first = primary)."""
    codes = {}
    rows = (
        Diagnosis.objects.filter(patient_id__in=patient_ids, is_active=True)
        .order_by("created_at", "code")
        .values_list("patient_id", "code")
    )
    for patient_id, code in rows:
        codes.setdefault(patient_id, []).append(code)
    return codes


def _seed_batch(context, plan, rng, numbers, today, now):
    company = context.company
    office = context.locations[0]
    providers = _providers(context, plan, rng, numbers, now)
    patients, diagnoses, records, appointments, alerts = [], [], [], [], []
    for number in numbers:
        index = number - plan.first_number
        provider = providers[index // PATIENTS_PER_PROVIDER]
        patient = _patient(rng, company, number, provider, context.locations, today)
        patients.append(patient)
        _, primary, secondary, (record_type, results) = weighted(
            rng, [(condition, condition[0]) for condition in CONDITIONS]
        )
        codes = primary + ([rng.choice(secondary)] if rng.random() < 0.5 else [])
        onset = today - datetime.timedelta(days=rng.randint(120, 2500))
        for code, description in codes:
            diagnoses.append(
                row(
                    Diagnosis,
                    company=company,
                    patient=patient,
                    code=normalize_icd10(code),
                    description=description,
                    onset_date=onset,
                )
            )
        visit = today - datetime.timedelta(days=rng.randint(20, 500))
        records.append(
            row(
                MedicalRecord,
                company=company,
                patient=patient,
                provider=provider,
                record_type=record_type,
                visit_date=visit,
                diagnosis_codes=[normalize_icd10(code) for code, _ in codes],
                symptoms="Reported at the visit; see the scanned note.",
                treatment="Equipment ordered; follow up in 30 days.",
                results=results,
            )
        )
        if rng.random() < 0.6:
            records.append(
                row(
                    MedicalRecord,
                    company=company,
                    patient=patient,
                    provider=provider,
                    record_type=RecordType.PRESCRIPTION,
                    visit_date=min(visit + datetime.timedelta(days=rng.randint(0, 14)), today),
                    diagnosis_codes=[normalize_icd10(primary[0][0])],
                    medications="See the standard written order.",
                )
            )
        if patient.status != PatientStatus.DECEASED:
            appointments.extend(
                _appointments(rng, company, patient, provider, office, index, today)
            )
        if rng.random() < 0.03:
            alerts.append(
                row(
                    BiometricAlert,
                    company=company,
                    patient=patient,
                    metric=Metric.SPO2,
                    value=Decimal(rng.randint(80, 87)),
                    threshold=Decimal(88),
                    severity=rng.choice([Severity.HIGH, Severity.CRITICAL]),
                    observed_at=now - datetime.timedelta(hours=rng.randint(1, 72)),
                    source="demo-monitoring-hub",
                )
            )
    insert(context, Patient, patients, "patients")
    insert(context, Diagnosis, diagnoses, "diagnoses")
    insert(context, MedicalRecord, records, "medical records")
    insert(context, Appointment, appointments, "appointments")
    insert(context, BiometricAlert, alerts, "biometric alerts")


def _providers(context, plan, rng, numbers, now):
    """The prescribers of this batch's blocks of 100 patients, by block number within
    the run. NPIs: ``2`` + the block's first patient number (unique across runs)."""
    first_block = (numbers[0] - plan.first_number) // PATIENTS_PER_PROVIDER
    last_block = (numbers[-1] - plan.first_number) // PATIENTS_PER_PROVIDER
    providers = {}
    for block in range(first_block, last_block + 1):
        first_nine = f"2{plan.first_number + block * PATIENTS_PER_PROVIDER:08d}"
        credential, specialty = rng.choice(PROVIDER_PROFILES)
        providers[block] = row(
            Provider,
            company=context.company,
            first_name=rng.choice(FEMALE_NAMES + MALE_NAMES),
            last_name=rng.choice(LAST_NAMES),
            npi=f"{first_nine}{npi_check_digit(first_nine)}",
            credential=credential,
            specialty=specialty,
            license_number=f"35.{first_nine[-6:]}",
            license_state="OH",
            phone=f"({rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}",
            is_verified=True,
            verified_at=now - datetime.timedelta(days=rng.randint(1, 400)),
        )
    insert(context, Provider, list(providers.values()), "prescribers")
    return providers


def _patient(rng, company, number, provider, locations, today):
    sex = rng.choice([Sex.FEMALE, Sex.MALE])
    first = rng.choice(FEMALE_NAMES if sex == Sex.FEMALE else MALE_NAMES)
    last = rng.choice(LAST_NAMES)
    # About 60% on Medicare (65 and over), as at a typical DME supplier.
    if rng.random() < 0.6:
        age_days = rng.randint(66 * 365, 95 * 365)
    else:
        age_days = rng.randint(19 * 365, 64 * 365)
    city, postal_code = rng.choice(PLACES)
    phone = f"({rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}"
    return row(
        Patient,
        company=company,
        number=format_patient_number(number),
        first_name=first,
        last_name=last,
        dob=today - datetime.timedelta(days=age_days),
        sex=sex,
        phone=phone,
        email=f"{first}.{last}.{number}@example.test".lower(),
        address_line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        address_line2=f"Apt {rng.randint(1, 40)}" if rng.random() < 0.2 else "",
        city=city,
        state="OH",
        postal_code=postal_code,
        emergency_contact_name=f"{rng.choice(FEMALE_NAMES + MALE_NAMES)} {last}",
        emergency_contact_phone=f"({rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}",
        emergency_contact_relationship=rng.choice(RELATIONSHIPS),
        ssn_last4=f"{rng.randint(0, 9999):04d}",
        home_location=rng.choice(locations),
        primary_prescriber=provider,
        status=weighted(rng, STATUSES),
    )


def _appointments(rng, company, patient, provider, office, index, today):
    """A past visit (most patients) and an upcoming one (half of them), in the slot of
    the patient's place in the provider's block: never overlapping another's."""
    slot = index % PATIENTS_PER_PROVIDER
    day_offset = 1 + slot // SLOTS_PER_DAY
    hour = FIRST_HOUR + slot % SLOTS_PER_DAY
    kind = rng.choice(KINDS)
    result = []
    for sign, statuses, chance in ((-1, PAST_STATUSES, 0.8), (1, UPCOMING_STATUSES, 0.5)):
        if rng.random() >= chance:
            continue
        day = today + datetime.timedelta(days=sign * day_offset)
        starts_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
        result.append(
            row(
                Appointment,
                company=company,
                patient=patient,
                provider=provider,
                location=office,
                kind=kind,
                starts_at=starts_at,
                ends_at=starts_at + datetime.timedelta(minutes=45),
                status=weighted(rng, statuses),
                is_virtual=kind == AppointmentKind.TELEHEALTH,
            )
        )
    return result


def patient_count(context):
    """The demo company's patients (``seed_demo --scale`` reports it; core cannot count them)."""
    return Patient.objects.filter(company=context.company).count()
