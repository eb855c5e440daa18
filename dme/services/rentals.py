"""Rentals: their months, capping, continuity, and the pickup when the patient returns
the item.

``record_rental_month`` and ``cap_rental`` are for billing (the hme app): a month is
recorded once (a ``RentalMonth`` row, unique per rental), under the rental's row lock,
and the rental caps itself when the count reaches its cap (13 paid months for capped
rentals, 36 for oxygen). A rental restarted soon after the same item was returned goes
on with the earlier rental's count (42 CFR 414.230, see ``first_month``).
"""

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from core.events import emit
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, BillingKind, MaintenanceKind, RentalStatus
from ..models import MaintenanceRecord, Rental, RentalMonth
from ..transitions import ASSET_TRANSITIONS, RENTAL_TRANSITIONS
from .stock import add_stock

RETURN_WORK = "Returned from the patient: to be cleaned and disinfected before reuse."


def _name(rental: Rental) -> str:
    unit = f" #{rental.asset.serial_number}" if rental.asset is not None else ""
    return f"The rental of {rental.equipment.name}{unit}"


# Rules of the rental months (docs/domain/hme-billing.md) --------------------------------

# 42 CFR 414.230(c)-(d) (and Medicare Claims Processing Manual ch. 20 §30.5.4): an
# interruption of use longer than 60 consecutive days plus the days left in the rental
# month in which use stopped is a break in continuous use; a new rental period starts
# only with new medical necessity documentation (a new order). A shorter interruption
# continues the count.
BREAK_IN_NEED_DAYS = 60
# Oxygen: 36 paid months, then furnished without payment until the end of the
# 60-month reasonable useful lifetime; then a new 36-month period may start
# (42 CFR 414.226(a)(1), (g); 414.210(f)).
OXYGEN_PAID_MONTHS = 36
OXYGEN_PERIOD_MONTHS = 60


@dataclass(frozen=True)
class NextMonth:
    """The next month of a rental to record."""

    sequence: int
    period: int
    number: int
    date_of_service: datetime.date
    paid: bool
    continues: Rental | None = None


def _dos(rental: Rental, sequence: int) -> datetime.date:
    """Month ``sequence``'s date of service: the start date plus ``sequence - 1`` months
    (the anniversary clamps to a short month's end)."""
    return rental.start_date + relativedelta(months=sequence - 1)


def _is_oxygen(rental: Rental) -> bool:
    return bool(rental.equipment.billing_kind == BillingKind.OXYGEN_RENTAL)


def _paid(rental: Rental, number: int) -> bool:
    if _is_oxygen(rental):
        return number <= OXYGEN_PAID_MONTHS
    return rental.cap_months is None or number <= rental.cap_months


def previous_rental(rental: Rental) -> Rental | None:
    """The patient's latest earlier rental of the same item (same HCPCS code) that was
    returned on or before this one started and had months recorded."""
    found: Rental | None = (
        Rental.objects.filter(
            company_id=rental.company_id,
            patient_id=rental.patient_id,
            equipment__hcpcs_code=rental.equipment.hcpcs_code,
            status=RentalStatus.RETURNED,
            returned_on__lte=rental.start_date,
            months__isnull=False,
        )
        .exclude(pk=rental.pk)
        .distinct()
        .order_by("-returned_on", "-created_at")
        .first()
    )
    return found


def break_window(previous: Rental) -> tuple[int, int]:
    """(days the break lasted allowed, days left in the rental month when use stopped)
    for ``previous``'s return: 60 days plus the rest of that rental month."""
    assert previous.returned_on is not None
    last = previous.months.order_by("-sequence").first()
    left = 0
    if last is not None:
        month_end = last.date_of_service + relativedelta(months=1)
        left = max(0, (month_end - previous.returned_on).days)
    return BREAK_IN_NEED_DAYS + left, left


def first_month(rental: Rental) -> NextMonth:
    """Month 1 of this rental: a new period, or the next month of the earlier rental it
    continues (42 CFR 414.230). Refused (``break_in_need``) when the break was longer
    than the window and no new medical need is recorded on this rental."""
    day = _dos(rental, 1)
    previous = previous_rental(rental)
    if previous is None:
        return NextMonth(1, 1, 1, day, True)
    assert previous.returned_on is not None
    allowed, left = break_window(previous)
    gap = (rental.start_date - previous.returned_on).days
    last = previous.months.order_by("-sequence").first()
    assert last is not None
    if gap <= allowed:
        number, period = last.number + 1, last.period
        if _is_oxygen(rental) and number > OXYGEN_PERIOD_MONTHS:
            number, period = 1, period + 1
        return NextMonth(1, period, number, day, _paid(rental, number), continues=previous)
    if rental.new_medical_need_on is None:
        raise ServiceError(
            f"{_name(rental)} restarted {gap} days after the same item was returned "
            f"({previous.returned_on:%m/%d/%Y}): longer than {BREAK_IN_NEED_DAYS} days plus "
            f"the {left} day(s) left in that rental month, so a new rental period starts "
            "only with a new order documenting a new medical need (42 CFR 414.230). Record "
            "the new medical need on the rental, or bill it as a continuation if the break "
            "was shorter.",
            code="break_in_need",
        )
    return NextMonth(1, last.period + 1, 1, day, True)


def next_month(rental: Rental) -> NextMonth | None:
    """The next month to record, or None when no more are furnished for billing (a
    capped rental past month 13; a returned rental)."""
    if rental.status == RentalStatus.RETURNED:
        return None
    last = rental.months.order_by("-sequence").first()
    if last is None:
        return first_month(rental)
    sequence, period, number = last.sequence + 1, last.period, last.number + 1
    if _is_oxygen(rental):
        if number > OXYGEN_PERIOD_MONTHS:
            period, number = period + 1, 1
    elif rental.cap_months is not None and number > rental.cap_months:
        return None
    return NextMonth(sequence, period, number, _dos(rental, sequence), _paid(rental, number))


def _next_bill_date(rental: Rental) -> datetime.date | None:
    if rental.status == RentalStatus.RETURNED:
        return None
    if rental.status == RentalStatus.CAPPED and not _is_oxygen(rental):
        return None
    last = rental.months.order_by("-sequence").first()
    day = _dos(rental, (last.sequence if last else 0) + 1)
    if rental.end_date is not None and day > rental.end_date:
        return None
    return day


def _transfer_title(rental: Rental) -> None:
    """A capped rental's unit becomes the patient's after the last paid month."""
    if rental.asset_id is None or _is_oxygen(rental):
        return
    if rental.equipment.billing_kind != BillingKind.CAPPED_RENTAL:
        return
    from .assets import transfer_title

    assert rental.asset is not None
    transfer_title(rental.asset, rental.patient)


def cap_rental(rental: Rental, *, on: datetime.date | None = None) -> Rental:
    """Mark the rental capped (purchased/capped): billing stops. Capped rentals'
    title passes to the patient (the unit becomes patient-owned, 42 CFR
    414.229(f)(2)); oxygen stays the supplier's, with the patient."""
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset")
        check_transition(RENTAL_TRANSITIONS, rental.status, RentalStatus.CAPPED, what=_name(rental))
        rental.status = RentalStatus.CAPPED
        rental.capped_on = on or timezone.localdate()
        rental.next_bill_date = _next_bill_date(rental)
        rental.save(update_fields=["status", "capped_on", "next_bill_date"])
        _transfer_title(rental)
        emit(
            "rental.capped",
            rental,
            {"months_billed": rental.months_billed},
            company=rental.company_id,
        )
    return rental


def record_rental_month(
    rental: Rental, *, as_of: datetime.date | None = None
) -> RentalMonth | None:
    """Record the rental's next month if its date of service is on or before ``as_of``
    (any date when None) and within the rental; return it, or None when nothing is due.

    Under the rental's row lock: the month row (unique per rental and sequence, so two
    runs cannot record it twice), the paid-month count, the cap (and the title passing
    at month 13 of a capped rental), a new oxygen period after month 60, and
    ``next_bill_date``. Raises ``InvalidTransition`` for a rental that bills no more
    months, ``ServiceError`` (``break_in_need``) for a restart that needs a new order.
    """
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset", "patient")
        oxygen = _is_oxygen(rental)
        if rental.status == RentalStatus.RETURNED or (
            rental.status == RentalStatus.CAPPED and not oxygen
        ):
            raise InvalidTransition(
                f"{_name(rental)} is {rental.get_status_display().lower()}: "
                "no more months are billed."
            )
        month = next_month(rental)
        if month is None:
            return None
        if as_of is not None and month.date_of_service > as_of:
            return None
        if rental.end_date is not None and month.date_of_service > rental.end_date:
            return None
        recorded = RentalMonth.objects.create(
            company_id=rental.company_id,
            rental=rental,
            sequence=month.sequence,
            period=month.period,
            number=month.number,
            date_of_service=month.date_of_service,
            paid=month.paid,
        )
        fields = ["next_bill_date"]
        if month.continues is not None:
            rental.continues = month.continues
            fields.append("continues")
        if oxygen and month.number == 1 and rental.status == RentalStatus.CAPPED:
            # A new 36-month period after the 60-month lifetime: billing resumes.
            check_transition(
                RENTAL_TRANSITIONS, rental.status, RentalStatus.ACTIVE, what=_name(rental)
            )
            rental.status = RentalStatus.ACTIVE
            rental.capped_on = None
            rental.months_billed = 0
            fields += ["status", "capped_on", "months_billed"]
        if month.paid:
            rental.months_billed = (
                month.number if rental.cap_months is not None else rental.months_billed + 1
            )
            if "months_billed" not in fields:
                fields.append("months_billed")
            if rental.cap_months is not None and rental.months_billed >= rental.cap_months:
                rental.status = RentalStatus.CAPPED
                rental.capped_on = timezone.localdate()
                fields += [f for f in ("status", "capped_on") if f not in fields]
        rental.next_bill_date = _next_bill_date_after(rental, month)
        rental.save(update_fields=fields)
        if month.paid:
            _emit_billed(rental, capped_now="status" in fields)
        if rental.status == RentalStatus.CAPPED and month.paid and not oxygen:
            _transfer_title(rental)
    return recorded


def _emit_billed(rental: Rental, *, capped_now: bool) -> None:
    """The outbox events of a paid month: ``rental.billed``, and ``rental.capped`` when
    this month reached the cap."""
    emit(
        "rental.billed",
        rental,
        {"months_billed": rental.months_billed, "status": rental.status},
        company=rental.company_id,
    )
    if capped_now and rental.status == RentalStatus.CAPPED:
        emit(
            "rental.capped",
            rental,
            {"months_billed": rental.months_billed},
            company=rental.company_id,
        )


def _next_bill_date_after(rental: Rental, month: NextMonth) -> datetime.date | None:
    if rental.status == RentalStatus.CAPPED and not _is_oxygen(rental):
        return None
    day = _dos(rental, month.sequence + 1)
    if rental.end_date is not None and day > rental.end_date:
        return None
    return day


def record_billed_month(rental: Rental) -> Rental:
    """Count one more month (``record_rental_month`` with no date limit); cap the rental
    when the count reaches its cap. Returns the rental."""
    record_rental_month(rental)
    return Rental.objects.get(pk=rental.pk)


def record_new_medical_need(rental: Rental, documented_on: datetime.date | None) -> Rental:
    """Record the prescriber's new order documenting a new medical need, so that a
    rental restarted after a break in need longer than 60 days (plus the rest of the
    rental month) starts a new rental period (42 CFR 414.230). Only before the
    rental's first month is recorded."""
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset")
        errors: dict[str, list[str]] = {}
        if documented_on is None:
            errors["documented_on"] = ["Give the date of the prescriber's new order."]
        elif documented_on > timezone.localdate():
            errors["documented_on"] = ["The date cannot be in the future."]
        if errors:
            raise ServiceError(
                "Give the date of the new order documenting the new medical need.",
                code="invalid_medical_need",
                fields=errors,
            )
        if rental.months.exists():
            raise InvalidTransition(
                f"{_name(rental)} already has months billed: a new medical need is recorded "
                "before its first month.",
                code="already_billed",
            )
        rental.new_medical_need_on = documented_on
        rental.save(update_fields=["new_medical_need_on"])
    return rental


def return_rental(
    rental: Rental,
    *,
    returned_on: datetime.date,
    location: Location | None,
    picked_up_by: User | None = None,
    notes: str | None = "",
) -> Rental:
    """Record the pickup: the unit goes to ``location`` in maintenance (it is cleaned
    before it is stock again, see ``return_to_stock``); a non-serialized item goes
    straight back on hand there. The rental ends on the pickup date."""
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset")
        check_transition(
            RENTAL_TRANSITIONS, rental.status, RentalStatus.RETURNED, what=_name(rental)
        )
        if (
            rental.status == RentalStatus.CAPPED
            and rental.equipment.billing_kind != BillingKind.OXYGEN_RENTAL
        ):
            raise InvalidTransition(
                f"{_name(rental)} is capped: the patient owns the equipment now, "
                "so there is nothing to pick up."
            )
        errors: dict[str, list[str]] = {}
        if returned_on > timezone.localdate():
            errors["returned_on"] = ["The pickup date cannot be in the future."]
        elif returned_on < rental.start_date:
            errors["returned_on"] = [
                f"The pickup date is before the rental started ({rental.start_date:%m/%d/%Y})."
            ]
        if location is None or location.company_id != rental.company_id:
            errors["location"] = ["Choose the location the equipment goes back to."]
        if errors:
            raise ServiceError(
                f"{_name(rental)} cannot be returned as given.",
                code="invalid_return",
                fields=errors,
            )
        # Narrowed for the type checker: refused above with the field's error.
        assert location is not None
        if rental.asset is not None:
            asset = lock_row(rental.asset)
            check_transition(
                ASSET_TRANSITIONS,
                asset.status,
                AssetStatus.IN_MAINTENANCE,
                what=f"Unit {asset.serial_number}",
            )
            asset.status = AssetStatus.IN_MAINTENANCE
            asset.patient = None
            asset.location = location
            asset.save(update_fields=["status", "patient", "location"])
            MaintenanceRecord.objects.create(
                company_id=rental.company_id,
                asset=asset,
                performed_on=returned_on,
                kind=MaintenanceKind.RETURN,
                work_done=RETURN_WORK,
                performed_by=(picked_up_by.get_full_name() or picked_up_by.email)
                if picked_up_by
                else "",
                technician=picked_up_by,
            )
        else:
            add_stock(
                rental.company_id,
                rental.equipment_id,
                location.pk,
                rental.quantity,
                reason=f"Rental returned (order {rental.order.number})",
            )
        rental.status = RentalStatus.RETURNED
        rental.next_bill_date = None
        rental.end_date = returned_on
        rental.returned_on = returned_on
        rental.picked_up_by = picked_up_by
        rental.return_location = location
        rental.return_notes = (notes or "").strip()
        rental.save(
            update_fields=[
                "status",
                "next_bill_date",
                "end_date",
                "returned_on",
                "picked_up_by",
                "return_location",
                "return_notes",
            ]
        )
    return rental
