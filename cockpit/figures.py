"""The dashboards' expensive figures, computed from scoped querysets into a plain,
JSON-ready dict: what ``cockpit.models.DashboardSnapshot`` stores per company and what
``cockpit.dashboards`` draws, whether from the snapshot or live.

The caller scopes: ``cockpit.services.refresh_snapshot`` passes one company's rows
(``for_company``), the live path a user's (``for_user``). No PHI goes in: counts,
sums (as decimal strings), rates, month starts and CARC reason codes only.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

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
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from dme.choices import OrderStatus
from dme.queues import pickup_counts
from hme.choices import ClaimStatus
from hme.models import Claim

# A snapshot of another version is recomputed rather than misread (2: pickups due).
VERSION = 2
KPI_DAYS = 90
CASH_MONTHS = 6
DENIAL_REASONS_SHOWN = 8
# At most this many claims' delivery-to-bill lags are averaged (the window's first ones).
LAG_SAMPLE = 5000


def midnight(day: datetime.date) -> datetime.datetime:
    """The local midnight starting ``day``, as an aware moment: a bound on a datetime
    column that its index serves (``__date__gte`` casts every row instead)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def months_back(today: datetime.date, count: int = CASH_MONTHS) -> list[datetime.date]:
    """The first days of this month and the ``count - 1`` before it, newest first."""
    months = []
    first = today.replace(day=1)
    for _ in range(count):
        months.append(first)
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return months


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


def kpi_figures(
    claims: QuerySet[Any], allocations: QuerySet[Any], today: datetime.date
) -> dict[str, Any]:
    """The administrator's key figures over ``claims`` and payment ``allocations``
    (already scoped): five queries."""
    since = midnight(today - datetime.timedelta(days=KPI_DAYS))

    # Days from delivery to bill: the claim's creation after the order's delivery.
    lag = (
        claims.filter(order__isnull=False, order__delivered_on__isnull=False)
        .filter(created_at__gte=since)
        .annotate(
            lag=ExpressionWrapper(
                TruncDate("created_at") - F("order__delivered_on"), output_field=DurationField()
            )
        )
    )
    lags = [value for value in lag.values_list("lag", flat=True)[:LAG_SAMPLE] if value is not None]
    average = sum((value.days for value in lags), 0) / len(lags) if lags else None

    # Days sales outstanding: what is owed / the average day's charges of the window.
    totals = claims.exclude(status=ClaimStatus.VOID).aggregate(
        owed=_open_balance(), billed=Sum("total_charge", filter=Q(created_at__gte=since))
    )
    owed, billed = totals["owed"] or Decimal("0"), totals["billed"] or Decimal("0")
    dso = None if not billed else float(owed) / (float(billed) / KPI_DAYS)

    # First-pass acceptance and denial rate by reason, of the claims adjudicated lately.
    adjudicated = claims.filter(adjudicated_at__gte=since)
    counts = adjudicated.aggregate(
        total=Count("pk"),
        first_pass=Count(
            "pk",
            filter=Q(status__in=[ClaimStatus.APPROVED, ClaimStatus.PAID], submission_count=1),
        ),
    )
    reasons = (
        adjudicated.exclude(denial_code="")
        .values("denial_group", "denial_code")
        .annotate(count=Count("pk"))
        .order_by("-count", "denial_group", "denial_code")[:DENIAL_REASONS_SHOWN]
    )

    # Cash posted: allocations per month, this month first. Bounded to the months shown
    # (the allocations' (company, created_at) index); moment bounds, no date cast.
    months = months_back(today)
    posted = allocations.filter(created_at__gte=midnight(months[-1])).aggregate(
        **{
            f"m{index}": Sum(
                "amount",
                filter=Q(
                    created_at__gte=midnight(start),
                    created_at__lt=midnight((start + datetime.timedelta(days=32)).replace(day=1)),
                ),
            )
            for index, start in enumerate(months)
        }
    )
    return {
        "kpi_days": KPI_DAYS,
        "delivery_to_bill": {"average_days": average, "claims": len(lags)},
        "dso": {"owed": str(owed), "billed": str(billed), "days": dso},
        "first_pass": {"adjudicated": counts["total"], "first_pass": counts["first_pass"]},
        "denials": [
            {"group": row["denial_group"], "code": row["denial_code"], "count": row["count"]}
            for row in reasons
        ],
        "cash": [
            {"month": start.isoformat(), "amount": str(posted[f"m{index}"] or Decimal("0"))}
            for index, start in enumerate(months)
        ],
    }


def duplicate_groups(patients: QuerySet[Any]) -> QuerySet[Any]:
    """Groups of ``patients`` sharing a last name (any case) and a date of birth (its
    blind index), as the data-quality check ``clinical.possible_duplicate_patients``;
    read through the index ``patient_duplicates_idx``."""
    return (
        patients.filter(dob_bidx__isnull=False)
        .annotate(last=Lower("last_name"))
        .values("last", "dob_bidx")
        .annotate(size=Count("pk"))
        .filter(size__gt=1)
        .order_by()
    )


def duplicate_figures(patients: QuerySet[Any]) -> dict[str, int]:
    """``{"groups", "patients"}``: how many groups of possible duplicates, and how
    many patients they hold (one query)."""
    totals = duplicate_groups(patients).aggregate(groups=Count("*"), patients=Sum("size"))
    return {"groups": totals["groups"] or 0, "patients": totals["patients"] or 0}


def not_billed(orders: QuerySet[Any]) -> QuerySet[Any]:
    """Delivered orders with no claim yet: ``NOT EXISTS`` (an anti-join read through
    the claims' order index) rather than the ``LEFT JOIN ... IS NULL`` of
    ``claims__isnull``; the same rows."""
    return orders.filter(
        ~Exists(Claim.objects.filter(order=OuterRef("pk"))), status=OrderStatus.DELIVERED
    )


def figures_from(
    claims: QuerySet[Any],
    allocations: QuerySet[Any],
    patients: QuerySet[Any],
    orders: QuerySet[Any],
    rentals: QuerySet[Any],
    today: datetime.date,
) -> dict[str, Any]:
    """Every stored figure over the given (already scoped) rows: eight queries."""
    return {
        "version": VERSION,
        "as_of_date": today.isoformat(),
        "kpis": kpi_figures(claims, allocations, today),
        "duplicates": duplicate_figures(patients),
        "not_billed": not_billed(orders).count(),
        "pickups": pickup_counts(rentals),
    }


def _figures(scope: Callable[[Any], Any], today: datetime.date) -> dict[str, Any]:
    from clinical.models import Patient
    from dme.models import Order, Rental
    from hme.models import PaymentAllocation

    return figures_from(
        scope(Claim.objects),
        scope(PaymentAllocation.objects),
        scope(Patient.objects),
        scope(Order.objects),
        scope(Rental.objects),
        today,
    )


def company_figures(company: Any, today: datetime.date) -> dict[str, Any]:
    """``company``'s figures, from its rows only: what the snapshot stores."""
    return _figures(lambda objects: objects.for_company(company), today)


def user_figures(user: Any, today: datetime.date) -> dict[str, Any]:
    """The figures over what ``user`` may see (``for_user``): for a membership limited
    to some locations, whose orders and claims are narrowed to them, where the
    company-wide snapshot would show more."""
    return _figures(lambda objects: objects.for_user(user), today)
