"""core.seeding's bulk path: rows written without model instances read back through
the ORM as saved instances would (PHI encrypted by the field's own keys, blind
indexes, defaults, timestamps), and a bulk load on PostgreSQL leaves the tables'
indexes and foreign keys as it found them."""

import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from encrypted_model_fields.fields import decrypt_str

from clinical.choices import PatientStatus, Sex
from clinical.models import MedicalRecord, Patient
from core.seeding import BulkLoad, Fernet, ScalePlan, insert, row, update_rows
from dme.choices import RentalStatus
from dme.models import Rental
from tests.dme.factories import RentalFactory

pytestmark = pytest.mark.django_db

PHI = {
    "first_name": "Zoë",
    "last_name": "O'Brien-Łukasz",
    "dob": datetime.date(1948, 2, 29),
    "sex": Sex.FEMALE,
    "phone": "(614) 555-0123",
    "email": "Zoe.OBrien.7@Example.test",
    "address_line1": "1234 Sawmill Rd",
    "address_line2": "",
    "city": "Dublin",
    "state": "OH",
    "postal_code": "43017",
    "emergency_contact_name": "Ana O'Brien",
    "emergency_contact_phone": "(380) 555-0199",
    "emergency_contact_relationship": "Spouse",
    "ssn_last4": "0042",
    "status": PatientStatus.ACTIVE,
}


def context():
    return SimpleNamespace(bulk=None, count=lambda label, n: None, stderr=io.StringIO())


def raw(model, pk, column):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(column)} FROM {quote(model._meta.db_table)} WHERE id = %s",  # noqa: S608
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return cursor.fetchone()[0]


def test_it_writes_rows_that_read_back_as_given(company):
    patient = row(Patient, company=company, number="P-990001", **PHI)
    record = row(
        MedicalRecord,
        company=company,
        patient=patient,
        record_type="sleep_study",
        visit_date=datetime.date(2026, 11, 2),
        diagnosis_codes=["G4733"],
        symptoms="Snoring; daytime sleepiness.",
        results={"ahi": 28.6, "study": "home (HSAT)"},
    )
    insert(context(), Patient, [patient], "patients")
    insert(context(), MedicalRecord, [record], "medical records")

    saved = Patient.objects.get(pk=patient.pk)
    for name, value in PHI.items():
        assert getattr(saved, name) == value, name
    assert saved.notes == ""  # a default, encrypted like any value
    assert saved.created_at is not None
    assert saved.updated_at >= saved.created_at
    for column in ("dob", "phone", "email", "address_line2", "notes"):
        stored = raw(Patient, patient.pk, column)
        assert stored.startswith("gAAAA"), column
        assert decrypt_str(stored) == str(getattr(saved, column)), column
    assert list(Patient.objects.filter_blind("dob", "1948-02-29")) == [saved]
    assert list(Patient.objects.filter_blind("phone", "614.555.0123")) == [saved]
    assert list(Patient.objects.filter_blind("email", "zoe.obrien.7@example.test")) == [saved]

    saved_record = MedicalRecord.objects.get(pk=record.pk)
    assert saved_record.patient_id == patient.pk
    assert saved_record.results == {"ahi": 28.6, "study": "home (HSAT)"}
    assert saved_record.symptoms == "Snoring; daytime sleepiness."
    assert saved_record.medications == ""
    assert saved_record.diagnosis_codes == ["G4733"]
    assert saved_record.created_at > saved.created_at  # in the order written


def test_a_row_reads_like_an_unsaved_instance(company):
    patient = row(Patient, company=company, number="P-990002")
    assert patient.pk is not None
    assert patient.company_id == company.pk
    assert patient.primary_prescriber is None
    assert patient.primary_prescriber_id is None
    assert patient.status == Patient._meta.get_field("status").get_default()
    patient.company_id = company.pk
    assert patient.company is None
    assert patient.company_id == company.pk


@pytest.mark.parametrize("text", ["", "x", "a" * 15, "b" * 16, "c" * 17, "é" * 40, "Zoë\n" * 9])
def test_its_fernet_tokens_are_the_fields_own(text):
    fernet = Fernet()
    first, second = fernet.encrypt(text), fernet.encrypt(text)
    assert first != second  # a fresh IV each time
    assert decrypt_str(first) == decrypt_str(second) == text


def test_it_updates_rows_in_place(company):
    rentals = [RentalFactory(company=company) for _ in range(3)]
    for number, rental in enumerate(rentals, start=1):
        rental.months_billed = number
        rental.status = RentalStatus.CAPPED
        rental.next_bill_date = datetime.date(2026, 12, number)
    update_rows(Rental, rentals, ["months_billed", "status", "next_bill_date"])
    for number, rental in enumerate(rentals, start=1):
        rental.refresh_from_db()
        assert (rental.months_billed, rental.status) == (number, RentalStatus.CAPPED)
        assert rental.next_bill_date == datetime.date(2026, 12, number)
        assert rental.monthly_fee > Decimal(0)


def schema(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table]
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1",
            [table],
        )
        return indexes, cursor.fetchall()


def test_a_bulk_load_sets_indexes_and_keys_aside_and_back(postgres_only, company):
    table = MedicalRecord._meta.db_table
    before = schema(table)
    patients_before = schema(Patient._meta.db_table)
    bulk = BulkLoad(ScalePlan(target=10, count=10))
    bulk.prepare(MedicalRecord)
    during = schema(table)
    assert not [c for c in during[1] if "FOREIGN KEY" in c[1]]
    assert len(during[0]) < len(before[0])
    assert "patient_id" in " ".join(definition for _, definition in during[0])
    patient = row(Patient, company=company, number="P-990003", **PHI)
    ctx = context()
    ctx.bulk = bulk
    insert(ctx, Patient, [patient], "patients")
    record = row(
        MedicalRecord,
        company=company,
        patient=patient,
        record_type="visit_note",
        visit_date=datetime.date(2026, 11, 30),
    )
    insert(ctx, MedicalRecord, [record], "records")
    bulk.finish()
    assert schema(table) == before
    assert schema(Patient._meta.db_table) == patients_before
    assert MedicalRecord.objects.filter(patient_id=patient.pk).count() == 1


def test_a_small_top_up_keeps_the_indexes(postgres_only):
    assert not BulkLoad(ScalePlan(target=1000, count=100)).enabled
    assert BulkLoad(ScalePlan(target=1000, count=500)).enabled


def test_a_role_that_owns_no_table_keeps_the_indexes_and_keys(postgres_only):
    """Under a role that owns nothing (``DATABASE_OPERATOR_ROLE``, docs/security/rls.md)
    dropping an index would fail: the load keeps them up and has nothing to rebuild."""
    table = MedicalRecord._meta.db_table
    before = schema(table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (previous,) = cursor.fetchone()
        # Made and dropped in the test's own transaction (rolled back with it).
        cursor.execute("CREATE ROLE aries_test_owns_nothing NOLOGIN")
        cursor.execute("SET ROLE aries_test_owns_nothing")
    try:
        bulk = BulkLoad(ScalePlan(target=10, count=10))
        assert bulk.enabled
        bulk.prepare(MedicalRecord)
        assert schema(table) == before
        bulk.finish()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {connection.ops.quote_name(previous)}")
    assert schema(table) == before


def test_the_tables_an_app_loaded_get_statistics_before_the_next_app_reads_them(
    postgres_only, company
):
    """Inside the load's transaction ``ANALYZE`` counts the transaction's own rows: the
    next app's batch reads (``number IN (...)``) are planned on them, not on the empty
    table the load started from (a scan a batch: 1-1.9 s each at 1M patients)."""
    table = Patient._meta.db_table
    bulk = BulkLoad(ScalePlan(target=10, count=10))
    ctx = context()
    ctx.bulk = bulk
    patients = [
        row(Patient, company=company, number=f"P-99{index:04d}", **PHI) for index in range(300)
    ]
    insert(ctx, Patient, patients, "patients")
    assert bulk.loaded == [table]
    with CaptureQueriesContext(connection) as queries:
        bulk.analyze_loaded()
        bulk.analyze_loaded()  # nothing new loaded: nothing to analyze
    assert [q["sql"] for q in queries.captured_queries] == [f'ANALYZE "{table}"']
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        assert cursor.fetchone()[0] >= 300
    bulk.finish()


def test_a_row_s_fresh_id_is_a_random_version_4_uuid_like_uuid4_s():
    import uuid

    from core.seeding import fresh_uuid

    ids = [fresh_uuid() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for value in ids[:500]:
        parsed = uuid.UUID(str(value))
        assert parsed == value
        assert hash(parsed) == hash(value)
        assert value.version == 4
        assert value.variant == uuid.RFC_4122
        assert uuid.UUID(bytes=value.bytes) == value
    # The bits other than version and variant vary: random, not a counter.
    assert len({value.int >> 80 for value in ids}) > 9_000
