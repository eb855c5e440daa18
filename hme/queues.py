"""Billing's queues on the cockpit's dashboards (``core.queues``), registered in
``HmeConfig.ready()``:

- ``billing.holds``: lines of delivered orders on hold, by reason (the stored
  ``BillingHold`` errors, hme.readiness), each linking to the "Ready to bill / On hold"
  worklist filtered by that reason;
- ``intake.holds``: the same for orders not delivered yet (what intake can still fix
  before the delivery);
- ``billing.rejected``: claims the clearinghouse sent back (a 999 rejecting the whole
  837P file, or a 277CA rejecting the claim) and still pending correction, as the
  claims list's "Rejected (999/277CA)" filter shows them, and the rejected 837P files.

One query per card (a group by reason) or per line; every query starts from
``for_user(request.user)``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse

from core.queues import QueueItem, provide, queue_item
from dme.choices import OrderStatus

from .choices import ClaimStatus
from .models import BatchClaim, BillingHold, Claim, SubmissionBatch
from .models.edi import BatchClaimStatus, BatchStatus

# Reasons shown per card; the worklist's reason filter lists them all.
REASONS_SHOWN = 8
NOT_DELIVERED = [
    OrderStatus.RECEIVED,
    OrderStatus.VERIFIED,
    OrderStatus.CONFIRMED,
    OrderStatus.SCHEDULED,
]


def _changelist(name: str, **params: object) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def reason_label(code: str) -> str:
    """A hold's code as the worklist's reason filter words it (``swo_missing`` ->
    ``Swo missing``)."""
    words = code.replace("_", " ")
    return words[:1].upper() + words[1:]


def _holds_by_reason(request: HttpRequest, statuses: list[Any], stage: str) -> list[QueueItem]:
    rows = (
        BillingHold.objects.for_user(request.user)
        .errors()
        .filter(order__status__in=statuses)
        .values("code")
        .annotate(lines=Count("order_line", distinct=True))
        .order_by("-lines", "code")[:REASONS_SHOWN]
    )
    return [
        QueueItem(
            reason_label(row["code"]),
            row["lines"],
            _changelist("hme_billableline", readiness="on_hold", reason=row["code"], stage=stage),
        )
        for row in rows
    ]


def billing_holds(request: HttpRequest) -> list[QueueItem]:
    """Delivered orders' lines on hold, by reason (lines counted once per reason)."""
    return _holds_by_reason(request, [OrderStatus.DELIVERED], "delivered")


def intake_holds(request: HttpRequest) -> list[QueueItem]:
    """Lines of orders not delivered yet that are already on hold, by reason."""
    return _holds_by_reason(request, NOT_DELIVERED, "before_delivery")


def clearinghouse_rejected(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims whose latest 837P item was rejected (999 or 277CA) and that are still
    pending, i.e. waiting to be corrected and sent again. The claims list's
    clearinghouse filter (``hme.admin.batches.ClearinghouseFilter``) uses it too."""
    latest = (
        BatchClaim.objects.filter(claim=OuterRef("pk")).order_by("-created_at").values("status")[:1]
    )
    # Only claims with a rejected item can qualify: start from those (the partial
    # index batchclaim_rejected_idx) rather than from every claim of the company.
    ever_rejected = BatchClaim.objects.filter(status=BatchClaimStatus.REJECTED).values("claim_id")
    return (
        claims.filter(pk__in=ever_rejected, status=ClaimStatus.PENDING)
        .annotate(edi_status=Subquery(latest))
        .filter(edi_status=BatchClaimStatus.REJECTED)
    )


def rejections(request: HttpRequest) -> list[QueueItem]:
    user = request.user
    claims: Any = Claim.objects.for_user(user)
    return [
        queue_item(
            "Claims to correct (999/277CA)",
            clearinghouse_rejected(claims),
            _changelist("hme_claim", edi="rejected"),
        ),
        queue_item(
            "837P files rejected (999)",
            SubmissionBatch.objects.for_user(user).filter(status=BatchStatus.REJECTED),
            _changelist("hme_submissionbatch", status__exact=BatchStatus.REJECTED),
        ),
    ]


def register() -> None:
    provide("billing.holds", billing_holds)
    provide("intake.holds", intake_holds)
    provide("billing.rejected", rejections)
