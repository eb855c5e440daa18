"""Done means: member IDs and MBIs are ciphertext in the raw row, absent from the audit
table (values and blind index alike), and found exactly through the blind index."""

import pytest
from django.db import connection

from core.audit import MASK
from core.models import AuditEntry
from hme.models import Coverage
from tests.hme.factories import CommercialPayerFactory, CoverageFactory

MBI = "7QC8NK4XV92"
MEMBER_ID = "ZGP884213377"


def raw_row(model, pk, columns):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} "  # noqa: S608
            "WHERE id = %s",
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def audit_dump():
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes, changes_text, object_repr FROM core_auditentry")
        return repr(cursor.fetchall())


@pytest.mark.django_db
def test_member_ids_are_ciphertext_in_the_row(company):
    medicare = CoverageFactory(company=company, member_id="7qc8-nk4-xv92")
    commercial = CoverageFactory(
        company=company, payer=CommercialPayerFactory(company=company), member_id=MEMBER_ID
    )
    for coverage, plaintext in ((medicare, MBI), (commercial, MEMBER_ID)):
        row = raw_row(Coverage, coverage.pk, ["member_id", "member_id_bidx"])
        assert row["member_id"].startswith("gAAAAA")
        assert plaintext not in row["member_id"]
        assert len(row["member_id_bidx"]) == 64
        assert plaintext not in row["member_id_bidx"]
        coverage.refresh_from_db()
        assert coverage.member_id == plaintext
    assert list(Coverage.objects.filter_blind("member_id", "7QC8-NK4-XV92")) == [medicare]
    assert list(Coverage.objects.filter_blind("member_id", "zgp884213377")) == [commercial]


@pytest.mark.django_db
def test_member_ids_never_reach_the_audit_table(company):
    coverage = CoverageFactory(company=company, member_id=MBI)
    coverage.member_id = "1EG4TE5MK73"
    coverage.save()
    entries = AuditEntry.objects.filter(object_pk=str(coverage.pk)).order_by("timestamp")
    assert entries.count() == 2
    dump = audit_dump()
    for secret in (MBI, "1EG4TE5MK73", coverage.member_id_bidx, MBI[-4:]):
        assert secret not in dump
    change = entries.last().changes_dict
    assert change["member_id"] == [MASK, MASK]
    assert "member_id_bidx" not in change


@pytest.mark.django_db
def test_the_masked_display_shows_the_last_four_only(company):
    coverage = CoverageFactory(company=company, member_id=MBI)
    assert coverage.member_id_masked == "•••XV92"
    assert MBI not in str(coverage)
