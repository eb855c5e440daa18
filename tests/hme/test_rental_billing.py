"""Capped-rental billing: the schedule, the modifiers, the fees, the cap, idempotence."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from dme.choices import BillingKind, EquipmentCategory, RentalStatus
from hme import services
from hme.models import Claim, ClaimLine
from hme.rules import month_date_of_service
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import ConcentratorFactory, CPAPFactory, RentalFactory
from tests.hme.factories import AuthorizationFactory, CoverageFactory

START = datetime.date(2025, 1, 15)


@pytest.fixture
def cpap_rental(company):
    """A CPAP (purchase fee $1,000.00) rented from START, with coverage and a diagnosis."""
    rental = RentalFactory(
        company=company,
        start_date=START,
        order_line__equipment__purchase_price=Decimal("1000.00"),
    )
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    return rental


def month(number, start=START):
    return month_date_of_service(start, number)


def rental_claims(rental):
    return list(
        Claim.objects.filter(rental=rental).order_by("rental_month").prefetch_related("lines")
    )


def test_it_bills_months_1_to_15_of_a_cpap_as_13_claims_then_caps(cpap_rental):
    for number in range(1, 16):
        run = services.bill_rental_months(as_of=month(number))
        assert not run.errors, run.errors
        assert len(run.claims) == (1 if number <= 13 else 0), number
    claims = rental_claims(cpap_rental)
    assert [c.rental_month for c in claims] == list(range(1, 14))
    expected = (
        [(["RR", "KH"], Decimal("100.00"))]
        + [(["RR", "KI"], Decimal("100.00"))] * 2
        + [(["RR", "KJ"], Decimal("75.00"))] * 10
    )
    actual = [(c.lines.get().modifiers, c.lines.get().charge) for c in claims]
    assert actual == expected
    for number, claim in enumerate(claims, start=1):
        line = claim.lines.get()
        assert line.date_of_service == month(number)
        assert line.hcpcs == "E0601"
        assert claim.total_charge == line.charge
        assert claim.order_id == cpap_rental.order_id
    assert sum(c.total_charge for c in claims) == Decimal("1050.00")
    cpap_rental.refresh_from_db()
    assert cpap_rental.status == RentalStatus.CAPPED
    assert cpap_rental.months_billed == 13


def test_it_bills_every_month_due_in_one_run_and_never_twice(cpap_rental):
    run = services.bill_rental_months(as_of=month(15))
    assert len(run.claims) == 13
    assert run.capped == [cpap_rental.pk]
    again = services.bill_rental_months(as_of=month(15))
    assert again.claims == []
    assert again.errors == []
    assert Claim.objects.filter(rental=cpap_rental).count() == 13


def test_a_rerun_the_same_day_bills_nothing(cpap_rental):
    first = services.bill_rental_months(as_of=month(3))
    second = services.bill_rental_months(as_of=month(3))
    assert len(first.claims) == 3
    assert second.claims == []
    cpap_rental.refresh_from_db()
    assert cpap_rental.months_billed == 3
    assert cpap_rental.status == RentalStatus.ACTIVE


def test_it_bills_nothing_before_the_month_starts(cpap_rental):
    assert services.bill_rental_months(as_of=START - datetime.timedelta(days=1)).claims == []
    assert len(services.bill_rental_months(as_of=month(2) - datetime.timedelta(days=1)).claims) == 1


def test_the_database_refuses_a_month_billed_twice(cpap_rental):
    services.bill_rental_months(as_of=month(1))
    first = Claim.objects.get(rental=cpap_rental)
    line = first.lines.get()
    assert line.rental_month.number == 1
    duplicate = ClaimLine(
        company=first.company,
        claim=first,
        line_number=2,
        date_of_service=line.date_of_service,
        hcpcs=line.hcpcs,
        modifiers=line.modifiers,
        charge=line.charge,
        diagnosis_pointers=[1],
        rental_month=line.rental_month,
        payer_sequence=line.payer_sequence,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_oxygen_bills_36_months_of_the_rental_fee_with_rr_only_then_stops(company):
    concentrator = ConcentratorFactory(
        company=company, is_serialized=False, monthly_rental_fee=Decimal("180.55")
    )
    assert concentrator.billing_kind == BillingKind.OXYGEN_RENTAL
    rental = RentalFactory(
        company=company,
        start_date=START,
        order_line__equipment=concentrator,
        cap_months=concentrator.rental_cap_months,
        monthly_fee=concentrator.monthly_rental_fee,
    )
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="J449")
    run = services.bill_rental_months(as_of=month(40))
    assert not run.errors
    claims = rental_claims(rental)
    assert [c.rental_month for c in claims] == list(range(1, 37))
    assert {tuple(c.lines.get().modifiers) for c in claims} == {("RR",)}
    assert {c.lines.get().charge for c in claims} == {Decimal("180.55")}
    rental.refresh_from_db()
    assert rental.status == RentalStatus.CAPPED
    assert rental.months_billed == 36
    assert services.bill_rental_months(as_of=month(60)).claims == []


def test_power_wheelchairs_rent_at_15_and_6_percent_under_month_1s_authorization(company):
    chair = CPAPFactory(
        company=company,
        is_serialized=False,
        name="Group 2 power wheelchair",
        hcpcs_code="K0823",
        category=EquipmentCategory.MOBILITY,
        purchase_price=Decimal("4023.33"),
    )
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=chair)
    coverage = CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G35")
    authorization = AuthorizationFactory(
        company=company,
        coverage=coverage,
        valid_from=START - datetime.timedelta(days=10),
        valid_to=START + datetime.timedelta(days=170),
        units_approved=1,
    )
    run = services.bill_rental_months(as_of=month(5))
    assert not run.errors, run.errors
    charges = [c.lines.get().charge for c in rental_claims(rental)]
    # 15% of 4023.33 = 603.4995 -> 603.50; 6% = 241.3998 -> 241.40.
    assert charges == [Decimal("603.50")] * 3 + [Decimal("241.40")] * 2
    lines = [c.lines.get() for c in rental_claims(rental)]
    assert {line.authorization_id for line in lines} == {authorization.pk}
    assert [line.draws_authorization for line in lines] == [True, False, False, False, False]
    authorization.refresh_from_db()
    assert authorization.units_used == 1


def test_order_line_modifiers_such_as_kx_follow_the_rental_modifiers(company):
    """Months 1-3; from month 4 a CPAP's KX waits for adherence (tests/adherence)."""
    rental = RentalFactory(company=company, start_date=START, order_line__modifiers=["RR", "KX"])
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient)
    services.bill_rental_months(as_of=month(4))
    assert [c.lines.get().modifiers for c in rental_claims(rental)] == [
        ["RR", "KH", "KX"],
        ["RR", "KI", "KX"],
        ["RR", "KI", "KX"],
        # No usage imported: adherence is not documented, so no KX (LCD L33718).
        ["RR", "KJ"],
    ]


def test_billing_a_month_locks_the_order_first_through_the_order_lock(cpap_rental, monkeypatch):
    """Rental billing used to lock only the rental, so it ran beside any service holding
    the order (which dme's services lock first, before the rows under it)."""
    from dme.services.orders import lock_order
    from hme.services import billing

    locked = []

    def spy(order, *related):
        locked.append(order.pk)
        return lock_order(order, *related)

    monkeypatch.setattr(billing, "lock_order", spy)
    assert services.bill_next_rental_month(cpap_rental, month(1)) is not None
    assert locked == [cpap_rental.order_id]


def test_a_failing_rental_is_reported_and_the_others_are_billed(company, cpap_rental):
    uninsured = RentalFactory(
        company=company, start_date=START, order_line__equipment=cpap_rental.equipment
    )
    DiagnosisFactory(company=company, patient=uninsured.patient)
    run = services.bill_rental_months(as_of=month(2))
    assert len(run.claims) == 2
    assert [pk for pk, _ in run.errors] == [uninsured.pk]
    assert "no primary coverage in force on 2025-01-15" in run.errors[0][1]
    assert uninsured.patient.last_name not in run.errors[0][1]
    uninsured.refresh_from_db()
    assert uninsured.months_billed == 0
    assert not Claim.objects.filter(rental=uninsured).exists()


def test_a_month_without_coverage_stops_that_rental_there(company, cpap_rental):
    coverage = cpap_rental.patient.coverages.get()
    coverage.termination_date = month(3) - datetime.timedelta(days=1)
    coverage.save()
    run = services.bill_rental_months(as_of=month(5))
    assert len(run.claims) == 2
    assert len(run.errors) == 1
    cpap_rental.refresh_from_db()
    assert cpap_rental.months_billed == 2


def test_a_returned_rental_is_not_billed(company, cpap_rental):
    services.bill_rental_months(as_of=month(2))
    cpap_rental.status = RentalStatus.RETURNED
    cpap_rental.end_date = cpap_rental.returned_on = month(2) + datetime.timedelta(days=3)
    cpap_rental.save()
    assert services.bill_rental_months(as_of=month(6)).claims == []


def test_the_month_date_of_service_keeps_the_start_day_and_clamps_short_months():
    start = datetime.date(2025, 1, 31)
    assert [month_date_of_service(start, n) for n in (1, 2, 3, 14)] == [
        datetime.date(2025, 1, 31),
        datetime.date(2025, 2, 28),
        datetime.date(2025, 3, 31),
        datetime.date(2026, 2, 28),
    ]


def test_the_celery_task_bills_as_of_today(cpap_rental, monkeypatch):
    from hme import tasks

    result = tasks.bill_rental_months.delay().get()
    assert result["claims"] == 13
    assert result["errors"] == 0


def test_a_rerun_skips_rentals_with_nothing_due_without_locking_them(cpap_rental, monkeypatch):
    services.bill_rental_months(as_of=month(3))
    seen = []
    original = services.billing.bill_next_rental_month

    def spy(rental, as_of):
        seen.append(rental.pk)
        return original(rental, as_of)

    monkeypatch.setattr(services.billing, "bill_next_rental_month", spy)
    # Same calendar month as month 3's date of service: nothing can be due.
    assert services.bill_rental_months(as_of=month(3)).claims == []
    assert seen == []
    # The next month's date of service: the rental is looked at and billed.
    assert len(services.bill_rental_months(as_of=month(4)).claims) == 1
    assert seen == [cpap_rental.pk, cpap_rental.pk]
