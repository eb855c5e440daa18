"""Resupply operations (docs/domain/resupply.md): refresh the worklist from the
proofs of delivery, record a contact with the patient, turn a confirmed request into
an order through DME's order service. Admin actions, API views and the daily task
call these; none re-implements them."""

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Company, User
from clinical.choices import PatientStatus
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.notifications import notify_patient
from dme.choices import DeliveryStatus, LineKind
from dme.models import DeliveryItem, Order, OrderLine
from dme.services.orders import create_order
from hme.models import Coverage

from . import rules
from .choices import ACTIVE_STATUSES, ContactOutcome, RequestStatus
from .models import (
    ReplacementRule,
    ResupplyContact,
    ResupplyContactItem,
    ResupplyItem,
    ResupplyRequest,
)
from .notifications import RESUPPLY_OUTREACH

logger = logging.getLogger(__name__)

# The longest replacement period is 6 months; a bigger delivery covers more: look a
# year and a half back for the last delivery of each supply.
LOOKBACK = datetime.timedelta(days=550)
ITEM_FIELDS = [
    "equipment_id",
    "source_line_id",
    "last_delivered_on",
    "last_quantity",
    "quantity",
    "months",
    "supply_ends_on",
]


class RuleBook:
    """The replacement rules of one company: payer override > company rule > global."""

    def __init__(self, company_id: Any) -> None:
        self.rules: dict[tuple[Any, Any, str], ReplacementRule] = {}
        for rule in ReplacementRule.objects.filter(
            Q(company__isnull=True) | Q(company_id=company_id), is_active=True
        ):
            self.rules[(rule.company_id, rule.payer_id, rule.hcpcs_code)] = rule
        self.company_id = company_id

    @property
    def codes(self) -> set[str]:
        return {code for _company, _payer, code in self.rules}

    def rule(self, hcpcs: str, payer_id: Any = None) -> ReplacementRule | None:
        for key in (
            (self.company_id, payer_id, hcpcs) if payer_id else None,
            (self.company_id, None, hcpcs),
            (None, None, hcpcs),
        ):
            if key is not None and key in self.rules:
                return self.rules[key]
        return None


def _primary_payers(patient_ids: Iterable[Any], day: datetime.date) -> dict[Any, Any]:
    payers: dict[Any, Any] = {}
    for patient_id, payer_id in (
        Coverage.objects.filter(patient_id__in=list(patient_ids), priority="primary")
        .active()
        .in_force_on(day)
        .order_by("effective_date")
        .values_list("patient_id", "payer_id")
    ):
        payers[patient_id] = payer_id
    return payers


def _last_deliveries(
    company_id: Any, codes: set[str], since: datetime.date, patient_ids: list[Any] | None
) -> dict[tuple[Any, str], dict[str, Any]]:
    """(patient, HCPCS) -> the last delivered item (its line, equipment, day, quantity).
    Units delivered the same day add up."""
    rows = DeliveryItem.objects.filter(
        company_id=company_id,
        delivery__status=DeliveryStatus.DELIVERED,
        delivery__delivered_on__gte=since,
        order_line__equipment__hcpcs_code__in=codes,
        delivery__order__patient__status=PatientStatus.ACTIVE,
    )
    if patient_ids is not None:
        rows = rows.filter(delivery__order__patient_id__in=patient_ids)
    last: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in rows.values(
        "delivery__order__patient_id",
        "order_line__equipment__hcpcs_code",
        "order_line_id",
        "order_line__equipment_id",
        "delivery__delivered_on",
        "quantity",
    ).order_by("delivery__delivered_on", "created_at"):
        key = (row["delivery__order__patient_id"], row["order_line__equipment__hcpcs_code"])
        day = row["delivery__delivered_on"]
        known = last.get(key)
        if known is not None and known["day"] == day:
            known["quantity"] += row["quantity"]
            known["line_id"], known["equipment_id"] = (
                row["order_line_id"],
                row["order_line__equipment_id"],
            )
            continue
        last[key] = {
            "day": day,
            "quantity": row["quantity"],
            "line_id": row["order_line_id"],
            "equipment_id": row["order_line__equipment_id"],
        }
    return last


def refresh_company(
    company: Company | Any,
    *,
    as_of: datetime.date | None = None,
    patient_ids: list[Any] | None = None,
) -> dict[str, int]:
    """Recompute one company's resupply items from its proofs of delivery and open a
    request for every patient whose earliest supply enters the contact window
    (14 days before it runs out). Sends the outreach message of each new request.
    Returns counts only."""
    as_of = as_of or timezone.localdate()
    company_id = getattr(company, "pk", company)
    counts = {"items": 0, "opened": 0, "updated": 0}
    with transaction.atomic():
        book = RuleBook(company_id)
        if not book.codes:
            return counts
        by_patient, counts["items"] = _refresh_items(company_id, book, as_of, patient_ids)
        opened, counts["updated"] = _open_requests(company_id, by_patient, as_of)
        counts["opened"] = len(opened)
        if opened:
            _send_outreach(opened)
    return counts


def _refresh_items(
    company_id: Any, book: RuleBook, as_of: datetime.date, patient_ids: list[Any] | None
) -> tuple[dict[Any, list[ResupplyItem]], int]:
    """Upsert the items from the last deliveries: ({patient id: items}, rows written)."""
    last = _last_deliveries(company_id, book.codes, as_of - LOOKBACK, patient_ids)
    payers = _primary_payers({patient for patient, _code in last}, as_of)
    scope = {"patient_id__in": patient_ids} if patient_ids is not None else {}
    existing = {
        (item.patient_id, item.hcpcs_code): item
        for item in ResupplyItem.objects.filter(company_id=company_id, **scope)
    }
    new, changed = [], []
    by_patient: dict[Any, list[ResupplyItem]] = defaultdict(list)
    for (patient_id, code), found in last.items():
        rule = book.rule(code, payers.get(patient_id))
        if rule is None:
            continue
        ends = rules.supply_ends_on(found["day"], found["quantity"], rule.quantity, rule.months)
        values = dict(
            zip(
                ITEM_FIELDS,
                [
                    found["equipment_id"],
                    found["line_id"],
                    found["day"],
                    found["quantity"],
                    rule.quantity,
                    rule.months,
                    ends,
                ],
                strict=True,
            )
        )
        item = existing.get((patient_id, code))
        if item is None:
            item = ResupplyItem(
                company_id=company_id, patient_id=patient_id, hcpcs_code=code, **values
            )
            new.append(item)
        elif any(getattr(item, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(item, name, value)
            changed.append(item)
        by_patient[patient_id].append(item)
    ResupplyItem.objects.bulk_create(new, batch_size=500)
    if changed:
        ResupplyItem.objects.bulk_update(changed, ITEM_FIELDS, batch_size=500)
    return by_patient, len(new) + len(changed)


def _open_requests(
    company_id: Any, by_patient: dict[Any, list[ResupplyItem]], as_of: datetime.date
) -> tuple[list[ResupplyRequest], int]:
    """Open a request per patient whose contact window is open: (opened, updated)."""
    requests = ResupplyRequest.objects.filter(
        company_id=company_id, patient_id__in=list(by_patient)
    )
    active = {request.patient_id: request for request in requests.active()}
    done = set(requests.exclude(status__in=ACTIVE_STATUSES).values_list("patient_id", "due_on"))
    opened: list[ResupplyRequest] = []
    links: list[tuple[ResupplyRequest, ResupplyItem]] = []
    updated = 0
    for patient_id, items in by_patient.items():
        due_items = [item for item in items if rules.contact_from(item.supply_ends_on) <= as_of]
        if not due_items:
            continue
        due_on = min(item.supply_ends_on for item in due_items)
        request = active.get(patient_id)
        if request is not None:
            if request.status == RequestStatus.OPEN and request.due_on != due_on:
                _set_due(request, due_on)
                request.save(update_fields=["due_on", "contact_from", "ship_from"])
                updated += 1
            links.extend((request, item) for item in due_items)
            continue
        if (patient_id, due_on) in done:  # refused or ordered for this cycle
            continue
        request = ResupplyRequest(company_id=company_id, patient_id=patient_id)
        _set_due(request, due_on)
        opened.append(request)
        links.extend((request, item) for item in due_items)
    ResupplyRequest.objects.bulk_create(opened, batch_size=500)
    _link_items(links)
    return opened, updated


def _link_items(links: list[tuple[ResupplyRequest, ResupplyItem]]) -> None:
    """Put the due items on their requests: the missing links only, in bulk."""
    if not links:
        return
    through = ResupplyRequest.items.through
    known = set(
        through.objects.filter(
            resupplyrequest_id__in={request.pk for request, _item in links}
        ).values_list("resupplyrequest_id", "resupplyitem_id")
    )
    through.objects.bulk_create(
        [
            through(resupplyrequest_id=request.pk, resupplyitem_id=item.pk)
            for request, item in links
            if (request.pk, item.pk) not in known
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


def _set_due(request: ResupplyRequest, due_on: datetime.date) -> None:
    request.due_on = due_on
    request.contact_from = rules.contact_from(due_on)
    request.ship_from = rules.ship_from(due_on)


def _send_outreach(requests: list[ResupplyRequest]) -> None:
    from clinical.models import Patient

    patients = {
        patient.pk: patient
        for patient in Patient.objects.filter(
            pk__in=[request.patient_id for request in requests]
        ).select_related("company")
    }
    items: dict[Any, list[ResupplyItem]] = defaultdict(list)
    for link in (
        ResupplyRequest.items.through.objects.filter(
            resupplyrequest_id__in=[request.pk for request in requests]
        )
        .select_related("resupplyitem__equipment")
        .order_by("resupplyitem__hcpcs_code")
    ):
        items[link.resupplyrequest_id].append(link.resupplyitem)
    now = timezone.now()
    for request in requests:
        notify_patient(
            patients[request.patient_id],
            RESUPPLY_OUTREACH,
            {"request": request, "items": items[request.pk]},
            related=request,
        )
        request.outreach_sent_at = now
    ResupplyRequest.objects.bulk_update(requests, ["outreach_sent_at"], batch_size=500)


def refresh_worklist(as_of: datetime.date | None = None) -> dict[str, int]:
    """Refresh every company (the daily task); each company in its own transaction,
    a failing one logged by id and the others refreshed."""
    totals = {"companies": 0, "items": 0, "opened": 0, "updated": 0, "failed": 0}
    for company_id in Company.objects.order_by("pk").values_list("pk", flat=True):
        try:
            counts = refresh_company(company_id, as_of=as_of)
        except Exception:
            logger.exception("resupply refresh failed for company %s", company_id)
            totals["failed"] += 1
            continue
        totals["companies"] += 1
        for key, value in counts.items():
            totals[key] += value
    return totals


def refresh_patient(patient: Any, as_of: datetime.date | None = None) -> dict[str, int]:
    """Refresh one patient's items and request (the patient page's step)."""
    return refresh_company(patient.company_id, as_of=as_of, patient_ids=[patient.pk])


def record_contact(
    request: ResupplyRequest,
    *,
    user: User,
    channel: str,
    outcome: str,
    items: Mapping[Any, Mapping[str, Any]] | None = None,
    note: str = "",
    contacted_at: datetime.datetime | None = None,
) -> ResupplyContact:
    """Record a contact with the patient about ``request``.

    ``items``: per resupply item id, ``{"on_hand": n, "wanted": bool, "quantity": n}``
    (a confirmation needs at least one wanted item; a wanted quantity never exceeds
    the usual maximum less what the patient still has). Confirmed: the request may
    become an order; refused: closed for this cycle; no answer: stays on the list.
    Refused before the contact window opens (14 days before the supply runs out).
    """
    contacted_at = contacted_at or timezone.now()
    outcome = ContactOutcome(outcome)
    with transaction.atomic():
        request = lock_row(request)
        if request.status not in ACTIVE_STATUSES:
            raise InvalidTransition(
                f"This resupply request is {request.get_status_display().lower()}: "
                "no further contact is recorded on it.",
                code="request_closed",
            )
        day = timezone.localdate(contacted_at)
        if day < request.contact_from:
            raise ServiceError(
                f"Too early to contact the patient: the supplies run out on "
                f"{request.due_on:%m/%d/%Y}; contact no sooner than "
                f"{request.contact_from:%m/%d/%Y} (14 days before; {rules.REFILL_SOURCE}).",
                code="too_early_to_contact",
                fields={"contacted_at": ["Before the contact window opens."]},
            )
        lines, errors = _contact_lines(request, items or {})
        if outcome == ContactOutcome.CONFIRMED and not any(line.wanted for line in lines):
            errors.setdefault("items", []).append(
                "A confirmation names at least one item the patient wants."
            )
        if errors:
            raise ServiceError(
                "The contact cannot be recorded: "
                + " ".join(message for messages in errors.values() for message in messages),
                code="invalid_contact",
                fields=errors,
            )
        contact = ResupplyContact.objects.create(
            company_id=request.company_id,
            request=request,
            contacted_at=contacted_at,
            contacted_by=user,
            channel=channel,
            outcome=outcome,
            note=note or "",
        )
        for line in lines:
            line.contact = contact
        ResupplyContactItem.objects.bulk_create(lines)
        request.attempts += 1
        request.last_contact_at = contacted_at
        if outcome == ContactOutcome.CONFIRMED:
            request.status = RequestStatus.CONFIRMED
        elif outcome == ContactOutcome.REFUSED:
            request.status = RequestStatus.REFUSED
        request.save(update_fields=["attempts", "last_contact_at", "status", "updated_at"])
    return contact


def _contact_lines(
    request: ResupplyRequest, items: Mapping[Any, Mapping[str, Any]]
) -> tuple[list[ResupplyContactItem], dict[str, list[str]]]:
    """The per-item answers as unsaved rows, and the errors by item code."""
    request_items = {item.pk: item for item in request.items.all()}
    lines: list[ResupplyContactItem] = []
    errors: dict[str, list[str]] = {}
    for item_id, given in items.items():
        item = request_items.get(_uuid(item_id))
        if item is None:
            errors.setdefault("items", []).append("An item is not on this request.")
            continue
        on_hand = int(given.get("on_hand") or 0)
        wanted = bool(given.get("wanted", True))
        quantity = int(given.get("quantity") or 0) if wanted else 0
        if wanted and quantity == 0:
            quantity = max(item.quantity - on_hand, 0)
        if wanted and quantity + on_hand > item.quantity:
            errors.setdefault(item.hcpcs_code, []).append(
                f"{item.hcpcs_code}: at most {max(item.quantity - on_hand, 0)} "
                f"(usual maximum {item.quantity}, the patient still has {on_hand})."
            )
        if wanted and quantity <= 0:
            errors.setdefault(item.hcpcs_code, []).append(
                f"{item.hcpcs_code}: the patient still has enough; mark it not wanted."
            )
        lines.append(
            ResupplyContactItem(
                company_id=request.company_id,
                item=item,
                on_hand=on_hand,
                wanted=wanted,
                quantity=quantity,
            )
        )
    return lines, errors


def _uuid(value: Any) -> Any:
    import uuid

    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def latest_confirmation(request: ResupplyRequest) -> ResupplyContact | None:
    return (
        request.contacts.filter(outcome=ContactOutcome.CONFIRMED)
        .order_by("-contacted_at", "-id")
        .first()
    )


def create_resupply_order(request: ResupplyRequest, *, as_of: datetime.date | None = None) -> Order:
    """Turn a confirmed request into a DME order (``dme.services.create_order``), one
    line per wanted item, on the written order of the item's last delivery.

    Nothing ships without a recorded confirmation: refused unless the patient's
    confirmation is on file; refused before the ship window opens (10 days before
    the supply runs out). The order then follows the normal path (verify, confirm,
    schedule, deliver) and is billed by ``hme.services.bill_delivery``.
    """
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        request = lock_row(request)
        if request.status != RequestStatus.CONFIRMED:
            raise InvalidTransition(
                "Only a request the patient confirmed becomes an order "
                f"(this one is {request.get_status_display().lower()}).",
                code="not_confirmed",
            )
        confirmation = latest_confirmation(request)
        if confirmation is None:
            raise ServiceError(
                "No confirmation of need is recorded: nothing ships without the "
                f"patient's confirmation ({rules.REFILL_SOURCE}).",
                code="no_confirmation",
            )
        if as_of < request.ship_from:
            raise ServiceError(
                f"Too early to ship: the supplies run out on {request.due_on:%m/%d/%Y}; "
                f"ship no sooner than {request.ship_from:%m/%d/%Y} (10 days before; "
                f"{rules.REFILL_SOURCE}).",
                code="too_early_to_ship",
            )
        wanted = list(
            confirmation.lines.filter(wanted=True, quantity__gt=0).select_related(
                "item__source_line__order", "item__equipment"
            )
        )
        source = max(
            (line.item.source_line for line in wanted),
            key=lambda line: (line.order.written_order_date, str(line.pk)),
        )
        written = source.order
        order = Order(
            company_id=request.company_id,
            patient_id=request.patient_id,
            prescriber_id=written.prescriber_id,
            location_id=written.location_id,
            written_order_date=written.written_order_date,
            prescriber_signed_on=written.prescriber_signed_on,
        )
        lines = [
            OrderLine(
                equipment=line.item.equipment,
                quantity=line.quantity,
                kind=LineKind.PURCHASE,
                modifiers=list(line.item.source_line.modifiers or []),
            )
            for line in wanted
        ]
        order = create_order(order, lines)
        request.order = order
        request.status = RequestStatus.ORDERED
        request.save(update_fields=["order", "status", "updated_at"])
    return order
