"""Stock quantities: every change goes through :func:`change_stock`.

One conditional ``UPDATE`` per change: the new values are computed by the database
(``F()``) and the ``WHERE`` clause only matches when the result keeps the invariants
(on hand >= 0, reserved >= 0, reserved <= on hand). No row matched means "not enough",
never a negative count. Under concurrency PostgreSQL re-checks the condition on the
row's newest version after waiting for its lock, so 20 confirmations racing for 5
units reserve exactly 5.
"""

import uuid

from auditlog import get_logentry_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from core.exceptions import ServiceError

from ..models import StockLevel

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
