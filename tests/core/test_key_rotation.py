"""Rotating FIELD_ENCRYPTION_KEY: every encrypted value ends under the newest key."""

import datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.management import CommandError, call_command
from django.db import connection
from encrypted_model_fields import fields as encrypted_fields

from core.choices import ComplianceKind
from core.models import ComplianceEvent
from tests.factories import PHIRecordFactory
from tests.testapp.models import PHIRecord

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def keys(settings, monkeypatch):
    """Start with OLD only; ``keys.rotate()`` configures NEW first, OLD second."""

    class Keys:
        def use(self, *keys):
            settings.FIELD_ENCRYPTION_KEY = list(keys)
            monkeypatch.setattr(encrypted_fields, "CRYPTER", MultiFernet([Fernet(k) for k in keys]))

    keys = Keys()
    keys.use(OLD)
    return keys


def raw_tokens():
    with connection.cursor() as cursor:
        cursor.execute("SELECT dob, mbi, notes FROM testapp_phirecord")
        return [value for row in cursor.fetchall() for value in row if value]


@pytest.mark.django_db
def test_it_re_encrypts_every_value_under_the_newest_key(keys, company, capsys):
    records = PHIRecordFactory.create_batch(7, company=company)
    keys.use(NEW, OLD)
    call_command("rotate_encryption_keys", "--batch-size", "3")
    assert "Re-encrypted 21 values" in capsys.readouterr().out
    event = ComplianceEvent.objects.get(kind=ComplianceKind.KEY_ROTATION)
    assert event.detail["values_rotated"] == 21
    for token in raw_tokens():
        Fernet(NEW).decrypt(token.encode())  # raises if any value is still under OLD
    keys.use(NEW)  # the old key can go now
    for record in records:
        fresh = PHIRecord.objects.get(pk=record.pk)
        assert (fresh.dob, fresh.mbi, fresh.notes) == (record.dob, record.mbi, record.notes)
    assert PHIRecord.objects.filter_blind("dob", datetime.date(1950, 1, 2)).count() == 7


@pytest.mark.django_db
def test_it_resumes_by_skipping_what_is_already_rotated(keys, company, capsys):
    PHIRecordFactory.create_batch(3, company=company)
    keys.use(NEW, OLD)
    call_command("rotate_encryption_keys")
    capsys.readouterr()
    call_command("rotate_encryption_keys")
    assert "Re-encrypted 0 values" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_stops_on_a_value_no_key_can_read(keys, company):
    PHIRecordFactory(company=company)
    keys.use(NEW, STRANGER)  # OLD lost: the values cannot be read
    with pytest.raises(CommandError, match="cannot be decrypted with any configured key"):
        call_command("rotate_encryption_keys")
    with pytest.raises(InvalidToken):
        Fernet(NEW).decrypt(raw_tokens()[0].encode())


@pytest.mark.django_db
def test_it_reindexes_blind_indexes_after_a_key_change(company, settings, capsys):
    PHIRecordFactory.create_batch(4, company=company)
    settings.BLIND_INDEX_KEY = "a-brand-new-blind-index-key"
    assert not PHIRecord.objects.filter_blind("mbi", "1EG4TE5MK73").exists()
    call_command("reindex_blind_indexes", "--batch-size", "3")
    assert "Re-indexed 4 rows" in capsys.readouterr().out
    assert PHIRecord.objects.filter_blind("mbi", "1EG4TE5MK73").count() == 4
    call_command("reindex_blind_indexes")
    assert "Re-indexed 0 rows" in capsys.readouterr().out
