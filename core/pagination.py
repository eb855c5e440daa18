"""Paginators that never count millions of rows exactly.

``EstimatedCountPaginator`` counts big unfiltered tables from PostgreSQL's statistics;
used by the API's page-number pagination (``core.api.pagination``). The admin's
``BoundedCountPaginator`` (``TenantAdminMixin.paginator``, the trails) adds a bounded
count for filtered and searched lists: ``COUNT(*)`` over the first 1,001 matches,
shown as "1,000+" (docs/decisions/0002-estimated-counts.md).
"""

import json
import sys
from typing import Any

from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connection, models
from django.utils.functional import cached_property

from .models import planning_condition

# Below this many rows an exact COUNT(*) is cheap, and nicer to show.
ESTIMATE_FROM = 100_000


def estimated_count(queryset: models.QuerySet[Any]) -> int | None:
    """Row count from PostgreSQL's statistics, else None (count exactly).

    Used when the only conditions are the tenant scope (``for_user``: the company, and
    the membership's locations), which is what every staff list starts from: no filter
    or search chosen. Unscoped (operators): the table's ``reltuples``; scoped: the
    planner's row estimate for the query (EXPLAIN, about 1 ms, from the column
    statistics of ``company_id``). ``COUNT(*)`` of one company's 100,000 patients took
    40-55 ms on a fresh table and 9 ms vacuumed, growing with the rows.
    """
    if connection.vendor != "postgresql" or not _tenant_scope_only(queryset):
        return None
    if queryset.query.where:
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        estimate = int(plan[0]["Plan"]["Plan Rows"])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        estimate = row[0] if row else -1
    # -1 or 0: never analysed; small tables: an exact count is cheap and nicer.
    return estimate if estimate >= ESTIMATE_FROM else None


def _tenant_scope_only(queryset: models.QuerySet[Any]) -> bool:
    """Whether every condition of the query is a tenant-scope one: ``company`` equal
    to (or in) something, or the model's ``location_field`` in the membership's
    locations. Any filter or search adds another condition: then count exactly."""
    where = queryset.query.where
    if where.negated or where.connector != "AND":
        return False
    model = queryset.model
    scope = {model._meta.get_field("company")} if _has_field(model, "company") else set()
    location_path = getattr(model, "location_field", None)
    if location_path:
        field, *rest = location_path.split("__")
        field = model._meta.get_field(field)
        for name in rest:
            field = field.related_model._meta.get_field(name)
        scope.add(field)
    for child in where.children:
        column = getattr(getattr(child, "lhs", None), "target", None)
        if getattr(child, "lookup_name", None) not in ("exact", "in") or column not in scope:
            return False
    return True


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.concrete_fields)


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Avoids ``SELECT COUNT(*)`` over millions of unfiltered rows (78 ms at 1M on
    PostgreSQL, against 1 ms for the planner's estimate): see :func:`estimated_count`."""

    # Admin changelists and the API's pagination always paginate a QuerySet.
    object_list: models.QuerySet[Any]

    @cached_property
    def count(self) -> int:
        estimate = estimated_count(self.object_list)
        return estimate if estimate is not None else super().count


# A filtered or searched admin list counts this many matches at most.
COUNT_BOUND = 1000


class AtLeast(int):
    """A count known to be more than the bound: ``int`` for the page arithmetic (the
    bound + 1, so one page past the bound's exists), "1,000+" wherever it is shown."""

    def __str__(self) -> str:
        return f"{int(self) - 1:,}+"

    __repr__ = __str__


def bounded_count(queryset: models.QuerySet[Any], bound: int | None = None) -> int:
    """``COUNT(*)`` of the first ``bound + 1`` rows (one query: a ``LIMIT`` subquery);
    :class:`AtLeast` when there are more. On a broad search of a big table the exact
    count read every match (58-83 ms for the admin claims' ``?q=smi`` at 100,000
    patients); this one stops after 1,001, whatever the table size."""
    bound = COUNT_BOUND if bound is None else bound
    planner = planning_condition(queryset, "plan_count")
    if planner is not None:
        # A search by patient name counts from the matching patients
        # (clinical.models.linked_search).
        found = planner.plan_count(queryset, bound)
        if found is not None:
            return AtLeast(bound + 1) if found > bound else found
    rows = queryset.order_by()
    if not rows.query.distinct:
        # Only the keys are counted: a column's subquery (the claims' first date of
        # service) ran for each of the 1,001 rows, 21 ms of a 46 ms search at 100,000.
        rows = rows.values("pk")
    found = rows[: bound + 1].count()
    return AtLeast(bound + 1) if found > bound else found


class BoundedPage(Page):  # type: ignore[type-arg]
    """A page of a list whose count is only a bound: whether a next page exists was
    read with the page (one row more than it shows), not worked out from the count."""

    def __init__(self, object_list: Any, number: int, paginator: Any, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class BoundedCountPaginator(EstimatedCountPaginator):
    """The admin's paginator: the planner's estimate for an unfiltered big list
    (PostgreSQL), else a bounded count (:func:`bounded_count`): exact up to 1,000,
    "1,000+" beyond, on any database."""

    # Whether the count is the planner's estimate (set with the count).
    estimated = False

    @cached_property
    def count(self) -> int:
        estimate = estimated_count(self.object_list)
        if estimate is not None:
            self.estimated = True
            return estimate
        return bounded_count(self.object_list)


class BoundedApiPaginator(BoundedCountPaginator):
    """The API's page-number paginator: the admin's counts (the planner's estimate for
    an unfiltered big list, else a bounded count, exact up to 1,000).

    Beyond the bound the count is an :class:`AtLeast` and the pages are not numbered
    from it: any page may be asked for (``API_MAX_PAGE_DEPTH`` stops deep ones first),
    each is read with one row more than it shows, to know whether a next one exists,
    and a page past the last row is a 404 as before. A broad search counted every match
    (``?search=s``: 14,546 patients at 100,000, 28-38 ms, growing with the table)."""

    @cached_property
    def num_pages(self) -> int:
        if isinstance(self.count, AtLeast):
            return sys.maxsize  # unknown: each page says whether another follows
        return super().num_pages

    def page(self, number: Any) -> Page:  # type: ignore[type-arg]
        if not isinstance(self.count, AtLeast):
            return super().page(number)
        number = self.validate_number(number)
        if number == self.num_pages:  # ?page=last: unknown past the bound
            raise EmptyPage(
                "The last page of a list of more than 1,000 rows is not known: follow "
                "next, or narrow the list with its filters or search."
            )
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return BoundedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)
