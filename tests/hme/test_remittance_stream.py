"""The 835 is streamed: parsed lazily (claim payments handed out one at a time, none kept),
checked whole before anything is posted, posted a chunk at a time with the claims of a chunk
fetched in one query, from bytes or from an open file."""

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hme.choices import ClaimStatus
from hme.edi import x12
from hme.edi.x12 import X12Error
from hme.edi.x835 import CLAIM, END, START, ClaimPayment, iter_835, parse_835, validate_835
from hme.models import Payment, RemittanceClaim
from hme.services import remittance
from hme.services.remittance import import_835

from .remittance_helpers import fixture, medicare, sent_claim

D = Decimal


def test_the_parser_streams_events_and_keeps_no_claim_payment():
    events = list(iter_835(fixture("835_reversal.x12")))
    kinds = [kind for kind, _ in events]
    assert kinds == [START, CLAIM, CLAIM, END]
    header = events[0][1]
    assert header is events[-1][1]
    assert header.claims == []  # streamed, not kept
    assert (header.claims_count, header.claims_total) == (2, D("56.00"))
    assert (header.reversals_count, header.reversals_total) == (1, D("-544.00"))
    first = events[1][1]
    assert isinstance(first, ClaimPayment)
    assert first.is_reversal


def test_validating_keeps_the_headers_only():
    (header,) = validate_835(fixture("835_paid.x12"))
    assert header.trace_number == "EFT0000101"
    assert header.claims == []
    assert header.claims_count == 1


def test_parse_835_still_holds_every_claim_payment():
    (remittance_,) = parse_835(fixture("835_reversal.x12"))
    assert [c.status for c in remittance_.claims] == ["22", "1"]


def test_a_character_split_between_two_read_chunks_is_read(monkeypatch):
    """Bytes are decoded as they are read: a UTF-8 character across a chunk boundary."""
    monkeypatch.setattr(x12, "_READ_CHUNK", 7)
    data = fixture("835_paid.x12").replace(b"DME MAC JURISDICTION B", "DMÉ MAC".encode())
    (header,) = validate_835(data)
    assert header.claims_count == 1


def test_an_undecodable_byte_is_refused():
    data = fixture("835_paid.x12").replace(b"DME MAC", b"DM\xff MAC")
    with pytest.raises(X12Error) as refused:
        validate_835(data)
    assert "undecodable byte" in refused.value.message


def test_a_bad_claim_late_in_the_file_posts_nothing(company):
    """The first pass reads the whole file: an error after a good claim payment refuses
    the file before the good one is posted."""
    claim = sent_claim(company, medicare(company))
    text = fixture("835_reversal.x12").decode()
    # The second claim payment no longer balances (CLP04 600 -> 601, BPR02 to match).
    text = text.replace("CLP*C-000001*1*850*600*", "CLP*C-000001*1*850*601*").replace(
        "BPR*I*56*", "BPR*I*57*"
    )
    with pytest.raises(X12Error) as refused:
        import_835(company, text)
    assert "CLP03-CLP04" in refused.value.message
    assert Payment.objects.count() == 0
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING


def test_an_open_file_is_read_twice_from_its_start(company):
    claim = sent_claim(company, medicare(company))
    import_835(company, fixture("835_paid.x12"))
    upload = io.BytesIO(fixture("835_reversal.x12"))
    upload.read(10)  # wherever it was left
    record = import_835(company, upload).remittances[0]
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert (record.reversed_amount, record.posted_amount) == (D("544.00"), D("600.00"))


def test_chunks_apply_every_claim_payment_and_fetch_claims_once_a_chunk(company, monkeypatch):
    """With a chunk of one claim payment, the reversal and the correction each fetch
    their claim in one query; the reconciliation still holds."""
    monkeypatch.setattr(remittance, "CHUNK", 1)
    claim = sent_claim(company, medicare(company))
    import_835(company, fixture("835_paid.x12"))
    with CaptureQueriesContext(connection) as queries:
        record = import_835(company, fixture("835_reversal.x12")).remittances[0]
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert (claim.paid_amount, claim.patient_responsibility) == (D("600.00"), D("80.00"))
    assert RemittanceClaim.objects.filter(remittance=record).count() == 2
    batches = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "hme_claim"') and '"hme_claim"."number" IN' in q["sql"]
    ]
    assert len(batches) == 2  # one per chunk: the reversal pass, then the correction


def test_the_import_queues_one_hold_refresh_not_one_per_save(
    company, django_capture_on_commit_callbacks
):
    sent_claim(company, medicare(company))
    with django_capture_on_commit_callbacks() as callbacks:
        import_835(company, fixture("835_paid.x12"))
    assert len(callbacks) == 1
