"""The role dashboards on the admin index: each role's queues, each count a link to the
changelist filtered the same way; the administrator's KPIs as small SVG charts.

Every query starts from ``for_user(request.user)`` (the active company). The page costs
a fixed number of queries: one per count or group, never one per row. A count that
would scan a big table is the planner's estimate (:func:`queue_count`, see
docs/decisions/0002-estimated-counts.md), shown with "≈".

The aggregates that scan weeks of claims or every patient (the key figures, possible
duplicates, delivered not billed, pickups due) are read from the company's stored snapshot
(``cockpit.models.DashboardSnapshot``, one query per page, refreshed every 15 minutes
by a task) and say when they were computed; the queues a clerk works from stay live.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.choices import Role
from core.tenancy import get_active_membership
from dme.choices import AssetStatus, DeliveryStatus, OrderStatus
from dme.models import Asset, Delivery, Order, StockLevel
from dme.queues import pickup_items
from hme.choices import CARC_DESCRIPTIONS, AuthorizationStatus, ClaimStatus
from hme.models import Authorization, Claim

from .charts import bar_chart
from .figures import user_figures
from .providers import KNOWN, QueueItem, provided, queue_item
from .services import current_snapshot

# The windows the queues and KPIs look at.
UNPAID_DAYS = 90
EXPIRING_DAYS = 14


@dataclass
class Card:
    key: str
    title: str
    items: list[QueueItem] = field(default_factory=list)
    chart: SafeString | None = None
    value: str = ""
    note: str = ""
    empty: str = "Nothing waiting."
    # When a stored figure of the card was computed ("As of 14:05."); empty: all live.
    as_of: str = ""


@dataclass
class Dashboard:
    key: str
    title: str
    cards: list[Card]
    as_of: str = ""


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
    blind index), as the data-quality check ``clinical.possible_duplicate_patients``.
    A stored figure (it groups every patient); the link lists them live."""
    shown = figures(request)
    found = shown.values["duplicates"]
    items = []
    if found["groups"]:
        items.append(
            QueueItem(
                f"Patients in {found['groups']} group(s) of one last name and date of birth",
                found["patients"],
                _url("clinical_patient", duplicate="yes"),
            )
        )
    return Card(
        "intake-duplicates",
        "Possible duplicate patients",
        items,
        note="Same last name and date of birth; open them to merge or confirm.",
        empty="No possible duplicates.",
        as_of=shown.as_of,
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
    # A stored figure (every active rental joined to every patient who left, see
    # dme.queues); the lines list the rentals live.
    shown = figures(request)
    cards.append(
        Card(
            "warehouse-pickups",
            "Pickups due",
            pickup_items(shown.values["pickups"]),
            note="Active rentals of patients marked deceased or inactive.",
            as_of=shown.as_of,
        )
    )
    return Dashboard("warehouse", "Warehouse", cards)


# Billing -------------------------------------------------------------------------------


def billing(request: HttpRequest) -> Dashboard:
    user = request.user
    today = _today()
    claims = Claim.objects.for_user(user)
    shown = figures(request)
    queue = [
        # A stored figure (an anti-join over every delivered order); the list is live.
        QueueItem(
            "Delivered, not billed yet",
            shown.values["not_billed"],
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
    # COUNT(*), not COUNT(id): the partial index claim_denied_reason_idx holds the
    # company and reason only, so an index-only scan needs no column beyond them
    # (at 100,000 patients, 20,752 denied claims: 141 ms of heap reads -> 18 ms).
    denied = (
        claims.filter(status=ClaimStatus.DENIED)
        .values("denial_group", "denial_code")
        .annotate(count=Count("*"))
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
    cards = [
        Card(
            "billing-queue",
            "Billing queue",
            queue,
            note="Delivered, not billed yet: the stored figure; the others are live.",
            as_of=shown.as_of,
        )
    ]
    for key in ("billing.holds", "billing.rejected"):
        if card := _provider_card(key, request):
            cards.append(card)
    cards.append(Card("billing-denied", "Denied, by reason", by_reason, empty="No denied claims."))
    return Dashboard("billing", "Billing", cards)


# Stored figures ------------------------------------------------------------------------


@dataclass
class Figures:
    """The expensive figures a dashboard draws: the company's snapshot, or computed
    live for a membership limited to some locations (``computed_at`` None)."""

    values: dict[str, Any]
    computed_at: datetime.datetime | None

    @property
    def as_of(self) -> str:
        if self.computed_at is None:
            return "Live: the figures of your locations."
        moment = timezone.localtime(self.computed_at)
        if moment.date() == _today():
            return f"As of {moment:%H:%M}."
        return f"As of {moment:%b} {moment.day}, {moment:%H:%M}."


def figures(request: HttpRequest) -> Figures:
    """The figures of the user's active company, read once per request: its snapshot
    (one query; computed and stored on the company's first view), or live when the
    membership is limited to some locations (their orders and claims only: the
    company-wide snapshot would show more than the user may see)."""
    cached = getattr(request, "_cockpit_figures", None)
    if cached is not None:
        return cached
    membership = get_active_membership(request.user)
    if membership is None:  # dashboards_for draws none then; nothing to read
        raise LookupError("No active company: no dashboard figures.")
    if membership.location_ids:
        result = Figures(user_figures(request.user, _today()), None)
    else:
        snapshot = current_snapshot(membership.company)
        result = Figures(snapshot.figures, snapshot.computed_at)
    request._cockpit_figures = result  # type: ignore[attr-defined]
    return result


# Administrator: KPIs -------------------------------------------------------------------


def kpis(request: HttpRequest) -> Dashboard:
    shown = figures(request)
    values = shown.values["kpis"]
    days = values["kpi_days"]
    cards = []

    average = values["delivery_to_bill"]["average_days"]
    cards.append(
        Card(
            "kpi-delivery-to-bill",
            "Days from delivery to bill",
            value="-" if average is None else f"{average:.1f} days",
            note=f"Claims of delivered orders created in the last {days} days.",
        )
    )

    dso = values["dso"]
    cards.append(
        Card(
            "kpi-dso",
            "Days sales outstanding",
            value="-" if dso["days"] is None else f"{dso['days']:.0f} days",
            note=f"Open balances ${Decimal(dso['owed']):,.2f} over the average day's charges "
            f"of the last {days} days.",
        )
    )

    total = values["first_pass"]["adjudicated"]
    rate = None if not total else 100 * values["first_pass"]["first_pass"] / total
    cards.append(
        Card(
            "kpi-first-pass",
            "First-pass acceptance",
            value="-" if rate is None else f"{rate:.0f}%",
            note=f"Approved on the first submission, of {total} claims adjudicated in the "
            f"last {days} days.",
        )
    )
    bars = [
        (f"{row['group']}-{row['code']}", 100 * row["count"] / total)
        for row in values["denials"]
        if total
    ]
    cards.append(
        Card(
            "kpi-denials",
            "Denial rate by reason",
            chart=bar_chart(bars, unit="%", title="Denial rate by reason") if bars else None,
            note=f"Share of the claims adjudicated in the last {days} days.",
            empty="No denials.",
        )
    )

    series = [
        (f"{datetime.date.fromisoformat(row['month']):%b %Y}", Decimal(row["amount"]))
        for row in values["cash"]
    ]
    this_month = values["cash"][0]["month"] == _today().replace(day=1).isoformat()
    cards.append(
        Card(
            "kpi-cash",
            "Cash posted this month" if this_month else f"Cash posted in {series[0][0]}",
            value=f"${series[0][1]:,.2f}",
            chart=bar_chart(series, unit="$", title="Cash posted by month"),
            note="Payments allocated to claims, by the month they were posted.",
        )
    )
    return Dashboard("kpis", "Administrator: key figures", cards, as_of=shown.as_of)


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
