"""Done means: PHI is ciphertext in the row, absent from the audit log, and still found
by exact date of birth or phone through the blind index."""

import datetime
import re

import pytest
from django.db import connection

from clinical.models import MedicalRecord, Patient, PredictionLog
from core.audit import MASK
from core.models import AuditEntry

from .factories import MedicalRecordFactory, PatientFactory, PredictionLogFactory

PHI = {
    "dob": "1950-01-02",
    "phone": "(614) 555-0134",
    "email": "ada.lovelace@example.test",
    "address_line1": "742 Evergreen Terrace",
    "city": "Springfield",
    "postal_code": "43299",
    "emergency_contact_name": "Byron Lovelace",
    "emergency_contact_phone": "(614) 555-0177",
    "ssn_last4": "6789",
    "notes": "Afraid of masks; start with nasal pillows.",
}


def raw_columns(model, pk, columns):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} "  # noqa: S608
            "WHERE id = %s",
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


# Clock readings and ids are taken out of the dump: a timestamp's "...:32.547698" or a
# UUID's hex digits can hold a short plaintext by chance (CI once failed on "32.5").
CHANCE_DIGITS = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def audit_dump():
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes, changes_text, object_repr FROM core_auditentry")
        return CHANCE_DIGITS.sub("<chance>", repr(cursor.fetchall()))


@pytest.fixture
def patient(company):
    return PatientFactory(
        company=company,
        first_name="Ada",
        last_name="Lovelace",
        dob=datetime.date(1950, 1, 2),
        **{name: value for name, value in PHI.items() if name != "dob"},
    )


@pytest.mark.django_db
def test_the_patient_row_holds_ciphertext_only(patient):
    row = raw_columns(Patient, patient.pk, list(PHI))
    for column, plaintext in PHI.items():
        assert row[column].startswith("gAAAAA"), f"{column} is not a Fernet token"
        assert plaintext not in row[column]
    patient.refresh_from_db()
    assert patient.dob == datetime.date(1950, 1, 2)
    assert patient.phone == PHI["phone"]
    assert patient.notes == PHI["notes"]


@pytest.mark.django_db
def test_no_phi_reaches_the_audit_log(patient):
    patient.phone = "(614) 555-0999"
    patient.notes = "Moved in with daughter."
    patient.dob = datetime.date(1951, 3, 4)
    patient.save()
    record = MedicalRecordFactory(company=patient.company, patient=patient)
    record.symptoms = "Morning headaches"
    record.save()
    entries = AuditEntry.objects.filter(object_pk=str(patient.pk))
    assert entries.count() == 2
    dump = audit_dump()
    # (The SSN's four digits could occur by chance in a UUID: checked as masked below.)
    plaintexts = [
        *(value for name, value in PHI.items() if name != "ssn_last4"),
        "555-0999",
        "Moved in with daughter",
        "1951-03-04",
        "Morning headaches",
        "Loud snoring",
        "spo2_nadir",  # the encrypted JSON results ({"ahi": 32.5, "spo2_nadir": 81})
        "32.5",
    ]
    for plaintext in plaintexts:
        assert plaintext not in dump, plaintext
    created = entries.get(action=AuditEntry.Action.CREATE)
    assert created.changes_dict["dob"] == [MASK, MASK]
    assert created.changes_dict["phone"] == [MASK, MASK]
    assert created.changes_dict["ssn_last4"] == [MASK, MASK]
    for index in ("dob_bidx", "phone_bidx", "email_bidx"):
        assert index not in created.changes_dict
    # Names are plaintext by design and audited.
    assert created.changes_dict["last_name"][1] == "Lovelace"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "term",
    ["1950-01-02", "01/02/1950", "1/2/1950", "(614) 555-0134", "614-555-0134", "+1 614 555 0134"],
)
def test_it_finds_the_patient_by_exact_dob_or_phone(patient, company, term):
    PatientFactory(company=company, dob=datetime.date(1961, 5, 6), phone="(614) 555-0100")
    assert list(Patient.objects.search(term)) == [patient]


@pytest.mark.django_db
def test_filter_blind_finds_by_dob_phone_and_email(patient, company):
    PatientFactory(company=company, dob=datetime.date(1961, 5, 6), phone="(614) 555-0100")
    assert list(Patient.objects.filter_blind("dob", "1950-01-02")) == [patient]
    assert list(Patient.objects.filter_blind("dob", datetime.date(1950, 1, 2))) == [patient]
    assert list(Patient.objects.filter_blind("phone", "6145550134")) == [patient]
    assert list(Patient.objects.filter_blind("email", " Ada.Lovelace@Example.TEST")) == [patient]


@pytest.mark.django_db
def test_clinical_contents_and_ai_json_are_encrypted(company):
    record = MedicalRecordFactory(company=company)
    prediction = PredictionLogFactory(company=company)
    row = raw_columns(MedicalRecord, record.pk, ["symptoms", "treatment", "results"])
    assert all(value.startswith("gAAAAA") for value in row.values())
    assert "32.5" not in row["results"]
    row = raw_columns(PredictionLog, prediction.pk, ["input_data", "prediction"])
    assert all(value.startswith("gAAAAA") for value in row.values())
    assert "non_adherence_risk" not in row["prediction"]
    prediction.refresh_from_db()
    assert prediction.prediction == {"non_adherence_risk": "high"}
    record.refresh_from_db()
    assert record.results == {"ahi": 32.5, "spo2_nadir": 81}
