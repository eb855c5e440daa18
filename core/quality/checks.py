"""Building blocks for set-based checks: each costs one or two SQL queries."""

from django.db.models import Count, F, Max, Q
from django.utils import timezone

from .registry import Outcome


def tenant_mismatch(model, relation):
    """Rows whose ``relation`` points at a record of another company."""
    return model._base_manager.filter(**{f"{relation}__isnull": False}).exclude(
        **{f"{relation}__company": F("company")}
    )


def pattern_mismatch(model, field, pattern, *, blank_ok=True):
    """Rows whose ``field`` does not match the regular expression ``pattern``."""
    queryset = model._base_manager.exclude(**{f"{field}__regex": pattern})
    if blank_ok:
        queryset = queryset.exclude(**{field: ""})
    return queryset


def null_ratio(model, field, threshold):
    """Fails when more than ``threshold`` (0..1) of the rows have ``field`` empty."""
    empty = Q(**{f"{field}__isnull": True})
    internal = model._meta.get_field(field).get_internal_type()
    if internal in {"CharField", "TextField", "EmailField"}:
        empty |= Q(**{field: ""})
    totals = model._base_manager.aggregate(total=Count("pk"), empty=Count("pk", filter=empty))
    total, missing = totals["total"], totals["empty"]
    ratio = missing / total if total else 0.0
    detail = f"{missing} of {total} rows ({ratio:.1%}) have no {field}; at most {threshold:.0%}."
    return Outcome(count=missing if ratio > threshold else 0, detail=detail)


def stale(model, max_age, *, field="updated_at", what=None):
    """Fails when the newest ``field`` of a non-empty table is older than ``max_age``."""
    newest = model._base_manager.aggregate(newest=Max(field))["newest"]
    what = what or model._meta.verbose_name_plural
    if newest is None:
        return Outcome(count=0, detail=f"No {what} yet.")
    age = timezone.now() - newest
    if age > max_age:
        hours = age.total_seconds() / 3600
        return Outcome(count=1, detail=f"No {what} changed for {hours:.0f} hours.")
    return Outcome(count=0, detail=f"Last change {age.total_seconds() / 3600:.1f} hours ago.")
