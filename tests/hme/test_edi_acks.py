"""999 and 277CA acknowledgements from the inbox: each fixture ends with the right
claim and batch states; invalid X12 is refused by segment and position, changing nothing."""

from pathlib import Path

import pytest
from django.urls import reverse

from accounts.choices import Role
from core.exceptions import Conflict
from hme.choices import ClaimStatus
from hme.edi.adapters import DirectoryDropAdapter
from hme.edi.x12 import X12Error
from hme.models import Claim, InboundFile
from hme.models.edi import BatchClaim, BatchClaimStatus, BatchStatus
from hme.services import submission
from tests.hme.edi_helpers import edi_claim, pyx12_errors
from tests.hme.factories import PayerFactory

FIXTURES = Path(__file__).parent / "fixtures" / "edi"


def fixture(name):
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def _edi_dirs(settings, tmp_path):
    settings.EDI_STORE_DIR = tmp_path / "store"
    settings.EDI_OUTBOX_DIR = tmp_path / "out"
    settings.EDI_INBOX_DIR = tmp_path / "in"


@pytest.fixture
def sent_batch(company):
    """B-000001 with C-000001 and C-000002, sent (the fixtures answer it)."""
    payer = PayerFactory(company=company)
    claims = [edi_claim(company, payer) for _ in range(2)]
    assert [c.number for c in claims] == ["C-000001", "C-000002"]
    batch = submission.create_batch(company, claims)
    return submission.send_batch(batch, adapter=DirectoryDropAdapter())


def claim(number):
    return Claim.objects.get(number=number)


def item(number):
    return BatchClaim.objects.get(claim__number=number)


# pyx12 4.0.0 carries no 005010X279A1 (270/271) map: the 271 fixtures are checked by our
# own reader (tests/hme/test_eligibility.py).
@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in FIXTURES.glob("*.x12")
        if "invalid" not in p.name and not p.name.startswith("271")
    ),
)
def test_every_fixture_is_valid_x12_for_pyx12(name):
    assert pyx12_errors(fixture(name).decode()) == []


@pytest.mark.django_db
def test_999_accepted_settles_the_batch(company, sent_batch):
    record = submission.receive_file(company, "a.999", fixture("999_accepted.x12"))
    sent_batch.refresh_from_db()
    assert sent_batch.status == BatchStatus.ACCEPTED
    assert record.status == "processed"
    assert "999 accepted 1" in record.summary
    # The claims wait for the 277CA.
    assert {c.status for c in Claim.objects.all()} == {ClaimStatus.PENDING}
    assert all(c.submitted_at for c in Claim.objects.all())


@pytest.mark.django_db
def test_999_rejected_file_returns_every_claim_with_the_segment_and_error(company, sent_batch):
    submission.receive_file(company, "r.999", fixture("999_rejected_file.x12"))
    sent_batch.refresh_from_db()
    assert sent_batch.status == BatchStatus.REJECTED
    reason = sent_batch.rejection_reason
    assert "segment CLM at position 20 (loop 2300)" in reason
    assert "segment has data element errors (IK3 8)" in reason
    assert "element 5-3: invalid code value (IK4 7)" in reason
    for number in ("C-000001", "C-000002"):
        assert claim(number).status == ClaimStatus.PENDING
        assert claim(number).submitted_at is None  # can be corrected and batched again
        assert item(number).status == BatchClaimStatus.REJECTED
        assert "segment CLM at position 20" in item(number).reason


@pytest.mark.django_db
def test_277ca_accepted_moves_claims_to_processing_with_payer_numbers(company, sent_batch):
    submission.receive_file(company, "a.999", fixture("999_accepted.x12"))
    record = submission.receive_file(company, "a.277", fixture("277ca_accepted.x12"))
    assert "277CA accepted 2" in record.summary
    for number, pcn in (("C-000001", "PAYERCLM0001"), ("C-000002", "PAYERCLM0002")):
        assert claim(number).status == ClaimStatus.PROCESSING
        assert claim(number).acknowledged_at is not None
        assert item(number).payer_claim_number == pcn
        assert item(number).status_codes == "A2:20:PR"


@pytest.mark.django_db
def test_277ca_rejected_claim_goes_back_to_the_worklist_with_words_and_codes(
    company, sent_batch, client, personas
):
    submission.receive_file(company, "r.277", fixture("277ca_rejected_claim.x12"))
    assert claim("C-000001").status == ClaimStatus.PROCESSING
    rejected = claim("C-000002")
    assert rejected.status == ClaimStatus.PENDING
    assert rejected.submitted_at is None
    assert item("C-000002").status_codes == "A7:562:85"
    assert item("C-000002").reason == (
        "277CA: Acknowledgement: rejected for invalid information: entity's National "
        "Provider Identifier (NPI) (billing provider) [A7:562:85]"
    )
    # The billing worklist: the claims list filtered to what the clearinghouse sent back.
    client.force_login(personas[Role.BILLING])
    response = client.get(reverse("admin:hme_claim_changelist"), {"edi": "rejected"})
    assert [c.number for c in response.context["cl"].result_list] == ["C-000002"]
    # Corrected, it can go into a new batch.
    again = submission.create_batch(company, [rejected])
    assert again.number == "B-000002"


@pytest.mark.django_db
def test_invalid_x12_is_refused_by_segment_and_position_and_changes_nothing(company, sent_batch):
    before = list(Claim.objects.order_by("number").values())
    with pytest.raises(X12Error) as caught:
        submission.receive_file(company, "bad.277", fixture("277ca_invalid_segment.x12"))
    assert caught.value.position == 30
    assert "segment position 30" in caught.value.message
    assert "PAYERCLM" not in caught.value.message
    assert list(Claim.objects.order_by("number").values()) == before
    assert not BatchClaim.objects.exclude(status=BatchClaimStatus.INCLUDED).exists()
    record = InboundFile.objects.get()
    assert record.status == "refused"
    assert "segment position 30" in record.error


@pytest.mark.django_db
def test_a_handler_refusal_rolls_back_the_whole_file(company, sent_batch):
    # A 999 naming a group control number we never sent: refused, nothing settled.
    text = fixture("999_accepted.x12").decode().replace("AK1*HC*1*", "AK1*HC*77*")
    with pytest.raises(X12Error, match="AK102 names no batch"):
        submission.receive_file(company, "x.999", text.encode())
    sent_batch.refresh_from_db()
    assert sent_batch.status == BatchStatus.SENT


@pytest.mark.django_db
def test_the_inbox_processes_each_file_once(company, sent_batch, settings):
    folder = settings.EDI_INBOX_DIR / str(company.pk)
    folder.mkdir(parents=True)
    (folder / "1.999").write_bytes(fixture("999_accepted.x12"))
    (folder / "2.277").write_bytes(fixture("277ca_rejected_claim.x12"))
    (folder / "3.277").write_bytes(fixture("277ca_invalid_segment.x12"))
    run = submission.process_inbox(company, DirectoryDropAdapter())
    assert sorted(run.processed) == ["1.999", "2.277"]
    assert run.refused == ["3.277"]
    assert (folder / "failed" / "3.277").exists()
    (folder / "again.999").write_bytes(fixture("999_accepted.x12"))
    run = submission.process_inbox(company, DirectoryDropAdapter())
    assert run.duplicates == 1
    with pytest.raises(Conflict):
        submission.receive_file(company, "again.999", fixture("999_accepted.x12"))
    assert claim("C-000002").status == ClaimStatus.PENDING


@pytest.mark.django_db
def test_another_companys_acknowledgement_finds_nothing_of_ours(company, other_company, sent_batch):
    with pytest.raises(X12Error, match="AK102 names no batch"):
        submission.receive_file(other_company, "a.999", fixture("999_accepted.x12"))
    record = submission.receive_file(other_company, "a.277", fixture("277ca_accepted.x12"))
    assert "277CA unmatched 2" in record.summary
    assert claim("C-000001").status == ClaimStatus.PENDING
