"""Queues that other features fill: holds (orders and claims on hold, by reason),
clearinghouse rejections (EDI batches), pickups. Each is a function an app registers in
its ``AppConfig.ready()``::

    from cockpit.providers import QueueItem, provide

    provide("billing.holds", lambda request: [
        QueueItem("Missing SWO", 12, "/admin/hme/hold/?reason=swo"), ...
    ])

The dashboards show a provider's card only once one is registered: until then the
card is absent, never filled with made-up numbers. ``QueueItem`` counts come from the
provider's own queries, scoped with ``for_user(request.user)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


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
    "warehouse.pickups": "Pickups due",
}

_PROVIDERS: dict[str, Provider] = {}


def provide(name: str, provider: Provider) -> None:
    """Register (or replace) the provider of queue ``name`` (one of ``KNOWN``)."""
    if name not in KNOWN:
        raise ValueError(f"Unknown queue {name!r}: one of {', '.join(sorted(KNOWN))}.")
    _PROVIDERS[name] = provider


def withdraw(name: str) -> None:
    _PROVIDERS.pop(name, None)


def provided(name: str, request: HttpRequest) -> list[QueueItem] | None:
    """The provider's items, or None when no app provides the queue."""
    provider = _PROVIDERS.get(name)
    return None if provider is None else provider(request)
