"""A serialized unit's history, from receipt to today (the unit's admin "history" page).

Built from what the system already keeps: the stock ledger (receipts, transfers, status
moves), the unit's audit trail (every status change, with who made it), its
maintenance log, the deliveries that handed it over, and its rentals. Patients appear
by their number only (``Patient.__str__``).
"""

import datetime
from dataclasses import dataclass

from auditlog import get_logentry_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from .models import Asset, DeliveryItem, MaintenanceRecord, Rental, StockMovement


@dataclass
class HistoryEvent:
    when: datetime.datetime
    source: str
    text: str


def _moment(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _status_change(changes: object) -> str:
    if not isinstance(changes, dict):
        return ""
    parts = []
    for field in ("status", "location", "patient"):
        change = changes.get(field)
        if isinstance(change, list) and len(change) == 2:
            parts.append(f"{field}: {change[0]} -> {change[1]}")
    return "; ".join(parts)


def unit_history(asset: Asset) -> list[HistoryEvent]:
    """Every known event of the unit, oldest first (a bounded number of queries)."""
    events: list[HistoryEvent] = []
    for move in StockMovement.objects.filter(asset=asset).select_related("location"):
        events.append(
            HistoryEvent(
                move.moved_at,
                move.get_kind_display(),
                f"{move.quantity:+d} at {move.location.name}"
                + (f", {move.reference}" if move.reference else "")
                + (f": {move.reason}" if move.reason else "")
                + f" (cost {move.unit_cost})",
            )
        )
    entries = (
        get_logentry_model()
        .objects.filter(
            content_type=ContentType.objects.get_for_model(Asset), object_pk=str(asset.pk)
        )
        .select_related("actor")
    )
    for entry in entries:
        text = _status_change(
            entry.changes_dict if hasattr(entry, "changes_dict") else entry.changes
        )
        if entry.action == entry.Action.CREATE:
            text = "Registered" + (f" ({text})" if text else "")
        if not text:
            continue
        who = entry.actor.email if entry.actor_id else "system"
        events.append(HistoryEvent(entry.timestamp, "Audit trail", f"{text} by {who}"))
    for record in MaintenanceRecord.objects.filter(asset=asset):
        events.append(
            HistoryEvent(
                _moment(record.performed_on),
                "Maintenance",
                f"{record.get_kind_display()}: {record.work_done}",
            )
        )
    items = DeliveryItem.objects.filter(
        company_id=asset.company_id,
        order_line__equipment_id=asset.equipment_id,
        serial_numbers__icontains=asset.serial_number,
    ).select_related("delivery__order__patient")
    for item in items:
        if asset.serial_number not in (item.serial_numbers or []):
            continue
        delivery = item.delivery
        when = _moment(delivery.delivered_on) if delivery.delivered_on else delivery.created_at
        events.append(
            HistoryEvent(
                when,
                "Delivery",
                f"Delivered on order {delivery.order.number} to patient {delivery.order.patient}",
            )
        )
    for rental in Rental.objects.filter(asset=asset).select_related("patient"):
        end = f" to {rental.end_date}" if rental.end_date else ""
        events.append(
            HistoryEvent(
                _moment(rental.start_date),
                "Rental",
                f"Rented to patient {rental.patient} from {rental.start_date}{end}, "
                f"{rental.months_billed} month(s) billed, {rental.get_status_display().lower()}",
            )
        )
    events.sort(key=lambda event: event.when)
    return events
