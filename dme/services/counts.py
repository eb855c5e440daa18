"""Cycle counts and the stock valuation.

A count sheet snapshots what a location should hold (on hand when it opens), takes
the counted quantities, and on posting adjusts every variance through the stock
service, each with its reason, in one transaction. Serialized items are not on count
sheets: their stock is their units (a missing unit is marked lost, a found one found).
Stock moved while a sheet is open is assumed recorded: the posted change is counted
minus expected, applied to the current quantity.
"""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from core.exceptions import ServiceError
from core.locks import lock_row
from core.transitions import check_transition

from ..choices import CountSheetStatus, MovementKind
from ..models import CountLine, CountSheet, CountSheetNumberCounter, StockLevel
from ..models.movements import COUNT_SHEET_NUMBER_PREFIX
from ..models.purchasing import NUMBER_DIGITS
from ..transitions import COUNT_SHEET_TRANSITIONS
from .stock import change_stock, free_quantity, record_movement


def open_count_sheet(
    location: Location,
    *,
    equipment_ids: Iterable[uuid.UUID] | None = None,
    user: User | None = None,
    notes: str = "",
    sheet: CountSheet | None = None,
) -> CountSheet:
    """A count sheet for the location's stock levels (of the given items, else all its
    non-serialized ones), each line expecting the quantity on hand now."""
    levels = StockLevel.objects.filter(
        location=location, equipment__is_serialized=False
    ).select_related("equipment")
    if equipment_ids is not None:
        levels = levels.filter(equipment_id__in=list(equipment_ids))
    with transaction.atomic():
        sheet = sheet or CountSheet()
        sheet.company_id = location.company_id
        sheet.location = location
        sheet.notes = notes or sheet.notes
        sheet.status = CountSheetStatus.OPEN
        sheet.number = (
            f"{COUNT_SHEET_NUMBER_PREFIX}"
            f"{CountSheetNumberCounter.next_number(location.company_id):0{NUMBER_DIGITS}d}"
        )
        sheet.save()
        lines = [
            CountLine(
                company_id=location.company_id,
                count_sheet=sheet,
                equipment_id=level.equipment_id,
                expected_quantity=level.on_hand,
            )
            for level in levels
        ]
        if not lines:
            raise ServiceError(
                f"{location.name} holds no counted (non-serialized) stock to count.",
                code="nothing_to_count",
            )
        CountLine.objects.bulk_create(lines)
    return sheet


def record_count(line: CountLine, counted: int, *, reason: str = "") -> CountLine:
    """Write a counted quantity (and the reason for a variance) on an open sheet."""
    if counted is None or counted < 0:
        raise ServiceError("A count is 0 or more.", fields={"counted_quantity": ["Not < 0."]})
    with transaction.atomic():
        sheet = lock_row(line.count_sheet)
        if sheet.status != CountSheetStatus.OPEN:
            raise ServiceError(
                f"Count sheet {sheet.number} is {sheet.get_status_display().lower()}.",
                code="not_open",
            )
        line.counted_quantity = counted
        line.reason = reason.strip()
        line.save(update_fields=["counted_quantity", "reason", "updated_at"])
    return line


def post_count_sheet(sheet: CountSheet, *, user: User | None = None) -> CountSheet:
    """Post the variances as stock adjustments with their reasons; all or nothing."""
    with transaction.atomic():
        sheet = lock_row(sheet, "location")
        check_transition(
            COUNT_SHEET_TRANSITIONS,
            sheet.status,
            CountSheetStatus.POSTED,
            what=f"Count sheet {sheet.number}",
        )
        lines = list(sheet.lines.select_related("equipment"))
        errors: dict[str, list[str]] = {}
        for index, line in enumerate(lines):
            if line.counted_quantity is None:
                errors[f"lines.{index}.counted_quantity"] = [f"{line.equipment.name}: count it."]
            elif line.variance and not line.reason:
                errors[f"lines.{index}.reason"] = [
                    f"{line.equipment.name}: say why the count differs by {line.variance:+d}."
                ]
        if errors:
            raise ServiceError(
                f"Count sheet {sheet.number} cannot be posted yet: "
                + " ".join(message for messages in errors.values() for message in messages),
                fields=errors,
            )
        moment = timezone.now()
        for index, line in enumerate(lines):
            delta = line.variance or 0
            if not delta:
                continue
            reason = f"Count {sheet.number}: {line.reason}"
            if (
                change_stock(line.equipment_id, sheet.location_id, on_hand=delta, reason=reason)
                is None
            ):
                free = free_quantity(line.equipment_id, sheet.location_id)
                raise ServiceError(
                    f"{line.equipment.name}: cannot remove {-delta}, only {free} are free (the "
                    "rest are reserved for orders).",
                    code="insufficient_stock",
                    fields={f"lines.{index}.counted_quantity": [f"At most {free} can go."]},
                )
            cost = (
                StockLevel.objects.filter(
                    equipment_id=line.equipment_id, location_id=sheet.location_id
                )
                .values_list("average_cost", flat=True)
                .first()
            )
            record_movement(
                company_id=sheet.company_id,
                kind=MovementKind.COUNT,
                equipment_id=line.equipment_id,
                location_id=sheet.location_id,
                quantity=delta,
                unit_cost=cost or Decimal("0"),
                reference=sheet.number,
                reason=reason,
                user=user,
                moved_at=moment,
            )
        sheet.status = CountSheetStatus.POSTED
        sheet.posted_at = moment
        sheet.save(update_fields=["status", "posted_at", "updated_at"])
    return sheet


def cancel_count_sheet(sheet: CountSheet, *, user: User | None = None) -> CountSheet:
    with transaction.atomic():
        sheet = lock_row(sheet)
        check_transition(
            COUNT_SHEET_TRANSITIONS,
            sheet.status,
            CountSheetStatus.CANCELLED,
            what=f"Count sheet {sheet.number}",
        )
        sheet.status = CountSheetStatus.CANCELLED
        sheet.save(update_fields=["status", "updated_at"])
    return sheet


# Valuation ---------------------------------------------------------------------------


@dataclass
class ValuationRow:
    location: str
    hcpcs_code: str
    item: str
    on_hand: int
    average_cost: Decimal
    value: Decimal


VALUATION_HEADER = ["location", "hcpcs_code", "item", "on_hand", "average_cost", "value"]


def valuation_rows(levels: "Iterable[StockLevel]") -> Iterator[ValuationRow]:
    """Quantity x moving average cost, one row per stock level (``levels`` carries
    ``select_related("equipment", "location")``)."""
    for level in levels:
        yield ValuationRow(
            location=level.location.name,
            hcpcs_code=level.equipment.hcpcs_code,
            item=level.equipment.name,
            on_hand=level.on_hand,
            average_cost=level.average_cost,
            value=level.on_hand * level.average_cost,
        )
