"""Money adds up: claim totals are the sum of lines; payments are never over-posted;
a refusal leaves no partial rows."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.exceptions import InvalidTransition, ServiceError
from core.quality import Outcome, get_checks
from hme import services
from hme.choices import ClaimStatus
from hme.models import Adjustment, Claim, ClaimLine, Payment, PaymentAllocation
from tests.hme.factories import (
    ClaimFactory,
    CommercialPayerFactory,
    CoverageFactory,
    PayerFactory,
    PaymentFactory,
    claim_line,
)


def approved_claim(company, charges=("500.00",), allowed=None, **kwargs):
    claim = ClaimFactory(
        company=company,
        lines=[claim_line(charge=Decimal(c)) for c in charges],
        **kwargs,
    )
    services.submit_claim(claim)
    services.mark_processing(claim)
    total = sum(Decimal(c) for c in charges)
    return services.approve_claim(claim, allowed=allowed or total)


def counts():
    return (
        PaymentAllocation.objects.count(),
        Adjustment.objects.count(),
        list(Claim.objects.values_list("status", "paid_amount", "patient_responsibility")),
        list(Payment.objects.values_list("allocated_amount", flat=True)),
        list(ClaimLine.objects.values_list("paid_amount", flat=True)),
    )


def test_claim_totals_are_the_sum_of_the_lines(company):
    claim = ClaimFactory(
        company=company,
        lines=[
            claim_line(charge=Decimal("850.00")),
            claim_line(hcpcs="A7030", modifiers=[], units=1, charge=Decimal("165.17")),
            claim_line(hcpcs="A7037", modifiers=[], units=2, charge=Decimal("62.50")),
        ],
    )
    assert claim.total_charge == Decimal("1077.67")
    first = claim.lines.get(line_number=1)
    services.update_claim(
        claim, lines=[claim_line(charge=Decimal("12.34"), order_line=first.order_line)]
    )
    claim.refresh_from_db()
    assert claim.total_charge == Decimal("12.34")
    assert claim.lines.count() == 1


def failing_ids(check):
    """The ids a check finds, called outside a run (a full pass for the incremental ones)."""
    result = check.function()
    if isinstance(result, Outcome):
        assert result.count == len(result.sample_ids)
        return result.sample_ids
    return list(result.values_list("pk", flat=True))


def test_the_data_quality_check_finds_claims_whose_total_drifted(company):
    check = next(c for c in get_checks() if c.name == "hme.claim_total_matches_lines")
    ClaimFactory(company=company)
    bad = ClaimFactory(company=company)
    assert failing_ids(check) == []
    Claim.objects.filter(pk=bad.pk).update(total_charge=Decimal("1.00"))
    assert failing_ids(check) == [bad.pk]


def test_a_payment_pays_a_claim_when_it_covers_the_allowed_amount(company):
    claim = approved_claim(company, charges=("500.00",), allowed=Decimal("400.00"))
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("320.00"))
    services.post_payment(
        payment,
        [
            {
                "claim": claim,
                "amount": "320.00",
                "adjustments": [
                    {"group": "CO", "code": "45", "amount": "100.00"},
                    {"group": "PR", "code": "2", "amount": "80.00"},
                ],
            }
        ],
    )
    claim.refresh_from_db()
    payment.refresh_from_db()
    assert claim.paid_amount == Decimal("320.00")
    assert claim.patient_responsibility == Decimal("80.00")
    # 320 paid + 80 coinsurance = 400 allowed: the payer's part is settled.
    assert claim.status == ClaimStatus.PAID
    assert claim.paid_at is not None
    assert payment.allocated_amount == Decimal("320.00")
    assert payment.unallocated_amount == Decimal("0.00")


def test_a_partial_payment_leaves_the_claim_approved(company):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("1000.00"))
    services.post_payment(payment, [{"claim": claim, "amount": "200.00"}])
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    services.post_payment(payment, [{"claim": claim, "amount": "300.00"}])
    claim.refresh_from_db()
    assert claim.paid_amount == Decimal("500.00")
    assert claim.status == ClaimStatus.PAID


def test_one_payment_pays_several_claims_and_their_lines(company):
    first = approved_claim(company, charges=("100.00", "50.00"))
    second = approved_claim(
        company, charges=("75.00",), coverage=CoverageFactory(company=company, payer=first.payer)
    )
    payment = PaymentFactory(company=company, payer=first.payer, amount=Decimal("225.00"))
    line_1, line_2 = first.lines.order_by("line_number")
    services.post_payment(
        payment,
        [
            {"claim": first, "claim_line": line_1, "amount": "100.00"},
            {"claim": first, "claim_line": line_2, "amount": "50.00"},
            {"claim": second, "amount": "75.00"},
        ],
    )
    line_1.refresh_from_db()
    assert line_1.paid_amount == Decimal("100.00")
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert statuses == {ClaimStatus.PAID}
    payment.refresh_from_db()
    assert payment.allocated_amount == payment.amount


def test_over_posting_is_refused_with_what_is_left_and_nothing_is_written(company):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("300.00"))
    services.post_payment(payment, [{"claim": claim, "amount": "250.00"}])
    before = counts()
    with pytest.raises(ServiceError) as caught:
        services.post_payment(
            payment,
            [
                {
                    "claim": claim,
                    "amount": "40.00",
                    "adjustments": [{"group": "CO", "code": "45", "amount": "5.00"}],
                },
                {"claim": claim, "amount": "20.00"},
            ],
        )
    assert caught.value.code == "over_posting"
    assert caught.value.message.startswith("Over-posting")
    assert "$50.00 is left on this payment" in caught.value.message
    assert "$60.00" in caught.value.message
    assert counts() == before


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": "-1.00"},
        {"amount": "1.005"},
        {"amount": "0", "adjustments": []},
        {"amount": "1.00", "adjustments": [{"group": "ZZ", "code": "45", "amount": "1"}]},
        {"amount": "1.00", "adjustments": [{"group": "CO", "code": "4567", "amount": "1"}]},
        {"amount": "1.00", "adjustments": [{"group": "CO", "code": "45", "amount": "0"}]},
        {"amount": "1.00", "claim": None},
    ],
)
def test_a_bad_allocation_anywhere_in_the_batch_writes_nothing(company, bad):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("500.00"))
    before = counts()
    allocation = {"claim": claim, **bad}
    with pytest.raises(ServiceError):
        services.post_payment(payment, [{"claim": claim, "amount": "100.00"}, allocation])
    assert counts() == before


def test_a_claim_of_another_payer_is_refused(company):
    claim = approved_claim(company)
    other_payer = CommercialPayerFactory(company=company)
    payment = PaymentFactory(company=company, payer=other_payer, amount=Decimal("100.00"))
    with pytest.raises(ServiceError) as caught:
        services.post_payment(payment, [{"claim": claim, "amount": "100.00"}])
    assert "is billed to" in caught.value.message
    assert PaymentAllocation.objects.count() == 0


def test_a_line_of_another_claim_is_refused(company):
    claim = approved_claim(company)
    other = approved_claim(company, coverage=CoverageFactory(company=company, payer=claim.payer))
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    with pytest.raises(ServiceError):
        services.post_payment(
            payment, [{"claim": claim, "claim_line": other.lines.get(), "amount": "10.00"}]
        )
    assert PaymentAllocation.objects.count() == 0


@pytest.mark.parametrize("status", [ClaimStatus.PENDING, ClaimStatus.DENIED, ClaimStatus.VOID])
def test_payments_post_to_approved_claims_only(company, status):
    claim = ClaimFactory(company=company)
    if status == ClaimStatus.DENIED:
        services.submit_claim(claim)
        services.mark_processing(claim)
        services.deny_claim(claim, "CO", "50")
    elif status == ClaimStatus.VOID:
        services.void_claim(claim)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    before = counts()
    with pytest.raises(InvalidTransition) as caught:
        services.post_payment(payment, [{"claim": claim, "amount": "10.00"}])
    assert caught.value.code == "claim_not_approved"
    assert counts() == before


def test_recording_a_payment_with_a_refused_allocation_records_no_payment(company):
    claim = approved_claim(company)
    with pytest.raises(ServiceError):
        services.record_payment(
            company=company,
            payer=claim.payer,
            number="CHK-1001",
            paid_date=claim.created_at.date(),
            amount="100.00",
            allocations=[{"claim": claim, "amount": "150.00"}],
        )
    assert Payment.objects.count() == 0
    assert PaymentAllocation.objects.count() == 0


def test_the_database_refuses_allocating_more_than_the_payment(company):
    payment = PaymentFactory(company=company, amount=Decimal("10.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(allocated_amount=Decimal("10.01"))


def test_a_payment_cannot_drop_below_what_is_allocated(company):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    services.post_payment(payment, [{"claim": claim, "amount": "100.00"}])
    payment.refresh_from_db()
    payment.amount = Decimal("99.00")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        payment.full_clean()
    assert "amount" in caught.value.message_dict


def test_sums_hold_after_many_postings(company):
    payer = PayerFactory(company=company)
    claims = [
        approved_claim(
            company, charges=("100.00",), coverage=CoverageFactory(company=company, payer=payer)
        )
        for _ in range(3)
    ]
    payment = PaymentFactory(company=company, payer=payer, amount=Decimal("250.00"))
    for claim, amount in zip(claims, ("80.00", "90.00", "70.00"), strict=True):
        services.post_payment(payment, [{"claim": claim, "amount": amount}])
    payment.refresh_from_db()
    allocated = sum(a.amount for a in payment.allocations.all())
    assert payment.allocated_amount == allocated == Decimal("240.00")
    with pytest.raises(ServiceError):
        services.post_payment(payment, [{"claim": claims[0], "amount": "10.01"}])
    services.post_payment(payment, [{"claim": claims[0], "amount": "10.00"}])
    payment.refresh_from_db()
    assert payment.allocated_amount == payment.amount


def test_the_data_quality_checks_find_nothing_after_real_postings(company):
    claim = approved_claim(company, charges=("300.00", "200.00"), allowed=Decimal("400.00"))
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("320.00"))
    services.post_payment(
        payment,
        [
            {
                "claim": claim,
                "claim_line": claim.lines.get(line_number=1),
                "amount": "240.00",
                "adjustments": [{"group": "PR", "code": "2", "amount": "60.00"}],
            },
            {
                "claim": claim,
                "amount": "80.00",
                "adjustments": [{"group": "PR", "code": "2", "amount": "20.00"}],
            },
        ],
    )
    names = [
        "hme.claim_total_matches_lines",
        "hme.claim_paid_matches_allocations",
        "hme.payment_allocated_matches",
    ]
    for check in get_checks(names):
        assert failing_ids(check) == [], check.name
    Claim.objects.filter(pk=claim.pk).update(patient_responsibility=Decimal("0.00"))
    Payment.objects.filter(pk=payment.pk).update(allocated_amount=Decimal("1.00"))
    found = {check.name: failing_ids(check) for check in get_checks(names)}
    assert found["hme.claim_paid_matches_allocations"] == [claim.pk]
    assert found["hme.payment_allocated_matches"] == [payment.pk]
