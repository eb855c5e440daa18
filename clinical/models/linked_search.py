"""The patient search of a patient-linked list (orders, claims, rentals, ...): the rows
whose patient the one patient search finds, and the plans of its page and of its bounded
count on PostgreSQL.

``LinkedPatientSearch("patient", patients)`` is ``patient_id IN (the patients)`` as a
condition for ``filter()``. Left to the planner, a *name* search (``s``, ``smi``) is
planned from the estimates of how many patients match, and either way it reads every
match: the page hashes the matching patients' ids (14% of the patients for ``s``: some
140,000 at 1M) and the count of at most 1,001 rows gathers their orders first (issue 19:
at 1M patients the admin orders' ``?q=s`` took 205 ms against 109 at 1,000, the claims'
265 against 138). Two plans read about what they return instead:

- **The page** (:meth:`LinkedPatientSearch.plan_slice`, a slice in the list's own order):
  the list is walked in its order, at most ``WALK_PER_ROW`` rows per row of the page, and
  each row's patient is looked up by primary key and tested (a subquery per row that the
  planner cannot turn into a join); when the walk finds the page, that is the page. When
  it does not (a narrow search: fewer than one row in ``WALK_PER_ROW`` matches), the
  usual plan gathers the matches, which are then few: a one-time filter runs it only in
  that case. The rows of both parts are matches, and when the walk falls short every one
  it found is among the first matches, so the page is exactly the single query's.
- **The bounded count** (:meth:`LinkedPatientSearch.plan_count`): the matching patients
  are read from the prefix indexes one search branch after the other (a branch skips the
  patients an earlier one gave), and each patient's rows are counted through the list's
  patient index (``CROSS JOIN LATERAL``) until ``bound + 1`` are found: it stops after
  about a thousand patients, whatever the table's size.

Both are used only for a name search (``NameSearch``) of a direct patient column on
PostgreSQL; everything else (a patient number, a date of birth, SQLite, an order by a
joined column) keeps the single query. ``core.models.TenantQuerySet.__getitem__`` and
``core.pagination.bounded_count`` call them.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections
from django.db.models import BooleanField, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact

from core.models import compiled_sql

from .name_search import (
    AnyOfSubquery,
    NameSearch,
    ResolvedCondition,
    _ordering,
    _search_child,
    _without_search,
)

# The walk for a page reads at most this many rows per row of the page: a search that
# matches fewer than one row in 40 (2.5%) is gathered instead.
WALK_PER_ROW = 40
TIE_BREAKERS = {"pk", "id"}


class LinkedPatientSearch(ResolvedCondition):
    """``<field> IN (patients)``: the rows whose patient ``patients`` holds."""

    def __init__(self, field: str, patients: Any) -> None:
        super().__init__(output_field=BooleanField())
        self.path = field
        self.patients = patients

    def source(self) -> Q:
        return Q(**{f"{self.path}__in": self.patients.values("pk")})

    # The plans ---------------------------------------------------------------------

    def _attname(self, model) -> str | None:
        """The list's patient column (``patient_id``), or None for a joined one."""
        if "__" in self.path:
            return None
        try:
            return model._meta.get_field(self.path).attname
        except FieldDoesNotExist:
            return None

    def _plannable(self, queryset) -> bool:
        query = queryset.query
        return (
            connections[queryset.db].vendor == "postgresql"
            and not query.is_sliced
            and not query.combinator
            and not query.distinct
            and query.group_by is None
            and self._attname(queryset.model) is not None
            and _search_child(self.patients) is not None
        )

    def _base(self, queryset):
        """The queryset without this condition."""
        clone = queryset._chain()
        clone.query.where.children = [
            child for child in clone.query.where.children if not _is_linked(child, self)
        ]
        return clone

    def plan_slice(self, queryset, stop: int):
        """The queryset with this search planned for a page ending at row ``stop`` (the
        module docstring), or None to keep the single query."""
        if stop <= 0 or not self._plannable(queryset):
            return None
        columns = _own_ordering(queryset)
        if columns is None:
            return None
        try:
            sql, params = self._page_sql(queryset, columns, stop)
        except EmptyResultSet:
            return None
        return self._base(queryset).filter(AnyOfSubquery(F("pk"), sql, params))

    def _page_sql(self, queryset, columns, stop):
        model = queryset.model
        attname = self._attname(model)
        base = self._base(queryset)
        ordering = _ordering(queryset)
        names = {"w_pk": F("pk"), "w_patient": F(attname)}
        names.update({f"w_o{i}": F(name) for i, (name, _) in enumerate(columns)})
        walk_sql, walk_params = compiled_sql(
            _limited(base.order_by(*ordering).values(**names), WALK_PER_ROW * stop)
        )
        child = _search_child(self.patients)
        probe = (
            _without_search(self.patients)
            .filter(
                NameSearch(child.lhs.branches, indexable=False),
                pk=RawSQL('"w"."w_patient"', ()),
            )
            .order_by()
            .values(hit=Value(True))
        )
        probe_sql, probe_params = compiled_sql(_limited(probe, 1))
        order = ", ".join(
            f'"w"."w_o{i}"{" DESC" if descending else ""}'
            for i, (_, descending) in enumerate(columns)
        )
        gather_sql, gather_params = compiled_sql(
            _limited(queryset.order_by(*ordering).values("pk"), stop)
        )
        sql = (
            f'WITH "hits" AS MATERIALIZED (SELECT "w"."w_pk" FROM ({walk_sql}) AS "w" '  # noqa: S608 - the ORM's SQL, values as params
            f"WHERE ({probe_sql}) IS TRUE ORDER BY {order} LIMIT %s) "
            f'SELECT "w_pk" FROM "hits" UNION ALL (SELECT "g".* FROM ({gather_sql}) AS "g" '
            f'WHERE (SELECT COUNT(*) FROM "hits") < %s)'
        )
        params = (*walk_params, *probe_params, stop, *gather_params, stop)
        return sql, params

    def plan_count(self, queryset, bound: int) -> int | None:
        """How many rows the queryset holds, counted up to ``bound + 1`` (the module
        docstring), or None to count the usual way."""
        if not self._plannable(queryset):
            return None
        attname = self._attname(queryset.model)
        child = _search_child(self.patients)
        patients = _without_search(self.patients).order_by()
        branches: list[str] = []
        params: list[Any] = []
        earlier = Q()
        try:
            for branch in child.lhs.branches:
                rows = patients.filter(branch.condition())
                if earlier:
                    rows = rows.exclude(earlier)
                earlier |= branch.condition()
                sql, branch_params = compiled_sql(rows.values(p_id=F("pk")))
                branches.append(f"({sql})")
                params.extend(branch_params)
            linked = (
                self._base(queryset)
                .filter(**{attname: RawSQL('"p"."p_id"', ())})
                .order_by()
                .values(o_pk=F("pk"))
            )
            linked_sql, linked_params = compiled_sql(linked)
        except EmptyResultSet:
            return 0
        sql = (
            f'SELECT COUNT(*) FROM (SELECT 1 FROM ({" UNION ALL ".join(branches)}) AS "p" '  # noqa: S608 - the ORM's SQL
            f'CROSS JOIN LATERAL ({linked_sql}) AS "o" LIMIT %s) AS "t"'
        )
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(sql, (*params, *linked_params, bound + 1))
            return cursor.fetchone()[0]


def _limited(queryset, high: int):
    """``queryset[:high]`` without ``__getitem__`` (which would plan the slice again)."""
    clone = queryset._chain()
    clone.query.set_limits(high=high)
    return clone


def _is_linked(child, search=None) -> bool:
    return (
        isinstance(child, Exact)
        and isinstance(child.lhs, LinkedPatientSearch)
        and child.rhs is True
        and (search is None or child.lhs is search)
    )


def _own_ordering(queryset) -> list[tuple[str, bool]] | None:
    """The list's order as (own column, descending) pairs ending on the primary key, or
    None (an expression, a joined column, or no tie-breaker: the single query stays)."""
    columns = []
    for item in _ordering(queryset):
        if not isinstance(item, str) or "__" in item or item.startswith("?"):
            return None
        descending = item.startswith("-")
        name = item.lstrip("-+")
        if name not in TIE_BREAKERS:
            try:
                field = queryset.model._meta.get_field(name)
            except FieldDoesNotExist:
                return None
            if not getattr(field, "concrete", False) or field.is_relation:
                return None
        columns.append((name, descending))
    if not columns or columns[-1][0] not in TIE_BREAKERS:
        return None
    return columns
