"""Rentals: billed months, capping, and the pickup when the patient returns the item.

``record_billed_month`` and ``cap_rental`` are for billing (the hme app): a month is
counted once per call, under the rental's row lock, and the rental caps itself when the
count reaches its cap (13 paid months for capped rentals, 36 for oxygen).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from core.events import emit
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, BillingKind, MaintenanceKind, RentalStatus
from ..models import MaintenanceRecord, Rental
from ..transitions import ASSET_TRANSITIONS, RENTAL_TRANSITIONS
from .stock import add_stock

RETURN_WORK = "Returned from the patient: to be cleaned and disinfected before reuse."


def _name(rental: Rental) -> str:
    unit = f" #{rental.asset.serial_number}" if rental.asset is not None else ""
    return f"The rental of {rental.equipment.name}{unit}"


def cap_rental(rental: Rental, *, on: datetime.date | None = None) -> Rental:
    """Mark the rental capped (purchased/capped): billing stops. Capped rentals'
    title passes to the patient; oxygen stays the supplier's, with the patient."""
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset")
        check_transition(RENTAL_TRANSITIONS, rental.status, RentalStatus.CAPPED, what=_name(rental))
        rental.status = RentalStatus.CAPPED
        rental.capped_on = on or timezone.localdate()
        rental.save(update_fields=["status", "capped_on"])
        emit(
            "rental.capped",
            rental,
            {"months_billed": rental.months_billed},
            company=rental.company_id,
        )
    return rental


def record_billed_month(rental: Rental) -> Rental:
    """Count one more paid month; cap the rental when the count reaches its cap.

    Raises ``InvalidTransition`` for a rental that is not active (capped or
    returned): such a month must not be billed.
    """
    with transaction.atomic():
        rental = lock_row(rental, "equipment", "asset")
        if rental.status != RentalStatus.ACTIVE:
            raise InvalidTransition(
                f"{_name(rental)} is {rental.get_status_display().lower()}: "
                "no more months are billed."
            )
        rental.months_billed += 1
        fields = ["months_billed"]
        if rental.cap_months is not None and rental.months_billed >= rental.cap_months:
            rental.status = RentalStatus.CAPPED
            rental.capped_on = timezone.localdate()
            fields += ["status", "capped_on"]
            emit(
                "rental.capped",
                rental,
                {"months_billed": rental.months_billed},
                company=rental.company_id,
            )
        rental.save(update_fields=fields)
        emit(
            "rental.billed",
            rental,
            {"months_billed": rental.months_billed, "status": rental.status},
            company=rental.company_id,
        )
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
        rental.end_date = returned_on
        rental.returned_on = returned_on
        rental.picked_up_by = picked_up_by
        rental.return_location = location
        rental.return_notes = (notes or "").strip()
        rental.save(
            update_fields=[
                "status",
                "end_date",
                "returned_on",
                "picked_up_by",
                "return_location",
                "return_notes",
            ]
        )
    return rental
