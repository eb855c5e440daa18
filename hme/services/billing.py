"""Billing what DME delivered: purchases once, rentals month by month.

The two entry points are :func:`create_claim_for_delivery` (a delivered order's
purchases) and :func:`bill_next_rental_month` (a rental's next month); "Bill this
delivery" (:func:`bill_delivery`), "Bill this rental month" (:func:`bill_rental`) and
the daily run (:func:`bill_rental_months`) call them. Reads the ``dme`` models and calls
its rental services (``record_rental_month``, ``cap_rental``) to keep the rental's
months, count and cap; claims are made by ``hme.services.claims.create_claim``, each
line pointing at the order line or rental month it bills.
"""

import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinical.models import Patient
from core.exceptions import Conflict, InvalidTransition, ServiceError
from core.locks import lock_row
from dme.choices import BillingKind, OrderStatus, RentalStatus
from dme.models import Order, OrderLine, Rental, RentalMonth
from dme.services.orders import lock_order
from dme.services.rentals import cap_rental, record_rental_month

from ..models import Authorization, Claim, ClaimLine
from ..models.claims import MAX_DIAGNOSES, MAX_POINTERS
from ..readiness import assert_billable, assert_rental_billable
from ..rules import (
    CAPPED_RENTAL_MONTH_MODIFIERS,
    CAPPED_RENTAL_MONTHS,
    PRICING_MODIFIERS,
    capped_rental_fee,
    is_power_wheelchair,
    rental_month_modifiers,
)
from . import line_kinds
from .claims import create_claim
from .coverage import coverage_on
from .fees import band_for, expected_for, supplier_charge

MAX_MODIFIERS = 4


def _diagnoses(patient: Patient) -> list[str]:
    """The patient's active ICD-10 codes in the order they were recorded (the first is
    the primary), at most 12; refused when there is none."""
    codes = list(
        patient.diagnoses.active().order_by("created_at", "code").values_list("code", flat=True)
    )[:MAX_DIAGNOSES]
    if not codes:
        raise ServiceError(
            f"{patient.number} has no active diagnosis: add the ICD-10 code(s) that justify "
            "the equipment to the patient's diagnoses before billing.",
            code="missing_diagnosis",
        )
    return codes


def _pointers(codes: Sequence[str]) -> list[int]:
    return list(range(1, min(MAX_POINTERS, len(codes)) + 1))


def _unbilled(lines: list[OrderLine], priority: str) -> list[OrderLine]:
    billed = set(
        ClaimLine.objects.filter(
            order_line__in=lines, live=True, payer_sequence=priority
        ).values_list("order_line_id", flat=True)
    )
    return [line for line in lines if line.pk not in billed]


def create_claim_for_delivery(order: Order) -> Claim:
    """Bill the purchases of a delivered order: one claim, one line per delivered
    purchase line not yet billed to the primary payer (its NU/UE modifiers, the
    delivered quantity at the supplier's charge-list price, else the line's price),
    date of service = the delivery date, to the patient's primary coverage in force that
    day, pointing at the patient's active diagnoses; the prescriber is the referring
    provider and the filling location the billing location. Each line points at its
    order line and carries the fee schedule's expected reimbursement.

    Refused (nothing written) when the order is not delivered or its purchases are all
    billed already (``already_billed``, 409), when it delivered no purchase (rentals
    are billed monthly by :func:`bill_next_rental_month`), when there is no coverage,
    when an item needs prior authorization that is missing, expired or used up, or
    when the patient has no diagnosis.
    """
    with transaction.atomic():
        order = lock_order(order, "company", "location")
        if order.status != OrderStatus.DELIVERED or order.delivered_on is None:
            raise InvalidTransition(
                f"Order {order.number} is {order.get_status_display().lower()}: only a delivered "
                "order is billed.",
                code="not_delivered",
            )
        delivered = list(
            order.lines.filter(kind__in=line_kinds.BILLED_AT_DELIVERY, delivered_quantity__gt=0)
            .select_related("equipment")
            .order_by("created_at", "id")
        )
        if not delivered:
            raise ServiceError(
                f"Order {order.number} delivered no purchased item; its rentals are billed "
                "month by month.",
                code="nothing_to_bill",
            )
        day = order.delivered_on
        coverage = coverage_on(order.patient, day)
        lines = _unbilled(delivered, coverage.priority)
        if not lines:
            claim_number = (
                ClaimLine.objects.filter(order_line__in=delivered, live=True)
                .values_list("claim__number", flat=True)
                .first()
            )
            raise Conflict(
                f"Order {order.number} is already billed on claim {claim_number}.",
                code="already_billed",
            )
        # Ready to bill (hme.readiness): a line with an error is on hold, not billed.
        assert_billable([line.pk for line in lines], on=day)
        codes = _diagnoses(order.patient)
        claim_lines = []
        for line in lines:
            modifiers = list(line.modifiers or [])
            band = band_for(modifiers)
            own = supplier_charge(order.company_id, line.equipment.hcpcs_code, band)
            expected = expected_for(
                coverage.payer,
                line.equipment.hcpcs_code,
                modifiers,
                day,
                line.delivered_quantity,
                state=order.location.state,
            )
            claim_lines.append(
                {
                    "date_of_service": day,
                    "hcpcs": line.equipment.hcpcs_code,
                    "modifiers": modifiers,
                    "description": line.equipment.name[:200],
                    "units": line.delivered_quantity,
                    "charge": (own if own is not None else line.unit_price)
                    * line.delivered_quantity,
                    "diagnosis_pointers": _pointers(codes),
                    "order_line": line,
                    "expected_amount": expected.amount,
                    "expected_basis": expected.basis[:200],
                }
            )
        return create_claim(
            company=order.company,
            patient=order.patient,
            coverage=coverage,
            billing_location=order.location,
            referring_provider=order.prescriber,
            diagnosis_codes=codes,
            lines=claim_lines,
            order=order,
        )


def bill_delivery(order: Order, as_of: datetime.date | None = None) -> list[Claim]:
    """ "Bill this delivery": the order's purchases (:func:`create_claim_for_delivery`,
    when any is left to bill) and the first month of each of its rentals
    (:func:`bill_next_rental_month` as of the delivery date, so only month 1). Each in
    its own transaction; refused only when nothing at all could be billed, with the
    reasons."""
    order = Order.objects.get(pk=order.pk)
    claims: list[Claim] = []
    reasons: list[str] = []
    purchases = order.lines.filter(
        kind__in=line_kinds.BILLED_AT_DELIVERY, delivered_quantity__gt=0
    ).exists()
    if purchases:
        try:
            claims.append(create_claim_for_delivery(order))
        except ServiceError as error:
            reasons.append(error.message)
    if order.delivered_on is not None:
        for rental in order.rentals.filter(status=RentalStatus.ACTIVE).order_by("created_at"):
            try:
                claim = bill_next_rental_month(rental, order.delivered_on)
            except ServiceError as error:
                reasons.append(error.message)
                continue
            if claim is not None:
                claims.append(claim)
    if not claims:
        if not reasons:
            reasons.append(
                f"Order {order.number} has nothing left to bill: its purchases and first "
                "rental months are billed (later months are billed by the rental run)."
            )
        raise Conflict(" ".join(reasons), code="already_billed")
    return claims


# Rentals -----------------------------------------------------------------------------


@dataclass
class RentalBillingRun:
    """What :func:`bill_rental_months` did: the claims made and, per rental that
    stopped early, why (messages name the order, never the patient)."""

    as_of: datetime.date
    claims: list[Claim] = field(default_factory=list)
    errors: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (rental id, message)
    capped: list[uuid.UUID] = field(default_factory=list)  # rental ids capped in this run

    def summary(self) -> str:
        return (
            f"Billed {len(self.claims)} rental month(s) as of {self.as_of.isoformat()}; "
            f"{len(self.capped)} rental(s) capped; {len(self.errors)} rental(s) with errors."
        )


# Apps above hme adjust a rental month's modifiers here (adherence: KX on PAP months 4
# and later only when the patient's adherence is met, LCD L33718): each hook gets the
# rental, the month number and the modifiers so far and returns the modifiers to bill.
RentalModifierHook = Callable[[Rental, int, list[str]], list[str]]
_RENTAL_MODIFIER_HOOKS: list[RentalModifierHook] = []


def register_rental_modifier_hook(hook: RentalModifierHook) -> RentalModifierHook:
    """Add a rental-month modifier hook (idempotent)."""
    if hook not in _RENTAL_MODIFIER_HOOKS:
        _RENTAL_MODIFIER_HOOKS.append(hook)
    return hook


def rental_month_charge(rental: Rental, number: int) -> tuple[list[str], Decimal]:
    """(modifiers, charge) of month ``number`` of ``rental``'s period.

    Capped rentals: RR + KH/KI/KJ and the supplier's charge list for the band, else 10%
    (months 1-3) / 7.5% (4-13) of the purchase fee, power wheelchairs 15% / 6%. Oxygen
    and frequently serviced items: RR and the charge list, else the rental's monthly
    fee. Times the rented quantity. Other modifiers of the order line (KX...) follow,
    up to four in all.
    """
    equipment = rental.equipment
    capped = equipment.billing_kind == BillingKind.CAPPED_RENTAL
    modifiers = list(rental_month_modifiers(number, capped=capped))
    for modifier in rental.order_line.modifiers or []:
        if modifier not in PRICING_MODIFIERS + CAPPED_RENTAL_MONTH_MODIFIERS:
            modifiers.append(modifier)
    for hook in _RENTAL_MODIFIER_HOOKS:
        modifiers = hook(rental, number, modifiers)
    modifiers = modifiers[:MAX_MODIFIERS]
    own = supplier_charge(
        rental.company_id, equipment.hcpcs_code, band_for(modifiers, number, capped=capped)
    )
    if own is not None:
        fee = own
    elif capped:
        fee = capped_rental_fee(
            equipment.purchase_price,
            min(number, CAPPED_RENTAL_MONTHS),
            power_wheelchair=is_power_wheelchair(equipment.hcpcs_code),
        )
    else:
        fee = rental.monthly_fee
    # The line kind's rule (rent to purchase: never past its price), issue 20.
    return modifiers, line_kinds.rental_month_fee(rental, number, fee * rental.quantity)


def _month_authorization(rental: Rental) -> Authorization | None:
    """The first billed month's authorization: later months bill under it without
    drawing units."""
    line = (
        ClaimLine.objects.filter(rental_month__rental=rental, live=True)
        .exclude(authorization=None)
        .select_related("authorization")
        .order_by("rental_month__sequence")
        .first()
    )
    return line.authorization if line else None


def bill_next_rental_month(rental: Rental, as_of: datetime.date) -> Claim | None:
    """Record the rental's next month if its date of service is on or before ``as_of``
    and bill it; return the claim, or None when nothing (more) is due.

    One transaction under the order's lock (``lock_order``, as every service that
    changes an order or the rows under it), then the rental's: the month is recorded by
    ``dme.services.record_rental_month`` (continuity, the cap, the title passing at
    month 13, oxygen's unpaid months 37-60 and its new period after month 60), then
    billed on a claim whose line points at it. Unpaid oxygen months are recorded
    without a claim and the next month is looked at. A month already billed is refused
    by the database (one live line per rental month and payer sequence).
    """
    # Ready to bill (hme.readiness): a month with an error is on hold, not billed.
    assert_rental_billable(rental, as_of)
    with transaction.atomic():
        # Parents before children, as dme's services lock them: the order, then the rental.
        order_id = Rental.objects.values_list("order_id", flat=True).get(pk=rental.pk)
        order = lock_order(Order(pk=order_id), "location")
        rental = lock_row(rental, "equipment", "order_line", "patient")
        rental.order = order
        oxygen = rental.equipment.billing_kind == BillingKind.OXYGEN_RENTAL
        if rental.status == RentalStatus.RETURNED or (
            rental.status == RentalStatus.CAPPED and not oxygen
        ):
            return None
        if not line_kinds.bills_monthly(rental):  # one-time rental, paid rent to purchase
            line_kinds.complete_rent_to_purchase(rental)
            return None
        while True:
            month = record_rental_month(rental, as_of=as_of)
            if month is None:
                rental.refresh_from_db()
                if (
                    rental.status == RentalStatus.ACTIVE
                    and rental.cap_months is not None
                    and rental.months_billed >= rental.cap_months
                ):
                    # Every paid month is billed but the rental was left active: cap it.
                    cap_rental(rental)
                return None
            if month.paid:
                break
        claim = _bill_month(rental, order, month)
        line_kinds.complete_rent_to_purchase(rental)  # the month that paid the price
        return claim


def _bill_month(rental: Rental, order: Order, month: RentalMonth) -> Claim:
    day = month.date_of_service
    coverage = coverage_on(rental.patient, day)
    codes = _diagnoses(rental.patient)
    modifiers, charge = rental_month_charge(rental, month.number)
    capped = rental.equipment.billing_kind == BillingKind.CAPPED_RENTAL
    expected = expected_for(
        coverage.payer,
        rental.equipment.hcpcs_code,
        modifiers,
        day,
        rental.quantity,
        state=order.location.state,
        rental_month=month.number,
        capped=capped,
        purchase_price=rental.equipment.purchase_price,
        monthly_fee=rental.monthly_fee,
    )
    line: dict[str, Any] = {
        "date_of_service": day,
        "hcpcs": rental.equipment.hcpcs_code,
        "modifiers": modifiers,
        "description": f"{rental.equipment.name[:180]}, rental month {month.number}",
        "units": rental.quantity,
        "charge": charge,
        "diagnosis_pointers": _pointers(codes),
        "rental_month": month,
        "expected_amount": expected.amount,
        "expected_basis": expected.basis[:200],
    }
    if (authorization := _month_authorization(rental)) is not None:
        line["authorization"] = authorization
    return create_claim(
        company=rental.company,
        patient=rental.patient,
        coverage=coverage,
        billing_location=order.location,
        referring_provider=order.prescriber,
        diagnosis_codes=codes,
        lines=[line],
        order=order,
        rental=rental,
        rental_month=month.number,
    )


def bill_rental_month(month: RentalMonth) -> Claim:
    """ "Bill this rental month" for a month recorded but not billed to the primary
    payer on a live claim (its claim was voided, or billing stopped on an error): one
    claim for it. Refused when it is billed already or is an unpaid oxygen month."""
    with transaction.atomic():
        rental_id = month.rental_id
        order_id = Rental.objects.values_list("order_id", flat=True).get(pk=rental_id)
        order = lock_order(Order(pk=order_id), "location")
        rental = lock_row(Rental(pk=rental_id), "equipment", "order_line", "patient")
        rental.order = order
        month = RentalMonth.objects.get(pk=month.pk)
        if not month.paid:
            raise ServiceError(
                f"Rental month {month.number} is furnished without payment (oxygen months "
                "37-60, 42 CFR 414.226): there is nothing to bill.",
                code="unpaid_month",
            )
        billed = ClaimLine.objects.filter(rental_month=month, live=True).first()
        if billed is not None:
            raise Conflict(
                f"Rental month {month.number} is already billed on claim {billed.claim.number}.",
                code="already_billed",
            )
        day = month.date_of_service
        assert_billable([rental.order_line_id], on=day, dates={rental.order_line_id: day})
        return _bill_month(rental, order, month)


def bill_rental(rental: Rental, as_of: datetime.date | None = None) -> list[Claim]:
    """ "Bill this rental month" on a rental: its months recorded but unbilled (voided
    claims), then every month due up to ``as_of`` (today). Refused with the reason when
    nothing could be billed."""
    as_of = as_of or timezone.localdate()
    claims: list[Claim] = []
    unbilled = RentalMonth.objects.filter(rental_id=rental.pk, paid=True).exclude(
        claim_lines__live=True
    )
    for month in unbilled.order_by("sequence"):
        claims.append(bill_rental_month(month))
    while (claim := bill_next_rental_month(rental, as_of)) is not None:
        claims.append(claim)
    if not claims:
        rental = Rental.objects.get(pk=rental.pk)
        due = rental.next_bill_date
        when = f"the next month is due on {due:%m/%d/%Y}" if due else "no more months are due"
        raise Conflict(
            f"Nothing to bill on this rental: every month due is billed ({when}).",
            code="already_billed",
        )
    return claims


def bill_rental_months(as_of: datetime.date | None = None) -> RentalBillingRun:
    """Bill every rental's months whose date of service is on or before ``as_of``
    (default today) and that are not recorded yet; stop at the cap (13 months, oxygen
    36 paid, then unpaid to month 60 and a new period), which marks the rental capped.

    Each month is its own transaction: a rental that fails (no coverage that month, no
    diagnosis, prior authorization missing, a restart after a break in need without a
    new order) stops there and is reported, and the others go on. Idempotent: a second
    run the same day bills nothing.
    """
    as_of = as_of or timezone.localdate()
    run = RentalBillingRun(as_of=as_of)
    # Only rentals with a month due, through the indexed next_bill_date kept by
    # dme.services: a run with nothing due is one query.
    rentals = (
        Rental.objects.filter(next_bill_date__lte=as_of)
        .order_by("next_bill_date", "id")
        .values_list("pk", "order__number")
    )
    for pk, order_number in rentals:
        rental = Rental(pk=pk)
        while True:
            try:
                claim = bill_next_rental_month(rental, as_of)
            except (ServiceError, IntegrityError) as error:
                message = getattr(error, "message", None) or "already billed (concurrent run)"
                run.errors.append((pk, f"Rental of order {order_number}: {message}"))
                break
            if claim is None:
                break
            run.claims.append(claim)
        billed_now = any(claim.rental_id == pk for claim in run.claims)
        if billed_now and Rental.objects.filter(pk=pk, status=RentalStatus.CAPPED).exists():
            run.capped.append(pk)
    return run
