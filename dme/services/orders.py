"""Orders: create with lines, verify, confirm (reserve stock), cancel (release it).

Every function locks the order row first (``select_for_update``) and re-reads its
status inside the lock, so two confirmations of one order can never both pass; then
stock levels in a fixed order (by equipment id), so two orders never deadlock.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Location
from core.exceptions import ServiceError
from core.locks import lock_row
from core.validators import validate_npi

from ..choices import AssetStatus, DeliveryStatus, OrderStatus
from ..models import Asset, Equipment, Order, OrderLine
from ..transitions import check_order_transition
from .stock import change_stock, free_quantity


def lock_order(order: Order, *related: str) -> Order:
    """The order's row, locked until the transaction ends, with fresh values (and its
    location, patient, prescriber and any ``related``). Every service that changes an
    order, or the rows under it (lines, deliveries, rentals, their claims), takes this
    lock first: one order's changes run one at a time."""
    return lock_row(order, "location", "patient", "prescriber", *related)


def _lines(order: Order) -> list[OrderLine]:
    return list(order.lines.select_related("equipment").order_by("created_at", "id"))


def create_order(order: Order, lines: Sequence[OrderLine]) -> Order:
    """Save a new order with its lines (unsaved ``OrderLine`` objects) in one
    transaction; the order number is drawn inside it."""
    if not lines:
        raise ServiceError("An order needs at least one line.", fields={"lines": ["Required."]})
    with transaction.atomic():
        order.save()
        for line in lines:
            line.order = order
            line.company_id = order.company_id
            line.save()
    return order


def order_problems(order: Order, lines: Sequence[OrderLine] | None = None) -> list[str]:
    """What keeps the order from being verified, in words (empty when nothing).

    The standard written order must be complete (docs/domain/dme.md): patient, order
    date, items with quantity and their modifiers, an active prescriber with an NPI,
    and the prescriber's signature.
    """
    lines = _lines(order) if lines is None else lines
    problems = []
    if not lines:
        problems.append("it has no lines")
    if not order.prescriber_signed_on:
        problems.append("the prescriber's signature date is missing")
    if not order.prescriber.is_active:
        problems.append(f"prescriber {order.prescriber.full_name} is inactive")
    try:  # An empty NPI passed verification before (issue 11): the SWO names the NPI.
        validate_npi(order.prescriber.npi)
    except ValidationError as error:
        problems.append(f"prescriber {order.prescriber.full_name}'s NPI: {error.messages[0]}")
    for index, line in enumerate(lines, start=1):
        try:
            line.full_clean(exclude=["order", "company"])
        except ValidationError as error:
            messages = "; ".join(m for ms in error.message_dict.values() for m in ms)
            problems.append(f"line {index} ({line.equipment.hcpcs_code}): {messages}")
        if not line.equipment.is_active:
            problems.append(f"line {index}: {line.equipment.name} is no longer in the catalogue")
    return problems


def verify_order(order: Order) -> Order:
    """Record that staff checked the written order: received -> verified."""
    with transaction.atomic():
        order = lock_order(order)
        check_order_transition(order, OrderStatus.VERIFIED)
        problems = order_problems(order)
        if problems:
            raise ServiceError(
                f"Order {order.number} cannot be verified: {'; '.join(problems)}.",
                code="incomplete_order",
            )
        order.status = OrderStatus.VERIFIED
        order.verified_at = timezone.now()
        order.save(update_fields=["status", "verified_at"])
    return order


def _short(
    equipment: Equipment,
    location: Location,
    requested: int,
    available: int,
    what: str = "available",
) -> str:
    return (
        f"Not enough {equipment.name} {equipment.hcpcs_code} at {location.name}: "
        f"{requested} requested, {available} {what}."
    )


def _pick_assets(line: OrderLine, location_id: uuid.UUID) -> list[Asset]:
    """Lock ``quantity`` free units of the line's item at the location.

    ``skip_locked`` on PostgreSQL: a unit another transaction is taking is skipped,
    not waited for, so concurrent confirmations pick different units.
    """
    queryset = Asset.objects.filter(
        equipment_id=line.equipment_id, location_id=location_id, status=AssetStatus.IN_STOCK
    ).order_by("serial_number")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(queryset[: line.quantity])


def confirm_order(order: Order) -> Order:
    """Reserve the stock of every line, and units for serialized lines: verified ->
    confirmed. All or nothing: a short line raises ``ServiceError`` naming it
    (code ``insufficient_stock``) and nothing stays reserved."""
    with transaction.atomic():
        order = lock_order(order)
        check_order_transition(order, OrderStatus.CONFIRMED)
        lines = _lines(order)
        if not lines:
            raise ServiceError(f"Order {order.number} has no lines.", code="no_lines")
        demand: defaultdict[uuid.UUID, int] = defaultdict(int)
        equipment: dict[uuid.UUID, Equipment] = {}
        for line in lines:
            demand[line.equipment_id] += line.quantity
            equipment[line.equipment_id] = line.equipment
        reason = f"Reserved for order {order.number}"
        for equipment_id in sorted(demand, key=str):
            quantity = demand[equipment_id]
            if change_stock(equipment_id, order.location_id, reserved=quantity, reason=reason):
                continue
            available = free_quantity(equipment_id, order.location_id)
            message = _short(equipment[equipment_id], order.location, quantity, available)
            raise ServiceError(message, code="insufficient_stock", fields={"lines": [message]})
        for line in lines:
            if line.equipment.is_serialized:
                assets = _pick_assets(line, order.location_id)
                if len(assets) < line.quantity:
                    message = _short(
                        line.equipment,
                        order.location,
                        line.quantity,
                        len(assets),
                        "units ready (others are reserved or in maintenance)",
                    )
                    raise ServiceError(
                        message, code="insufficient_stock", fields={"lines": [message]}
                    )
                for asset in assets:
                    asset.status = AssetStatus.RESERVED
                    asset.reserved_for = line
                    asset.save(update_fields=["status", "reserved_for"])
            line.reserved_quantity = line.quantity
            line.save(update_fields=["reserved_quantity"])
        order.status = OrderStatus.CONFIRMED
        order.confirmed_at = timezone.now()
        order.save(update_fields=["status", "confirmed_at"])
    return order


def release_reservations(order: Order, lines: Sequence[OrderLine], reason: str) -> None:
    """Give back what ``confirm_order`` reserved for these lines (stock and units)."""
    demand: defaultdict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        demand[line.equipment_id] += line.reserved_quantity
    for equipment_id in sorted(demand, key=str):
        quantity = demand[equipment_id]
        if quantity and not change_stock(
            equipment_id, order.location_id, reserved=-quantity, reason=reason
        ):
            raise ServiceError(
                f"The stock of order {order.number} is not reserved as recorded; "
                "ask an administrator to check the stock levels.",
                code="stock_mismatch",
            )
    assets = Asset.objects.select_for_update().filter(reserved_for__in=[line.pk for line in lines])
    for asset in assets.order_by("serial_number"):
        asset.status = AssetStatus.IN_STOCK
        asset.reserved_for = None
        asset.save(update_fields=["status", "reserved_for"])
    for line in lines:
        if line.reserved_quantity:
            line.reserved_quantity = 0
            line.save(update_fields=["reserved_quantity"])


def cancel_order(order: Order, *, reason: str | None = "") -> Order:
    """Cancel an order not yet delivered, releasing its reservations and cancelling
    its scheduled delivery."""
    with transaction.atomic():
        order = lock_order(order)
        check_order_transition(order, OrderStatus.CANCELLED)
        lines = _lines(order)
        release_reservations(order, lines, f"Order {order.number} cancelled")
        now = timezone.now()
        for delivery in order.deliveries.select_for_update().filter(
            status=DeliveryStatus.SCHEDULED
        ):
            delivery.status = DeliveryStatus.CANCELLED
            delivery.cancelled_at = now
            delivery.save(update_fields=["status", "cancelled_at"])
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        order.cancellation_reason = (reason or "").strip()[:500]
        order.save(update_fields=["status", "cancelled_at", "cancellation_reason"])
    return order


def ensure_lines_editable(order: Order) -> None:
    """Lines change only before stock is reserved (received or verified orders)."""
    if not order.is_editable:
        raise ServiceError(
            f"Order {order.number} is {order.get_status_display().lower()}: its lines "
            "can no longer change. Cancel it and enter a new order.",
            code="order_locked",
        )


def save_line(line: OrderLine) -> OrderLine:
    """Add or change a line of an order still being prepared. A verified order goes
    back to received: the change needs verifying again."""
    with transaction.atomic():
        order = lock_order(line.order)
        ensure_lines_editable(order)
        line.company_id = order.company_id
        line.save()
        _unverify(order)
    return line


def delete_line(line: OrderLine) -> None:
    with transaction.atomic():
        order = lock_order(line.order)
        ensure_lines_editable(order)
        # The last line may go too: an order without lines cannot be verified.
        line.delete()
        _unverify(order)


def _unverify(order: Order) -> None:
    if order.status == OrderStatus.VERIFIED:
        check_order_transition(order, OrderStatus.RECEIVED)
        order.status = OrderStatus.RECEIVED
        order.verified_at = None
        order.save(update_fields=["status", "verified_at"])
