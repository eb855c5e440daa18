"""Work queues the dashboards show and the apps fill: holds (orders and claims on hold,
by reason), clearinghouse rejections (999/277CA). The cockpit (the top
floor) draws the cards; the apps that own the rows fill them, each in its
``AppConfig.ready()``, so no lower floor imports the cockpit::

    from core.queues import QueueItem, provide

    provide("billing.holds", lambda request: [
        QueueItem("Missing SWO", 12, "/admin/hme/billableline/?reason=swo"), ...
    ])

A dashboard shows a queue's card only once a provider is registered: until then the
card is absent, never filled with made-up numbers. A provider's counts come from its own
queries, scoped with ``for_user(request.user)``, a fixed number per card (one per
reason group, never one per row); :func:`queue_count` gives the planner's estimate where
an exact count would scan a big table (docs/decisions/0002-estimated-counts.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest

from .pagination import ESTIMATE_FROM


@dataclass(frozen=True)
class QueueItem:
    label: str
    count: int | None
    url: str = ""
    approximate: bool = False


Provider = Callable[[HttpRequest], list[QueueItem]]

# The queues the dashboards leave room for, with the card's title.
KNOWN = {
    "intake.holds": "Orders on hold, by reason",
    "billing.holds": "Claims on hold, by reason",
    "billing.rejected": "Rejected by the clearinghouse",
}

_PROVIDERS: dict[str, Provider] = {}


def provide(name: str, provider: Provider) -> None:
    """Register (or replace) the provider of queue ``name`` (one of ``KNOWN``)."""
    if name not in KNOWN:
        raise ValueError(f"Unknown queue {name!r}: one of {', '.join(sorted(KNOWN))}.")
    _PROVIDERS[name] = provider


def withdraw(name: str) -> None:
    _PROVIDERS.pop(name, None)


def provider_of(name: str) -> Provider | None:
    return _PROVIDERS.get(name)


def provided(name: str, request: HttpRequest) -> list[QueueItem] | None:
    """The provider's items, or None when no app provides the queue."""
    provider = _PROVIDERS.get(name)
    return None if provider is None else provider(request)


def queue_count(queryset: QuerySet[Any]) -> tuple[int, bool]:
    """``(count, approximate)``: exact, unless PostgreSQL's planner expects at least
    ``ESTIMATE_FROM`` rows, when its estimate is used (one EXPLAIN, about 1 ms,
    against a COUNT(*) that grows with the rows)."""
    if connection.vendor == "postgresql":
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        if estimate >= ESTIMATE_FROM:
            return estimate, True
    return queryset.count(), False


def queue_item(label: str, queryset: QuerySet[Any], url: str) -> QueueItem:
    """One queue line: ``queryset``'s count (:func:`queue_count`) linking to ``url``."""
    count, approximate = queue_count(queryset)
    return QueueItem(label, count, url, approximate)
