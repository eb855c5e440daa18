"""Buying stock: purchase orders, the reorder-point suggestion run, and receiving.

A purchase order moves draft -> sent -> partly received -> received, or cancelled
(``dme.transitions.PURCHASE_ORDER_TRANSITIONS``). Receiving locks the purchase order
first, so two receipts against one order run one after the other and never receive
more than was ordered; stock and units change only through ``dme.services.stock`` in
the receipt's one transaction, with the cost recorded (moving average, see there).
"""

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import Company, Location, User
from core.exceptions import ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import AssetStatus, MovementKind, PurchaseOrderStatus
from ..models import (
    Asset,
    Equipment,
    Lot,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderNumberCounter,
    Receipt,
    ReceiptLine,
    ReceiptNumberCounter,
    StockLevel,
    Vendor,
    VendorItem,
)
from ..models.purchasing import (
    NUMBER_DIGITS,
    PURCHASE_ORDER_NUMBER_PREFIX,
    RECEIPT_NUMBER_PREFIX,
)
from ..transitions import PURCHASE_ORDER_TRANSITIONS
from .stock import receive_stock, record_movement

OPEN_STATUSES = (
    PurchaseOrderStatus.DRAFT,
    PurchaseOrderStatus.SENT,
    PurchaseOrderStatus.PARTLY_RECEIVED,
)
# The longest a serial number may be (Asset.serial_number).
SERIAL_MAX = 64


def _po_transition(po: PurchaseOrder, target: PurchaseOrderStatus) -> None:
    check_transition(
        PURCHASE_ORDER_TRANSITIONS, po.status, target, what=f"Purchase order {po.number}"
    )


def _number(prefix: str, value: int) -> str:
    return f"{prefix}{value:0{NUMBER_DIGITS}d}"


# Purchase orders ---------------------------------------------------------------------


def create_purchase_order(
    *,
    vendor: Vendor,
    location: Location,
    lines: Iterable[dict[str, Any]] = (),
    notes: str = "",
    user: User | None = None,
    suggested: bool = False,
) -> PurchaseOrder:
    """A draft purchase order with its lines (``equipment``, ``quantity``, and
    optionally ``unit_cost`` (else the vendor's cost) and ``expected_date``)."""
    if vendor.company_id != location.company_id:
        raise ServiceError(
            "The vendor and the location belong to different companies.",
            fields={"location": ["Not in the vendor's company."]},
        )
    if not vendor.is_active:
        raise ServiceError(
            f"Vendor {vendor.name} is inactive.", fields={"vendor": ["Inactive vendor."]}
        )
    with transaction.atomic():
        po = save_new_purchase_order(
            PurchaseOrder(
                company_id=vendor.company_id,
                vendor=vendor,
                location=location,
                notes=notes,
                suggested=suggested,
            )
        )
        for index, data in enumerate(lines):
            _save_po_line(po, PurchaseOrderLine(purchase_order=po, **data), index)
    return po


def save_new_purchase_order(po: PurchaseOrder) -> PurchaseOrder:
    """Save a new draft (the admin's add page, :func:`create_purchase_order`) with the
    next number of its company."""
    if not po._state.adding:
        raise ServiceError("This purchase order is already saved.", code="already_saved")
    if po.vendor.company_id != po.company_id or po.location.company_id != po.company_id:
        raise ServiceError(
            "The vendor and the location must be of your company.",
            fields={"vendor": ["Not in your company."]},
        )
    with transaction.atomic():
        po.status = PurchaseOrderStatus.DRAFT
        po.number = _number(
            PURCHASE_ORDER_NUMBER_PREFIX, PurchaseOrderNumberCounter.next_number(po.company_id)
        )
        po.save()
    return po


def delete_po_line(line: PurchaseOrderLine) -> None:
    """Remove a line of a draft purchase order."""
    with transaction.atomic():
        po = lock_row(line.purchase_order)
        if not po.is_editable:
            raise ServiceError(
                f"Purchase order {po.number} is {po.get_status_display().lower()}: only a "
                "draft's lines change.",
                code="not_draft",
            )
        line.delete()


def _vendor_cost(vendor_id: uuid.UUID, equipment_id: uuid.UUID) -> Decimal:
    cost = (
        VendorItem.objects.filter(vendor_id=vendor_id, equipment_id=equipment_id)
        .values_list("unit_cost", flat=True)
        .first()
    )
    return cost if cost is not None else Decimal("0")


def save_po_line(po: PurchaseOrder, line: PurchaseOrderLine, *, index: int = 0) -> None:
    """Add or change a line of a draft purchase order."""
    with transaction.atomic():
        po = lock_row(po)
        _save_po_line(po, line, index)


def _save_po_line(po: PurchaseOrder, line: PurchaseOrderLine, index: int) -> None:
    if po.status != PurchaseOrderStatus.DRAFT:
        raise ServiceError(
            f"Purchase order {po.number} is {po.get_status_display().lower()}: only a draft's "
            "lines change.",
            code="not_draft",
        )
    equipment: Equipment = line.equipment
    prefix = f"lines.{index}."
    if equipment.company_id != po.company_id:
        raise ServiceError(
            "This item is not in your catalogue.",
            fields={f"{prefix}equipment": ["Not in your catalogue."]},
        )
    if line.quantity is None or line.quantity < 1:
        raise ServiceError("Order at least one.", fields={f"{prefix}quantity": ["At least 1."]})
    if line.unit_cost is None or (line._state.adding and not line.unit_cost):
        line.unit_cost = line.unit_cost or _vendor_cost(po.vendor_id, equipment.pk)
    if line.unit_cost < 0:
        raise ServiceError(
            "The unit cost cannot be negative.", fields={f"{prefix}unit_cost": ["Not < 0."]}
        )
    line.company_id = po.company_id
    line.purchase_order = po
    line.save()


def send_purchase_order(po: PurchaseOrder, *, user: User | None = None) -> PurchaseOrder:
    """The draft goes to the vendor: its lines' expected dates default to today plus
    the vendor's lead time."""
    with transaction.atomic():
        po = lock_row(po, "vendor", "location")
        _po_transition(po, PurchaseOrderStatus.SENT)
        if not po.lines.exists():
            raise ServiceError(
                f"Purchase order {po.number} has no lines: add what to order first.",
                code="empty",
            )
        po.status = PurchaseOrderStatus.SENT
        po.sent_at = timezone.now()
        po.save(update_fields=["status", "sent_at", "updated_at"])
        expected = timezone.localdate() + datetime.timedelta(days=po.vendor.lead_time_days)
        po.lines.filter(expected_date__isnull=True).update(expected_date=expected)
    return po


def cancel_purchase_order(po: PurchaseOrder, *, user: User | None = None) -> PurchaseOrder:
    """Cancel a draft or a sent order; on a partly received one, cancel the backorder
    (what came in stays in stock)."""
    with transaction.atomic():
        po = lock_row(po)
        _po_transition(po, PurchaseOrderStatus.CANCELLED)
        po.status = PurchaseOrderStatus.CANCELLED
        po.save(update_fields=["status", "updated_at"])
    return po


# The suggestion run -----------------------------------------------------------------


@dataclass
class SuggestionRun:
    """What a suggestion run proposed: the draft orders and the items it could not
    order (no preferred vendor)."""

    created: list[PurchaseOrder] = field(default_factory=list)
    lines: int = 0
    without_vendor: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.created)} purchase order(s) suggested with {self.lines} line(s)"
        if self.without_vendor:
            text += f"; {len(self.without_vendor)} item(s) have no preferred vendor"
        return text + "."


def on_order(company_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """What open purchase orders still bring, by (item, location)."""
    rows = (
        PurchaseOrderLine.objects.filter(
            company_id=company_id, purchase_order__status__in=OPEN_STATUSES
        )
        .values("equipment_id", "purchase_order__location_id")
        .annotate(waiting=Sum(F("quantity") - F("received_quantity")))
    )
    return {
        (row["equipment_id"], row["purchase_order__location_id"]): row["waiting"] or 0
        for row in rows
    }


def reorder_quantity(level: StockLevel) -> int:
    """How many to order for a level at or below its reorder point: its reorder
    quantity, or (0 set) enough to bring free stock to twice the reorder point."""
    if level.reorder_quantity:
        return int(level.reorder_quantity)
    return max(2 * int(level.reorder_point) - int(level.available), 1)


def suggest_purchase_orders(
    company: Company,
    *,
    user: User | None = None,
    locations: Sequence[Location] | None = None,
    vendors: Sequence[Vendor] | None = None,
    progress: Any = None,
) -> SuggestionRun:
    """Draft purchase orders for every stock level at or below its reorder point (free
    stock plus what open purchase orders still bring), one per preferred vendor and
    location. Running it again proposes nothing new: drafts count as on order."""
    run = SuggestionRun()
    levels = StockLevel.objects.filter(
        company=company, reorder_point__gt=0, equipment__is_active=True
    ).select_related("equipment", "location")
    if locations is not None:
        levels = levels.filter(location__in=list(locations))
    sources = VendorItem.objects.filter(
        company=company, is_preferred=True, vendor__is_active=True
    ).select_related("vendor")
    if vendors is not None:
        sources = sources.filter(vendor__in=list(vendors))
        levels = levels.filter(equipment__in=sources.values("equipment"))
    preferred = {item.equipment_id: item for item in sources}
    with transaction.atomic():
        waiting = on_order(company.pk)
        groups: defaultdict[tuple[uuid.UUID, uuid.UUID], list[dict[str, Any]]] = defaultdict(list)
        chosen: dict[uuid.UUID, Vendor] = {}
        places: dict[uuid.UUID, Location] = {}
        for level in levels.iterator() if progress is None else progress(levels):
            coming = waiting.get((level.equipment_id, level.location_id), 0)
            if level.available + coming > level.reorder_point:
                continue
            item = preferred.get(level.equipment_id)
            if item is None:
                run.without_vendor.append(str(level.equipment))
                continue
            chosen[item.vendor_id] = item.vendor
            places[level.location_id] = level.location
            groups[(item.vendor_id, level.location_id)].append(
                {
                    "equipment": level.equipment,
                    "quantity": reorder_quantity(level),
                    "unit_cost": item.unit_cost,
                    "expected_date": timezone.localdate()
                    + datetime.timedelta(days=item.vendor.lead_time_days),
                }
            )
        for (vendor_id, location_id), lines in sorted(groups.items(), key=lambda g: str(g[0])):
            po = create_purchase_order(
                vendor=chosen[vendor_id],
                location=places[location_id],
                lines=lines,
                user=user,
                suggested=True,
                notes="Suggested from reorder points.",
            )
            run.created.append(po)
            run.lines += len(lines)
    return run


# Receiving ---------------------------------------------------------------------------


@dataclass
class ReceiveItem:
    """What came in for one purchase order line."""

    line_id: uuid.UUID
    quantity: int
    unit_cost: Decimal | None = None
    serial_numbers: list[str] = field(default_factory=list)
    lot_number: str = ""
    expiry_date: datetime.date | None = None


def parse_serials(text: str) -> list[str]:
    """Serial numbers typed or scanned: one per line (a scanner ends each with Enter),
    commas and spaces also separate; upper-cased, blanks dropped."""
    return [s.strip().upper() for s in text.replace(",", "\n").split() if s.strip()]


def _check_item(
    po_line: PurchaseOrderLine, item: ReceiveItem, index: int, errors: dict[str, list[str]]
) -> None:
    prefix = f"lines.{index}."
    equipment = po_line.equipment
    if item.quantity < 0:
        errors[f"{prefix}quantity"] = ["Cannot be negative."]
        return
    if item.quantity > po_line.backordered:
        errors[f"{prefix}quantity"] = [f"At most {po_line.backordered} are still due."]
        return
    if item.unit_cost is not None and item.unit_cost < 0:
        errors[f"{prefix}unit_cost"] = ["Cannot be negative."]
    serials = item.serial_numbers
    if equipment.is_serialized:
        if len(serials) != item.quantity:
            errors[f"{prefix}serial_numbers"] = [
                f"{equipment.name} is serialized: give {item.quantity} serial number(s), "
                f"{len(serials)} given."
            ]
        elif len(set(serials)) != len(serials):
            errors[f"{prefix}serial_numbers"] = ["A serial number is given twice."]
        elif any(len(s) > SERIAL_MAX for s in serials):
            errors[f"{prefix}serial_numbers"] = [f"At most {SERIAL_MAX} characters each."]
    elif serials:
        errors[f"{prefix}serial_numbers"] = [f"{equipment.name} is not serialized."]
    if equipment.is_lot_tracked and item.quantity:
        if not item.lot_number.strip():
            errors[f"{prefix}lot_number"] = [f"{equipment.name} is lot-tracked: give the lot."]
        if item.expiry_date is None:
            errors[f"{prefix}expiry_date"] = ["Give the lot's expiry date."]


def _lot(po: PurchaseOrder, equipment: Equipment, item: ReceiveItem, index: int) -> Lot:
    number = item.lot_number.strip().upper()
    lot, created = Lot.objects.get_or_create(
        equipment=equipment,
        lot_number=number,
        defaults={"company_id": po.company_id, "expiry_date": item.expiry_date},
    )
    if not created and lot.expiry_date != item.expiry_date:
        raise ServiceError(
            f"Lot {number} of {equipment.name} was received before with another expiry date "
            f"({lot.expiry_date}).",
            fields={f"lines.{index}.expiry_date": [f"Lot {number} expires {lot.expiry_date}."]},
        )
    return lot


def receive_purchase_order(
    po: PurchaseOrder,
    items: Sequence[ReceiveItem],
    *,
    user: User | None = None,
    packing_slip: str = "",
    received_at: datetime.datetime | None = None,
) -> Receipt:
    """Receive all or part of a sent purchase order; what is not received stays
    backordered. Serialized items come in as units with their serial numbers, lot-
    tracked supplies with their lot and expiry; the cost goes into the stock level's
    moving average. All of it in one transaction, or nothing."""
    items = [item for item in items if item.quantity]
    if not items:
        raise ServiceError("Nothing to receive: give a quantity on at least one line.")
    with transaction.atomic():
        po = lock_row(po, "location")
        if po.status not in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED):
            raise ServiceError(
                f"Purchase order {po.number} is {po.get_status_display().lower()}: only a sent "
                "or partly received order is received.",
                code="invalid_transition",
            )
        po_lines = {
            line.pk: line
            for line in PurchaseOrderLine.objects.filter(purchase_order=po).select_related(
                "equipment"
            )
        }
        errors: dict[str, list[str]] = {}
        for index, item in enumerate(items):
            po_line = po_lines.get(item.line_id)
            if po_line is None:
                errors[f"lines.{index}.line"] = ["Not a line of this purchase order."]
                continue
            _check_item(po_line, item, index, errors)
        taken = _serials_taken(po_lines, items)
        for index, serial in taken:
            errors.setdefault(f"lines.{index}.serial_numbers", []).append(
                f"Serial {serial} is already registered for this item."
            )
        if errors:
            raise ServiceError(
                "The receipt was not recorded: correct the lines marked.", fields=errors
            )
        moment = received_at or timezone.now()
        receipt = Receipt.objects.create(
            company_id=po.company_id,
            purchase_order=po,
            number=_number(RECEIPT_NUMBER_PREFIX, ReceiptNumberCounter.next_number(po.company_id)),
            received_at=moment,
            received_by=user,
            packing_slip=packing_slip.strip(),
        )
        for index, item in enumerate(items):
            _receive_line(po, receipt, po_lines[item.line_id], item, index, user, moment)
        remaining = sum(
            line.backordered for line in PurchaseOrderLine.objects.filter(purchase_order=po)
        )
        target = (
            PurchaseOrderStatus.RECEIVED if remaining == 0 else PurchaseOrderStatus.PARTLY_RECEIVED
        )
        _po_transition(po, target)
        po.status = target
        po.save(update_fields=["status", "updated_at"])
    return receipt


def _serials_taken(
    po_lines: dict[uuid.UUID, PurchaseOrderLine], items: Sequence[ReceiveItem]
) -> list[tuple[int, str]]:
    """(index, serial) of every serial number already registered for its item."""
    wanted = Q()
    for item in items:
        po_line = po_lines.get(item.line_id)
        if po_line is not None and item.serial_numbers:
            wanted |= Q(equipment_id=po_line.equipment_id, serial_number__in=item.serial_numbers)
    if not wanted:
        return []
    existing = set(Asset.objects.filter(wanted).values_list("equipment_id", "serial_number"))
    return [
        (index, serial)
        for index, item in enumerate(items)
        if item.line_id in po_lines
        for serial in item.serial_numbers
        if (po_lines[item.line_id].equipment_id, serial) in existing
    ]


def _receive_line(
    po: PurchaseOrder,
    receipt: Receipt,
    po_line: PurchaseOrderLine,
    item: ReceiveItem,
    index: int,
    user: User | None,
    moment: datetime.datetime,
) -> None:
    equipment = po_line.equipment
    cost = po_line.unit_cost if item.unit_cost is None else item.unit_cost
    lot = _lot(po, equipment, item, index) if equipment.is_lot_tracked else None
    # Guarded: the purchase order is locked, yet the database refuses over-receipt too.
    updated = PurchaseOrderLine.objects.filter(
        pk=po_line.pk, received_quantity__lte=F("quantity") - item.quantity
    ).update(received_quantity=F("received_quantity") + item.quantity)
    if not updated:
        raise ServiceError(
            f"More {equipment.name} than ordered.",
            fields={f"lines.{index}.quantity": [f"At most {po_line.backordered}."]},
        )
    po_line.received_quantity += item.quantity
    ReceiptLine.objects.create(
        company_id=po.company_id,
        receipt=receipt,
        purchase_order_line=po_line,
        quantity=item.quantity,
        unit_cost=cost,
        lot=lot,
        serial_numbers=list(item.serial_numbers),
    )
    reason = f"Received on {receipt.number} ({po.number})"
    if equipment.is_serialized:
        for serial in item.serial_numbers:
            asset = Asset(
                company_id=po.company_id,
                equipment=equipment,
                serial_number=serial,
                status=AssetStatus.IN_STOCK,
                location=po.location,
                purchase_date=timezone.localdate(moment),
                purchase_cost=cost,
            )
            asset.save()
            record_movement(
                company_id=po.company_id,
                kind=MovementKind.RECEIPT,
                equipment_id=equipment.pk,
                location_id=po.location_id,
                quantity=1,
                unit_cost=cost,
                asset_id=asset.pk,
                reference=receipt.number,
                reason=reason,
                user=user,
                moved_at=moment,
            )
    else:
        record_movement(
            company_id=po.company_id,
            kind=MovementKind.RECEIPT,
            equipment_id=equipment.pk,
            location_id=po.location_id,
            quantity=item.quantity,
            unit_cost=cost,
            lot_id=lot.pk if lot else None,
            reference=receipt.number,
            reason=reason,
            user=user,
            moved_at=moment,
        )
    receive_stock(po.company_id, equipment.pk, po.location_id, item.quantity, cost, reason=reason)
