"""The stored holds (``hme.models.BillingHold``): which lines are still to bill, and
refreshing their reasons in batches (on saves, after commit, and by the daily task)."""

import datetime
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from dme.choices import LineKind, OrderStatus, RentalStatus
from dme.models import OrderLine, Rental

from ..choices import ClaimStatus
from ..models import BillingHold, ClaimLine
from .compute import load_batch, reasons_for_batch

logger = logging.getLogger(__name__)
BATCH_SIZE = 500


def pending_lines(queryset: QuerySet[OrderLine] | None = None) -> QuerySet[OrderLine]:
    """Lines still to bill: of orders not cancelled; a purchase not on a live claim
    yet; a rental not started yet or with an active rental."""
    queryset = OrderLine.objects.all() if queryset is None else queryset
    billed = ClaimLine.objects.filter(order_line=OuterRef("pk")).exclude(
        claim__status=ClaimStatus.VOID
    )
    rented = Rental.objects.filter(order_line=OuterRef("pk"))
    active = rented.filter(status=RentalStatus.ACTIVE)
    return queryset.exclude(order__status=OrderStatus.CANCELLED).filter(
        (Q(kind=LineKind.PURCHASE) & ~Exists(billed))
        | (Q(kind=LineKind.RENTAL) & (~Exists(rented) | Exists(active)))
    )


def _holds(batch: Any, found: dict[uuid.UUID, list[Any]], now: datetime.datetime) -> list[Any]:
    rows = []
    for line in batch.lines:
        seen = set()
        for reason in found[line.pk]:
            key = (reason.code, reason.fix.pk if reason.fix else None)
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                BillingHold(
                    company_id=line.company_id,
                    order_line_id=line.pk,
                    order_id=line.order_id,
                    code=reason.code,
                    severity=reason.severity,
                    message=reason.message,
                    source=reason.source[:200],
                    fix_model=reason.fix.model if reason.fix else "",
                    fix_pk=reason.fix.pk if reason.fix else None,
                    fix_field=reason.fix.field if reason.fix else "",
                    date_of_service=batch.dates.get(line.pk),
                    refreshed_at=now,
                )
            )
    return rows


def refresh_holds(
    lines: Iterable[Any] | QuerySet[OrderLine] | None = None,
    *,
    on: datetime.date | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Recompute the stored reasons of ``lines`` (ids, OrderLines or a QuerySet; every
    line when None), ``batch_size`` lines per transaction. Lines no longer to bill
    lose their holds. Returns ``{"lines", "held", "reasons"}``."""
    if lines is None:
        ids = list(pending_lines().values_list("pk", flat=True).order_by("pk"))
        # Lines billed or cancelled since the last run.
        BillingHold.objects.exclude(order_line_id__in=pending_lines().values("pk")).delete()
    elif isinstance(lines, QuerySet):
        ids = list(lines.values_list("pk", flat=True))
    else:
        ids = [line.pk if isinstance(line, OrderLine) else line for line in lines]
    totals = {"lines": 0, "held": 0, "reasons": 0}
    now = timezone.now()
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with transaction.atomic():
            open_ids = list(
                pending_lines(OrderLine.objects.filter(pk__in=chunk)).values_list("pk", flat=True)
            )
            batch = load_batch(open_ids, on=on)
            found = reasons_for_batch(batch)
            rows = _holds(batch, found, now)
            BillingHold.objects.filter(order_line_id__in=chunk).delete()
            BillingHold.objects.bulk_create(rows)
        totals["lines"] += len(open_ids)
        totals["held"] += sum(1 for reasons in found.values() if any(r.is_error for r in reasons))
        totals["reasons"] += len(rows)
    return totals
