"""Serialized units: registration, maintenance, back to stock, retirement.

Asset rows change under ``select_for_update`` and through ``save()``, so each change
lands in the asset's audit history; the stock level moves with them.
"""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from clinical.models import Patient
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, MaintenanceKind, MovementKind
from ..models import Asset, MaintenanceRecord, Recall
from ..transitions import ASSET_TRANSITIONS
from .stock import add_stock, change_stock, record_movement


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


# The unit's whole life (issue 20) ------------------------------------------------------

# The public name of the status setter for the other DME services (transfers).
set_unit_status = _set_status

# What each life move is called in messages and the ledger.
LIFE_MOVES = {
    AssetStatus.SOLD: "sold",
    AssetStatus.LOST: "lost",
    AssetStatus.JUNKED: "junked",
    AssetStatus.TRANSFERRED_OUT: "transferred out",
    AssetStatus.ON_LOAN: "lent",
    AssetStatus.IN_STOCK: "back in stock",
}


def change_unit_life(
    asset: Asset,
    target: str,
    *,
    reason: str,
    user: User | None = None,
    patient: Patient | None = None,
    location: Location | None = None,
) -> Asset:
    """Move a unit along its life (``dme.transitions.UNIT_LIFE_TRANSITIONS``): sell it
    (over the counter, or to the patient who has it: title passed or purchased), lose,
    junk or transfer it out of the company, lend it to a patient, or take it back into
    stock (a lost unit found, a loaner returned: ``location`` says where). A unit
    leaving the stock takes one free unit off hand; coming back puts one on."""
    try:
        status = AssetStatus(target)
    except ValueError:
        raise ServiceError(
            f"{target!r} is not a unit status.", fields={"status": ["Unknown status."]}
        ) from None
    if status not in LIFE_MOVES:
        raise ServiceError(
            f"A unit does not become {status.label.lower()} this way.",
            fields={"status": ["Use the order, delivery, transfer or maintenance instead."]},
        )
    if not reason or not reason.strip():
        raise ServiceError("Say why.", fields={"reason": ["Required."]})
    reason = reason.strip()
    with transaction.atomic():
        asset = lock_row(asset, "equipment", "location")
        what = f"Unit {asset.serial_number}"
        before = AssetStatus(asset.status)
        if status == AssetStatus.IN_STOCK and before not in (AssetStatus.LOST, AssetStatus.ON_LOAN):
            raise InvalidTransition(
                f"{what} is {before.label.lower()}: only a lost unit or a loaner comes back "
                "this way."
            )
        check_transition(ASSET_TRANSITIONS, before, status, what=what)
        label = f"{what} {LIFE_MOVES[status]}: {reason}"
        fields = _life_fields(asset, before, status, label, user, patient, location)
        # The audit history and the ledger keep the move and its reason.
        _set_status(asset, status, **fields)
    return asset


def _life_fields(
    asset: Asset,
    before: AssetStatus,
    status: AssetStatus,
    label: str,
    user: User | None,
    patient: Patient | None,
    location: Location | None,
) -> dict[str, Any]:
    """The stock moves of a life change, and the unit's fields it sets."""
    what = f"Unit {asset.serial_number}"
    fields: dict[str, Any] = {}
    if before == AssetStatus.IN_STOCK:
        source = _location(asset)
        if change_stock(asset.equipment_id, source.pk, on_hand=-1, reason=label) is None:
            raise ServiceError(
                f"{what} cannot leave the stock: every unit on hand at {source.name} is reserved.",
                code="insufficient_stock",
            )
        _ledger(asset, source, -1, label, user)
        fields["location"] = None
    if status == AssetStatus.ON_LOAN:
        if patient is None or patient.company_id != asset.company_id:
            raise ServiceError("Say who borrows it.", fields={"patient": ["Required."]})
        fields["patient"] = patient
    elif status == AssetStatus.SOLD:
        if patient is not None and patient.company_id != asset.company_id:
            raise ServiceError("Not your patient.", fields={"patient": ["Not found."]})
        if patient is not None:
            fields["patient"] = patient
    elif status == AssetStatus.IN_STOCK:
        if location is None or location.company_id != asset.company_id:
            raise ServiceError("Say where the unit is.", fields={"location": ["Required."]})
        fields["location"], fields["patient"] = location, None
        add_stock(asset.company_id, asset.equipment_id, location.pk, 1, reason=label)
        _ledger(asset, location, 1, label, user)
    else:  # lost, junked, transferred out
        fields["patient"] = None
    return fields


def _ledger(
    asset: Asset, location: Location, quantity: int, reason: str, user: User | None
) -> None:
    record_movement(
        company_id=asset.company_id,
        kind=MovementKind.UNIT_STATUS,
        equipment_id=asset.equipment_id,
        location_id=location.pk,
        quantity=quantity,
        unit_cost=asset.purchase_cost or Decimal("0"),
        asset_id=asset.pk,
        reason=reason,
        user=user,
    )


# Warranty and recalls -----------------------------------------------------------------


@dataclass
class SerialLookup:
    """What a serial number look-up found: the units and, per unit, the recalls that
    name it and whether its warranty still runs."""

    asset: Asset
    recalls: list[Recall]
    under_warranty: bool | None


def recalls_for(asset: Asset, recalls: Iterable[Recall] | None = None) -> list[Recall]:
    """The recalls of the unit's manufacturer and model that name its serial number."""
    equipment = asset.equipment
    if recalls is None:
        recalls = Recall.objects.filter(
            company_id=asset.company_id,
            manufacturer__iexact=equipment.manufacturer,
            model_number__iexact=equipment.model_number,
        )
    return [
        recall
        for recall in recalls
        if recall.manufacturer.lower() == equipment.manufacturer.lower()
        and recall.model_number.lower() == equipment.model_number.lower()
        and recall.covers(asset.serial_number)
    ]


def lookup_serial(company_id: uuid.UUID, serial: str) -> list[SerialLookup]:
    """Every unit of the company with this serial number (exact, any item), with its
    recalls and warranty."""
    serial = serial.strip().upper()
    if not serial:
        raise ServiceError("Give a serial number.", fields={"serial": ["Required."]})
    assets = list(
        Asset.objects.filter(company_id=company_id, serial_number__iexact=serial).select_related(
            "equipment", "location"
        )
    )
    recalls = list(Recall.objects.filter(company_id=company_id))
    today = timezone.localdate()
    return [
        SerialLookup(
            asset=asset,
            recalls=recalls_for(asset, recalls),
            under_warranty=None
            if asset.warranty_ends_on is None
            else asset.warranty_ends_on >= today,
        )
        for asset in assets
    ]


def recalled_units(recall: Recall) -> list[Asset]:
    """The company's units a recall names (any status: a sold unit's owner is told)."""
    candidates = Asset.objects.filter(
        company_id=recall.company_id,
        equipment__manufacturer__iexact=recall.manufacturer,
        equipment__model_number__iexact=recall.model_number,
    ).select_related("equipment", "location")
    return [asset for asset in candidates if recall.covers(asset.serial_number)]


def transfer_title(asset: Asset, patient: Any) -> Asset:
    """The title of a capped rental's unit passes to the patient after the 13th paid
    month (42 CFR 414.229(f)(2)): the unit becomes patient-owned and leaves the rentable
    fleet (it is never reserved or rented again). Called by ``dme.services.rentals``
    inside the rental's transaction."""
    with transaction.atomic():
        asset = lock_row(asset)
        _set_status(asset, AssetStatus.PATIENT_OWNED, patient=patient, location=None)
    return asset
