"""The bulk part of the demo data: ``manage.py seed_demo --scale N``.

``seed_demo --scale N`` makes sure the demo company has at least N patients. The
clinical part creates the missing patients; then every app's ``demo_scale.seed_scale``
(called in INSTALLED_APPS order with the same :class:`ScalePlan`) adds its rows for
exactly those patients: orders, deliveries, rentals, coverage, claims, payments...

The rows are written a batch of patients at a time, so memory stays bounded whatever
N is; no service runs per row. On PostgreSQL they go in with ``COPY ... FROM STDIN``
through psycopg 3 (:func:`copy_rows`: ids drawn from the table's sequence first, the
same ``pre_save``/``get_db_prep_save`` path as ``bulk_create``, so timestamps, blind
indexes and encryption are identical); elsewhere (SQLite) with ``bulk_create``. The
run ends with ``VACUUM ANALYZE`` (:func:`analyze`). Indexes and constraints stay in
place during the load: the whole scale run is one transaction (all or nothing), and
dropping an index inside it would lock the table for every other session until the
commit; the constraints (foreign keys are ``DEFERRABLE INITIALLY DEFERRED``) are
checked at the commit anyway. The rows must still satisfy every
invariant the services keep (the data-quality checks prove it), and the per-company
number counters are moved past the numbers given out, so the services carry on.
Auditlog entries are not written for bulk rows (``bulk_create`` sends no signals).
"""

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, reset_queries
from tqdm import tqdm

from .backups.progress import plain_stream

T = TypeVar("T")
B = TypeVar("B", bound=Sequence[Any])

# Patients handled together: every app builds the rows of one batch, writes them and
# forgets them (about 30 rows per patient: 30,000 objects in memory at most).
PATIENT_BATCH = 1000
# Rows per INSERT statement.
INSERT_BATCH = 1000
CENT = Decimal("0.01")


@dataclass
class ScalePlan:
    """What this ``--scale`` run adds.

    ``target`` is N; the clinical part sets ``first_number`` and ``count`` (the patient
    numbers ``first_number`` .. ``first_number + count - 1`` are this run's patients)
    before the other apps run. The random generators are seeded from ``seed`` (the
    company's name) and the first number: a run is reproducible, and two runs never
    draw the same stream.
    """

    target: int
    first_number: int = 0
    count: int = 0
    seed: str = ""

    @property
    def numbers(self) -> range:
        return range(self.first_number, self.first_number + self.count)

    def batches(self, size: int = PATIENT_BATCH) -> Iterator[range]:
        """This run's patient numbers, ``size`` at a time (ranges of ints)."""
        numbers = self.numbers
        for start in range(0, len(numbers), size):
            yield numbers[start : start + size]

    def rng(self, name: str) -> random.Random:
        """A random generator for one app's part (S311: demo data, not secrets)."""
        return random.Random(f"{self.seed}:{self.first_number}:{name}")  # noqa: S311


def each_batch(context: Any, app_label: str, plan: ScalePlan, batches: Iterable[B]) -> Iterator[B]:
    """Yield ``batches`` (sized sequences) under one progress bar per app on stderr
    (silent when stderr is not a terminal), forgetting each batch's queries after it.

    With DEBUG on (the demo's usual setting) Django keeps the last 9,000 queries'
    SQL, and a bulk INSERT of 1,000 rows is about a megabyte of it: without the reset
    the seeding of 100,000 patients peaked at 1.3 GB instead of staying flat.
    """
    with tqdm(
        total=plan.count,
        desc=f"{app_label:<8}",
        unit="patient",
        unit_scale=True,
        file=plain_stream(context.stderr),
        disable=None,
        leave=True,
    ) as bar:
        for batch in batches:
            yield batch
            reset_queries()
            bar.update(len(batch))


def insert(context: Any, model: type[models.Model], objects: list[T], label: str) -> list[T]:
    """Write the objects (``pre_save`` runs: timestamps, blind indexes, encryption) and
    count them for the summary: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.
    Either way each object has its primary key afterwards."""
    if objects:
        if connection.vendor == "postgresql":
            copy_rows(model, objects)  # type: ignore[arg-type]
        else:
            model._default_manager.bulk_create(objects, batch_size=INSERT_BATCH)  # type: ignore[arg-type]
        context.count(label, len(objects))
    return objects


def copy_rows(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """``COPY`` unsaved ``objects`` of ``model`` into its table (PostgreSQL, psycopg 3).

    What ``bulk_create`` does, without its multi-row ``INSERT ... RETURNING``: the
    related objects' ids are taken (``_prepare_related_fields_for_save``, so a
    ``Diagnosis(patient=patient)`` built before the patient was written works), the
    missing primary keys are drawn from the table's own sequence in one query, every
    concrete field's ``pre_save`` and ``get_db_prep_save`` run (auto timestamps, blind
    indexes, encryption), and the rows stream to ``COPY ... FROM STDIN``. No signals are
    sent (as with ``bulk_create``). Rows pass through psycopg's text-format dumpers:
    ``Jsonb`` for JSON, lists for arrays, ``Decimal``, dates and times as themselves.
    """
    # The real connection, looked up once: ``django.db.connection`` is a proxy that
    # resolves the alias on every attribute (11 s of a 3-minute run, once per value).
    db = connections[DEFAULT_DB_ALIAS]
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not field.generated]
    steps = [(field.pre_save, field.get_db_prep_save) for field in fields]
    pk = opts.pk
    assert pk is not None
    for obj in objects:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    missing = [obj for obj in objects if obj.pk is None]
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        if missing:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(opts.db_table), pk.column, len(missing)],
            )
            for obj, (value,) in zip(missing, cursor.fetchall(), strict=True):
                obj.pk = value
        columns = ", ".join(quote(field.column) for field in fields)
        statement = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
        # Django's cursor wrapper holds psycopg's cursor, which has copy().
        with cursor.cursor.copy(statement) as copy:
            for obj in objects:
                copy.write_row([prepare(pre_save(obj, True), db) for pre_save, prepare in steps])
    for obj in objects:
        obj._state.adding = False
        obj._state.db = db.alias


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def weighted(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    """One value from ``[(value, weight), ...]``."""
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights)[0]


def analyze() -> None:
    """After a bulk load on PostgreSQL (run after the commit): ``VACUUM ANALYZE``.

    Fresh planner statistics keep the query plans, and the admin's estimated counts,
    right straight away; the visibility map it sets lets counts and ``DISTINCT``
    lists use index-only scans. Autovacuum would get there in its own time. Measured
    on 100,000 patients (1.5 GB): 4 s, after which a company's ``COUNT(*)`` of
    patients fell from 54 ms to 9 ms. Inside a transaction (tests) VACUUM cannot run:
    ``ANALYZE`` only.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
