"""One function family for the admin, the worklist, the API and billing's hold:
the reasons a batch of order lines (or claims) cannot be billed yet.

Set-based: a batch of any size costs the same dozen queries (the lines, then one query
per kind of fact: deliveries, coverages, authorizations, diagnoses, ICD-10 codes,
rentals, earlier items, supply history, billed lines), never one per line.
"""

import datetime
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from clinical.models import Diagnosis, Patient
from clinical.reference import icd10_codes, icd10_table_loaded
from core.exceptions import ServiceError
from dme.choices import BillingKind, DeliveryStatus, LineKind, OrderStatus, RentalStatus
from dme.models import Delivery, DeliveryItem, Order, OrderLine, Rental

from ..choices import ClaimStatus
from ..models import Authorization, Claim, ClaimLine, Coverage
from .base import Batch, Reason, Severity, registered_checks
from .rules import FREQUENCY_LIMITS, REASONABLE_USEFUL_LIFETIME, same_or_similar_class

LINE_RELATED = ("order", "order__prescriber", "equipment")
# Encrypted columns no check reads: not decrypted for nothing (one Fernet each per row).
LINE_DEFERRED = ("order__notes", "order__cancellation_reason", "equipment__description")
COVERAGE_FIELDS = (
    "id",
    "patient_id",
    "priority",
    "effective_date",
    "termination_date",
    "payer__id",
    "payer__name",
    "payer__kind",
    "payer__timely_filing_days",
)
DELIVERY_FIELDS = (
    "id",
    "order_id",
    "method",
    "tracking_number",
    "signer_name",
    "signer_relationship",
    "delivered_on",
)
# Errors the billing services refuse themselves, each with its own error code that API
# clients already rely on (no_coverage, authorization_required, missing_diagnosis, the
# claim's modifier validation): the hold leaves them to the service, which refuses
# right after. Timely filing is enforced when the claim is submitted
# (hme.services.claims: past the limit only with a supervisor's override and reason),
# so a late month is still created, and shown as an error here.
SERVICE_ENFORCED = frozenset(
    {
        "no_coverage",
        "no_diagnosis",
        "prior_auth_missing",
        "prior_auth_expired",
        "prior_auth_not_yet",
        "prior_auth_units",
        "modifier_rr_missing",
        "modifier_nu_ue_missing",
        "modifier_kx_conflict",
        "timely_filing_past",
    }
)

LineReasons = dict[uuid.UUID, list[Reason]]


def _load_lines(lines: Iterable[Any] | QuerySet[OrderLine]) -> list[OrderLine]:
    if isinstance(lines, QuerySet):
        return list(
            lines.select_related(*LINE_RELATED)
            .defer(*LINE_DEFERRED)
            .order_by("order_id", "created_at", "id")
        )
    ids = [line.pk if isinstance(line, OrderLine) else line for line in lines]
    if not ids:
        return []
    return list(
        OrderLine.objects.filter(pk__in=ids)
        .select_related(*LINE_RELATED)
        .defer(*LINE_DEFERRED)
        .order_by("order_id", "created_at", "id")
    )


def _next_rental_day(rental: Rental) -> datetime.date | None:
    """The next month's date of service as the dme rental services keep it (continuity
    included), None when no month is due any more."""
    return rental.next_bill_date


def load_batch(
    lines: Iterable[Any] | QuerySet[OrderLine],
    *,
    on: datetime.date | None = None,
    dates: dict[uuid.UUID, datetime.date] | None = None,
) -> Batch:
    """Load ``lines`` (a QuerySet, OrderLines or their ids) and every fact the checks
    read about them, in a fixed number of queries."""
    on = on or timezone.localdate()
    rows = _load_lines(lines)
    batch = Batch(lines=rows, on=on, dates={})
    batch.extra["patients"] = {}
    batch.extra["billed"] = set()
    if not rows:
        return batch
    line_ids = [line.pk for line in rows]
    order_ids = {line.order_id for line in rows}
    patient_ids = {line.order.patient_id for line in rows}

    batch.extra["patients"] = {
        row["pk"]: row
        for row in Patient.objects.filter(pk__in=patient_ids).values(
            "pk", "number", "first_name", "last_name"
        )
    }
    for rental in Rental.objects.filter(order_line_id__in=line_ids).order_by("start_date", "id"):
        batch.rentals[rental.order_line_id].append(rental)
    for line in rows:
        day = line.order.delivered_on
        active = [r for r in batch.rentals.get(line.pk, []) if r.status == RentalStatus.ACTIVE]
        if line.kind == LineKind.RENTAL and active:
            day = min(filter(None, map(_next_rental_day, active)), default=day)
        batch.dates[line.pk] = day
    batch.dates.update(dates or {})

    for delivery in (
        Delivery.objects.filter(order_id__in=order_ids, status=DeliveryStatus.DELIVERED)
        .only(*DELIVERY_FIELDS)
        .order_by("delivered_on")
    ):
        batch.deliveries[delivery.order_id] = delivery
    batch.delivered_items = set(
        DeliveryItem.objects.filter(
            delivery__order_id__in=order_ids, delivery__status=DeliveryStatus.DELIVERED
        ).values_list("delivery__order_id", "order_line_id")
    )
    # The member ID (encrypted) is decrypted only for the Medicare policies (MBI check).
    for coverage in (
        Coverage.objects.filter(patient_id__in=patient_ids)
        .select_related("payer")
        .only(*COVERAGE_FIELDS)
        .order_by("-effective_date")
    ):
        batch.coverages[coverage.patient_id].append(coverage)
    medicare = [c.pk for cs in batch.coverages.values() for c in cs if c.payer.kind == "medicare"]
    batch.extra["member_ids"] = (
        dict(Coverage.objects.filter(pk__in=medicare).values_list("pk", "member_id"))
        if medicare
        else {}
    )
    coverage_ids = [c.pk for cs in batch.coverages.values() for c in cs]
    for authorization in Authorization.objects.filter(coverage_id__in=coverage_ids).order_by(
        "valid_to", "created_at"
    ):
        batch.authorizations[authorization.coverage_id].append(authorization)
    codes: set[str] = set()
    for patient_id, pk, code in (
        Diagnosis.objects.filter(patient_id__in=patient_ids, is_active=True)
        .order_by("created_at", "code")
        .values_list("patient_id", "pk", "code")
    ):
        batch.diagnoses[patient_id].append((pk, code))
        codes.add(code)
    # The code table through the cache (clinical.reference): the same for every company.
    batch.icd10 = icd10_codes(codes)
    batch.icd10_loaded = bool(batch.icd10) or icd10_table_loaded()

    # Other deliveries of equipment (same or similar) and of limited supplies
    # (frequency), for these patients, as far back as the longest look-back.
    known = [day for day in batch.dates.values() if day] or [on]
    oldest = min([*known, on]) - REASONABLE_USEFUL_LIFETIME
    for row in (
        OrderLine.objects.filter(order__patient_id__in=patient_ids)
        .exclude(order__status=OrderStatus.CANCELLED)
        .exclude(equipment__billing_kind=BillingKind.SUPPLY)
        .filter(Q(order__delivered_on__gt=oldest))
        .values(
            "order_id",
            "order__number",
            "order__patient_id",
            "order__delivered_on",
            "equipment__category",
            "equipment__hcpcs_code",
        )
    ):
        batch.earlier_items[row["order__patient_id"]].append(
            {
                "order_id": row["order_id"],
                "order_number": row["order__number"],
                "day": row["order__delivered_on"],
                "hcpcs": row["equipment__hcpcs_code"],
                "class": same_or_similar_class(
                    row["equipment__category"], row["equipment__hcpcs_code"]
                ),
            }
        )
    supply_codes = {line.equipment.hcpcs_code for line in rows} & set(FREQUENCY_LIMITS)
    if supply_codes:
        since = min([*known, on]) - datetime.timedelta(days=200)  # the longest window: 6 months
        for patient_id, hcpcs, day, quantity, line_id in DeliveryItem.objects.filter(
            delivery__order__patient_id__in=patient_ids,
            delivery__status=DeliveryStatus.DELIVERED,
            delivery__delivered_on__gt=since,
            order_line__equipment__hcpcs_code__in=supply_codes,
        ).values_list(
            "delivery__order__patient_id",
            "order_line__equipment__hcpcs_code",
            "delivery__delivered_on",
            "quantity",
            "order_line_id",
        ):
            batch.supply_history[(patient_id, hcpcs)].append((day, quantity, line_id))
    batch.extra["billed"] = set(
        ClaimLine.objects.filter(order_line_id__in=line_ids, order_line__kind=LineKind.PURCHASE)
        .exclude(claim__status=ClaimStatus.VOID)
        .values_list("order_line_id", flat=True)
    )
    return batch


def _sort_key(reason: Reason) -> tuple[int, str]:
    return (0 if reason.severity == Severity.ERROR else 1, reason.code)


def reasons_for_batch(batch: Batch) -> LineReasons:
    found: LineReasons = {line.pk: [] for line in batch.lines}
    for check in registered_checks():
        for line_id, reason in check(batch):
            if line_id in found and reason not in found[line_id]:
                found[line_id].append(reason)
    for reasons in found.values():
        reasons.sort(key=_sort_key)
    return found


def line_reasons(
    lines: Iterable[Any] | QuerySet[OrderLine],
    *,
    on: datetime.date | None = None,
    dates: dict[uuid.UUID, datetime.date] | None = None,
) -> LineReasons:
    """``{line id: [Reason, ...]}`` for every line (an empty list: ready to bill),
    errors first. ``on`` is the day billing happens (default today)."""
    return reasons_for_batch(load_batch(lines, on=on, dates=dates))


def order_reasons(
    orders: Iterable[Any], *, on: datetime.date | None = None
) -> dict[uuid.UUID, LineReasons]:
    """``{order id: {line id: [Reason, ...]}}`` for every line of the orders (one batch)."""
    order_ids = [order.pk if isinstance(order, Order) else order for order in orders]
    found: dict[uuid.UUID, LineReasons] = {pk: {} for pk in order_ids}
    if not order_ids:
        return found
    batch = load_batch(OrderLine.objects.filter(order_id__in=order_ids), on=on)
    by_line = reasons_for_batch(batch)
    for line in batch.lines:
        found[line.order_id][line.pk] = by_line[line.pk]
    return found


def claim_reasons(
    claims: Iterable[Any], *, on: datetime.date | None = None
) -> dict[uuid.UUID, list[Reason]]:
    """``{claim id: [Reason, ...]}``: the reasons of the order lines its lines bill
    (on the claim's dates of service), plus the claim's own: a rental month's
    KH/KI/KJ, and the timely filing of a claim not submitted yet."""
    from .claims import claim_level_reasons

    claim_ids = [claim.pk if isinstance(claim, Claim) else claim for claim in claims]
    found: dict[uuid.UUID, list[Reason]] = {pk: [] for pk in claim_ids}
    if not claim_ids:
        return found
    claim_lines = list(
        ClaimLine.objects.filter(claim_id__in=claim_ids)
        .select_related("claim", "claim__payer")
        .order_by("claim_id", "line_number")
    )
    dates = {cl.order_line_id: cl.date_of_service for cl in claim_lines if cl.order_line_id}
    by_line = line_reasons(list(dates), on=on, dates=dates) if dates else {}
    for claim_line in claim_lines:
        bucket = found[claim_line.claim_id]
        for reason in by_line.get(claim_line.order_line_id, []) if claim_line.order_line_id else []:
            if reason.code.startswith("timely_filing") or reason in bucket:
                continue  # the claim's own timely filing is said below
            bucket.append(reason)
    for claim_id, reason in claim_level_reasons(claim_lines, on or timezone.localdate()):
        if reason not in found[claim_id]:
            found[claim_id].append(reason)
    for reasons in found.values():
        reasons.sort(key=_sort_key)
    return found


def summarize(reasons: list[Reason]) -> dict[str, Any]:
    """What a list shows per row: ready or on hold, the counts, the codes."""
    return summarize_rows([(r.code, r.severity) for r in reasons])


def summarize_rows(rows: list[tuple[str, str]]) -> dict[str, Any]:
    """``summarize`` from (code, severity) pairs (the stored holds)."""
    errors = sum(1 for _, severity in rows if severity == Severity.ERROR)
    return {
        "status": "on_hold" if errors else "ready",
        "errors": errors,
        "warnings": len(rows) - errors,
        "codes": sorted({code for code, _ in rows}),
    }


def holding(reasons: LineReasons) -> list[tuple[uuid.UUID, Reason]]:
    """The errors that hold billing, less those the billing service refuses itself."""
    return [
        (line_id, reason)
        for line_id, found in reasons.items()
        for reason in found
        if reason.is_error and reason.code not in SERVICE_ENFORCED
    ]


def _raise_on_hold(batch: Batch, held: list[tuple[uuid.UUID, Reason]]) -> None:
    if not held:
        return
    hcpcs = {line.pk: line.equipment.hcpcs_code for line in batch.lines}
    messages = [f"{hcpcs.get(line_id, '?')}: {reason.message}" for line_id, reason in held]
    raise ServiceError(
        "On hold, not billed: " + " ".join(messages),
        code="on_hold",
        fields={"reasons": sorted({reason.code for _, reason in held})},
    )


def assert_billable(
    lines: Iterable[Any] | QuerySet[OrderLine],
    *,
    on: datetime.date | None = None,
    dates: dict[uuid.UUID, datetime.date] | None = None,
) -> None:
    """Raise ``ServiceError(code="on_hold")`` listing the reasons when any line has an
    error (bill-from-delivery calls it with the purchases it is about to bill)."""
    batch = load_batch(lines, on=on, dates=dates)
    _raise_on_hold(batch, holding(reasons_for_batch(batch)))


def assert_rental_billable(rental: Rental, as_of: datetime.date) -> None:
    """The rental run's hold: check the rental's next month when it is due on
    ``as_of`` (a month not due, or a rental not active, is left to the service)."""
    rental = Rental.objects.get(pk=rental.pk)
    if rental.status != RentalStatus.ACTIVE:
        return
    if rental.cap_months is not None and rental.months_billed >= rental.cap_months:
        return
    day = _next_rental_day(rental)
    if day is None or day > as_of or (rental.end_date is not None and day > rental.end_date):
        return
    batch = load_batch([rental.order_line_id], on=as_of, dates={rental.order_line_id: day})
    _raise_on_hold(batch, holding(reasons_for_batch(batch)))


def order_summaries(
    orders: Iterable[Any], *, on: datetime.date | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    """``{order id: summary}`` over every line of each order (one batch): what the
    order list shows per row (``dme.billing_hooks``)."""
    return {
        order_id: summarize([reason for reasons in by_line.values() for reason in reasons])
        for order_id, by_line in order_reasons(orders, on=on).items()
    }
