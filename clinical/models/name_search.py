"""The name part of the patient search, and the plan of a page of it on PostgreSQL.

``smi`` finds patients whose last or first name starts with it, in any case; ``Doe, Ja``
and ``Jane Doe`` add the two-name forms (:meth:`PatientQuerySet.search`). Each form is a
:class:`NameBranch`; :class:`NameSearch` is their ``OR``, a condition the queryset filters
on like any other.

Counting the matches, or fetching all of them, is served by the upper-case prefix indexes
(``patient_last_prefix_idx``, ``patient_first_prefix_idx``). A *page* of them in the list's
order (last name, first name, number) is the hard part: the planner either gathers every
match and sorts them (its cost grows with the matches: 4,000 Smiths at 1M patients) or
walks ``patient_name_idx`` in order and filters, which is fast when the matches are spread
along the name order and reads most of the table when they are not: the last-name matches
of ``smi`` all sit near the end of the alphabet. Which one it takes depends on its
estimates; at 100,000 patients it once took the walk for ``smi`` and read 83,656 rows to
keep 100 (243.9 ms through the API against 31.5 at 1,000: issue 19, docs/scaling.md).

:func:`plan_name_page` gives a sliced page a plan that does not depend on the estimates.
Each branch with a last-name prefix gives its first ``stop`` rows by walking
``patient_name_idx`` in order *inside* the ranges its prefix can start with in any case
(``smi``: ``Sm``, ``sm``, ``SM``, ``sM`` and the two with a long s, U+017F; one
``LATERAL`` subquery planned once and run per range); the first-name branch gives its
own first ``stop`` rows (first names are spread evenly along the last-name order, which
is what the planner assumes); the page is then taken from those ids only
(``id = ANY(ARRAY(...))``, a primary-key lookup). Every part reads about ``stop`` rows,
whatever the table's size. The ranges need the database's collation to sort by code
point (C, POSIX, C.UTF-8 with the libc provider); on any other collation, on SQLite, or
for a prefix with a letter outside ASCII, the page keeps the single ``OR``.
"""

import json
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, CharField, Expression, F, Func, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact, IStartsWith

from core.models import compiled_sql

# The list's order (Patient.Meta.ordering); a page in another order keeps the single OR.
NAME_ORDER = ("last_name", "first_name", "number")
# A final tie-breaker the admin may add (ChangeList._get_deterministic_ordering).
TIE_BREAKERS = {"pk", "-pk", "id", "-id"}
# At most this many case ranges per prefix: ``smi`` splits on its first two letters (3 x 2
# ranges: ``S`` has the long s), ``john`` on all four (2 x 2 x 2 x 2).
MAX_RANGES = 16
# The characters PostgreSQL's UPPER() turns into each ASCII capital besides its own two
# cases (Unicode's simple uppercase mappings into ASCII: U+0131 dotless i, U+017F long s).
EXTRA_CASES = {"I": "\u0131", "S": "\u017f"}
# The ranges of a last-name branch, as rows ("bounds"."low", "bounds"."high").
RANGES_SQL = 'SELECT "page".* FROM unnest(%s::text[], %s::text[]) AS "bounds"("low", "high")'
CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8"}


class Unindexed(Func):
    """``(column || '')``: the column's text in an expression no index matches."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


@dataclass(frozen=True)
class NameBranch:
    """One form of a name search: a last-name prefix, a first-name prefix, or both."""

    last: str | None = None
    first: str | None = None

    def condition(self, indexable=True) -> Q:
        """The branch as a condition. ``indexable=False`` writes the same test in a form
        no index matches (``UPPER(last_name || '')``), so a planned page cannot fall back
        on gathering every match through the prefix indexes."""
        condition = Q()
        for field, prefix in (("last_name", self.last), ("first_name", self.first)):
            if prefix is None:
                continue
            if indexable:
                condition &= Q(**{f"{field}__istartswith": prefix})
            else:
                condition &= Q(IStartsWith(Unindexed(F(field)), prefix))
        return condition

    def last_name_ranges(self) -> list[tuple[str, str]] | None:
        """The ``[low, high)`` ranges of ``last_name`` (in code-point order) that hold
        every last name starting with the prefix in any case; None when there is no
        last-name prefix or one of its letters is outside ASCII (PostgreSQL's UPPER of
        such letters is not predictable from here)."""
        if not self.last:
            return None
        variants = []
        for character in self.last:
            if not character.isascii():
                return None
            if character.isalpha():
                upper = character.upper()
                variants.append(upper + upper.lower() + EXTRA_CASES.get(upper, ""))
            else:
                variants.append(character)
        length = 1
        while length < len(variants) and prod(map(len, variants[: length + 1])) <= MAX_RANGES:
            length += 1
        ranges = []
        for start in product(*variants[:length]):
            low = "".join(start)
            ranges.append((low, low[:-1] + chr(ord(low[-1]) + 1)))
        return ranges


class ResolvedCondition(Expression):
    """A condition for ``filter()`` written as a ``Q`` (:meth:`source`), resolved once
    against the query it filters; again (the queryset used as a subquery of another)
    only its outer references are resolved."""

    conditional = True
    output_field = BooleanField()
    resolved: Any = None

    def source(self) -> Q:
        raise NotImplementedError

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        clone = self.copy()
        source = self.source() if self.resolved is None else self.resolved
        clone.resolved = source.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return clone

    def get_source_expressions(self):
        return [self.resolved] if self.resolved is not None else []

    def set_source_expressions(self, expressions):
        if expressions:
            (self.resolved,) = expressions

    def as_sql(self, compiler, connection):
        return compiler.compile(self.resolved)


class NameSearch(ResolvedCondition):
    """The ``OR`` of a search's :class:`NameBranch` es, as a condition for ``filter()``."""

    def __init__(self, branches: tuple[NameBranch, ...], indexable: bool = True) -> None:
        super().__init__(output_field=BooleanField())
        self.branches = branches
        self.indexable = indexable

    def condition(self) -> Q:
        condition = Q()
        for branch in self.branches:
            condition |= branch.condition(self.indexable)
        return condition

    def source(self) -> Q:
        return self.condition()


class AnyOfSubquery(Expression):
    """``column = ANY(ARRAY(subquery))``: the subquery runs first, then the rows are
    looked up by the column's index (the planner cannot turn it into a join it would
    plan from its estimates)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: Any, sql: str, params: tuple[Any, ...]) -> None:
        super().__init__(output_field=BooleanField())
        self.column = column
        self.sql = sql
        self.params = params

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, expressions):
        (self.column,) = expressions

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return f"{column} = ANY(ARRAY({self.sql}))", (*params, *self.params)


# (alias, NAME, HOST, PORT) -> whether that database sorts by code point.
_CODE_POINT_ORDER: dict[tuple[str, ...], bool] = {}


def sorts_by_code_point(alias: str) -> bool:
    """Whether the database's default collation orders text by code point (asked once
    per database and process: a database's collation is fixed when it is created)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    settings = connection.settings_dict
    key = (alias, *(str(settings.get(name)) for name in ("NAME", "HOST", "PORT")))
    if key not in _CODE_POINT_ORDER:
        with connection.cursor() as cursor:
            # to_jsonb: datlocprovider exists from PostgreSQL 15 (libc "c" or ICU "i").
            cursor.execute(
                "SELECT to_jsonb(d) FROM pg_database d WHERE datname = current_database()"
            )
            row = cursor.fetchone()[0]
        if isinstance(row, str):  # Django's backend leaves JSON undecoded
            row = json.loads(row)
        _CODE_POINT_ORDER[key] = (
            row.get("datlocprovider", "c") == "c"
            and row["datcollate"] in CODE_POINT_COLLATIONS
            and row["datctype"] in CODE_POINT_COLLATIONS
        )
    return _CODE_POINT_ORDER[key]


def _is_search(child) -> bool:
    """Whether a ``WHERE`` child is a ``NameSearch`` not yet planned (indexable)."""
    return (
        isinstance(child, Exact)
        and isinstance(child.lhs, NameSearch)
        and child.lhs.indexable
        and child.rhs is True
    )


def _search_child(queryset):
    """The one top-level ``NameSearch`` condition of the queryset's ``WHERE``, or None
    (none, or two: a search of a search keeps the single ``OR``s)."""
    where = queryset.query.where
    if where.negated or where.connector != "AND":
        return None
    found = [child for child in where.children if _is_search(child)]
    return found[0] if len(found) == 1 else None


def has_name_search(queryset) -> bool:
    """Whether the queryset filters on one name search a page plan can serve."""
    return _search_child(queryset) is not None


def _ordering(queryset) -> tuple[str, ...]:
    query = queryset.query
    if query.order_by:
        return tuple(str(field) for field in query.order_by)
    if query.default_ordering:
        return tuple(queryset.model._meta.ordering)
    return ()


def _without_search(queryset):
    clone = queryset._chain()
    clone.query.where.children = [c for c in clone.query.where.children if not _is_search(c)]
    return clone


def plan_name_page(queryset, stop: int):
    """The queryset with its name search planned for a page ending at row ``stop``
    (module docstring), or None when the single ``OR`` stays: not PostgreSQL, not a
    name search, another order, a grouped, distinct or combined query, a collation
    that does not sort by code point, a prefix with a letter outside ASCII."""
    query = queryset.query
    if (
        stop <= 0
        or query.is_sliced
        or query.combinator
        or query.distinct
        or query.group_by is not None
        or connections[queryset.db].vendor != "postgresql"
    ):
        return None
    child = _search_child(queryset)
    if child is None:
        return None
    ordering = _ordering(queryset)
    if ordering[:3] != NAME_ORDER or not set(ordering[3:]) <= TIE_BREAKERS:
        return None
    search = child.lhs
    ranges = {branch: branch.last_name_ranges() for branch in search.branches}
    if any(branch.last and ranges[branch] is None for branch in search.branches):
        return None
    if not sorts_by_code_point(queryset.db):
        return None
    try:
        return _planned(queryset, search, ranges, ordering, stop)
    except EmptyResultSet:  # .none() or a condition no row meets: Django's own empty page
        return None


def _planned(queryset, search, ranges, ordering, stop):
    base = _without_search(queryset)
    low = RawSQL('"bounds"."low"', (), output_field=CharField())
    high = RawSQL('"bounds"."high"', (), output_field=CharField())
    parts, params = [], []
    for branch in search.branches:
        if ranges[branch]:
            inner = base.filter(
                branch.condition(indexable=False), last_name__gte=low, last_name__lt=high
            )
            sql, inner_params = compiled_sql(inner.order_by(*ordering).values("pk")[:stop])
            lows, highs = zip(*ranges[branch], strict=True)
            # The ORM's own SQL for the branch, run once per range; every value is a
            # parameter.
            parts.append(" ".join((RANGES_SQL, f'CROSS JOIN LATERAL ({sql}) AS "page"')))
            params.extend([list(lows), list(highs), *inner_params])
        else:
            inner = base.filter(branch.condition())
            sql, inner_params = compiled_sql(inner.order_by(*ordering).values("pk")[:stop])
            parts.append(f"({sql})")
            params.extend(inner_params)
    return base.filter(
        NameSearch(search.branches, indexable=False),
        AnyOfSubquery(F("pk"), " UNION ALL ".join(parts), tuple(params)),
    )
