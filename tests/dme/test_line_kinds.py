"""Order line kinds the legacy system billed (issue 20): one-time rental, rent to
purchase, recurring sale. Their validation (dme) and their billing rule
(hme/services/line_kinds.py, called by hme/services/billing.py), a test per kind."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from dme.choices import AssetStatus, BillingKind, LineKind, RentalStatus
from dme.models import Asset, OrderLine
from hme import services
from hme.models import Claim
from hme.rules import month_date_of_service
from hme.services import line_kinds
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import (
    AssetFactory,
    CPAPFactory,
    EquipmentFactory,
    OrderFactory,
    RentalFactory,
)
from tests.hme.factories import CoverageFactory, DeliveredLineFactory, DeliveredOrderFactory

pytestmark = pytest.mark.django_db

START = datetime.date(2025, 1, 15)


def line(company, kind, equipment=None, **fields):
    equipment = equipment or CPAPFactory(company=company)
    order = OrderFactory(company=company)
    return OrderLine(company=company, order=order, equipment=equipment, kind=kind, **fields)


# Validation ---------------------------------------------------------------------------


def test_rented_kinds_need_a_rentable_item_and_rr(company):
    walker = EquipmentFactory(company=company, billing_kind=BillingKind.PURCHASE)
    for kind in (LineKind.ONE_TIME_RENTAL, LineKind.RENT_TO_PURCHASE):
        with pytest.raises(ValidationError) as refused:
            line(company, kind, walker, modifiers=["RR"]).full_clean()
        assert "kind" in refused.value.message_dict
        with pytest.raises(ValidationError) as refused:
            line(company, kind, modifiers=["NU"]).full_clean()
        assert "modifiers" in refused.value.message_dict
        line(company, kind, modifiers=["RR"]).full_clean()


def test_a_one_time_rental_defaults_to_the_monthly_fee(company):
    item = line(company, LineKind.ONE_TIME_RENTAL, modifiers=["RR"])
    item.full_clean()
    assert item.unit_price == item.equipment.monthly_rental_fee


def test_rent_to_purchase_takes_the_catalogue_price_and_refuses_a_stray_one(company):
    item = line(company, LineKind.RENT_TO_PURCHASE, modifiers=["RR"])
    item.full_clean()
    item.save()
    assert item.rent_to_purchase_price == item.equipment.purchase_price
    with pytest.raises(ValidationError) as refused:
        line(
            company, LineKind.RENTAL, modifiers=["RR"], rent_to_purchase_price=Decimal("9")
        ).full_clean()
    assert "rent_to_purchase_price" in refused.value.message_dict
    free = CPAPFactory(company=company, purchase_price=Decimal("0"))
    with pytest.raises(ValidationError) as refused:
        line(company, LineKind.RENT_TO_PURCHASE, free, modifiers=["RR"]).full_clean()
    assert "rent_to_purchase_price" in refused.value.message_dict


def test_a_recurring_sale_is_a_sale_that_says_how_often(company):
    strips = EquipmentFactory(company=company)
    with pytest.raises(ValidationError) as refused:
        line(company, LineKind.RECURRING_SALE, strips).full_clean()
    assert "recurrence_months" in refused.value.message_dict
    line(company, LineKind.RECURRING_SALE, strips, recurrence_months=3).full_clean()
    with pytest.raises(ValidationError):
        line(company, LineKind.RECURRING_SALE, strips, recurrence_months=13).full_clean()
    with pytest.raises(ValidationError) as refused:
        line(company, LineKind.PURCHASE, strips, recurrence_months=1).full_clean()
    assert "recurrence_months" in refused.value.message_dict
    oxygen = EquipmentFactory(company=company, billing_kind=BillingKind.OXYGEN_RENTAL)
    with pytest.raises(ValidationError) as refused:
        line(company, LineKind.RECURRING_SALE, oxygen, recurrence_months=1).full_clean()
    assert "kind" in refused.value.message_dict


# Billing: one per kind ------------------------------------------------------------------


@pytest.fixture
def delivered(company):
    order = DeliveredOrderFactory(company=company)
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    return order


def test_a_one_time_rental_is_billed_once_at_delivery_and_never_monthly(company, delivered):
    cpap = CPAPFactory(company=company, is_serialized=False)
    item = DeliveredLineFactory(
        order=delivered,
        equipment=cpap,
        kind=LineKind.ONE_TIME_RENTAL,
        modifiers=["RR"],
        unit_price=Decimal("120.00"),
    )
    claim = services.create_claim_for_delivery(delivered)
    [claim_line] = claim.lines.all()
    assert (claim_line.modifiers, claim_line.charge) == (["RR"], Decimal("120.00"))
    assert claim_line.order_line_id == item.pk
    rental = RentalFactory(
        company=company,
        order_line=item,
        start_date=START,
        cap_months=None,
        monthly_fee=Decimal("120.00"),
    )
    assert not line_kinds.bills_monthly(rental)
    run = services.bill_rental_months(as_of=month_date_of_service(START, 6))
    assert not run.errors
    assert not Claim.objects.filter(rental=rental).exists()


def test_rent_to_purchase_credits_months_and_bills_only_the_balance(company):
    chair = EquipmentFactory(
        company=company,
        billing_kind=BillingKind.RENTAL,
        hcpcs_code="E0250",
        purchase_price=Decimal("300.00"),
        monthly_rental_fee=Decimal("85.00"),
        is_serialized=True,
    )
    rental = RentalFactory(
        company=company,
        start_date=START,
        order_line__equipment=chair,
        order_line__kind=LineKind.RENT_TO_PURCHASE,
        order_line__modifiers=["RR"],
        cap_months=None,
        monthly_fee=Decimal("85.00"),
    )
    unit = AssetFactory(
        company=company,
        equipment=chair,
        status=AssetStatus.WITH_PATIENT,
        location=None,
        patient=rental.patient,
    )
    rental.asset = unit
    rental.save()
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    run = services.bill_rental_months(as_of=month_date_of_service(START, 8))
    assert not run.errors, run.errors
    charges = [
        c.lines.get().charge for c in Claim.objects.filter(rental=rental).order_by("rental_month")
    ]
    # 85 + 85 + 85 credited, then the 45.00 left: 300.00 in all, then billing stops.
    assert charges == [Decimal("85.00")] * 3 + [Decimal("45.00")]
    rental.refresh_from_db()
    assert rental.status == RentalStatus.CAPPED
    unit.refresh_from_db()
    assert (unit.status, unit.patient_id) == (AssetStatus.SOLD, rental.patient_id)
    assert services.bill_rental_months(as_of=month_date_of_service(START, 12)).claims == []
    assert Asset.objects.get(pk=unit.pk).status == AssetStatus.SOLD


def test_rent_to_purchase_rules():
    price, rent = Decimal("300.00"), Decimal("85.00")
    assert [line_kinds.rent_to_purchase_month_charge(price, rent, n) for n in range(1, 6)] == [
        Decimal("85.00"),
        Decimal("85.00"),
        Decimal("85.00"),
        Decimal("45.00"),
        Decimal("0.00"),
    ]
    status = line_kinds.rent_to_purchase_status(price, rent, 2)
    assert (status.credited, status.balance, status.paid_in_full) == (
        Decimal("170.00"),
        Decimal("130.00"),
        False,
    )
    assert line_kinds.rent_to_purchase_status(price, rent, 9).paid_in_full
    with pytest.raises(ValueError, match="above 0"):
        line_kinds.rent_to_purchase_status(Decimal("0"), rent, 1)


def test_a_recurring_sale_is_billed_as_a_sale_at_each_delivery_and_recurs(company, delivered):
    strips = EquipmentFactory(company=company, name="Test strips", hcpcs_code="A4253")
    item = DeliveredLineFactory(
        order=delivered,
        equipment=strips,
        kind=LineKind.RECURRING_SALE,
        recurrence_months=3,
        quantity=2,
        unit_price=Decimal("30.00"),
    )
    claim = services.create_claim_for_delivery(delivered)
    [claim_line] = claim.lines.all()
    assert (claim_line.hcpcs, claim_line.units, claim_line.charge) == (
        "A4253",
        2,
        Decimal("60.00"),
    )
    assert line_kinds.next_recurring_sale_date(item, datetime.date(2026, 11, 30)) == (
        datetime.date(2027, 2, 28)
    )
    assert line_kinds.next_recurring_sale_date(item, datetime.date(2026, 1, 15)) == (
        datetime.date(2026, 4, 15)
    )
    purchase = OrderLine(kind=LineKind.PURCHASE)
    assert line_kinds.next_recurring_sale_date(purchase, datetime.date(2026, 1, 1)) is None


def test_plain_rentals_and_purchases_keep_their_rules(company):
    rental = RentalFactory(company=company, start_date=START)
    assert line_kinds.bills_monthly(rental)
    assert line_kinds.rental_month_fee(rental, 1, Decimal("85.00")) == Decimal("85.00")
    assert line_kinds.bills_at_delivery(OrderLine(kind=LineKind.PURCHASE))
    assert not line_kinds.bills_at_delivery(OrderLine(kind=LineKind.RENTAL))
    assert not line_kinds.bills_at_delivery(OrderLine(kind=LineKind.RENT_TO_PURCHASE))
