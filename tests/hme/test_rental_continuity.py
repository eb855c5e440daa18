"""Rental continuity (42 CFR 414.230), oxygen's 36 paid + 24 unpaid months and its new
period, the title passing at month 13, and the daily run's next-bill date."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from core.exceptions import ServiceError
from dme import services as dme_services
from dme.choices import AssetStatus, RentalStatus
from dme.models import Asset, Rental, RentalMonth
from hme import services
from hme.models import Claim, ClaimLine
from hme.rules import month_date_of_service
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import (
    AssetFactory,
    ConcentratorFactory,
    CPAPFactory,
    RentalFactory,
    WarehouseFactory,
)
from tests.hme.factories import CoverageFactory

START = datetime.date(2025, 1, 15)


def month(number, start=START):
    return month_date_of_service(start, number)


@pytest.fixture
def cpap(company):
    return CPAPFactory(company=company, is_serialized=False, purchase_price=Decimal("1000.00"))


@pytest.fixture
def first(company, cpap):
    """A CPAP rented from START, months 1-5 billed, returned 10 days into month 5."""
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=cpap)
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    run = services.bill_rental_months(as_of=month(5))
    assert len(run.claims) == 5, run.errors
    dme_services.return_rental(
        rental,
        returned_on=month(5) + datetime.timedelta(days=10),
        location=WarehouseFactory(company=company),
    )
    return Rental.objects.get(pk=rental.pk)


def restart(first, days):
    """The same item for the same patient, delivered ``days`` after the return."""
    return RentalFactory(
        company=first.company,
        start_date=first.returned_on + datetime.timedelta(days=days),
        order_line__equipment=first.equipment,
        order_line__order__patient=first.patient,
    )


def only_line(rental):
    return ClaimLine.objects.get(rental_month__rental=rental)


def test_a_30_day_break_bills_month_6_as_rr_kj_at_the_month_4_13_rate(first):
    second = restart(first, 30)
    run = services.bill_rental_months(as_of=second.start_date)
    assert not run.errors, run.errors
    line = only_line(second)
    assert line.rental_month.number == 6
    assert line.modifiers == ["RR", "KJ"]
    assert line.charge == Decimal("75.00")  # 7.5% of the $1,000.00 purchase price
    assert line.date_of_service == second.start_date
    second.refresh_from_db()
    assert second.continues == first
    assert second.months_billed == 6


def test_the_break_window_is_60_days_plus_the_rest_of_the_rental_month(first):
    # Month 5 ran from 05/15; returned 05/25: 21 days were left in it.
    allowed, left = dme_services.rentals.break_window(first)
    assert (allowed, left) == (81, 21)
    within = restart(first, 81)
    assert not services.bill_rental_months(as_of=within.start_date).errors
    assert only_line(within).rental_month.number == 6


def test_a_longer_break_without_a_new_order_is_refused_with_the_reason(first):
    second = restart(first, 82)
    run = services.bill_rental_months(as_of=second.start_date)
    assert run.claims == []
    [(rental_id, message)] = run.errors
    assert rental_id == second.pk
    assert "42 CFR 414.230" in message
    assert "new medical need" in message
    assert not RentalMonth.objects.filter(rental=second).exists()
    with pytest.raises(ServiceError) as refused:
        services.bill_next_rental_month(second, second.start_date)
    assert refused.value.code == "break_in_need"


def test_a_new_order_with_new_medical_need_starts_a_new_13_month_period(first):
    second = restart(first, 120)
    dme_services.record_new_medical_need(second, second.start_date)
    run = services.bill_rental_months(as_of=second.start_date)
    assert not run.errors
    line = only_line(second)
    assert (line.rental_month.period, line.rental_month.number) == (2, 1)
    assert line.modifiers == ["RR", "KH"]
    assert line.charge == Decimal("100.00")


def test_the_new_medical_need_needs_a_date_and_comes_before_billing(first):
    second = restart(first, 120)
    with pytest.raises(ServiceError) as refused:
        dme_services.record_new_medical_need(second, None)
    assert "documented_on" in refused.value.fields
    with pytest.raises(ServiceError, match="already has months billed"):
        dme_services.record_new_medical_need(first, first.returned_on)


def test_oxygen_36_paid_then_24_unpaid_months_then_a_new_period_at_month_61(company):
    oxygen = ConcentratorFactory(company=company, is_serialized=False)
    rental = RentalFactory(
        company=company,
        start_date=START,
        order_line__equipment=oxygen,
        cap_months=oxygen.rental_cap_months,
        monthly_fee=Decimal("180.55"),
    )
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="J449")
    run = services.bill_rental_months(as_of=month(60))
    assert not run.errors
    assert len(run.claims) == 36
    months = RentalMonth.objects.filter(rental=rental)
    assert months.count() == 60
    assert months.filter(paid=True).count() == 36
    assert list(months.filter(paid=False).values_list("number", flat=True)) == list(range(37, 61))
    rental.refresh_from_db()
    assert (rental.status, rental.months_billed) == (RentalStatus.CAPPED, 36)
    assert rental.next_bill_date == month(61)
    run = services.bill_rental_months(as_of=month(61))
    assert len(run.claims) == 1
    line = run.claims[0].lines.get()
    assert (line.rental_month.period, line.rental_month.number, line.modifiers) == (2, 1, ["RR"])
    assert line.date_of_service == month(61)
    rental.refresh_from_db()
    assert (rental.status, rental.months_billed) == (RentalStatus.ACTIVE, 1)


def test_at_month_13_the_title_passes_and_the_unit_leaves_the_fleet(company, cpap):
    serialized = CPAPFactory(company=company)
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=serialized)
    unit = AssetFactory(
        company=company,
        equipment=serialized,
        status=AssetStatus.WITH_PATIENT,
        location=None,
        patient=rental.patient,
    )
    Rental.objects.filter(pk=rental.pk).update(asset=unit)
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    services.bill_rental_months(as_of=month(12))
    unit.refresh_from_db()
    assert unit.status == AssetStatus.WITH_PATIENT
    services.bill_rental_months(as_of=month(13))
    unit.refresh_from_db()
    assert (unit.status, unit.patient, unit.location) == (
        AssetStatus.PATIENT_OWNED,
        rental.patient,
        None,
    )
    assert not Asset.objects.filter(pk=unit.pk, status=AssetStatus.IN_STOCK).exists()
    rental.refresh_from_db()
    assert (rental.status, rental.next_bill_date) == (RentalStatus.CAPPED, None)


def test_a_run_with_nothing_due_is_one_query(cpap, company, django_assert_num_queries):
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=cpap)
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    services.bill_rental_months(as_of=month(2))
    with django_assert_num_queries(1):
        run = services.bill_rental_months(as_of=month(3) - datetime.timedelta(days=1))
    assert run.claims == []
    assert Rental.objects.get(pk=rental.pk).next_bill_date == month(3)


def test_the_data_migration_fills_months_and_next_bill_date_reversibly(company, cpap):
    migration = importlib.import_module("dme.migrations.0003_rental_months")
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=cpap)
    Rental.objects.filter(pk=rental.pk).update(months_billed=3, next_bill_date=None)
    migration.fill_months(apps, None)
    rental.refresh_from_db()
    assert rental.next_bill_date == month(4)
    assert list(rental.months.values_list("number", "date_of_service")) == [
        (n, month(n)) for n in (1, 2, 3)
    ]
    migration.empty_months(apps, None)
    rental.refresh_from_db()
    assert rental.next_bill_date is None
    assert not rental.months.exists()


def test_a_new_rental_is_due_on_its_start_date(company):
    rental = RentalFactory(company=company, start_date=timezone.localdate())
    assert rental.next_bill_date == rental.start_date
    assert Claim.objects.count() == 0
