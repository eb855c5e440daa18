"""Serialized units: registration, maintenance, back to stock, retirement.

Asset rows change under ``select_for_update`` and through ``save()``, so each change
lands in the asset's audit history; the stock level moves with them.
"""

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, MaintenanceKind
from ..models import Asset, MaintenanceRecord
from ..transitions import ASSET_TRANSITIONS
from .stock import add_stock, change_stock


def _who(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.email


def _location(asset: Asset) -> Location:
    """The unit's location: a unit in stock, reserved or in maintenance always has one
    (constraint ``asset_at_location_has_location``)."""
    assert asset.location is not None
    return asset.location


def _set_status(asset: Asset, status: AssetStatus, **fields: Any) -> None:
    check_transition(ASSET_TRANSITIONS, asset.status, status, what=f"Unit {asset.serial_number}")
    asset.status = status
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.save(update_fields=["status", *fields])


def register_asset(asset: Asset) -> Asset:
    """Save a new unit, in stock at its location, and count it on hand there."""
    if not asset._state.adding:
        raise ServiceError("This unit is already registered.", code="already_registered")
    if not asset.location_id:
        raise ServiceError("Say where the unit is.", fields={"location": ["Required."]})
    with transaction.atomic():
        asset.status = AssetStatus.IN_STOCK
        asset.save()
        add_stock(
            asset.company_id,
            asset.equipment_id,
            asset.location_id,
            1,
            reason=f"Unit {asset.serial_number} registered",
        )
    return asset


def log_maintenance(
    asset: Asset,
    *,
    performed_on: datetime.date,
    kind: str,
    work_done: str,
    performed_by: str = "",
    technician: User | None = None,
) -> MaintenanceRecord:
    """Add an entry to the unit's maintenance log (any status but retired)."""
    if asset.status == AssetStatus.RETIRED:
        raise ServiceError(f"Unit {asset.serial_number} is retired.", code="retired")
    if performed_on > timezone.localdate():
        raise ServiceError(
            "The work date is in the future.", fields={"performed_on": ["Not in the future."]}
        )
    return MaintenanceRecord.objects.create(
        company_id=asset.company_id,
        asset=asset,
        performed_on=performed_on,
        kind=kind,
        work_done=work_done,
        performed_by=performed_by or _who(technician),
        technician=technician,
    )


def send_to_maintenance(asset: Asset, *, work_done: str, user: User | None = None) -> Asset:
    """Take a unit in stock out for maintenance: it stops counting as on hand.

    Only from stock: a unit with a patient comes back through the rental's return
    (which says where it goes), a reserved one is released by cancelling its order."""
    with transaction.atomic():
        asset = lock_row(asset, "equipment", "location")
        if asset.status != AssetStatus.IN_STOCK:
            raise InvalidTransition(
                f"Unit {asset.serial_number} is {asset.get_status_display().lower()}: only a "
                "unit in stock can be sent to maintenance"
                + (
                    " (record the pickup with the rental's return)."
                    if asset.status == AssetStatus.WITH_PATIENT
                    else "."
                )
            )
        check_transition(
            ASSET_TRANSITIONS,
            asset.status,
            AssetStatus.IN_MAINTENANCE,
            what=f"Unit {asset.serial_number}",
        )
        if (
            change_stock(
                asset.equipment_id,
                _location(asset).pk,
                on_hand=-1,
                reason=f"Unit {asset.serial_number} sent to maintenance",
            )
            is None
        ):
            raise ServiceError(
                f"Unit {asset.serial_number} cannot leave the stock: every unit on hand at "
                f"{_location(asset).name} is reserved.",
                code="insufficient_stock",
            )
        _set_status(asset, AssetStatus.IN_MAINTENANCE)
        log_maintenance(
            asset,
            performed_on=timezone.localdate(),
            kind=MaintenanceKind.INSPECTION,
            work_done=work_done,
            technician=user,
        )
    return asset


def return_to_stock(
    asset: Asset,
    *,
    user: User | None = None,
    work_done: str = "Cleaned, checked and back in stock.",
) -> Asset:
    """A unit out of maintenance (cleaned after a return, repaired) is free again."""
    with transaction.atomic():
        asset = lock_row(asset, "equipment", "location")
        _set_status(asset, AssetStatus.IN_STOCK)
        add_stock(
            asset.company_id,
            asset.equipment_id,
            _location(asset).pk,
            1,
            reason=f"Unit {asset.serial_number} back in stock",
        )
        log_maintenance(
            asset,
            performed_on=timezone.localdate(),
            kind=MaintenanceKind.CLEANING,
            work_done=work_done,
            technician=user,
        )
    return asset


def retire_asset(asset: Asset, *, reason: str, user: User | None = None) -> Asset:
    """Take a unit out of service for good (broken beyond repair, lost, recalled)."""
    if not reason or not reason.strip():
        raise ServiceError("Say why the unit is retired.", fields={"reason": ["Required."]})
    with transaction.atomic():
        asset = lock_row(asset, "equipment", "location")
        was_in_stock = asset.status == AssetStatus.IN_STOCK
        check_transition(
            ASSET_TRANSITIONS, asset.status, AssetStatus.RETIRED, what=f"Unit {asset.serial_number}"
        )
        if (
            was_in_stock
            and change_stock(
                asset.equipment_id,
                _location(asset).pk,
                on_hand=-1,
                reason=f"Unit {asset.serial_number} retired",
            )
            is None
        ):
            raise ServiceError(
                f"Unit {asset.serial_number} cannot be retired: every unit on hand at "
                f"{_location(asset).name} is reserved.",
                code="insufficient_stock",
            )
        log_maintenance(
            asset,
            performed_on=timezone.localdate(),
            kind=MaintenanceKind.OTHER,
            work_done=f"Retired: {reason.strip()}",
            technician=user,
        )
        _set_status(asset, AssetStatus.RETIRED)
    return asset


def transfer_title(asset: Asset, patient: Any) -> Asset:
    """The title of a capped rental's unit passes to the patient after the 13th paid
    month (42 CFR 414.229(f)(2)): the unit becomes patient-owned and leaves the rentable
    fleet (it is never reserved or rented again). Called by ``dme.services.rentals``
    inside the rental's transaction."""
    with transaction.atomic():
        asset = lock_row(asset)
        _set_status(asset, AssetStatus.PATIENT_OWNED, patient=patient, location=None)
    return asset
