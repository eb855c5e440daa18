"""835 remittances: each fixture ends in the right claim states and amounts; the same
file posts once; a file that does not balance or is not X12 posts nothing."""

from decimal import Decimal

import pytest

from core.exceptions import Conflict, ServiceError
from hme.choices import ClaimStatus
from hme.edi.x12 import X12Error
from hme.models import (
    Adjustment,
    AllocationRemark,
    ClaimLine,
    Payment,
    PaymentAllocation,
    ProviderAdjustment,
    RemittanceClaim,
    RemittanceImport,
)
from hme.models.remittance import RemittanceClaimKind
from hme.services.remittance import assign_unmatched, import_835
from tests.hme.factories import claim_line

from .remittance_helpers import DOS, fixture, medicare, sent_claim

D = Decimal


def adjustments(claim):
    return sorted(
        (a.group, a.code, a.amount) for a in Adjustment.objects.filter(allocation__claim=claim)
    )


def written():
    return (
        Payment.objects.count(),
        PaymentAllocation.objects.count(),
        RemittanceImport.objects.count(),
        RemittanceClaim.objects.count(),
    )


def test_it_posts_a_paid_claim(company):
    payer = medicare(company)
    claim = sent_claim(company, payer)
    summary = import_835(company, fixture("835_paid.x12"), file_name="835_paid.x12")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert (claim.allowed_amount, claim.paid_amount, claim.patient_responsibility) == (
        D("680.00"),
        D("544.00"),
        D("136.00"),
    )
    assert adjustments(claim) == [("CO", "45", D("170.00")), ("PR", "2", D("136.00"))]
    record = summary.remittances[0]
    assert record.trace_number == "EFT0000101"
    assert record.payment.number == "EFT0000101"
    assert record.payment.amount == record.bpr_amount == D("544.00")
    assert record.payment.allocated_amount == D("544.00")
    assert claim.lines.get().paid_amount == D("544.00")
    assert "1 claim payment(s), $544.00 posted, 0 unmatched" in summary.line()


def test_the_same_file_posts_once(company):
    payer = medicare(company)
    sent_claim(company, payer)
    import_835(company, fixture("835_paid.x12"))
    before = written()
    with pytest.raises(Conflict) as refused:
        import_835(company, fixture("835_paid.x12"))
    assert refused.value.code == "already_imported"
    assert written() == before


def test_a_partly_paid_claim_keeps_the_denied_line_and_its_remark(company):
    payer = medicare(company)
    claim = sent_claim(
        company,
        payer,
        lines=[
            claim_line(date_of_service=DOS, charge=D("850.00")),
            claim_line(date_of_service=DOS, hcpcs="E0562", charge=D("250.00")),
        ],
    )
    import_835(company, fixture("835_partly_paid.x12"))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert claim.allowed_amount == D("680.00")
    denied = claim.lines.get(line_number=2)
    assert (denied.allowed_amount, denied.paid_amount) == (D("0.00"), D("0.00"))
    assert list(
        AllocationRemark.objects.filter(allocation__claim_line=denied).values_list(
            "code", flat=True
        )
    ) == ["N115"]
    assert ("CO", "50", D("250.00")) in adjustments(claim)


def test_denials_and_the_patients_share(company):
    payer = medicare(company)
    not_necessary = sent_claim(company, payer)
    missing_info = sent_claim(company, payer)
    deductible = sent_claim(
        company, payer, lines=[claim_line(date_of_service=DOS, charge=D("300.00"))]
    )
    summary = import_835(company, fixture("835_denied.x12"))
    for claim in (not_necessary, missing_info, deductible):
        claim.refresh_from_db()
    assert (not_necessary.status, not_necessary.denial_group, not_necessary.denial_code) == (
        ClaimStatus.DENIED,
        "CO",
        "50",
    )
    assert (missing_info.status, missing_info.denial_code) == (ClaimStatus.DENIED, "16")
    assert "MA130" in missing_info.denial_reason
    assert deductible.status == ClaimStatus.PAID
    assert (deductible.paid_amount, deductible.patient_responsibility) == (D("0"), D("200.00"))
    assert adjustments(deductible) == [
        ("CO", "45", D("100.00")),
        ("PR", "1", D("180.00")),
        ("PR", "2", D("20.00")),
    ]
    kinds = sorted(summary.remittances[0].claim_payments.values_list("kind", flat=True))
    assert kinds == ["denied", "denied", "posted"]


def test_a_reversal_undoes_the_payment_and_the_correction_posts(company):
    payer = medicare(company)
    claim = sent_claim(company, payer)
    first = import_835(company, fixture("835_paid.x12")).remittances[0]
    second = import_835(company, fixture("835_reversal.x12")).remittances[0]
    claim.refresh_from_db()
    first.payment.refresh_from_db()
    assert first.payment.allocated_amount == D("0.00")  # recouped in the second
    assert claim.status == ClaimStatus.PAID
    assert (claim.paid_amount, claim.patient_responsibility) == (D("600.00"), D("80.00"))
    assert adjustments(claim) == [("CO", "45", D("170.00")), ("PR", "2", D("80.00"))]
    assert second.bpr_amount == D("56.00")
    assert second.reversed_amount == D("544.00")
    assert second.payment.amount == D("600.00")
    original = first.claim_payments.get()
    assert original.reversed_at is not None
    assert second.claim_payments.get(kind=RemittanceClaimKind.REVERSAL).reverses == original


def test_a_reversal_with_nothing_to_reverse_waits_in_the_worklist(company):
    payer = medicare(company)
    sent_claim(company, payer)
    record = import_835(company, fixture("835_reversal.x12")).remittances[0]
    row = record.claim_payments.get(status_code="22")
    assert row.kind == RemittanceClaimKind.UNMATCHED
    assert "Nothing posted" in row.details["reason"]
    assert record.unmatched_amount == D("-544.00")


def test_a_dropped_modifier_still_matches_the_line(company):
    payer = medicare(company)
    claim = sent_claim(
        company,
        payer,
        lines=[
            claim_line(date_of_service=DOS, modifiers=["RR", "KH"], charge=D("120.00")),
        ],
    )
    import_835(company, fixture("835_dropped_modifier.x12"))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert claim.lines.get().paid_amount == D("80.00")


def test_an_unmatched_claim_waits_for_a_clerk_who_assigns_it(company, personas):
    payer = medicare(company)
    sent_claim(company, payer)
    record = import_835(company, fixture("835_unmatched.x12")).remittances[0]
    row = RemittanceClaim.objects.unmatched().get()
    assert row.payer_claim_number == "X-424242"
    assert record.unmatched_amount == D("200.00")
    assert record.payment.amount - record.payment.allocated_amount == D("200.00")
    other = sent_claim(
        company, payer, lines=[claim_line(date_of_service=DOS, hcpcs="E0562", charge=D("250"))]
    )
    assign_unmatched(row, other, personas["billing"])
    row.refresh_from_db()
    other.refresh_from_db()
    record.refresh_from_db()
    assert row.kind == RemittanceClaimKind.ASSIGNED
    assert row.assigned_by == personas["billing"]
    assert other.status == ClaimStatus.PAID
    assert other.paid_amount == D("200.00")
    assert record.unmatched_amount == D("0.00")
    assert record.payment.allocated_amount == D("744.00")
    with pytest.raises(Conflict):
        assign_unmatched(row, other)


def test_a_clerk_cannot_assign_to_another_payers_claim(company):
    from tests.hme.factories import CommercialPayerFactory

    payer = medicare(company)
    sent_claim(company, payer)
    import_835(company, fixture("835_unmatched.x12"))
    row = RemittanceClaim.objects.unmatched().get()
    elsewhere = sent_claim(company, CommercialPayerFactory(company=company))
    with pytest.raises(ServiceError, match="billed to"):
        assign_unmatched(row, elsewhere)


def test_provider_level_adjustments_are_recorded(company):
    payer = medicare(company)
    claim = sent_claim(company, payer)
    record = import_835(company, fixture("835_plb.x12")).remittances[0]
    plb = ProviderAdjustment.objects.get()
    assert (plb.reason, plb.reference, plb.amount) == ("WO", "OVERPAY0001", D("10.00"))
    assert record.bpr_amount == D("534.00")
    assert record.payment.amount == D("544.00")
    claim.refresh_from_db()
    assert claim.paid_amount == D("544.00")


def test_an_unknown_payer_is_refused(company):
    sent_claim(company, medicare(company))
    data = fixture("835_paid.x12").replace(b"REF*2U*17003", b"REF*2U*99999")
    with pytest.raises(ServiceError, match="No payer of yours"):
        import_835(company, data)
    assert written() == (0, 0, 0, 0)


def test_a_file_that_does_not_balance_is_refused_with_the_difference(company):
    payer = medicare(company)
    sent_claim(company, payer)
    data = fixture("835_paid.x12").replace(b"BPR*I*544*", b"BPR*I*545*")
    with pytest.raises(X12Error) as refused:
        import_835(company, data)
    assert "difference 1.00" in refused.value.message
    assert "segment BPR" in refused.value.message
    assert written() == (0, 0, 0, 0)


def test_a_line_that_does_not_balance_is_refused(company):
    data = fixture("835_paid.x12").replace(b"CAS*CO*45*170", b"CAS*CO*45*171")
    # Position 17: ISA GS ST BPR TRN DTM N1 N3 N4 REF PER (1000A), N1 (1000B), LX CLP NM1 DTM SVC.
    with pytest.raises(X12Error, match=r"SVC02-SVC03.*segment SVC, segment position 17"):
        import_835(company, data)


def test_invalid_x12_is_refused_with_segment_and_position_and_nothing_posted(company):
    payer = medicare(company)
    sent_claim(company, payer)
    data = fixture("835_paid.x12").replace(b"SVC*HC:E0601:NU*850*", b"SVC*HC:E0601:NU*8S0*")
    with pytest.raises(X12Error) as refused:
        import_835(company, data)
    message = refused.value.message
    assert "SVC02" in message
    assert "segment SVC" in message
    assert "position 17" in message
    assert written() == (0, 0, 0, 0)
    assert "TESTPATIENT" not in message
    assert "1EG4TE5MK73" not in message


def test_a_claim_that_does_not_reconcile_after_posting_refuses_the_file(company, monkeypatch):
    """Posting is checked against BPR02 again after the fact (to the cent)."""
    from hme.services import remittance

    payer = medicare(company)
    sent_claim(company, payer)
    real = remittance.post_payment

    def short(payment, allocations, **kwargs):
        allocations = [{**a, "amount": Decimal(a["amount"]) - D("0.01")} for a in allocations]
        return real(payment, allocations, **kwargs)

    monkeypatch.setattr(remittance, "post_payment", short)
    with pytest.raises(ServiceError) as refused:
        import_835(company, fixture("835_paid.x12"))
    assert refused.value.code == "remittance_unbalanced"
    assert "difference" in refused.value.message
    assert written() == (0, 0, 0, 0)
    assert ClaimLine.objects.get().paid_amount == D("0.00")


def test_another_companys_claim_is_never_matched(company, other_company):
    theirs = sent_claim(other_company, medicare(other_company))  # C-000001 there too
    mine = sent_claim(company, medicare(company))
    record = import_835(company, fixture("835_paid.x12")).remittances[0]
    assert record.claim_payments.get().claim == mine
    theirs.refresh_from_db()
    assert theirs.status == ClaimStatus.PROCESSING


def test_the_inbox_posts_an_835_once(company):
    from hme.edi.inbox import dispatch_file

    claim = sent_claim(company, medicare(company))
    result = dispatch_file(company, "835_paid.x12", fixture("835_paid.x12"))
    assert result.counts["835 claim payments"] == 1
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    again = dispatch_file(company, "835_paid.x12", fixture("835_paid.x12"))
    assert again.counts["835 already imported"] == 1
    assert PaymentAllocation.objects.count() == 1
    assert RemittanceImport.objects.get().source == "inbox"
