"""PHI at rest: ciphertext in the row, masked in the audit trail, found by blind index."""

import datetime

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from core.audit import MASK
from core.models import AuditEntry
from core.phi import blind_index, normalize_date, normalize_phone
from tests.factories import PHIRecordFactory
from tests.testapp.models import PHIRecord

PLAINTEXTS = ["1950-01-02", "1EG4TE5MK73", "Uses CPAP nightly"]


def raw_row(record):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT dob, mbi, notes, dob_bidx, mbi_bidx FROM {PHIRecord._meta.db_table} "  # noqa: S608
            "WHERE id = %s",
            [record.pk.hex if connection.vendor == "sqlite" else record.pk],
        )
        return cursor.fetchone()


@pytest.mark.django_db
def test_it_stores_ciphertext_in_the_raw_row(company):
    record = PHIRecordFactory(company=company)
    dob, mbi, notes, dob_bidx, mbi_bidx = raw_row(record)
    for column, plaintext in [(dob, "1950-01-02"), (mbi, "1EG4TE5MK73"), (notes, "CPAP")]:
        assert column.startswith("gAAAAA"), "not a Fernet token"
        assert plaintext not in column
    assert len(dob_bidx) == len(mbi_bidx) == 64
    record.refresh_from_db()
    assert record.dob == datetime.date(1950, 1, 2)
    assert record.mbi == "1EG4TE5MK73"


@pytest.mark.django_db
def test_it_encrypts_each_value_differently(company):
    first, second = PHIRecordFactory.create_batch(2, company=company)
    assert raw_row(first)[0] != raw_row(second)[0]
    # ...so equality lookups on the column find nothing: the blind index exists for this.
    # (On PostgreSQL a date lookup on the text column even fails: text = date.)
    assert not PHIRecord.objects.filter(mbi="1EG4TE5MK73").exists()


@pytest.mark.django_db
def test_it_never_writes_plaintext_to_the_audit_log(company):
    record = PHIRecordFactory(company=company)
    record.notes = "Switched to full face mask"
    record.mbi = "2AB3CD4EF56"
    record.save()
    pk, name = record.pk, record.name
    record.delete()
    entries = AuditEntry.objects.filter(object_pk=str(pk))
    assert entries.count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes, changes_text, object_repr FROM core_auditentry")
        dump = repr(cursor.fetchall())
    for plaintext in [*PLAINTEXTS, "Switched to full face mask", "2AB3CD4EF56", "2AB3"]:
        assert plaintext not in dump
    created = entries.get(action=AuditEntry.Action.CREATE)
    assert created.changes_dict["dob"] == [MASK, MASK]
    assert "dob_bidx" not in created.changes_dict
    # The name is plaintext by design (staff search and sort on it) and is audited.
    assert created.changes_dict["name"][1] == name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dob", "1950-01-02"),
        ("dob", datetime.date(1950, 1, 2)),
        ("mbi", "1EG4TE5MK73"),
        ("mbi", "1eg4-te5-mk73"),
        ("mbi", " 1EG4 TE5 MK73 "),
    ],
)
def test_it_finds_records_through_the_blind_index(company, field, value):
    record = PHIRecordFactory(company=company)
    PHIRecordFactory(company=company, dob=datetime.date(1961, 5, 6), mbi="9AA9AA9AA99")
    assert list(PHIRecord.objects.filter_blind(field, value)) == [record]


@pytest.mark.django_db
def test_it_keeps_the_index_in_sync_on_save_and_bulk_create(company):
    record = PHIRecordFactory(company=company)
    record.dob = datetime.date(1970, 7, 8)
    record.save()
    assert not PHIRecord.objects.filter_blind("dob", "1950-01-02").exists()
    assert PHIRecord.objects.filter_blind("dob", "1970-07-08").get() == record
    PHIRecord.objects.bulk_create(
        [PHIRecord(company=company, name="Bulk", dob=datetime.date(1980, 1, 1))]
    )
    assert PHIRecord.objects.filter_blind("dob", "1980-01-01").get().name == "Bulk"


@pytest.mark.django_db
def test_it_finds_nothing_for_an_empty_value_and_refuses_an_unindexed_field(company):
    PHIRecordFactory(company=company, mbi="")
    assert not PHIRecord.objects.filter_blind("mbi", "").exists()
    with pytest.raises(FieldError, match="has no blind index"):
        PHIRecord.objects.filter_blind("notes", "x")


def test_blind_index_depends_on_the_key_and_the_normalised_value(settings):
    assert blind_index("(614) 555-0100", normalize_phone) == blind_index(
        "+1 614 555 0100", normalize_phone
    )
    assert blind_index("1950-01-02", normalize_date) == blind_index(
        datetime.date(1950, 1, 2), normalize_date
    )
    before = blind_index("1EG4TE5MK73")
    settings.BLIND_INDEX_KEY = "another-key"
    assert blind_index("1EG4TE5MK73") != before
    assert blind_index(None) is None
