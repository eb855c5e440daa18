"""Monthly partitions of the append-only trails on PostgreSQL (docs/scaling.md).

The access log and the audit entries grow by millions of rows a year and are kept six
years (HIPAA documentation retention, 45 CFR 164.316(b)(2)(i)). On PostgreSQL each is a
table declaratively partitioned by month on its ``timestamp``: ``<table>_pYYYYMM`` for
each month and ``<table>_default`` for anything outside them. Retention then drops whole
partitions (``DROP TABLE``: no row-by-row ``DELETE``, no bloat, no vacuum debt), and a
date-bounded admin page reads only the partitions of its dates.

The primary key: PostgreSQL requires the partition key in every unique constraint, so
the table's primary key is ``(id, timestamp)``, while Django keeps ``id`` as the model's
primary key (the ``id`` column is an identity column: unique in practice, and every
``pk`` lookup, admin URL and foreign key keeps working). Django 5.2's
``CompositePrimaryKey`` would make ``pk`` a tuple everywhere (admin URLs, ``get(pk=)``,
serializers): not worth it for tables nobody references.

Row-level security: the policies are the parent's (``core.rls``); a query through the
parent sees what they allow. Each partition has RLS enabled and no policy, so the
application's role reading a partition by name sees no row at all (the owner, who
creates and moves partitions, and the operator's BYPASSRLS role are not held back).

Retention and the access log's hash chain: before a monthly partition of the access log
is dropped, each company's last dropped row (sequence and hash) is kept on its chain
head (``AccessLogChain.pruned_seq``/``pruned_hash``): the verifier starts there, so the
rows kept still verify and a row missing after it is still found.

SQLite has no partitions: everything here is a no-op there.
"""

import datetime
import re
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from core import rls

# table -> partition key column. (The events outbox and clinical.PredictionLog are not
# partitioned: docs/scaling.md, "Monthly partitions", says why.)
PARTITIONED = {"core_accesslog": "timestamp", "core_auditentry": "timestamp"}
# Months created ahead by the daily task (the current one and the next ones).
MONTHS_AHEAD = 3
# HIPAA documentation retention: 6 years (45 CFR 164.316(b)(2)(i)).
RETENTION_YEARS = 6
_PARTITION = re.compile(r"_p(\d{4})(\d{2})$")


def month_start(day: datetime.date, offset: int = 0) -> datetime.date:
    """The first day of ``day``'s month, ``offset`` months on (back when negative)."""
    index = day.year * 12 + day.month - 1 + offset
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: datetime.date) -> str:
    return f"{table}_p{month:%Y%m}"


def is_partitioned(table: str, db: BaseDatabaseWrapper | None = None) -> bool:
    db = db or connection
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table]
        )
        return cursor.fetchone() is not None


def _deny_direct_reads(cursor: Any, partition: str) -> None:
    """RLS on, no policy: read by its own name, the partition shows the application's
    role nothing (through the parent, the parent's policies apply)."""
    cursor.execute(f'ALTER TABLE "{partition}" ENABLE ROW LEVEL SECURITY')


def create_month(cursor: Any, table: str, month: datetime.date) -> bool:
    """Create the partition of ``month`` unless it exists; True if created. Rows of
    that month already in the default partition are moved into it."""
    # Every statement here names tables of PARTITIONED only (never input).
    assert table in PARTITIONED
    name = partition_name(table, month)
    cursor.execute("SELECT to_regclass(%s)", [name])
    if cursor.fetchone()[0] is not None:
        return False
    start, end = month, month_start(month, 1)
    column = PARTITIONED[table]
    default = f"{table}_default"
    # A default partition holding rows of the new range would refuse the attach:
    # take them out first, put them back through the parent afterwards.
    cursor.execute(
        f'CREATE TEMP TABLE "_moving" ON COMMIT DROP AS SELECT * FROM "{default}" '  # noqa: S608 - names from PARTITIONED
        f'WHERE "{column}" >= %s AND "{column}" < %s',
        [start, end],
    )
    cursor.execute(
        f'DELETE FROM "{default}" WHERE "{column}" >= %s AND "{column}" < %s',  # noqa: S608
        [start, end],
    )
    cursor.execute(
        f'CREATE TABLE "{name}" PARTITION OF "{table}" FOR VALUES FROM (%s) TO (%s)',
        [start.isoformat(), end.isoformat()],
    )
    _deny_direct_reads(cursor, name)
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "_moving"')  # noqa: S608 - names from PARTITIONED
    cursor.execute('DROP TABLE "_moving"')
    return True


def ensure_partitions(today: datetime.date | None = None, ahead: int = MONTHS_AHEAD) -> int:
    """Create this month's and the next ``ahead`` months' partitions of every
    partitioned trail (the daily task); returns how many were created."""
    if connection.vendor != "postgresql":
        return 0
    today = today or timezone.localdate()
    created = 0
    # DDL: the tables' owner (core.rls; under a login role that owns nothing it fails).
    with rls.owner(), transaction.atomic(), connection.cursor() as cursor:
        for table in PARTITIONED:
            if not is_partitioned(table):
                continue
            for offset in range(ahead + 1):
                created += create_month(cursor, table, month_start(today, offset))
    return created


def monthly_partitions(table: str) -> list[tuple[str, datetime.date]]:
    """(name, month) of the table's monthly partitions, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _PARTITION.search(name)
        if match and name.startswith(table):
            found.append((name, datetime.date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda item: item[1])


def retention_cutoff(today: datetime.date) -> datetime.date:
    """The first day kept: ``RETENTION_YEARS`` years before today (29 February: 28)."""
    try:
        return today.replace(year=today.year - RETENTION_YEARS)
    except ValueError:
        return today.replace(year=today.year - RETENTION_YEARS, day=28)


def drop_expired_partitions(today: datetime.date | None = None) -> list[str]:
    """Drop every monthly partition wholly older than the retention (its month ends on
    or before the cutoff day): 45 CFR 164.316(b)(2)(i) keeps six years. Returns the
    partitions dropped. A partition holding any day still kept stays."""
    if connection.vendor != "postgresql":
        return []
    cutoff = retention_cutoff(today or timezone.localdate())
    dropped = []
    with rls.owner(), transaction.atomic(), connection.cursor() as cursor:
        for table in PARTITIONED:
            if not is_partitioned(table):
                continue
            for name, month in monthly_partitions(table):
                if month_start(month, 1) <= cutoff:
                    if table == "core_accesslog":
                        _keep_chain_anchors(cursor, name)
                    cursor.execute(f'DROP TABLE "{name}"')
                    dropped.append(name)
    return dropped


def _keep_chain_anchors(cursor: Any, partition: str) -> None:
    """Before an access-log partition goes: each company's last row in it (sequence
    and hash) becomes its chain head's pruned point, unless the head already stands
    past it. ``core.access.verify_chain`` starts the walk there."""
    cursor.execute(
        "UPDATE core_accesslogchain AS head SET pruned_seq = last.seq, "  # noqa: S608 - a name of ours
        "pruned_hash = last.hash FROM ("
        "SELECT DISTINCT ON (company_id) coalesce(company_id::text, '') AS key, seq, hash "
        f'FROM "{partition}" WHERE seq IS NOT NULL '
        "ORDER BY company_id, seq DESC) AS last "
        "WHERE head.key = last.key AND head.pruned_seq < last.seq"
    )


# The migration's two directions ----------------------------------------------------


def _definitions(cursor: Any, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The table's secondary index definitions and (name, definition) of its foreign
    keys, as PostgreSQL prints them (read before the table is renamed)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s",
        [table],
    )
    # A partitioned parent's indexes print as "ON ONLY table": the plain copy takes "ON".
    indexes = [
        (name, definition.replace(" ON ONLY ", " ON "))
        for name, definition in cursor.fetchall()
        if name != f"{table}_pkey"
    ]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        [table],
    )
    foreign_keys = list(cursor.fetchall())
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    return [definition for _, definition in indexes], foreign_keys


def _copy_security(cursor: Any, old: str, table: str) -> None:
    """The old table's row-level security (enabled, forced, every policy) and its
    grants, onto the new one: the rebuilt table is never readable by a role the old
    one kept out, nor closed to one it let in (core.rls sets them after migrate too)."""
    cursor.execute(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(%s)",
        [old],
    )
    enabled, forced = cursor.fetchone()
    if enabled:
        cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    if forced:
        cursor.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    cursor.execute(
        "SELECT format('CREATE POLICY %%I ON %%I AS %%s FOR %%s TO %%s', policyname, %s, "
        "permissive, cmd, (SELECT string_agg(CASE WHEN r = 'public' THEN r "
        "ELSE quote_ident(r) END, ', ') FROM unnest(roles) AS r)) "
        "|| coalesce(' USING (' || qual || ')', '') "
        "|| coalesce(' WITH CHECK (' || with_check || ')', '') "
        "FROM pg_policies WHERE schemaname = current_schema() AND tablename = %s",
        [table, old],
    )
    for (statement,) in cursor.fetchall():
        cursor.execute(statement)
    cursor.execute(
        "SELECT format('GRANT %%s ON %%I TO %%I', a.privilege_type, %s, r.rolname) "
        "FROM pg_class c, aclexplode(c.relacl) AS a JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        [table, old],
    )
    for (statement,) in cursor.fetchall():
        cursor.execute(statement)


def _rebuild(cursor: Any, table: str, partitioned: bool, today: datetime.date) -> None:
    """Replace ``table`` by a partitioned (or plain) copy with the same columns,
    defaults, checks, identity, indexes and foreign keys, and the same rows."""
    column = PARTITIONED[table]  # only the tables of PARTITIONED (never input)
    old = f"{table}_old"
    indexes, foreign_keys = _definitions(cursor, table)
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"')
    like = f'(LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)'
    if partitioned:
        cursor.execute(f'CREATE TABLE "{table}" {like} PARTITION BY RANGE ("{column}")')
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")'
        )
        cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
        _deny_direct_reads(cursor, f"{table}_default")
        cursor.execute(f'SELECT min("{column}") FROM "{old}"')  # noqa: S608 - names from PARTITIONED
        first = cursor.fetchone()[0]
        month = month_start(timezone.localtime(first).date() if first else today)
        while month <= month_start(today, MONTHS_AHEAD):
            create_month(cursor, table, month)
            month = month_start(month, 1)
    else:
        cursor.execute(f'CREATE TABLE "{table}" {like}')
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id)')
    for definition in indexes:
        cursor.execute(definition)
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    _copy_security(cursor, old, table)
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608 - names from PARTITIONED
    cursor.execute(f'DROP TABLE "{old}"')
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608 - names from PARTITIONED
        f'GREATEST((SELECT max(id) FROM "{table}"), 1))',
        [table],
    )


def partition_tables(db: BaseDatabaseWrapper, tables: Iterable[str]) -> None:
    """Forward: each table becomes partitioned by month (PostgreSQL only)."""
    if db.vendor != "postgresql":
        return
    today = timezone.localdate()
    with db.cursor() as cursor:
        for table in tables:
            if not is_partitioned(table, db):
                _rebuild(cursor, table, partitioned=True, today=today)


def unpartition_tables(db: BaseDatabaseWrapper, tables: Iterable[str]) -> None:
    """Backward: each table becomes one plain table again, with every row."""
    if db.vendor != "postgresql":
        return
    today = timezone.localdate()
    with db.cursor() as cursor:
        for table in tables:
            if is_partitioned(table, db):
                _rebuild(cursor, table, partitioned=False, today=today)
