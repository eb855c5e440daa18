"""Races on PostgreSQL: the same rental month billed by concurrent runs, a payment
posted by concurrent clerks, claim numbers drawn at once, an authorization's last unit.

Each thread has its own database connection (closed at the end) and waits at a
barrier so all calls hit the database together.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from core.exceptions import ServiceError
from dme.models import Order, Rental
from hme import services
from hme.models import Authorization, Claim, Payment, PaymentAllocation
from tests.clinical.factories import DiagnosisFactory
from tests.concurrency import race
from tests.dme.factories import RentalFactory
from tests.hme.factories import (
    AuthorizationFactory,
    ClaimFactory,
    CoverageFactory,
    PaymentFactory,
    claim_line,
)

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_bill_each_rental_month_once(postgres_only, company):
    rental = RentalFactory(company=company, start_date=datetime.date(2025, 1, 15))
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient)
    as_of = datetime.date(2025, 5, 20)  # months 1-5 due

    results = race([lambda: services.bill_rental_months(as_of=as_of)] * THREADS)

    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(len(run.claims) for run in results) == 5
    assert sorted(Claim.objects.values_list("rental_month", flat=True)) == [1, 2, 3, 4, 5]
    assert Rental.objects.get(pk=rental.pk).months_billed == 5


def _lock_at_once(model, pk):
    with transaction.atomic():
        model.objects.select_for_update(nowait=True).get(pk=pk)
    return "locked"


@pytest.mark.django_db(transaction=True)
def test_billing_a_rental_month_holds_the_order_until_it_commits(postgres_only, company):
    """While a rental month is being billed, no other transaction can take the order
    (a cancellation, a line change, the purchase billing): before, only the rental row
    was locked and the order was free."""
    rental = RentalFactory(company=company, start_date=datetime.date(2025, 1, 15))
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient)
    with transaction.atomic():
        claim = services.bill_next_rental_month(rental, datetime.date(2025, 1, 20))
        assert claim is not None
        [order_outcome, rental_outcome] = race(
            [
                lambda: _lock_at_once(Order, rental.order_id),
                lambda: _lock_at_once(Rental, rental.pk),
            ]
        )
    assert isinstance(order_outcome, DatabaseError), order_outcome
    assert "could not obtain lock" in str(order_outcome)
    assert isinstance(rental_outcome, DatabaseError), rental_outcome
    assert _lock_at_once(Order, rental.order_id) == "locked"  # released on commit


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_never_exceed_the_payment(postgres_only, company):
    claim = ClaimFactory(company=company, lines=[claim_line(charge=Decimal("1000.00"))])
    services.submit_claim(claim)
    services.mark_processing(claim)
    services.approve_claim(claim, allowed="1000.00")
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))

    results = race(
        [lambda: services.post_payment(payment, [{"claim": claim, "amount": "30.00"}])] * THREADS
    )

    posted = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert (len(posted), len(refused)) == (3, THREADS - 3), results
    assert {error.code for error in refused} == {"over_posting"}
    payment.refresh_from_db()
    assert payment.allocated_amount == Decimal("90.00")
    assert PaymentAllocation.objects.count() == 3
    claim.refresh_from_db()
    assert claim.paid_amount == Decimal("90.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_draw_distinct_numbers(postgres_only, company):
    coverages = [CoverageFactory(company=company) for _ in range(THREADS)]
    for coverage in coverages:
        DiagnosisFactory(company=company, patient=coverage.patient)

    results = race(
        [
            lambda coverage=coverage: ClaimFactory(company=company, coverage=coverage)
            for coverage in coverages
        ]
    )

    assert all(isinstance(r, Claim) for r in results), results
    numbers = sorted(Claim.objects.values_list("number", flat=True))
    assert numbers == [f"C-{n:06d}" for n in range(1, THREADS + 1)]


@pytest.mark.django_db(transaction=True)
def test_the_last_authorized_unit_is_drawn_once(postgres_only, company):
    authorization = AuthorizationFactory(company=company, units_approved=1)
    DiagnosisFactory(company=company, patient=authorization.coverage.patient)
    day = authorization.valid_from + datetime.timedelta(days=1)
    line = claim_line(date_of_service=day, hcpcs="K0823", modifiers=["NU"], charge=Decimal("4000"))

    results = race(
        [
            lambda: ClaimFactory(company=company, coverage=authorization.coverage, lines=[line])
            for _ in range(THREADS)
        ]
    )

    created = [r for r in results if isinstance(r, Claim)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert (len(created), len(refused)) == (1, THREADS - 1), results
    assert Authorization.objects.get(pk=authorization.pk).units_used == 1
    assert Claim.objects.count() == 1
