"""The role dashboards on the admin index: each role's queues, each count a link to the
changelist filtered the same way; the administrator's KPIs as small SVG charts.

Every query starts from ``for_user(request.user)`` (the active company). The page costs
a fixed number of queries: one per count or group, never one per row. A count that
would scan a big table is the planner's estimate (:func:`queue_count`, see
docs/decisions/0002-estimated-counts.md), shown with "≈".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncDate
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.choices import Role
from clinical.models import Patient
from core.tenancy import get_active_membership
from dme.choices import AssetStatus, DeliveryStatus, OrderStatus
from dme.models import Asset, Delivery, Order, StockLevel
from hme.choices import CARC_DESCRIPTIONS, AuthorizationStatus, ClaimStatus
from hme.models import Authorization, Claim, PaymentAllocation

from .charts import bar_chart
from .providers import KNOWN, QueueItem, provided, queue_item

# The windows the queues and KPIs look at.
UNPAID_DAYS = 90
EXPIRING_DAYS = 14
KPI_DAYS = 90
DUPLICATES_SHOWN = 5


@dataclass
class Card:
    key: str
    title: str
    items: list[QueueItem] = field(default_factory=list)
    chart: SafeString | None = None
    value: str = ""
    note: str = ""
    empty: str = "Nothing waiting."


@dataclass
class Dashboard:
    key: str
    title: str
    cards: list[Card]


def _url(name: str, **params: object) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


_item = queue_item


def _provider_card(key: str, request: HttpRequest) -> Card | None:
    items = provided(key, request)
    if items is None:
        return None
    return Card(key.replace(".", "-"), KNOWN[key], items)


def _today() -> datetime.date:
    return timezone.localdate()


def _midnight(day: datetime.date) -> datetime.datetime:
    """The local midnight starting ``day``, as an aware moment: a bound on a datetime
    column that its index serves (``__date__gte`` casts every row instead)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# Intake --------------------------------------------------------------------------------


def intake(request: HttpRequest) -> Dashboard:
    user = request.user
    orders = Order.objects.for_user(user)
    cards = [
        Card(
            "intake-orders",
            "Orders",
            [
                _item(
                    "To verify (received)",
                    orders.filter(status=OrderStatus.RECEIVED),
                    _url("dme_order", status__exact=OrderStatus.RECEIVED),
                ),
                _item(
                    "Verified, to confirm",
                    orders.filter(status=OrderStatus.VERIFIED),
                    _url("dme_order", status__exact=OrderStatus.VERIFIED),
                ),
            ],
        )
    ]
    if holds := _provider_card("intake.holds", request):
        cards.append(holds)
    cards.append(duplicates(request))
    return Dashboard("intake", "Intake", cards)


def duplicates(request: HttpRequest) -> Card:
    """Possible duplicate patients: same last name (any case) and date of birth (its
    blind index), as the data-quality check ``clinical.possible_duplicate_patients``."""
    groups = list(
        Patient.objects.for_user(request.user)
        .filter(dob_bidx__isnull=False)
        .annotate(last=Lower("last_name"))
        .values("last", "dob_bidx")
        .annotate(size=Count("pk"))
        .filter(size__gt=1)
        .order_by("-size", "last")[:DUPLICATES_SHOWN]
    )
    items = [
        QueueItem(
            f"{group['last'].title()}: {group['size']} patients, one date of birth",
            group["size"],
            _url("clinical_patient", q=f"{group['last']},"),
        )
        for group in groups
    ]
    return Card(
        "intake-duplicates",
        "Possible duplicate patients",
        items,
        note="Same last name and date of birth; open them to merge or confirm.",
        empty="No possible duplicates.",
    )


# Warehouse -----------------------------------------------------------------------------


def warehouse(request: HttpRequest) -> Dashboard:
    user = request.user
    today = _today()
    tomorrow = today + datetime.timedelta(days=1)
    rows = (
        Delivery.objects.for_user(user)
        .filter(status=DeliveryStatus.SCHEDULED, scheduled_date__in=[today, tomorrow])
        .values("scheduled_date", "driver", "driver__first_name", "driver__last_name")
        .annotate(count=Count("pk"))
        .order_by("scheduled_date", "driver__last_name", "driver__first_name")
    )
    deliveries = []
    for row in rows:
        day = "Today" if row["scheduled_date"] == today else "Tomorrow"
        name = " ".join(filter(None, [row["driver__first_name"], row["driver__last_name"]]))
        params: dict[str, object] = {
            "status__exact": DeliveryStatus.SCHEDULED,
            "scheduled_date": row["scheduled_date"].isoformat(),
        }
        if row["driver"] is None:
            params["driver__isnull"] = "True"
        else:
            params["driver__id__exact"] = row["driver"]
        deliveries.append(
            QueueItem(
                f"{day}: {name or 'no driver yet'}", row["count"], _url("dme_delivery", **params)
            )
        )
    cards = [
        Card("warehouse-deliveries", "Deliveries today and tomorrow, by driver", deliveries),
        Card(
            "warehouse-stock",
            "Stock and units",
            [
                _item(
                    "Stock under its reorder point",
                    StockLevel.objects.for_user(user).low(),
                    _url("dme_stocklevel", low="yes"),
                ),
                _item(
                    "Units to clean or repair",
                    Asset.objects.for_user(user).filter(status=AssetStatus.IN_MAINTENANCE),
                    _url("dme_asset", status__exact=AssetStatus.IN_MAINTENANCE),
                ),
            ],
        ),
    ]
    if pickups := _provider_card("warehouse.pickups", request):
        cards.append(pickups)
    return Dashboard("warehouse", "Warehouse", cards)


# Billing -------------------------------------------------------------------------------


def billing(request: HttpRequest) -> Dashboard:
    user = request.user
    today = _today()
    claims = Claim.objects.for_user(user)
    # NOT EXISTS (an anti-join) rather than the LEFT JOIN ... IS NULL of claims__isnull:
    # the same rows, read through the claims' order index.
    ready = Order.objects.for_user(user).filter(
        ~Exists(Claim.objects.filter(order=OuterRef("pk"))), status=OrderStatus.DELIVERED
    )
    queue = [
        _item(
            "Delivered, not billed yet",
            ready,
            _url("dme_order", status__exact=OrderStatus.DELIVERED, claims__isnull="True"),
        ),
        _item(
            "To submit",
            claims.filter(status=ClaimStatus.PENDING, submitted_at__isnull=True),
            _url("hme_claim", status__exact=ClaimStatus.PENDING, submitted_at__isnull="True"),
        ),
        _item(
            f"Unpaid over {UNPAID_DAYS} days",
            claims.open().aged(UNPAID_DAYS + 1),
            _url("hme_claim", age="90+"),
        ),
        _item(
            f"Authorizations expiring within {EXPIRING_DAYS} days",
            Authorization.objects.for_user(user).filter(
                status=AuthorizationStatus.APPROVED,
                valid_to__gte=today,
                valid_to__lte=today + datetime.timedelta(days=EXPIRING_DAYS),
            ),
            _url(
                "hme_authorization",
                status__exact=AuthorizationStatus.APPROVED,
                valid_to__gte=today.isoformat(),
                valid_to__lte=(today + datetime.timedelta(days=EXPIRING_DAYS)).isoformat(),
            ),
        ),
    ]
    denied = (
        claims.filter(status=ClaimStatus.DENIED)
        .values("denial_group", "denial_code")
        .annotate(count=Count("pk"))
        .order_by("-count", "denial_group", "denial_code")
    )
    by_reason = [
        QueueItem(
            f"{row['denial_group']}-{row['denial_code']} "
            f"{CARC_DESCRIPTIONS.get(row['denial_code'], '')[:40]}".strip(),
            row["count"],
            _url(
                "hme_claim",
                status__exact=ClaimStatus.DENIED,
                denial=f"{row['denial_group']}-{row['denial_code']}",
            ),
        )
        for row in denied
    ]
    cards = [Card("billing-queue", "Billing queue", queue)]
    for key in ("billing.holds", "billing.rejected"):
        if card := _provider_card(key, request):
            cards.append(card)
    cards.append(Card("billing-denied", "Denied, by reason", by_reason, empty="No denied claims."))
    return Dashboard("billing", "Billing", cards)


# Administrator: KPIs -------------------------------------------------------------------


def _open_balance() -> Any:
    return Sum(
        Case(
            When(status=ClaimStatus.APPROVED, then=F("allowed_amount") - F("paid_amount")),
            When(
                status__in=[ClaimStatus.PENDING, ClaimStatus.PROCESSING, ClaimStatus.DENIED],
                then=F("total_charge") - F("paid_amount"),
            ),
            default=Value(Decimal("0")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )


def kpis(request: HttpRequest) -> Dashboard:
    user = request.user
    today = _today()
    since = today - datetime.timedelta(days=KPI_DAYS)
    claims = Claim.objects.for_user(user)
    cards = []

    # Days from delivery to bill: the claim's creation after the order's delivery.
    lag = (
        claims.filter(order__isnull=False, order__delivered_on__isnull=False)
        .filter(created_at__gte=_midnight(since))
        .annotate(
            lag=ExpressionWrapper(
                TruncDate("created_at") - F("order__delivered_on"), output_field=DurationField()
            )
        )
    )
    lags = [value for value in lag.values_list("lag", flat=True)[:5000] if value is not None]
    average = sum((value.days for value in lags), 0) / len(lags) if lags else None
    cards.append(
        Card(
            "kpi-delivery-to-bill",
            "Days from delivery to bill",
            value="-" if average is None else f"{average:.1f} days",
            note=f"Claims of delivered orders created in the last {KPI_DAYS} days.",
        )
    )

    # Days sales outstanding: what is owed / the average day's charges of the window.
    totals = claims.exclude(status=ClaimStatus.VOID).aggregate(
        owed=_open_balance(),
        billed=Sum("total_charge", filter=Q(created_at__gte=_midnight(since))),
    )
    owed, billed = totals["owed"] or Decimal("0"), totals["billed"] or Decimal("0")
    dso = None if not billed else float(owed) / (float(billed) / KPI_DAYS)
    cards.append(
        Card(
            "kpi-dso",
            "Days sales outstanding",
            value="-" if dso is None else f"{dso:.0f} days",
            note=f"Open balances ${owed:,.2f} over the average day's charges of the last "
            f"{KPI_DAYS} days.",
        )
    )

    # First-pass acceptance and denial rate by reason, of the claims adjudicated lately.
    adjudicated = claims.filter(adjudicated_at__gte=_midnight(since))
    counts = adjudicated.aggregate(
        total=Count("pk"),
        first_pass=Count(
            "pk",
            filter=Q(status__in=[ClaimStatus.APPROVED, ClaimStatus.PAID], submission_count=1),
        ),
    )
    total = counts["total"]
    rate = None if not total else 100 * counts["first_pass"] / total
    cards.append(
        Card(
            "kpi-first-pass",
            "First-pass acceptance",
            value="-" if rate is None else f"{rate:.0f}%",
            note=f"Approved on the first submission, of {total} claims adjudicated in the "
            f"last {KPI_DAYS} days.",
        )
    )
    reasons = (
        adjudicated.exclude(denial_code="")
        .values("denial_group", "denial_code")
        .annotate(count=Count("pk"))
        .order_by("-count", "denial_group", "denial_code")[:8]
    )
    bars = [
        (f"{row['denial_group']}-{row['denial_code']}", 100 * row["count"] / total)
        for row in reasons
        if total
    ]
    cards.append(
        Card(
            "kpi-denials",
            "Denial rate by reason",
            chart=bar_chart(bars, unit="%", title="Denial rate by reason") if bars else None,
            note=f"Share of the claims adjudicated in the last {KPI_DAYS} days.",
            empty="No denials.",
        )
    )

    # Cash posted: allocations posted per month, this month first.
    months = []
    first = today.replace(day=1)
    for _ in range(6):
        months.append(first)
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    # Bounded to the six months shown (the allocations' (company, created_at) index);
    # each month's bounds are moments, so the index serves them (no date cast).
    posted = (
        PaymentAllocation.objects.for_user(user)
        .filter(created_at__gte=_midnight(months[-1]))
        .aggregate(
            **{
                f"m{index}": Sum(
                    "amount",
                    filter=Q(
                        created_at__gte=_midnight(start),
                        created_at__lt=_midnight(
                            (start + datetime.timedelta(days=32)).replace(day=1)
                        ),
                    ),
                )
                for index, start in enumerate(months)
            }
        )
    )
    series = [
        (f"{start:%b %Y}", posted[f"m{index}"] or Decimal("0"))
        for index, start in enumerate(months)
    ]
    cards.append(
        Card(
            "kpi-cash",
            "Cash posted this month",
            value=f"${series[0][1]:,.2f}",
            chart=bar_chart(series, unit="$", title="Cash posted by month"),
            note="Payments allocated to claims, by the month they were posted.",
        )
    )
    return Dashboard("kpis", "Administrator: key figures", cards)


# Who sees which ------------------------------------------------------------------------

BUILDERS = {"intake": intake, "warehouse": warehouse, "billing": billing, "kpis": kpis}
ROLE_DASHBOARDS = {
    Role.ADMINISTRATOR: ["kpis", "intake", "warehouse", "billing"],
    Role.INTAKE: ["intake"],
    Role.CLINICIAN: ["intake"],
    Role.WAREHOUSE: ["warehouse"],
    Role.BILLING: ["billing"],
    Role.AUDITOR: ["kpis"],
}


def dashboards_for(request: HttpRequest, only: str | None = None) -> list[Dashboard]:
    """The dashboards of the user's role in the active company (operators, who act
    for no company, get none: their index is the menu)."""
    membership = get_active_membership(request.user)
    if membership is None:
        return []
    keys = ROLE_DASHBOARDS.get(membership.role, [])
    return [BUILDERS[key](request) for key in keys if only in (None, key)]
