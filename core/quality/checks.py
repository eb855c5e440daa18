"""Building blocks for set-based checks: each costs one or two SQL queries.

Everything here runs on PostgreSQL and SQLite alike: regular expressions through
``__regex`` (PostgreSQL ``~``, Django's ``REGEXP`` function on SQLite), JSON arrays
matched as their text (``Cast(field, TextField())``), day arithmetic and JSON array
lengths through the two small functions below.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Q,
    Value,
)
from django.db.models.functions import Abs, Cast
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from .registry import Outcome, Severity, register

# Tables an active supplier changes every working day (appointments, orders, claims,
# the access log): quiet for longer than a long weekend (Friday evening to Tuesday
# morning is about 88 hours) means work stopped reaching them.
DAILY_FRESHNESS = timedelta(hours=96)
# How many rows a streamed Python pass fetches at a time (bounded memory).
STREAM_CHUNK = 2000
SAMPLE_LIMIT = 10
# A model class, or a QuerySet of it to look at a subset.
Rows = type[models.Model] | models.QuerySet[Any]


def _queryset(model_or_queryset: Rows) -> models.QuerySet[Any]:
    if isinstance(model_or_queryset, models.QuerySet):
        return model_or_queryset
    return model_or_queryset._base_manager.all()


# SQL functions ---------------------------------------------------------------------


class AddDays(Func):
    """``date + days`` as a date (``days`` an integer expression), in SQL.

    Django's duration arithmetic cannot multiply a column by a day on SQLite, so each
    database gets its own spelling: PostgreSQL adds an integer to a date natively;
    SQLite's ``date()`` takes a ``'+N days'`` modifier.
    """

    arity = 2
    output_field = models.DateField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:  # type: ignore[override]
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" + ")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
        )


class JSONArrayLength(Func):
    """The number of items of a JSON array column (0 for ``[]``)."""

    function = "json_array_length"
    output_field = models.IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="jsonb_array_length")


def json_text(field: str) -> Cast:
    """A JSON column as its text (``["G4733", "J449"]``), for regular expressions."""
    return Cast(field, output_field=models.TextField())


def json_array_pattern(item: str, *, min_items: int = 0, max_items: int | None = None) -> str:
    """A regular expression matching the text of a JSON array of ``min_items`` to
    ``max_items`` items, each matching ``item`` (itself a regular expression)."""
    more = "" if max_items is None else max(max_items - 1, 0)
    repeat = f"{{{max(min_items - 1, 0)},{more}}}"
    items = rf"{item}(\s*,\s*{item}){repeat}"
    if max_items == 0:
        return r"^\[\s*\]$"
    if min_items == 0:
        items = f"({items})?"
    return rf"^\[\s*{items}\s*\]$"


# Row sets --------------------------------------------------------------------------


def tenant_mismatch(model: type[models.Model], relation: str) -> models.QuerySet[Any]:
    """Rows whose ``relation`` points at a record of another company."""
    return model._base_manager.filter(**{f"{relation}__isnull": False}).exclude(
        **{f"{relation}__company": F("company")}
    )


def relation_mismatch(
    model: type[models.Model], path: str, other_path: str
) -> models.QuerySet[Any]:
    """Rows where two paths that must name the same record do not (both set).

    ``relation_mismatch(Claim, "coverage__patient", "patient")``: claims billed on
    another patient's policy.
    """
    return model._base_manager.filter(
        **{f"{path}__isnull": False, f"{other_path}__isnull": False}
    ).exclude(**{path: F(other_path)})


def pattern_mismatch(
    model: Rows, field: str, pattern: str, *, blank_ok: bool = True
) -> models.QuerySet[Any]:
    """Rows whose ``field`` does not match the regular expression ``pattern``."""
    queryset = _queryset(model).exclude(**{f"{field}__regex": pattern})
    if blank_ok:
        queryset = queryset.exclude(**{field: ""})
    return queryset


def json_array_mismatch(
    model: Rows, field: str, item: str, *, min_items: int = 0, max_items: int | None = None
) -> models.QuerySet[Any]:
    """Rows whose JSON array ``field`` is not ``min_items``-``max_items`` items, each
    matching the regular expression ``item`` (strings: include the quotes)."""
    pattern = json_array_pattern(item, min_items=min_items, max_items=max_items)
    mismatched: models.QuerySet[Any] = (
        _queryset(model)
        .alias(**{f"_{field}_text": json_text(field)})
        .exclude(**{f"_{field}_text__regex": pattern})
    )
    return mismatched


# One HCPCS modifier inside a JSON array's text: two upper-case letters or digits.
MODIFIER_ITEM = r'"[A-Z0-9]{2}"'


def json_contains(alias: str, item: str) -> Q:
    """``Q``: the JSON text aliased as ``alias`` holds the string ``item``."""
    return Q(**{f"{alias}__contains": f'"{item}"'})


def modifier_list_mismatch(model: Rows, field: str = "modifiers") -> models.QuerySet[Any]:
    """Rows whose modifier list breaks ``core.validators.validate_modifiers``: not a list
    of at most four two-character modifiers, one listed twice, or KX together with GA,
    GY or GZ (KX says the policy is met, the others that it is not)."""
    alias = f"_{field}_text"
    mismatched: models.QuerySet[Any] = (
        _queryset(model)
        .alias(**{alias: json_text(field)})
        .filter(
            ~Q(**{f"{alias}__regex": json_array_pattern(MODIFIER_ITEM, max_items=4)})
            # A modifier's end, then a later one's start with the same two characters
            # (no leading quote in the group: 5x faster than '"(..)".*"\1"' on PostgreSQL).
            | Q(**{f"{alias}__regex": r'([A-Z0-9]{2})".*"\1'})
            | Q(**{f"{alias}__regex": r'"KX".*"G[AYZ]"|"G[AYZ]".*"KX"'})
        )
    )
    return mismatched


# Ratios and freshness --------------------------------------------------------------


def null_ratio(model: Rows, field: str, threshold: float) -> Outcome:
    """Fails when more than ``threshold`` (0..1) of the rows have ``field`` empty.

    ``model`` may be a QuerySet, to measure a subset (active rows only).
    """
    queryset = _queryset(model)
    empty = Q(**{f"{field}__isnull": True})
    internal = queryset.model._meta.get_field(field).get_internal_type()
    if internal in {"CharField", "TextField", "EmailField"}:
        empty |= Q(**{field: ""})
    totals = queryset.aggregate(total=Count("pk"), empty=Count("pk", filter=empty))
    total, missing = totals["total"], totals["empty"]
    ratio = missing / total if total else 0.0
    detail = f"{missing} of {total} rows ({ratio:.1%}) have no {field}; at most {threshold:.0%}."
    return Outcome(count=missing if ratio > threshold else 0, detail=detail)


def stale(
    model: Rows, max_age: timedelta, *, field: str = "updated_at", what: str | None = None
) -> Outcome:
    """Fails when the newest ``field`` of a non-empty table is older than ``max_age``."""
    newest = _queryset(model).aggregate(newest=Max(field))["newest"]
    what = what or str(_queryset(model).model._meta.verbose_name_plural)
    if newest is None:
        return Outcome(count=0, detail=f"No {what} yet.")
    age = timezone.now() - newest
    if age > max_age:
        hours = age.total_seconds() / 3600
        return Outcome(count=1, detail=f"No {what} changed for {hours:.0f} hours.")
    return Outcome(count=0, detail=f"Last change {age.total_seconds() / 3600:.1f} hours ago.")


# Streamed Python passes ------------------------------------------------------------


def invalid_values(
    queryset: models.QuerySet[Any],
    field: str,
    validate: Callable[[Any], object],
    *,
    what: str | None = None,
    incremental: bool = False,
) -> Outcome:
    """Rows whose ``field`` fails ``validate`` (raises ValidationError), checked in
    Python over a streamed ``(pk, value)`` cursor: for rules SQL cannot express (the
    NPI check digit) or columns SQL cannot read (encrypted values). Memory stays
    bounded (``STREAM_CHUNK`` rows at a time, ten sample ids); time grows with the rows.
    Values never leave the loop.

    ``incremental=True`` (big tables with ``updated_at``) reads only the rows changed
    since the previous run of the same check, when that run passed on a full pass less
    than ``DATA_QUALITY_FULL_PASS_DAYS`` old; otherwise it reads every row (a full pass).
    Exact: a passed pass found no bad row, so the bad rows now are among those written
    since (every save sets ``updated_at``; ``DATA_QUALITY_INCREMENTAL_MARGIN`` minutes
    back cover transactions still open when the previous run read). Writes that bypass
    ``updated_at`` (a restore, a raw ``UPDATE``) are caught by the next full pass.
    """
    from .runner import current_check

    what = what or field
    full_pass_at, since = None, None
    running = current_check.get()
    if incremental and running is not None:
        full_pass_at, since = _incremental_window(*running)
        if since is not None:
            queryset = queryset.filter(updated_at__gte=since)
        else:
            full_pass_at = running[1]
    checked = bad = 0
    samples: list[Any] = []
    for pk, value in queryset.order_by().values_list("pk", field).iterator(chunk_size=STREAM_CHUNK):
        checked += 1
        try:
            validate(value if value is not None else "")
        except (ValidationError, TypeError, ValueError):
            bad += 1
            if len(samples) < SAMPLE_LIMIT:
                samples.append(pk)
    if since is not None:
        detail = f"{bad} of {checked} {what} invalid (those changed since the last run)."
    else:
        detail = f"{bad} of {checked} {what} invalid."
    return Outcome(count=bad, sample_ids=samples, detail=detail, full_pass_at=full_pass_at)


# A window read in chunks of ids (bounded SQL parameters on every database); a window
# of more rows than WINDOW_LIMIT is read as a full pass (as cheap by then).
WINDOW_CHUNK = 5000
WINDOW_LIMIT = 100_000


def changed_rows(
    queryset: models.QuerySet[Any],
    changed: Callable[[Any], Iterable[models.QuerySet[Any]]],
    *,
    what: str,
) -> Outcome:
    """The failing rows of a set-based check (``queryset``), read incrementally.

    After a passed full pass less than ``DATA_QUALITY_FULL_PASS_DAYS`` old, only the
    rows ``changed(since)`` names are checked: it returns querysets of the checked
    model's primary keys (``.values("claim_id")``) whose rows, or the rows they derive
    from, have ``updated_at`` at or after ``since`` (each through an index on
    ``updated_at``); their union is the window. Otherwise every row is checked (a full
    pass). Exact for faults written through ``save()`` (which sets ``updated_at``) of the
    rows the window follows; what it cannot see (deleted rows, writes that bypass
    ``updated_at``) the next full pass finds (docs/operations.md, "Data quality").

    The window's ids are read first and the check runs on them by primary key: handed
    the window as a subquery, PostgreSQL misjudges a regular expression's selectivity
    and scans the whole table anyway (1.5 s against milliseconds on 272,000 lines).
    """
    from .runner import current_check

    full_pass_at, since = None, None
    running = current_check.get()
    if running is not None:
        full_pass_at, since = _incremental_window(*running)
        if since is None:
            full_pass_at = running[1]
    window: list[Any] | None = None
    if since is not None:
        parts = [part.order_by() for part in changed(since)]
        union = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        rows = union[: WINDOW_LIMIT + 1]  # dicts of one key each ("pk", "claim_id")
        ids = [pk for row in rows for pk in row.values() if pk is not None]
        if len(ids) <= WINDOW_LIMIT:
            window = sorted(ids)
        else:  # most rows changed: the full pass costs no more
            full_pass_at = running[1] if running is not None else None
    if window is None:
        count = queryset.count()
        samples = (
            list(queryset.order_by("pk").values_list("pk", flat=True)[:SAMPLE_LIMIT])
            if count
            else []
        )
        detail = f"{count} failing {what} (full pass)."
        return Outcome(count=count, sample_ids=samples, detail=detail, full_pass_at=full_pass_at)
    count, samples = 0, []
    for start in range(0, len(window), WINDOW_CHUNK):
        chunk = queryset.filter(pk__in=window[start : start + WINDOW_CHUNK]).order_by("pk")
        failing = list(chunk.values_list("pk", flat=True))
        count += len(failing)
        samples = sorted([*samples, *failing])[:SAMPLE_LIMIT]
    detail = f"{count} failing of {len(window)} {what} changed since the last run."
    return Outcome(count=count, sample_ids=samples, detail=detail, full_pass_at=full_pass_at)


def changed_since(model: type[models.Model], since: Any, key: str = "pk") -> models.QuerySet[Any]:
    """``key`` (a primary key, or a path to one) of the ``model`` rows written since
    ``since``: one part of a :func:`changed_rows` window."""
    return model._base_manager.filter(updated_at__gte=since).values(key)


def written_since(
    model: type[models.Model],
    *paths: str,
    children: Iterable[tuple[type[models.Model], str]] = (),
) -> Callable[[Any], list[models.QuerySet[Any]]]:
    """The window of a :func:`changed_rows` check about ``model``: its rows written
    since the last passed run, those whose row along each of ``paths`` (``"coverage"``)
    was, and those named by the ``children`` written (``(ClaimLine, "claim_id")``)."""

    def changed(since: Any) -> list[models.QuerySet[Any]]:
        parts = [changed_since(model, since)]
        parts += [
            model._base_manager.filter(**{f"{path}__updated_at__gte": since}).values("pk")
            for path in paths
        ]
        parts += [changed_since(child, since, key) for child, key in children]
        return parts

    return changed


def own_changes(model: type[models.Model]) -> Callable[[Any], list[models.QuerySet[Any]]]:
    """The window of a check about single rows of ``model`` (formats, references): the
    rows written since the last passed run."""
    return written_since(model)


def _incremental_window(check_name: str, started_at: Any) -> tuple[Any, Any]:
    """``(full pass time, rows changed since)`` for an incremental check's run, or
    ``(None, None)`` when this run must be a full pass."""
    from django.conf import settings

    from .models import DataQualityFinding

    previous = (
        DataQualityFinding.objects.filter(
            check_name=check_name, run__started_at__lt=started_at, run__finished_at__isnull=False
        )
        .select_related("run")
        .order_by("-run__started_at", "-id")
        .first()
    )
    oldest = started_at - timedelta(days=settings.DATA_QUALITY_FULL_PASS_DAYS)
    if (
        previous is None
        or not previous.passed
        or previous.full_pass_at is None
        or previous.full_pass_at < oldest
    ):
        return None, None
    margin = timedelta(minutes=settings.DATA_QUALITY_INCREMENTAL_MARGIN)
    return previous.full_pass_at, previous.run.started_at - margin


# Generated checks ------------------------------------------------------------------


def tenant_relations(app_label: str) -> Iterator[tuple[type[models.Model], Any]]:
    """``(model, field)`` for every foreign key of the app's tenant models that points
    at another tenant model (``company`` itself and links to users excluded)."""
    from core.models import TenantModel

    for model in apps.get_app_config(app_label).get_models():
        if not issubclass(model, TenantModel):
            continue
        for field in model._meta.get_fields():
            if not (field.concrete and (field.many_to_one or field.one_to_one)):
                continue
            target = field.related_model
            if (
                field.name != "company"
                and isinstance(target, type)
                and issubclass(target, TenantModel)
            ):
                yield model, field


def _tenant_check(model: type[models.Model], relation: str, plural: str) -> Outcome:
    # Incremental: a reference into another company is written with the row (its
    # foreign key or its company set by save()), so after a passed run only the rows
    # written since can hold a new one; a target moved to another company (no code path
    # does) or a raw write is found by the full pass.
    return changed_rows(tenant_mismatch(model, relation), own_changes(model), what=plural)


def register_tenant_checks(app_label: str, *, severity: str = Severity.ERROR) -> list[str]:
    """Register one ``tenant_mismatch`` check per cross-model foreign key of the app:
    ``<app>.<model>_<relation>_company``. The database's foreign keys forbid dangling
    references; what they cannot forbid is a reference into another company, which
    would show one tenant's record (a patient, a prescriber) to another. Returns the
    names registered."""
    names = []
    for model, field in tenant_relations(app_label):
        name = f"{app_label}.{model._meta.model_name}_{field.name}_company"
        plural = str(model._meta.verbose_name_plural)
        register(
            name,
            severity=severity,
            model=model,
            description=f"{plural[:1].upper()}{plural[1:]} whose {field.verbose_name} is a "
            f"record of another company (cross-tenant reference).",
        )(partial(_tenant_check, model, field.name, plural))
        names.append(name)
    return names


# Half a cent: money columns have two decimals, so two amounts that differ by less are
# equal; on SQLite, SUM() of decimals is a float (71.40 + 50.40 = 121.80000000000001).
HALF_CENT = Decimal("0.005")


def money_differs(left: Any, right: Any) -> "GreaterThanOrEqual[Any]":
    """A filter condition: money expressions ``left`` and ``right`` (field names or
    expressions) are not the same amount. Exact on PostgreSQL, float-safe on SQLite."""
    left = F(left) if isinstance(left, str) else left
    right = F(right) if isinstance(right, str) else right
    difference = ExpressionWrapper(left - right, output_field=DecimalField())
    return GreaterThanOrEqual(Abs(difference), Value(HALF_CENT, output_field=DecimalField()))


def money_exceeds(left: Any, right: Any) -> "GreaterThanOrEqual[Any]":
    """A filter condition: ``left`` is more than ``right`` by at least a cent."""
    left = F(left) if isinstance(left, str) else left
    right = F(right) if isinstance(right, str) else right
    difference = ExpressionWrapper(left - right, output_field=DecimalField())
    return GreaterThanOrEqual(difference, Value(HALF_CENT, output_field=DecimalField()))
