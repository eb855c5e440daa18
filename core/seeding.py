"""The bulk part of the demo data: ``manage.py seed_demo --scale N``.

``seed_demo --scale N`` makes sure the demo company has at least N patients. The
clinical part creates the missing patients; then every app's ``demo_scale.seed_scale``
(called in INSTALLED_APPS order with the same :class:`ScalePlan`) adds its rows for
exactly those patients: orders, deliveries, rentals, coverage, claims, payments...

The rows are written a batch of patients at a time, so memory stays bounded whatever
N is; no service runs per row. The apps build :class:`Row` s (``row(Model, ...)``), not
model instances. On PostgreSQL they go in with ``COPY ... FROM STDIN`` through psycopg
3 (:func:`copy_rows`: the values ``save()`` would store, timestamps, blind indexes and
encryption with the field's own key included); elsewhere (SQLite) as model instances
with ``bulk_create``. The whole scale run is one transaction (all or nothing); when it
at least doubles the patients, the loaded tables' foreign keys and secondary indexes
are dropped before their first rows and built again before the commit
(:class:`BulkLoad`). The run ends with ``VACUUM ANALYZE`` (:func:`analyze`). The rows
must still satisfy every invariant the services keep (the data-quality checks prove
it), and the per-company number counters are moved past the numbers given out, so the
services carry on. Auditlog entries are not written for bulk rows (no signals).
"""

import base64
import datetime
import functools
import gc
import hashlib
import hmac
import json
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, reset_queries
from django.utils import timezone
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


class Batch(SimpleNamespace):
    """One batch's inputs, read ahead by an app's batch generator (the patients and
    what earlier apps wrote for them): :func:`each_batch` counts it by its
    ``patients``."""

    patients: Sequence[Any]

    def __len__(self) -> int:
        return len(self.patients)


def each_batch(context: Any, app_label: str, plan: ScalePlan, batches: Iterable[B]) -> Iterator[B]:
    """Yield ``batches`` (sized sequences) under one progress bar per app on stderr
    (silent when stderr is not a terminal), forgetting each batch's queries after it.

    With DEBUG on (the demo's usual setting) Django keeps the last 9,000 queries'
    SQL, and a bulk INSERT of 1,000 rows is about a megabyte of it: without the reset
    the seeding of 100,000 patients peaked at 1.3 GB instead of staying flat.

    Under a :class:`CopyPipeline` (``context.copies``) the next batch is read (its
    generator's queries: the rows earlier apps wrote) *before* the writes of the one
    just built are released to the writer thread, so they go on while the main thread
    builds that next batch. A batch's generator must read only what earlier apps
    wrote; the rest of its reads belong in the loop body (they wait for every write).
    """
    pipeline: CopyPipeline | None = getattr(context, "copies", None)
    iterator = iter(batches)

    def next_batch() -> B | None:
        if pipeline is None:
            return next(iterator, None)
        with pipeline.reading():
            return next(iterator, None)

    with tqdm(
        total=plan.count,
        desc=f"{app_label:<8}",
        unit="patient",
        unit_scale=True,
        file=plain_stream(context.stderr),
        disable=None,
        leave=True,
    ) as bar:
        batch = next_batch()
        while batch is not None:
            yield batch
            size = len(batch)
            batch = next_batch()
            if pipeline is not None:
                pipeline.release()
            reset_queries()
            if not gc.isenabled():  # under collector_paused(): what the batch left
                gc.collect()
            bar.update(size)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run, everything before it frozen,
    and one collection after each batch (:func:`each_batch`) instead.

    A batch builds some 40,000 rows that live until it is written: each few hundred
    allocations the collector walks the young objects, and the survivors pile into
    the older generations it walks in full again and again. Measured on 50,000 usage
    nights: building a row took 32 us with the collector, 14 us without. The rows hold
    no reference cycles (refcounting frees them), so the collection after each batch
    finds little: it keeps memory flat at no real cost.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


# Memory for the index builds at the end of a run (per process; the default 64 MB
# spills the sort of a 13-million-row index to disk).
INDEX_BUILD_MEMORY = "512MB"

# Whether the current role may alter the table (owns it, or is a member of its owner).
OWNS_TABLE_SQL = """
SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass
"""
# What PostgreSQL says of a table's foreign keys and of the indexes a bulk load can
# build afterwards: every index but the primary key, the unique ones (they stay and
# check as the rows arrive), those behind a constraint, and the plain one-column
# btree on a foreign key column (the load's own reads of the rows it wrote, such as
# "this batch's diagnoses", go through those).
FOREIGN_KEYS_SQL = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
"""
DEFERRABLE_INDEXES_SQL = """
SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
  AND NOT (
    x.indnatts = 1 AND x.indexprs IS NULL AND x.indpred IS NULL
    AND i.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
    AND pg_get_indexdef(x.indexrelid) NOT LIKE '%%pattern_ops%%'
    AND x.indkey[0] IN (
      SELECT c.conkey[1] FROM pg_constraint c
      WHERE c.conrelid = x.indrelid AND c.contype = 'f' AND cardinality(c.conkey) = 1
    )
  )
ORDER BY i.relname
"""


class BulkLoad:
    """The tables one ``--scale`` run loads on PostgreSQL, with their foreign keys and
    secondary indexes set aside for the load and built again at the end.

    Checked row by row, the foreign keys (``DEFERRABLE INITIALLY DEFERRED``) queue an
    event per row and key until the commit: about five per row, 185 million at 1M
    patients, each an index probe at the commit and all of them held in the server's
    memory. Kept up row by row, the secondary indexes (up to 21 a table, trigram GIN
    among them) cost more than the rows. So before a table's first rows its foreign
    keys and the indexes :data:`DEFERRABLE_INDEXES_SQL` picks are dropped, and
    :meth:`finish` creates the same indexes (sorted once each) and adds the same
    constraints back (each validated by one scan of the table) before the commit.
    It is all one transaction: if anything fails, the rollback restores them; until
    the commit the loaded tables are locked against every other session (a bench or
    demo database's seeding is not shared). Only when the run at least doubles the
    patients (:attr:`enabled`); elsewhere (SQLite) it does nothing.
    """

    def __init__(self, plan: "ScalePlan") -> None:
        self.plan = plan
        # table -> (index definitions, (constraint name, definition)...)
        self.set_aside: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
        # Tables given rows so far, and how many of them have fresh statistics.
        self.loaded: list[str] = []
        self.analyzed = 0

    def prepare(self, model: type[models.Model]) -> None:
        """Before the first rows of ``model``: drop its foreign keys and the indexes to
        build later (once per table and run)."""
        table = model._meta.db_table
        if connection.vendor == "postgresql" and table not in self.loaded:
            self.loaded.append(table)
        if not self.enabled or table in self.set_aside:
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            # Only the table's owner may drop its keys and indexes: under a role that owns
            # nothing (DATABASE_OPERATOR_ROLE, docs/security/rls.md) they stay up and the
            # load is slower, not refused.
            cursor.execute(OWNS_TABLE_SQL, [quote(table)])
            if not cursor.fetchone()[0]:
                self.set_aside[table] = ([], [])
                return
            if not self.set_aside:
                cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            cursor.execute(FOREIGN_KEYS_SQL, [quote(table)])
            keys = list(cursor.fetchall())
            cursor.execute(DEFERRABLE_INDEXES_SQL, [quote(table)])
            indexes = list(cursor.fetchall())
            # A table with foreign key checks still queued (rows written earlier in
            # the transaction: a test's normal demo) cannot be altered: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for name, _ in keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
        self.set_aside[table] = ([definition for _, definition in indexes], keys)

    @property
    def enabled(self) -> bool:
        """On PostgreSQL, when the run at least doubles the company's patients: a
        smaller top-up is cheaper with the indexes kept up than rebuilt whole."""
        plan = self.plan
        return connection.vendor == "postgresql" and plan.count * 2 >= plan.target

    def analyze_loaded(self) -> None:
        """``ANALYZE`` the tables loaded since the last call (an app's, once it is done).

        The apps after it read its rows a batch at a time (``number IN (...)``,
        ``patient_id IN (...)``). With the statistics of the tables as they were before
        the load (empty), the planner scanned the whole table for each batch: 1.0-1.9 s
        a batch at 1M patients, about 17 minutes for the orders alone, where it takes
        0.1 s at 100,000 and was missed. ``ANALYZE`` inside the load's transaction
        counts that transaction's own rows (a sample of 30,000 rows a table)."""
        tables = self.loaded[self.analyzed :]
        self.analyzed = len(self.loaded)
        if not tables:
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(quote(table) for table in tables)}")

    def finish(self) -> None:
        """Build the indexes and add the foreign keys back (the rows are all in)."""
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for indexes, _ in self.set_aside.values():
                for definition in indexes:
                    cursor.execute(definition)
            for table, (_, keys) in self.set_aside.items():
                if keys:
                    clauses = ", ".join(
                        f"ADD CONSTRAINT {quote(name)} {definition}" for name, definition in keys
                    )
                    cursor.execute(f"ALTER TABLE {quote(table)} {clauses}")
        self.set_aside = {}


class Row:
    """A row to load, built like the model instance it stands for and written by
    :func:`insert` without ever becoming one: ``row(Order, company=company,
    patient_id=..., status=OrderStatus.RECEIVED)``.

    A model instance costs about 100 us to build and save field by field (Django's
    ``Model.__init__`` sets every field through its descriptor, ``pre_save`` and
    ``get_db_prep_save`` run per field); at 1M patients that alone is an hour. A row
    keeps only the values given (in ``__dict__``); a missing field reads as its
    default, as on an unsaved instance; a foreign key reads both ways
    (``line.order`` the object given, ``line.order_id`` its key), and ``pk`` is the
    primary key, given a fresh UUID at once so other rows can point at it.
    """

    _model: type[models.Model]

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pk}>"

    @property
    def pk(self) -> Any:
        pk = self._model._meta.pk
        assert pk is not None
        return getattr(self, pk.attname)


_ROW_CLASSES: dict[type[models.Model], type[Row]] = {}


def _foreign_key(name: str, attname: str) -> tuple[property, property]:
    """The object and the key attributes of a row's foreign key, kept consistent."""

    def get_object(row: Row) -> Any:
        return row.__dict__.get(name)

    def set_object(row: Row, value: Any) -> None:
        row.__dict__[name] = value
        row.__dict__.pop(attname, None)

    def get_key(row: Row) -> Any:
        values = row.__dict__
        if attname in values:
            return values[attname]
        related = values.get(name)
        return None if related is None else related.pk

    def set_key(row: Row, value: Any) -> None:
        row.__dict__[attname] = value
        row.__dict__.pop(name, None)

    return property(get_object, set_object), property(get_key, set_key)


def row_class(model: type[models.Model]) -> type[Row]:
    """The :class:`Row` class of ``model``: its fields' constant defaults as class
    attributes (callable defaults are called when the row is written)."""
    cls = _ROW_CLASSES.get(model)
    if cls is None:
        attrs: dict[str, Any] = {"_model": model}
        for field in model._meta.concrete_fields:
            if field.is_relation:
                attrs[field.name], attrs[field.attname] = _foreign_key(field.name, field.attname)
            elif not (field.has_default() and callable(field.default)):
                attrs[field.attname] = field.get_default()
        cls = _ROW_CLASSES[model] = type(f"{model.__name__}Row", (Row,), attrs)
    return cls


def row(model: type[models.Model], **values: Any) -> Any:
    """A :class:`Row` of ``model`` with these values and its primary key."""
    pk = model._meta.pk
    assert pk is not None
    if pk.attname not in values and pk.has_default():
        values[pk.attname] = fresh_uuid() if pk.default is uuid.uuid4 else pk.get_default()
    return row_class(model)(**values)


# Random bytes read at a time for the ids (fresh_uuid): 4,096 ids.
_UUID_BLOCK = 16 * 4096
# Version 4 (bits 76-79: 0100) and the RFC 4122 variant (bits 62-63: 10).
_UUID4_MASK = ((1 << 128) - 1) ^ (0xF << 76) ^ (0x3 << 62)
_UUID4_BITS = (0x4 << 76) | (0x2 << 62)
_uuid_ints: list[int] = []


def fresh_uuid() -> uuid.UUID:
    """A random UUID exactly as ``uuid.uuid4()`` makes it (16 bytes of ``os.urandom``,
    the version and variant bits set), at two thirds of its cost: the bytes are read for
    4,096 ids at once, and the UUID is made as ``UUID.__init__`` finally makes it,
    without its argument checks. Every row has one: 38 million at 1M patients, where
    ``uuid4()`` was 9% of the seeder's samples (py-spy); 1.30 us each against 0.85 here
    (best of 7 timeit runs)."""
    if not _uuid_ints:
        data = os.urandom(_UUID_BLOCK)
        _uuid_ints.extend(
            (int.from_bytes(data[start : start + 16], "big") & _UUID4_MASK) | _UUID4_BITS
            for start in range(0, _UUID_BLOCK, 16)
        )
    value = object.__new__(uuid.UUID)
    object.__setattr__(value, "int", _uuid_ints.pop())
    object.__setattr__(value, "is_safe", uuid.SafeUUID.unknown)
    return value


def insert(context: Any, model: type[models.Model], rows: list[T], label: str) -> list[T]:
    """Write the :class:`Row` s of ``model`` and count them for the summary: ``COPY``
    on PostgreSQL (:func:`copy_rows`), ``bulk_create`` of model instances elsewhere.
    Either way the stored values are those ``save()`` would store: timestamps, blind
    indexes, encryption."""
    if rows:
        if connection.vendor == "postgresql":
            if context.bulk is not None:
                context.bulk.prepare(model)
            copy_rows(model, rows, getattr(context, "copies", None))  # type: ignore[arg-type]
        else:
            model._default_manager.bulk_create(
                [_instance(model, item) for item in rows],  # type: ignore[arg-type]
                batch_size=INSERT_BATCH,
            )
        context.count(label, len(rows))
    return rows


def _instance(model: type[models.Model], item: Row) -> models.Model:
    """The model instance of a row (``bulk_create``): related rows by their key."""
    values = dict(item.__dict__)
    for field in model._meta.concrete_fields:
        if field.is_relation and isinstance(values.get(field.name), Row):
            values[field.attname] = values.pop(field.name).pk
    return model(**values)


def update_rows(
    model: type[models.Model],
    objects: Sequence[models.Model],
    fields: list[str],
    pipeline: "CopyPipeline | None" = None,
) -> None:
    """Save ``fields`` of model instances already in the table: on PostgreSQL one
    ``UPDATE ... FROM`` a temporary table filled by ``COPY`` (``bulk_update``'s
    ``CASE WHEN`` per row took 4 ms a row, 5 s for 1,233 rentals), staged in the
    ``pipeline`` if given (:class:`CopyPipeline`); elsewhere ``bulk_update``."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields, batch_size=INSERT_BATCH)
        return
    db = connections[DEFAULT_DB_ALIAS]
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    chosen = [pk, *(opts.get_field(name) for name in fields)]
    quote = db.ops.quote_name
    table = quote(opts.db_table)
    columns = [quote(str(field.column)) for field in chosen]  # type: ignore[union-attr]
    values = [
        [
            field.get_db_prep_save(getattr(obj, field.attname), db)  # type: ignore[union-attr]
            for field in chosen
        ]
        for obj in objects
    ]
    assignments = ", ".join(f"{column} = seed_update.{column}" for column in columns[1:])
    statements = (
        f"CREATE TEMPORARY TABLE seed_update ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA",
        f"COPY seed_update ({', '.join(columns)}) FROM STDIN",
        f"UPDATE {table} SET {assignments} FROM seed_update "  # noqa: S608
        f"WHERE {table}.{columns[0]} = seed_update.{columns[0]}",
        "DROP TABLE seed_update",
    )
    _run_or_stage(functools.partial(_update, statements=statements, values=values), db, pipeline)


def _update(cursor: Any, statements: tuple[str, str, str, str], values: list[list[Any]]) -> None:
    create, copy, update, drop = statements
    cursor.execute(create)
    _copy(cursor, copy, values)
    # A temporary table has no statistics: the planner took the batch's few hundred
    # rows for more and hashed the whole target table to join them (a scan of every
    # rental for each batch: 490,000 at 1M patients). Counted, they are looked up by
    # primary key.
    cursor.execute("ANALYZE seed_update")
    cursor.execute(update)
    cursor.execute(drop)


class Fernet:
    """Fernet tokens as django-encrypted-model-fields writes them (its first key of
    ``FIELD_ENCRYPTION_KEY``, which ``decrypt_str`` reads with any of them), at a
    third of ``cryptography.fernet``'s cost per value.

    ``Fernet.encrypt`` builds an AES cipher (its key schedule), a padder and an HMAC
    per value. Here one CBC encryptor lives as long as the object: CBC chains each
    block on the ciphertext before it, so a value's first block is XORed with its own
    random IV *and* the encryptor's last ciphertext block, which gives exactly
    AES-CBC(key, IV, value), the token's ciphertext. The HMAC is a pre-keyed copy;
    the IVs come from ``os.urandom`` as ``Fernet`` takes them.
    """

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        keys = settings.FIELD_ENCRYPTION_KEY
        key = base64.urlsafe_b64decode(keys[0] if isinstance(keys, (list, tuple)) else keys)
        self.mac = hmac.new(key[:16], digestmod=hashlib.sha256)
        self.cbc = Cipher(algorithms.AES(key[16:]), modes.CBC(bytes(16))).encryptor()
        self.last = 0  # the encryptor's chaining block (its IV to start with: zeros)

    def encrypt(self, text: str) -> str:
        data = text.encode()
        padding = 16 - len(data) % 16
        data += bytes((padding,)) * padding
        iv = os.urandom(16)
        first = int.from_bytes(data[:16]) ^ int.from_bytes(iv) ^ self.last
        ciphertext = self.cbc.update(first.to_bytes(16) + data[16:])
        self.last = int.from_bytes(ciphertext[-16:])
        token = b"\x80" + int(time.time()).to_bytes(8) + iv + ciphertext
        mac = self.mac.copy()
        mac.update(token)
        return base64.urlsafe_b64encode(token + mac.digest()).decode()


# Django's own field classes, with the Python types each stores as they are on
# PostgreSQL: for those values ``get_db_prep_save`` returns its argument. Exact
# classes and exact types, so a field of its own, a str enum or a naive datetime
# still takes Django's way.
_AS_IS: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.EmailField: (str,),
    models.SlugField: (str,),
    models.URLField: (str,),
    models.TextField: (str,),
    models.BooleanField: (bool,),
    models.IntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.BigIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.DecimalField: (Decimal,),
    models.UUIDField: (uuid.UUID,),
    models.DateField: (datetime.date,),
    models.TimeField: (datetime.time,),
    models.BigAutoField: (int,),
    models.AutoField: (int,),
}
_MISSING = object()
Step = Callable[[Row], Any]


def _auto_stamped(field: models.Field) -> bool:  # type: ignore[type-arg]
    """A ``created_at``/``updated_at`` column: :func:`copy_rows` stamps the row."""
    return isinstance(field, models.DateTimeField) and bool(field.auto_now or field.auto_now_add)


def _step(field: models.Field, db: Any, fernet: Fernet) -> Step:  # type: ignore[type-arg]
    """How one field's column value comes from a row: what ``pre_save`` then
    ``get_db_prep_save`` give for a model instance, the common cases without them."""
    from encrypted_model_fields.fields import EncryptedMixin

    from .phi import BlindIndexField

    if isinstance(field, BlindIndexField):
        return _blind_index_step(field)
    # Django's date and time fields change the value in pre_save only when automatic.
    plain = type(field).pre_save in (
        models.Field.pre_save,
        models.DateField.pre_save,
        models.DateTimeField.pre_save,
        models.TimeField.pre_save,
    )
    automatic = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
    if not _auto_stamped(field) and (automatic or not plain):
        # A field of its own (a normalised code) or a date stamp: its pre_save, on the row.
        def custom(item: Row) -> Any:
            return field.get_db_prep_save(field.pre_save(item, True), db)  # type: ignore[arg-type]

        return custom
    value_of = _value_step(field)
    if isinstance(field, EncryptedMixin):
        return _encrypted_step(field, value_of, db, fernet)
    prepare = field.get_db_prep_save
    if isinstance(field, models.DateTimeField) and type(field) is models.DateTimeField:

        def moment(item: Row) -> Any:
            value = value_of(item)
            if value is None or (type(value) is datetime.datetime and value.tzinfo is not None):
                return value
            return prepare(value, db)

        return moment
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    types = (
        _AS_IS.get(type(target), ())
        if type(field).get_db_prep_save
        in (
            models.Field.get_db_prep_save,
            models.ForeignKey.get_db_prep_save,
        )
        else ()
    )

    def simple(item: Row) -> Any:
        value = value_of(item)
        if value is None or type(value) in types:
            return value
        return prepare(value, db)

    return simple


def _value_step(field: models.Field) -> Step:  # type: ignore[type-arg]
    """The row's value of ``field``: given, else its default (a callable one called
    once and kept, as ``Model.__init__`` does)."""
    attname = field.attname
    if not (field.has_default() and callable(field.default)):
        return lambda item: getattr(item, attname)
    default = field.get_default

    def value_or_default(item: Row) -> Any:
        value = item.__dict__.get(attname, _MISSING)
        if value is _MISSING:
            value = item.__dict__[attname] = default()
        return value

    return value_or_default


def _blind_index_step(field: Any) -> Step:
    """``BlindIndexField.pre_save``: the HMAC of the normalised source value, kept on
    the row; from a pre-keyed HMAC's copy (``core.phi.blind_index`` keys one per value)."""
    attname, source, normalizer = field.attname, str(field.source), field.normalizer
    keyed = hmac.new(settings.BLIND_INDEX_KEY.encode(), digestmod=hashlib.sha256)

    def blind_index(item: Row) -> Any:
        value = getattr(item, source)
        normalized = "" if value is None or value == "" else normalizer(value)
        result = None
        if normalized != "":
            mac = keyed.copy()
            mac.update(normalized.encode())
            result = mac.hexdigest()
        item.__dict__[attname] = result
        return result

    return blind_index


def _encrypted_step(field: Any, value_of: Step, db: Any, fernet: Fernet) -> Step:
    """``EncryptedMixin.get_db_prep_save`` (the plain field's value, as text, in a
    Fernet token) and ``EncryptedJSONField``'s (the JSON text in one)."""
    from encrypted_model_fields.fields import (
        EncryptedCharField,
        EncryptedDateField,
        EncryptedEmailField,
        EncryptedMixin,
        EncryptedTextField,
    )

    from .phi import EncryptedJSONField

    if type(field) is EncryptedJSONField:
        encoder = field.encoder

        def encrypted_json(item: Row) -> Any:
            value = value_of(item)
            return None if value is None else fernet.encrypt(json.dumps(value, cls=encoder))

        return encrypted_json
    if type(field) in (EncryptedCharField, EncryptedTextField, EncryptedEmailField):
        as_is: tuple[type, ...] = (str,)
    elif type(field) is EncryptedDateField:
        as_is = (datetime.date,)
    else:  # another encrypted kind: the library's own way, token and all

        def encrypted_other(item: Row) -> Any:
            return field.get_db_prep_save(value_of(item), db)

        return encrypted_other
    plain = super(EncryptedMixin, field).get_db_prep_save

    def encrypted(item: Row) -> Any:
        value = value_of(item)
        if value is None:
            return None
        if type(value) not in as_is:
            value = plain(value, db)
            if value is None:
                return None
        return fernet.encrypt(str(value))

    return encrypted


def copy_rows(
    model: type[models.Model], rows: Sequence[Row], pipeline: "CopyPipeline | None" = None
) -> None:
    """``COPY`` the :class:`Row` s of ``model`` into its table (PostgreSQL, psycopg 3).

    The values are those a saved instance would have: each field's default where a
    row has none, the auto timestamps (``created_at``/``updated_at``: the time of the
    write, a microsecond apart from row to row, so "in the order recorded" still
    holds), blind indexes computed, encrypted columns encrypted (:class:`Fernet`),
    related rows by their key, then ``get_db_prep_save`` unless the value is stored as
    it is (:data:`_AS_IS`). A primary key without a default (a sequence) is drawn in
    one query. No signals are sent (as with ``bulk_create``). Rows pass through
    psycopg's text-format dumpers: ``Jsonb`` for JSON, lists for arrays, ``Decimal``,
    dates and times as themselves. With a ``pipeline`` (a scale run) the values are
    computed here and the ``COPY`` itself is queued for its thread.
    """
    # The real connection, looked up once: ``django.db.connection`` is a proxy that
    # resolves the alias on every attribute.
    db = connections[DEFAULT_DB_ALIAS]
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not field.generated]
    fernet = Fernet()
    steps = [_step(field, db, fernet) for field in fields]
    stamps = [field.attname for field in fields if _auto_stamped(field)]
    pk = opts.pk
    assert pk is not None
    missing = [item for item in rows if getattr(item, pk.attname, None) is None]
    quote = db.ops.quote_name
    if missing:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(opts.db_table), pk.column, len(missing)],
            )
            for item, (value,) in zip(missing, cursor.fetchall(), strict=True):
                item.__dict__[pk.attname] = value
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
    stamp = _clock.next(len(rows))
    tick = datetime.timedelta(microseconds=1)
    # The column values, here and now (the rows' stamps, defaults and blind indexes
    # are set on them in the order written), then written by the pipeline's thread or
    # straight away.
    values = []
    for item in rows:
        if stamps:
            attributes = item.__dict__
            for attname in stamps:
                attributes[attname] = stamp
            stamp += tick
        values.append([step(item) for step in steps])
    _run_or_stage(functools.partial(_copy, statement=statement, values=values), db, pipeline)


def _copy(cursor: Any, statement: str, values: list[list[Any]]) -> None:
    with cursor.copy(statement) as copy:
        write = copy.write_row
        for value in values:
            write(value)


Job = Callable[[Any], None]  # given a psycopg cursor of the connection


class CopyPipeline:
    """The writes of a scale run (``COPY`` s, :func:`update_rows`), made by a second
    thread on the same connection and transaction while the main thread builds the
    next batch.

    Without it the server sits idle while Python builds a batch, and Python while the
    server parses, inserts and indexes what it was sent: on 100,000 patients 206 s of
    seeder CPU and 157 s of server CPU made 337 s of wall clock, only 26 s of them
    overlapped. :func:`copy_rows` computes the column values in the main thread (so
    the rows' stamps, defaults and keys are set in the order written) and :meth:`put` s
    the write, which is
    *staged*: :func:`each_batch` releases a batch's writes to the thread once it has
    read the next batch's inputs (:meth:`reading`: rows earlier apps wrote, never this
    batch's), so the thread writes batch *k* while the main thread builds *k + 1*.
    Any other use of the connection first releases everything and waits for the
    thread (:meth:`drain`): every query goes through Django's cursor, where an execute
    wrapper, installed for the pipeline's lifetime, calls it; the commit comes after
    the pipeline is closed. The thread waits on the server without the GIL. A write
    that fails is raised (as Django's ``DatabaseError``) in the main thread at the next
    query, :meth:`put` or the close, and the writes after it are skipped: the
    transaction is lost, all or nothing as before. psycopg 3's connections may be
    shared between threads (a cursor each); the two never use it at once.
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        # At most two batches' writes are held: one staged, one released.
        self.staged: list[Job] = []
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.error: BaseException | None = None
        self.cancelled = False
        self.in_read = False
        self.thread = threading.Thread(target=self._work, name="seed-writer", daemon=True)

    def put(self, job: Job) -> None:
        """Stage one write (``job(cursor)``), for the thread after :meth:`release`."""
        self._raise()
        self.staged.append(job)

    def release(self) -> None:
        """Hand the staged writes to the thread, in the order put."""
        for job in self.staged:
            self.jobs.put(job)
        self.staged = []

    def drain(self) -> None:
        """Release the staged writes, wait until the thread has made them all; raise
        the first failure."""
        self.release()
        self.jobs.join()
        self._raise()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Queries of the block wait for the released writes only: the staged ones
        stay (the block reads nothing they write)."""
        self.in_read = True
        try:
            yield
        finally:
            self.in_read = False

    def _raise(self) -> None:
        if self.error is not None:
            with self.db.wrap_database_errors:
                raise self.error

    def _before_query(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if self.in_read:
            self.jobs.join()
            self._raise()
        else:
            self.drain()
        return execute(sql, params, many, context)

    def _work(self) -> None:
        raw = self.db.connection  # psycopg's connection, not Django's wrapper
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                if self.error is None and not self.cancelled:
                    with raw.cursor() as cursor:
                        job(cursor)
            except BaseException as exc:  # raised in the main thread (_raise)
                self.error = exc
            finally:
                self.jobs.task_done()

    @contextmanager
    def running(self) -> Iterator["CopyPipeline"]:
        """The thread and the execute wrapper for the block; at its end every write
        is made (or, if the block failed, the rest skipped)."""
        self.thread.start()
        try:
            with self.db.execute_wrapper(self._before_query):
                yield self
            self.release()
        except BaseException:
            self.cancelled = True
            raise
        finally:
            self.jobs.put(None)
            self.thread.join()
        self._raise()


@contextmanager
def copy_pipeline() -> Iterator[CopyPipeline | None]:
    """A running :class:`CopyPipeline` on PostgreSQL for the block (None elsewhere:
    ``bulk_create`` needs no thread)."""
    if connection.vendor != "postgresql":
        yield None
        return
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    with CopyPipeline(db).running() as pipeline:
        yield pipeline


class _Clock:
    """Auto timestamps for bulk rows: now, but always after the last one given."""

    def __init__(self) -> None:
        self.last: datetime.datetime | None = None

    def next(self, count: int) -> datetime.datetime:
        """The first of ``count`` stamps a microsecond apart."""
        start = timezone.now()
        if self.last is not None and start <= self.last:
            start = self.last + datetime.timedelta(microseconds=1)
        self.last = start + datetime.timedelta(microseconds=count)
        return start


_clock = _Clock()


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


def _run_or_stage(job: Job, db: Any, pipeline: "CopyPipeline | None") -> None:
    """Hand ``job`` (a function of psycopg's cursor) to the pipeline's writer thread, or,
    with no pipeline, run it now on the connection ``db``: Django's cursor wrapper holds
    psycopg's cursor, which has ``copy()``."""
    if pipeline is not None:
        pipeline.put(job)
        return
    with db.cursor() as cursor:
        job(cursor.cursor)
