"""Stock quantities: every change goes through :func:`change_stock`.

One conditional ``UPDATE`` per change: the new values are computed by the database
(``F()``) and the ``WHERE`` clause only matches when the result keeps the invariants
(on hand >= 0, reserved >= 0, reserved <= on hand). No row matched means "not enough",
never a negative count. Under concurrency PostgreSQL re-checks the condition on the
row's newest version after waiting for its lock, so 20 confirmations racing for 5
units reserve exactly 5.
"""

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal

from auditlog import get_logentry_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from core.exceptions import ServiceError

from ..models import StockLevel, StockMovement

# The largest quantity the on_hand column holds (PostgreSQL integer).
ON_HAND_MAX = 2**31 - 1


def _audit(level: StockLevel, before: dict[str, int], reason: str) -> None:
    """Write the move to the stock level's audit history (``F()`` updates send no
    save signal, so auditlog would not see them)."""
    changes = {
        field: [str(before[field]), str(getattr(level, field))]
        for field in ("on_hand", "reserved")
        if before[field] != getattr(level, field)
    }
    if changes:
        # The configured entry model (core.AuditEntry: it fills the company).
        entries = get_logentry_model()
        entries.objects.log_create(
            level,
            action=entries.Action.UPDATE,
            changes=changes,
            additional_data={"reason": reason},
        )


def change_stock(
    equipment_id: uuid.UUID,
    location_id: uuid.UUID,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    reason: str,
) -> StockLevel | None:
    """Add ``on_hand`` and ``reserved`` (either may be negative) to a stock level.

    Returns the updated :class:`StockLevel`, or None when the row does not exist or
    the change would break an invariant (nothing is changed then).
    """
    guard = Q(on_hand__gte=-on_hand) & Q(reserved__gte=-reserved)
    guard &= Q(on_hand__gte=F("reserved") + (reserved - on_hand))
    updated = (
        StockLevel.objects.filter(equipment_id=equipment_id, location_id=location_id)
        .filter(guard)
        .update(on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved)
    )
    if not updated:
        return None
    level: StockLevel = StockLevel.objects.select_related("equipment", "location").get(
        equipment_id=equipment_id, location_id=location_id
    )
    _audit(
        level, {"on_hand": level.on_hand - on_hand, "reserved": level.reserved - reserved}, reason
    )
    return level


def add_stock(
    company_id: uuid.UUID,
    equipment_id: uuid.UUID,
    location_id: uuid.UUID,
    quantity: int,
    *,
    reason: str,
) -> StockLevel | None:
    """Put ``quantity`` units on hand, creating the stock level on first receipt."""
    level = change_stock(equipment_id, location_id, on_hand=quantity, reason=reason)
    if level is not None:
        return level
    try:
        with transaction.atomic():
            StockLevel.objects.create(
                company_id=company_id, equipment_id=equipment_id, location_id=location_id
            )
    except IntegrityError:
        pass  # Created concurrently: the update below waits for it.
    return change_stock(equipment_id, location_id, on_hand=quantity, reason=reason)


def free_quantity(equipment_id: uuid.UUID, location_id: uuid.UUID) -> int:
    """On hand minus reserved right now (0 with no stock level): for messages."""
    row = (
        StockLevel.objects.filter(equipment_id=equipment_id, location_id=location_id)
        .values_list("on_hand", "reserved")
        .first()
    )
    return row[0] - row[1] if row else 0


def adjust_stock(level: StockLevel, delta: int, *, reason: str) -> StockLevel:
    """Correct the quantity on hand after a count, a receipt or a loss.

    Serialized items are counted by their assets (register or retire units instead).
    A decrease may only take free units: reserved ones belong to orders.
    """
    if not reason or not reason.strip():
        raise ServiceError("Say why the stock changes.", fields={"reason": ["Required."]})
    if delta == 0:
        raise ServiceError("The change is zero.", fields={"delta": ["Give a non-zero change."]})
    if level.equipment.is_serialized:
        raise ServiceError(
            f"{level.equipment.name} is serialized: its stock is its units. Register new "
            "units or retire old ones instead.",
            code="serialized_stock",
        )
    # on_hand is a PostgreSQL integer: a total past its maximum is refused here, with
    # the field, not by the database (a DataError, a 500).
    if delta > 0 and level.on_hand > ON_HAND_MAX - delta:
        raise ServiceError(
            f"At most {ON_HAND_MAX - level.on_hand} can be added here.",
            fields={"delta": [f"At most {ON_HAND_MAX - level.on_hand} can be added."]},
        )
    with transaction.atomic():
        updated = change_stock(
            level.equipment_id, level.location_id, on_hand=delta, reason=reason.strip()
        )
        if updated is None:
            free = free_quantity(level.equipment_id, level.location_id)
            raise ServiceError(
                f"Cannot remove {-delta} {level.equipment.name} at {level.location.name}: "
                f"only {free} are free (the rest are reserved for orders).",
                code="insufficient_stock",
                fields={"delta": [f"At most {free} can be removed."]},
            )
    return updated


# Costing and the movement ledger (issue 20) ------------------------------------------
#
# Moving (weighted) average cost per stock level: a receipt of q units at cost c onto
# n units valued at a makes the average (n*a + q*c) / (n + q); units leaving take the
# average with them (a transfer carries it to the destination), so issuing never
# changes it. Chosen over last cost because the valuation then equals what the stock
# cost (last cost revalues every unit on hand at each receipt) and over FIFO layers
# because DME supplies are interchangeable and one number per level needs no layer
# table. Serialized units also keep their own purchase cost (Asset.purchase_cost).

CENT = Decimal("0.01")


def _level_for_update(
    company_id: uuid.UUID, equipment_id: uuid.UUID, location_id: uuid.UUID
) -> StockLevel:
    """The stock level, created at 0 on first use, locked until the transaction ends."""
    try:
        with transaction.atomic():
            StockLevel.objects.get_or_create(
                company_id=company_id, equipment_id=equipment_id, location_id=location_id
            )
    except IntegrityError:
        pass  # Created concurrently: the locking read below waits for it.
    level: StockLevel = (
        StockLevel.objects.select_for_update(of=("self",))
        .select_related("equipment", "location")
        .get(equipment_id=equipment_id, location_id=location_id)
    )
    return level


def moving_average(on_hand: int, average: Decimal, quantity: int, unit_cost: Decimal) -> Decimal:
    """The average cost after receiving ``quantity`` at ``unit_cost`` onto ``on_hand`` at
    ``average`` (rounded to the cent)."""
    total = on_hand + quantity
    if total <= 0:
        return unit_cost.quantize(CENT)
    value = Decimal(on_hand) * average + Decimal(quantity) * unit_cost
    return (value / total).quantize(CENT, rounding=ROUND_HALF_UP)


def receive_stock(
    company_id: uuid.UUID,
    equipment_id: uuid.UUID,
    location_id: uuid.UUID,
    quantity: int,
    unit_cost: Decimal,
    *,
    reason: str,
) -> StockLevel:
    """Put ``quantity`` units bought (or transferred in) at ``unit_cost`` on hand and
    re-average the level's cost. Call inside ``transaction.atomic()``: the level stays
    locked, so two concurrent receipts average one after the other."""
    if quantity <= 0:
        raise ServiceError("Receive at least one unit.", fields={"quantity": ["At least 1."]})
    if unit_cost < 0:
        raise ServiceError("The cost cannot be negative.", fields={"unit_cost": ["Not < 0."]})
    level = _level_for_update(company_id, equipment_id, location_id)
    if level.on_hand > ON_HAND_MAX - quantity:
        raise ServiceError(
            f"At most {ON_HAND_MAX - level.on_hand} more fit at {level.location.name}.",
            fields={"quantity": ["Too many."]},
        )
    average = moving_average(level.on_hand, level.average_cost, quantity, unit_cost)
    updated = change_stock(equipment_id, location_id, on_hand=quantity, reason=reason)
    assert updated is not None  # an increase under our lock always matches
    StockLevel.objects.filter(pk=level.pk).update(average_cost=average)
    updated.average_cost = average
    return updated


def issue_stock(
    equipment_id: uuid.UUID, location_id: uuid.UUID, quantity: int, *, reason: str
) -> StockLevel:
    """Take ``quantity`` free units off hand (the average cost stays); a clear error
    when fewer are free."""
    level = change_stock(equipment_id, location_id, on_hand=-quantity, reason=reason)
    if level is None:
        free = free_quantity(equipment_id, location_id)
        name = (
            StockLevel.objects.filter(equipment_id=equipment_id, location_id=location_id)
            .values_list("equipment__name", flat=True)
            .first()
        )
        raise ServiceError(
            f"Only {free} {name or 'of this item'} are free here; {quantity} asked "
            "(the rest are reserved for orders).",
            code="insufficient_stock",
            fields={"quantity": [f"At most {free}."]},
        )
    return level


def record_movement(
    *,
    company_id: uuid.UUID,
    kind: str,
    equipment_id: uuid.UUID,
    location_id: uuid.UUID,
    quantity: int,
    unit_cost: Decimal = Decimal("0"),
    asset_id: uuid.UUID | None = None,
    lot_id: uuid.UUID | None = None,
    reference: str = "",
    reason: str = "",
    user: User | None = None,
    moved_at: datetime.datetime | None = None,
) -> StockMovement:
    """Write one line of the stock ledger (the caller's transaction holds it)."""
    return StockMovement.objects.create(
        company_id=company_id,
        kind=kind,
        moved_at=moved_at or timezone.now(),
        equipment_id=equipment_id,
        location_id=location_id,
        quantity=quantity,
        unit_cost=unit_cost,
        asset_id=asset_id,
        lot_id=lot_id,
        reference=reference,
        reason=reason[:200],
        user=user,
        created_by=user,
        updated_by=user,
    )
