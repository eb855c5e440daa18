"""The patient's whole story on the patient page: coverage and authorizations, orders,
deliveries, rentals and claims, as panels of ``core.admin_panels`` (clinical, a lower
floor, cannot import dme or hme; the cockpit, on top, registers them). Each panel is
one query of its latest rows, with a link to the full list filtered on the patient.
Each query loads only the columns its panel shows (``only``): the encrypted ones it
does not show (a delivery's address and signature, an order's notes) are never read.
Documents and holds register their panels from their own apps when they land.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from core.admin_panels import Column, Panel, change_link, filtered_list, register_panel
from dme.choices import RentalStatus
from dme.models import Delivery, Order, Rental
from hme.choices import ClaimStatus
from hme.models import Authorization, Claim, Coverage

PATIENT = "clinical.patient"


def _today() -> datetime.date:
    return timezone.localdate()


def _period(coverage: Coverage) -> str:
    end = coverage.termination_date
    return f"{coverage.effective_date:%m/%d/%Y} - {f'{end:%m/%d/%Y}' if end else 'open'}"


def days_left(authorization: Authorization) -> int | None:
    """Days of validity left (0 on its last day, negative once past)."""
    if authorization.valid_to is None:
        return None
    return (authorization.valid_to - _today()).days


def rental_month(rental: Rental) -> str:
    """``month n of 13``: the month the patient is in by the bills sent so far."""
    if rental.status != RentalStatus.ACTIVE:
        return f"{rental.months_billed} billed ({rental.get_status_display().lower()})"
    current = rental.months_billed + (0 if rental.cap_months == rental.months_billed else 1)
    return f"month {current} of {rental.cap_months}" if rental.cap_months else f"month {current}"


def next_bill_date(rental: Rental) -> datetime.date | None:
    """The date of service of the next month to bill: ``Rental.next_bill_date``, kept by
    the dme rental services (``record_rental_month``, continuity after a short break in
    need, the cap, the pickup); None once billing has stopped (capped, returned)."""
    if rental.status != RentalStatus.ACTIVE:
        return None
    return rental.next_bill_date


def claim_balance(claim: Claim) -> Decimal:
    """What is still expected on the claim: the allowed amount less payments once the
    payer approved it, the charge less payments before; nothing once paid or void."""
    if claim.status in (ClaimStatus.PAID, ClaimStatus.VOID):
        return Decimal("0.00")
    if claim.status == ClaimStatus.APPROVED:
        return claim.allowed_amount - claim.paid_amount
    return claim.total_charge - claim.paid_amount


def register() -> None:
    register_panel(
        Panel(
            model=PATIENT,
            key="coverage",
            title="Coverage",
            order=10,
            rows=lambda request, patient: (
                Coverage.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("payer")
                .only(
                    "payer__name",
                    "priority",
                    "member_id",
                    "effective_date",
                    "termination_date",
                    "is_active",
                    "verified_at",
                )
                .order_by("-is_active", "priority", "-effective_date")
            ),
            columns=[
                Column("Payer", lambda c: c.payer.name),
                Column("Priority", lambda c: c.get_priority_display()),
                Column("Member ID", lambda c: c.member_id_masked),
                Column("Dates", _period),
                Column("Active", lambda c: "yes" if c.is_active else "no"),
                Column("Verified", lambda c: c.verified_at.date() if c.verified_at else None),
            ],
            link=change_link("hme_coverage"),
            full_list=filtered_list("hme_coverage"),
            permission="hme.view_coverage",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="authorizations",
            title="Authorizations",
            order=20,
            rows=lambda request, patient: (
                Authorization.objects.for_user(request.user)
                .filter(coverage__patient=patient)
                .select_related("coverage__payer")
                .only(
                    "number",
                    "hcpcs_codes",
                    "coverage__payer__name",
                    "status",
                    "valid_to",
                    "units_approved",
                    "units_used",
                )
                .order_by("-valid_to", "-created_at")
            ),
            columns=[
                Column("Number", lambda a: a.number or "(requested)"),
                Column("HCPCS", lambda a: ", ".join(a.hcpcs_codes or [])),
                Column("Payer", lambda a: a.coverage.payer.name),
                Column("Status", lambda a: a.get_status_display()),
                Column("Valid to", lambda a: a.valid_to),
                Column("Days left", days_left),
                Column("Units left", lambda a: a.units_approved - a.units_used),
            ],
            link=change_link("hme_authorization"),
            full_list=filtered_list("hme_coverage"),
            full_label="All coverage (each lists its authorizations)",
            permission="hme.view_authorization",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="orders",
            title="Orders",
            order=30,
            rows=lambda request, patient: (
                Order.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("prescriber")
                .only(
                    "number",
                    "status",
                    "written_order_date",
                    "prescriber__first_name",
                    "prescriber__last_name",
                    "prescriber__credential",
                    "delivered_on",
                )
                .annotate(line_count=Count("lines"))
                .order_by("-created_at")
            ),
            columns=[
                Column("Order", lambda o: o.number),
                Column("Status", lambda o: o.get_status_display()),
                Column("Written", lambda o: o.written_order_date),
                Column("Prescriber", lambda o: str(o.prescriber) if o.prescriber else None),
                Column("Lines", lambda o: o.line_count),
                Column("Delivered", lambda o: o.delivered_on),
            ],
            link=change_link("dme_order"),
            full_list=filtered_list("dme_order"),
            permission="dme.view_order",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="deliveries",
            title="Deliveries",
            order=40,
            rows=lambda request, patient: (
                Delivery.objects.for_user(request.user)
                .filter(order__patient=patient)
                .select_related("order", "driver")
                .only(
                    "order__number",
                    "scheduled_date",
                    "status",
                    "method",
                    "driver__first_name",
                    "driver__last_name",
                    "delivered_on",
                )
                .order_by("-scheduled_date", "-created_at")
            ),
            columns=[
                Column("Order", lambda d: d.order.number),
                Column("Scheduled", lambda d: d.scheduled_date),
                Column("Status", lambda d: d.get_status_display()),
                Column("Method", lambda d: d.get_method_display()),
                Column("Driver", lambda d: d.driver.get_full_name() if d.driver else None),
                Column("Delivered", lambda d: d.delivered_on),
            ],
            link=change_link("dme_delivery"),
            full_list=filtered_list("dme_order"),
            full_label="All orders (each lists its deliveries)",
            permission="dme.view_delivery",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="rentals",
            title="Rentals",
            order=50,
            rows=lambda request, patient: (
                Rental.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("equipment", "asset")
                .only(
                    "equipment__name",
                    "asset__serial_number",
                    "start_date",
                    "status",
                    "months_billed",
                    "cap_months",
                    "next_bill_date",
                )
                .order_by("-start_date")
            ),
            columns=[
                Column("Equipment", lambda r: r.equipment.name),
                Column("Serial", lambda r: r.asset.serial_number if r.asset_id else None),
                Column("Started", lambda r: r.start_date),
                Column("Month", rental_month),
                Column("Next bill", next_bill_date),
                Column("Status", lambda r: r.get_status_display()),
            ],
            link=change_link("dme_rental"),
            full_list=filtered_list("dme_rental"),
            permission="dme.view_rental",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="claims",
            title="Claims",
            order=60,
            rows=lambda request, patient: (
                Claim.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("payer")
                .only(
                    "number",
                    "payer__name",
                    "status",
                    "total_charge",
                    "paid_amount",
                    "allowed_amount",
                    "denial_group",
                    "denial_code",
                )
                .order_by("-created_at")
            ),
            columns=[
                Column("Claim", lambda c: c.number),
                Column("Payer", lambda c: c.payer.name),
                Column("Status", lambda c: c.get_status_display()),
                Column("Charge", lambda c: c.total_charge),
                Column("Paid", lambda c: c.paid_amount),
                Column("Balance", claim_balance),
                Column("Denial", lambda c: c.denial_display if c.denial_code else None),
            ],
            link=change_link("hme_claim"),
            full_list=filtered_list("hme_claim"),
            permission="hme.view_claim",
            note="Balance: the allowed amount less payments once approved, the charge "
            "less payments before.",
        )
    )
