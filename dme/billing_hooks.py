"""Billing readiness as dme's lists and pages see it, provided by a higher floor.

dme cannot import hme (the layering test). hme registers its readiness in its
``AppConfig.ready()``; until then (or without hme installed) the summaries are None
and the order API says nothing about readiness.
"""

import uuid
from collections.abc import Callable, Iterable
from typing import Any

# orders -> {order id: {"status": "ready" | "on_hold", "errors": n, "warnings": n,
#                       "codes": [...]}}
SummaryProvider = Callable[[Iterable[Any]], dict[uuid.UUID, dict[str, Any]]]
_providers: dict[str, SummaryProvider] = {}


def register_order_summary(provider: SummaryProvider) -> None:
    """Set the function that summarizes a page of orders' readiness (one batch)."""
    _providers["orders"] = provider


def order_summaries(orders: Iterable[Any]) -> dict[uuid.UUID, dict[str, Any]] | None:
    """Each order's readiness summary, for the whole page at once; None when no
    billing app provides it."""
    provider = _providers.get("orders")
    return None if provider is None else provider(orders)


# Admin change pages: a read-only "Ready to bill" panel (HTML) for an order or a
# delivery, rendered by the billing app.
PanelProvider = Callable[[Any], str]
_panels: dict[str, PanelProvider] = {}


def register_panel(kind: str, provider: PanelProvider) -> None:
    """``kind`` is "order" or "delivery"; ``provider(obj)`` returns safe HTML."""
    _panels[kind] = provider


def panel(kind: str, obj: Any) -> str | None:
    provider = _panels.get(kind)
    return None if provider is None or obj is None or obj.pk is None else provider(obj)
