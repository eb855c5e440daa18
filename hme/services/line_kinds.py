"""Billing rules of the order line kinds the legacy system (DMEWorks) billed besides
purchase and rental (issue 20), called from ``hme.services.billing``.

- **One-time rental** (DMEWorks "One Time Rental"): the item is rented (RR) for a
  single charge, billed once at delivery like a sale (date of service = delivery
  date); the monthly rental run never bills it. The unit comes back through the
  rental's return as any rental's does.
- **Rent to purchase** (DMEWorks "Rent to Purchase"): billed monthly (RR) like a
  rental; every paid month's rent is credited toward the line's purchase price. The
  month that reaches the price bills only the balance left, then billing stops, the
  rental is capped and the unit is sold to the patient (title passed). This is a
  supplier's private-pay/commercial arrangement: Medicare's own capped rental
  (42 CFR 414.229) still applies to Medicare claims and caps at month 13 whatever
  the credit.
- **Recurring sale** (DMEWorks "Re-occurring Sale"): a sale (NU/UE) that recurs every
  ``recurrence_months``; each delivery is billed like a purchase, and the next sale is
  due :func:`next_recurring_sale_date`. Supplies still follow the CMS refill rules
  (docs/domain/dme.md, "Resupply": contact no sooner than 14 days, ship no sooner
  than 10 days before the supply runs out).

Source of the kinds: the DMEWorks "Sale/Rent type" list of the legacy schema
(docs/domain/dme.md, "Line kinds").
"""

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from dme import services as dme_services
from dme.choices import AssetStatus, LineKind, RentalStatus
from dme.models import OrderLine, Rental

# Kinds billed once, on the delivery's claim (the order's purchases).
BILLED_AT_DELIVERY = (LineKind.PURCHASE, LineKind.RECURRING_SALE, LineKind.ONE_TIME_RENTAL)
CENT = Decimal("0.01")


def bills_at_delivery(line: OrderLine) -> bool:
    return line.kind in BILLED_AT_DELIVERY


# Rent to purchase --------------------------------------------------------------------


@dataclass(frozen=True)
class RentToPurchase:
    """Where a rent-to-purchase stands after ``months_paid`` months."""

    price: Decimal
    credited: Decimal
    balance: Decimal

    @property
    def paid_in_full(self) -> bool:
        return self.balance <= 0


def rent_to_purchase_status(
    price: Decimal, monthly_rent: Decimal, months_paid: int
) -> RentToPurchase:
    """Each paid month credits its rent toward ``price``, never past it."""
    if price <= 0 or monthly_rent <= 0:
        raise ValueError("Rent to purchase needs a price and a monthly rent above 0.")
    credited = min(price, monthly_rent * max(months_paid, 0)).quantize(CENT)
    return RentToPurchase(price=price, credited=credited, balance=(price - credited))


def rent_to_purchase_month_charge(
    price: Decimal, monthly_rent: Decimal, month_number: int
) -> Decimal:
    """The charge of month ``month_number`` (1-based): the rent, or the balance left
    when that is less; 0 once paid in full."""
    before = rent_to_purchase_status(price, monthly_rent, month_number - 1)
    return min(monthly_rent, before.balance).quantize(CENT)


def _price(rental: Rental) -> Decimal:
    line = rental.order_line
    price = line.rent_to_purchase_price or rental.equipment.purchase_price
    return Decimal(price) * rental.quantity


def rental_month_fee(rental: Rental, number: int, fee: Decimal) -> Decimal:
    """The rental run's charge for month ``number`` after the line kind's rule: rent to
    purchase charges no more than the balance of its price; other kinds ``fee``."""
    if rental.order_line.kind != LineKind.RENT_TO_PURCHASE:
        return fee
    return rent_to_purchase_month_charge(_price(rental), fee, number)


def bills_monthly(rental: Rental) -> bool:
    """Whether the monthly rental run bills this rental at all now: never a one-time
    rental (billed at delivery); a rent-to-purchase until its price is reached."""
    kind = rental.order_line.kind
    if kind == LineKind.ONE_TIME_RENTAL:
        return False
    if kind == LineKind.RENT_TO_PURCHASE:
        monthly = rental.monthly_fee * rental.quantity
        return not rent_to_purchase_status(
            _price(rental), monthly, rental.months_billed
        ).paid_in_full
    return True


def complete_rent_to_purchase(rental: Rental) -> bool:
    """After the month that paid the price: cap the rental (billing stops) and sell the
    unit to the patient (title passed). True when it did; idempotent."""
    if rental.order_line.kind != LineKind.RENT_TO_PURCHASE:
        return False
    rental.refresh_from_db(fields=["months_billed", "status"])
    if bills_monthly(rental):
        return False
    if rental.status == RentalStatus.ACTIVE:
        dme_services.cap_rental(rental)
    asset = rental.asset
    if asset is not None:
        asset.refresh_from_db()
        if asset.status == AssetStatus.WITH_PATIENT:
            dme_services.change_unit_life(
                asset,
                AssetStatus.SOLD,
                reason=f"Rent to purchase paid in full (order line {rental.order_line_id})",
                patient=rental.patient,
            )
    return True


# Recurring sale ----------------------------------------------------------------------


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's end."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def next_recurring_sale_date(line: OrderLine, last_sale: datetime.date) -> datetime.date | None:
    """When a recurring sale is due again after the sale of ``last_sale`` (None for
    another kind)."""
    if line.kind != LineKind.RECURRING_SALE or not line.recurrence_months:
        return None
    return add_months(last_sale, line.recurrence_months)
