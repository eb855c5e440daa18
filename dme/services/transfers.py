"""Transfers between our locations (warehouse to warehouse, warehouse to a driver's
van): shipped, then received, each step one transaction.

Shipping takes the stock off the source (free units only) and puts the transfer in
transit: the stock is then counted at neither location but shown as in transit
(:func:`in_transit`). Receiving puts it on hand at the destination with the cost it
left at. :func:`transfer_now` does both steps in one transaction (a van loaded at the
door). An error anywhere inside a step rolls the whole step back: a transfer never
half-happens.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from core.exceptions import ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, MovementKind, TransferStatus
from ..models import Asset, Equipment, StockLevel, Transfer, TransferLine, TransferNumberCounter
from ..models.movements import TRANSFER_NUMBER_PREFIX
from ..models.purchasing import NUMBER_DIGITS
from ..transitions import TRANSFER_TRANSITIONS
from .assets import set_unit_status
from .stock import issue_stock, receive_stock, record_movement


def _transition(transfer: Transfer, target: TransferStatus) -> None:
    check_transition(
        TRANSFER_TRANSITIONS, transfer.status, target, what=f"Transfer {transfer.number}"
    )


def create_transfer(
    *,
    from_location: Location,
    to_location: Location,
    lines: Iterable[dict[str, Any]] = (),
    notes: str = "",
    user: User | None = None,
    transfer: Transfer | None = None,
) -> Transfer:
    """A draft transfer (``transfer``: the admin's unsaved one). Each line is
    ``{"equipment": ..., "quantity": n}`` for a supply or ``{"asset": unit}`` for a
    serialized unit; lines may also be added while it is a draft (:func:`add_transfer_line`)."""
    if from_location.company_id != to_location.company_id:
        raise ServiceError(
            "Both locations must be of one company.", fields={"to_location": ["Not yours."]}
        )
    if from_location.pk == to_location.pk:
        raise ServiceError(
            "A transfer goes to another location.", fields={"to_location": ["Same location."]}
        )
    if not to_location.is_active:
        raise ServiceError(
            f"{to_location.name} is inactive.", fields={"to_location": ["Inactive."]}
        )
    company_id = from_location.company_id
    with transaction.atomic():
        transfer = transfer or Transfer()
        transfer.company_id = company_id
        transfer.from_location = from_location
        transfer.to_location = to_location
        transfer.notes = notes or transfer.notes
        transfer.status = TransferStatus.DRAFT
        transfer.number = (
            f"{TRANSFER_NUMBER_PREFIX}"
            f"{TransferNumberCounter.next_number(company_id):0{NUMBER_DIGITS}d}"
        )
        transfer.save()
        for index, data in enumerate(lines):
            _add_line(transfer, index, **data)
    return transfer


def add_transfer_line(transfer: Transfer, line: TransferLine) -> TransferLine:
    """Add a line (from the admin's inline) to a draft transfer."""
    with transaction.atomic():
        transfer = lock_row(transfer)
        if not transfer.is_editable:
            raise ServiceError(
                f"Transfer {transfer.number} is {transfer.get_status_display().lower()}: its "
                "lines no longer change.",
                code="not_draft",
            )
        return _add_line(
            transfer,
            0,
            equipment=line.equipment if line.equipment_id else None,
            quantity=line.quantity,
            asset=line.asset if line.asset_id else None,
        )


def _add_line(
    transfer: Transfer,
    index: int,
    *,
    equipment: Equipment | None = None,
    quantity: int = 1,
    asset: Asset | None = None,
) -> TransferLine:
    prefix = f"lines.{index}."
    if asset is not None:
        if equipment is not None and equipment.pk != asset.equipment_id:
            raise ServiceError(
                f"Unit {asset.serial_number} is not a {equipment.name}.",
                fields={f"{prefix}asset": ["Another item's unit."]},
            )
        if asset.company_id != transfer.company_id:
            raise ServiceError("Not your unit.", fields={f"{prefix}asset": ["Not found."]})
        return TransferLine.objects.create(
            company_id=transfer.company_id,
            transfer=transfer,
            equipment_id=asset.equipment_id,
            asset=asset,
            quantity=1,
        )
    if equipment is None or equipment.company_id != transfer.company_id:
        raise ServiceError(
            "Say which item.", fields={f"{prefix}equipment": ["Not in your catalogue."]}
        )
    if equipment.is_serialized:
        raise ServiceError(
            f"{equipment.name} is serialized: transfer its units by serial number.",
            fields={f"{prefix}asset": ["Name the unit."]},
        )
    if quantity is None or quantity < 1:
        raise ServiceError("Transfer at least one.", fields={f"{prefix}quantity": ["At least 1."]})
    return TransferLine.objects.create(
        company_id=transfer.company_id, transfer=transfer, equipment=equipment, quantity=quantity
    )


def _ship(transfer: Transfer, user: User | None) -> None:
    """The shipping step, inside the caller's transaction (transfer locked)."""
    _transition(transfer, TransferStatus.IN_TRANSIT)
    moment = timezone.now()
    source = transfer.from_location
    lines = list(transfer.lines.select_related("equipment", "asset").order_by("created_at", "id"))
    if not lines:
        raise ServiceError(
            f"Transfer {transfer.number} has no lines: say what to send.", code="empty"
        )
    averages = dict(
        StockLevel.objects.filter(
            location=source, equipment_id__in=[line.equipment_id for line in lines]
        ).values_list("equipment_id", "average_cost")
    )
    reason = f"Shipped on transfer {transfer.number} to {transfer.to_location.name}"
    for line in lines:
        cost = averages.get(line.equipment_id, Decimal("0"))
        if line.asset is not None:
            asset = lock_row(line.asset)
            if asset.status != AssetStatus.IN_STOCK or asset.location_id != source.pk:
                raise ServiceError(
                    f"Unit {asset.serial_number} is not in stock at {source.name}: it cannot be "
                    "shipped.",
                    code="not_in_stock",
                )
            cost = asset.purchase_cost if asset.purchase_cost is not None else cost
            issue_stock(line.equipment_id, source.pk, 1, reason=reason)
            set_unit_status(asset, AssetStatus.IN_TRANSIT, location=None)
        else:
            issue_stock(line.equipment_id, source.pk, line.quantity, reason=reason)
        line.unit_cost = cost
        line.save(update_fields=["unit_cost", "updated_at"])
        record_movement(
            company_id=transfer.company_id,
            kind=MovementKind.TRANSFER_OUT,
            equipment_id=line.equipment_id,
            location_id=source.pk,
            quantity=-line.quantity,
            unit_cost=cost,
            asset_id=line.asset_id,
            reference=transfer.number,
            reason=reason,
            user=user,
            moved_at=moment,
        )
    transfer.status = TransferStatus.IN_TRANSIT
    transfer.shipped_at = moment
    transfer.save(update_fields=["status", "shipped_at", "updated_at"])


def _receive(transfer: Transfer, user: User | None) -> None:
    """The receiving step, inside the caller's transaction (transfer locked)."""
    _transition(transfer, TransferStatus.RECEIVED)
    moment = timezone.now()
    target = transfer.to_location
    reason = f"Received on transfer {transfer.number} from {transfer.from_location.name}"
    for line in transfer.lines.select_related("asset").order_by("created_at", "id"):
        if line.asset is not None:
            asset = lock_row(line.asset)
            set_unit_status(asset, AssetStatus.IN_STOCK, location=target)
        receive_stock(
            transfer.company_id,
            line.equipment_id,
            target.pk,
            line.quantity,
            line.unit_cost,
            reason=reason,
        )
        record_movement(
            company_id=transfer.company_id,
            kind=MovementKind.TRANSFER_IN,
            equipment_id=line.equipment_id,
            location_id=target.pk,
            quantity=line.quantity,
            unit_cost=line.unit_cost,
            asset_id=line.asset_id,
            reference=transfer.number,
            reason=reason,
            user=user,
            moved_at=moment,
        )
    transfer.status = TransferStatus.RECEIVED
    transfer.received_at = moment
    transfer.save(update_fields=["status", "received_at", "updated_at"])


def ship_transfer(transfer: Transfer, *, user: User | None = None) -> Transfer:
    """Take the stock off the source: the transfer is in transit."""
    with transaction.atomic():
        transfer = lock_row(transfer, "from_location", "to_location")
        _ship(transfer, user)
    return transfer


def receive_transfer(transfer: Transfer, *, user: User | None = None) -> Transfer:
    """Put the stock in transit on hand at the destination."""
    with transaction.atomic():
        transfer = lock_row(transfer, "from_location", "to_location")
        _receive(transfer, user)
    return transfer


def transfer_now(transfer: Transfer, *, user: User | None = None) -> Transfer:
    """Ship and receive in one transaction: both movements or neither."""
    with transaction.atomic():
        transfer = lock_row(transfer, "from_location", "to_location")
        _ship(transfer, user)
        _receive(transfer, user)
    return transfer


def cancel_transfer(transfer: Transfer, *, user: User | None = None) -> Transfer:
    """Cancel a draft (a shipped transfer is received at its destination instead)."""
    with transaction.atomic():
        transfer = lock_row(transfer)
        _transition(transfer, TransferStatus.CANCELLED)
        transfer.status = TransferStatus.CANCELLED
        transfer.save(update_fields=["status", "updated_at"])
    return transfer


def in_transit(company_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Quantities in transit by (item, destination): counted at neither end, shown."""
    totals: defaultdict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    for equipment_id, location_id, quantity in TransferLine.objects.filter(
        company_id=company_id, transfer__status=TransferStatus.IN_TRANSIT
    ).values_list("equipment_id", "transfer__to_location_id", "quantity"):
        totals[(equipment_id, location_id)] += quantity
    return dict(totals)
