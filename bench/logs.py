"""The access log and audit entries at millions of rows (issue 19, item 4).

    python -m bench.logs --database-url postgres://postgres@127.0.0.1:5432/ariesone_bench_1000 \
        --rows 10000000

makes a scratch copy of the (seeded, migrated) bench database (``<name>_logs``, created
with ``CREATE DATABASE ... TEMPLATE``; the source is only read), generates ``--rows``
access-log rows and as many audit entries inside PostgreSQL (``INSERT ... SELECT`` over
``generate_series``, a million rows a statement: six years of them in time order,
newest densest, spread over the demo company's staff, channels, patients and records,
the audit entries copied from its own history, a tenth for a second company), with the
trails' secondary indexes dropped first and rebuilt after by their ``pg_indexes``
definitions (``--keep-indexes`` loads with them in place), runs ``VACUUM ANALYZE``, then
times the admin views of both trails as the demo Administrator sees them (``measure``:
best and p95 of ``--runs``), and drops the scratch copy (``--keep`` keeps it). A
progress bar on stderr, one summary line at the end. ``measure(runs)`` is also one of
``bench.measure.MEASURES``: ``make bench`` times the same views on each bench database,
at the rows it has.

The rows have the shape the application writes (valid foreign keys and record ids, the
company column, user agent, address, fields, chain sequence) but their chain hashes are
not HMACs: ``verify_access_log`` would fail on the copy, which is dropped anyway.
"""

import argparse
import datetime
import json
import os
import sys
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from . import commands
from .databases import BenchDatabase

AUDITOR = "administrator@demo.ariesone.test"  # holds the trails' view permission
SECTION = "trails (admin, as the Administrator)"
MARKER = "BENCH-LOGS "
# Rows per INSERT ... SELECT (and commit), per trail.
CHUNK = 1_000_000
YEARS = 6


def views():
    """(name, url) of each admin view timed: the default page and every filter."""
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import User
    from clinical.models import Patient
    from core.models import AccessLog

    access = "/admin/core/accesslog/"
    audit = "/admin/core/auditentry/"
    clinician = User.objects.get(email=AUDITOR.replace("administrator@", "clinician@"))
    patient_type = ContentType.objects.get_for_model(Patient)
    row = AccessLog.objects.filter(user=clinician).order_by("-timestamp").first()
    record = row.object_id if row else "0"
    from django.utils import timezone

    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    six_years = quote(str(midnight - datetime.timedelta(days=365 * YEARS + 2)))
    return [
        ("access log: default (last 7 days)", access),
        ("access log: past 6 years", f"{access}?timestamp__gte={six_years}"),
        ("access log: ?user=<clinician>", f"{access}?user={clinician.pk}"),
        ("access log: ?via=api", f"{access}?via__exact=api"),
        ("access log: ?action=export", f"{access}?action__exact=export"),
        (
            "access log: ?content_type=patient",
            f"{access}?content_type__id__exact={patient_type.pk}",
        ),
        ("access log: ?q=<record id>", f"{access}?q={record}"),
        ("audit entries: default (last 7 days)", audit),
        ("audit entries: ?actor=<clinician>", f"{audit}?actor={clinician.pk}"),
        ("audit entries: ?action=update", f"{audit}?action__exact=1"),
        ("audit entries: ?resource_type=patient", f"{audit}?resource_type={patient_type.pk}"),
        ("audit entries: ?q=<record id>", f"{audit}?q={record}"),
    ]


def measure(runs):
    """Rows for ``bench.measure``: each trail view, as the demo company's Auditor."""
    from django.test import Client

    from accounts.models import User

    from .measure import timed

    client = Client()
    client.force_login(User.objects.get(email=AUDITOR))
    rows = []
    for name, url in views():

        def get(url=url):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"bench: {url} answered {response.status_code}.")

        rows.append(timed(name, get, runs, SECTION))
    return rows


def _conninfo(url):
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def _scratch(source, reuse=False):
    """The scratch copy's BenchDatabase, created from ``source`` as a template (or the
    one a ``--keep`` run left, with ``reuse``)."""
    from psycopg import sql

    parts = urlsplit(source.url)
    name = f"{source.name}_logs"
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    scratch = BenchDatabase(url=url, name=name, vendor="postgresql")
    if reuse:
        if not scratch.exists():
            raise SystemExit(f"bench: {name} does not exist (run with --keep first).")
        return scratch
    if scratch.exists():
        raise SystemExit(f"bench: {name} exists (a run left it?); drop it or --reuse it.")
    with source._maintenance() as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source.name)
            )
        )
    scratch.created = True
    return scratch


def _scalar(connection, query, params=()):
    row = connection.execute(query, params).fetchone()
    return row[0] if row else None


def _second_company(connection, company):
    """Another company's id: the first one there is, else one made in the scratch copy
    (a tenth of each trail belongs to it, so every list's company condition selects)."""
    other = _scalar(connection, "SELECT id FROM accounts_company WHERE id <> %s LIMIT 1", [company])
    if other is not None:
        return other
    other = uuid.uuid4()
    connection.execute(
        "INSERT INTO accounts_company (id, created_at, updated_at, name, legal_name, npi, "
        "tax_id, phone, is_active, edi_contact_name, edi_isa_id, edi_isa_qualifier, "
        "edi_submitter_id) VALUES (%s, now(), now(), 'Bench Second Supply', "
        "'Bench Second Supply LLC', '', '', '', true, '', '', '', '')",
        [other],
    )
    return other


def _pools(connection):
    """What the generated rows pick from: the demo company's staff, patients and
    records (valid ids), its audit entries as templates, and a second company."""
    company = _scalar(
        connection,
        "SELECT id FROM accounts_company WHERE name = %s",
        ["Aries Demo Medical Supply"],
    )
    if company is None:
        raise SystemExit("bench: the database has no demo company (seed_demo first).")
    staff = connection.execute(
        "SELECT u.id, u.email FROM accounts_user u JOIN accounts_membership m "
        "ON m.user_id = u.id WHERE m.company_id = %s ORDER BY u.email",
        [company],
    ).fetchall()
    patients = [
        str(row[0])
        for row in connection.execute(
            "SELECT id FROM clinical_patient WHERE company_id = %s ORDER BY id LIMIT 20000",
            [company],
        )
    ]
    patient_type = _scalar(
        connection,
        "SELECT id FROM django_content_type WHERE app_label = 'clinical' AND model = 'patient'",
    )
    if not staff or not patients or patient_type is None:
        raise SystemExit("bench: the demo company has no staff or patients (seed_demo first).")
    # The other records staff open: what the company's audit trail names (orders,
    # claims, rentals, ...), each a real row of the seeded database.
    records = connection.execute(
        "SELECT DISTINCT a.content_type_id, a.object_pk FROM core_auditentry a "
        "JOIN django_content_type t ON t.id = a.content_type_id "
        "WHERE a.company_id = %s AND t.app_label IN ('clinical', 'dme', 'hme') "
        "ORDER BY 1, 2",
        [company],
    ).fetchall() or [(patient_type, patients[0])]
    # The company's own history entries, copied with new times and actors.
    connection.execute(
        "CREATE TEMP TABLE bench_template ON COMMIT PRESERVE ROWS AS "
        "SELECT row_number() OVER (ORDER BY id)::int AS n, content_type_id, object_pk, "
        "object_id, object_repr, serialized_data, action, changes_text, changes, "
        "additional_data FROM core_auditentry WHERE company_id = %s",
        [company],
    )
    templates = _scalar(connection, "SELECT count(*) FROM bench_template")
    if not templates:
        raise SystemExit("bench: the demo company has no audit entries (seed_demo first).")
    connection.execute("ANALYZE bench_template")
    other = _second_company(connection, company)
    seq = dict(
        connection.execute(
            "SELECT company_id, max(seq) FROM core_accesslog WHERE company_id IN (%s, %s) "
            "GROUP BY 1",
            [company, other],
        ).fetchall()
    )
    return {
        "now": datetime.datetime.now(datetime.UTC),
        "span": float(YEARS * 365 * 86400),
        "company": company,
        "other": other,
        "users": [row[0] for row in staff],
        "emails": [row[1] for row in staff],
        "patients": patients,
        "patient_type": patient_type,
        "record_types": [row[0] for row in records],
        "record_ids": [row[1] for row in records],
        "templates": templates,
        "seq_ours": seq.get(company) or 0,
        "seq_other": seq.get(other) or 0,
    }


# Row g of N (1..N) is one of the demo company's unless g is a multiple of 10 (the
# second company's); its time is N - g + jitter steps back on a quadratic scale over
# six years: rows come in time order (an append-only trail's physical order), newest
# densest (a growing supplier: 5.6% of the rows fall in the last 7 days). ``OFFSET 0``
# keeps the random draws in the inner query, evaluated once per row.
DRAWS = """
    SELECT g, g %% 10 <> 0 AS ours, random() AS jitter,
           1 + floor(random() * cardinality(%(users)s::uuid[]))::int AS u,
           1 + floor(random() * cardinality(%(patients)s::text[]))::int AS p,
           1 + floor(random() * cardinality(%(record_ids)s::text[]))::int AS o,
           random() AS r1, random() AS r2, random() AS r3
    FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS g OFFSET 0
"""
STAMP = (
    "%(now)s::timestamptz - make_interval(secs => %(span)s::float8 "
    "* power(1 - (d.g - 1 + d.jitter) / %(rows)s::float8, 2))"
)
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ACCESS_INSERT = f"""
INSERT INTO core_accesslog (timestamp, user_id, user_email, company_id, content_type_id,
    object_id, via, action, ip_address, user_agent, fields, purpose, seq, hash)
SELECT {STAMP},
    CASE WHEN d.ours THEN (%(users)s::uuid[])[d.u] END,
    CASE WHEN d.ours THEN (%(emails)s::text[])[d.u] ELSE '' END,
    CASE WHEN d.ours THEN %(company)s::uuid ELSE %(other)s::uuid END,
    CASE WHEN d.r1 < 0.7 OR NOT d.ours THEN %(patient_type)s::int
         ELSE (%(record_types)s::int[])[d.o] END,
    CASE WHEN NOT d.ours THEN gen_random_uuid()::text
         WHEN d.r1 < 0.7 THEN (%(patients)s::text[])[d.p]
         ELSE (%(record_ids)s::text[])[d.o] END,
    v.via,
    (ARRAY['view', 'view', 'view', 'view', 'view', 'view', 'list', 'list', 'list',
           'export'])[1 + floor(d.r3 * 10)::int],
    ('10.1.' || (d.g %% 200) || '.' || (1 + d.u))::inet,
    CASE WHEN v.via = 'api' THEN 'python-httpx/0.28.1' ELSE '{BROWSER}' END,
    '["dob", "first_name", "last_name"]'::jsonb,
    '',
    CASE WHEN d.ours THEN %(seq_ours)s::bigint + d.g - d.g / 10
         ELSE %(seq_other)s::bigint + d.g / 10 END,
    md5(d.g::text || 'a') || md5(d.g::text || 'b')
FROM ({DRAWS}) AS d
CROSS JOIN LATERAL (SELECT (ARRAY['admin', 'api', 'api', 'api', 'page'])
    [1 + floor(d.r2 * 5)::int] AS via) AS v
"""
AUDIT_INSERT = f"""
INSERT INTO core_auditentry (timestamp, actor_id, actor_email, company_id, content_type_id,
    object_pk, object_id, object_repr, serialized_data, action, changes_text, changes,
    remote_addr, additional_data)
SELECT {STAMP},
    CASE WHEN d.ours THEN (%(users)s::uuid[])[d.u] END,
    CASE WHEN d.ours THEN (%(emails)s::text[])[d.u] ELSE '' END,
    CASE WHEN d.ours THEN %(company)s::uuid ELSE %(other)s::uuid END,
    t.content_type_id,
    CASE WHEN NOT d.ours THEN gen_random_uuid()::text
         WHEN t.content_type_id = %(patient_type)s THEN (%(patients)s::text[])[d.p]
         ELSE t.object_pk END,
    t.object_id, t.object_repr, t.serialized_data, t.action, t.changes_text, t.changes,
    ('10.1.' || (d.g %% 200) || '.' || (1 + d.u))::inet,
    t.additional_data
FROM ({DRAWS}) AS d
JOIN bench_template AS t ON t.n = 1 + floor(d.r3 * %(templates)s)::int
"""
TRAILS = ("core_accesslog", "core_auditentry")


def _secondary_indexes(connection):
    """(table, name, definition) of the trails' indexes that back no constraint, as
    ``pg_indexes`` gives them: dropped before the load, recreated after exactly so.
    A partitioned trail's (core.partitions) print as ``ON ONLY <parent>``, which would
    build the parent's alone: rebuilt with ``ON``, on the parent and every partition."""
    return [
        (table, name, definition.replace(" ON ONLY ", " ON ", 1))
        for table, name, definition in connection.execute(
            "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
            "AND c.conrelid = (quote_ident(i.tablename))::regclass) ORDER BY 1, 2",
            [list(TRAILS)],
        ).fetchall()
    ]


def _monthly_partitions(connection, now):
    """On trails partitioned by month (core.partitions), the partitions of the six
    years the load spans, as the daily task would have made them month by month
    (``core.partitions.create_month``): else the old rows would all land in the default
    partition. Returns how many were created (0 on plain tables)."""
    import psycopg

    from core.partitions import create_month, month_start

    created = 0
    # Client-side binding, as Django's connections: the partition bounds are DDL.
    with psycopg.ClientCursor(connection) as cursor:
        for table in TRAILS:
            cursor.execute(
                "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table]
            )
            if cursor.fetchone() is None:
                continue
            for offset in range(YEARS * 12 + 1):
                created += create_month(cursor, table, month_start(now, -offset))
    return created


def load(url, rows, progress, rebuild=True):
    """Generate ``rows`` access-log rows and as many audit entries inside PostgreSQL
    (``INSERT ... SELECT`` over ``generate_series``, ``CHUNK`` rows a statement and a
    commit), with the trails' secondary indexes dropped and rebuilt after by their
    ``pg_indexes`` definitions (``rebuild``; else kept in place during the load).
    Returns the seconds spent (insert, index builds, vacuum)."""
    import psycopg
    from psycopg import sql

    spent = {"insert": 0.0, "indexes": 0.0, "vacuum": 0.0}
    with psycopg.connect(_conninfo(url)) as connection:
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute("SET synchronous_commit = off")
        # Monthly partitions are bounded in UTC (Django's connections run in UTC).
        connection.execute("SET TIME ZONE 'UTC'")
        params = {**_pools(connection), "rows": rows}
        indexes = _secondary_indexes(connection) if rebuild else []
        for _, name, _ in indexes:
            connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        _monthly_partitions(connection, params["now"])
        connection.commit()
        try:
            started = time.perf_counter()
            for low in range(1, rows + 1, CHUNK):
                high = min(rows, low + CHUNK - 1)
                chunk = {**params, "low": low, "high": high}
                connection.execute(ACCESS_INSERT, chunk)
                connection.execute(AUDIT_INSERT, chunk)
                connection.commit()
                progress.update(high - low + 1)
            spent["insert"] = time.perf_counter() - started
        finally:
            connection.rollback()
            started = time.perf_counter()
            for _, _, definition in indexes:
                connection.execute(definition)
                connection.commit()
            spent["indexes"] = time.perf_counter() - started
    started = time.perf_counter()
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        for table in TRAILS:
            connection.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    spent["vacuum"] = time.perf_counter() - started
    return spent


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.logs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", required=True, help="a seeded bench database")
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows per trail")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="load with the trails' indexes in place (default: drop, load, rebuild)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the scratch copy a --keep run left, without loading (kept again)",
    )
    options = parser.parse_args(argv)
    if options.rows < 1:
        parser.error("--rows must be at least 1.")
    source = BenchDatabase(
        url=options.database_url,
        name=urlsplit(options.database_url).path.lstrip("/"),
        vendor="postgresql",
    )
    if not source.exists():
        raise SystemExit(f"bench: {source.name} does not exist.")
    from tqdm import tqdm

    started = time.perf_counter()
    scratch = _scratch(source, reuse=options.reuse)
    loaded = None
    try:
        if not options.reuse:
            with tqdm(total=options.rows, desc="trails", unit="row", unit_scale=True) as bar:
                spent = load(scratch.url, options.rows, bar, rebuild=not options.keep_indexes)
            loaded = time.perf_counter() - started
        arguments = ["--measure", "--runs", str(options.runs)]
        rows = commands.child_result("bench.logs", scratch.url, arguments, MARKER, scratch.name)
        counted = _counts(scratch.url)
    finally:
        if not options.keep and not options.reuse:
            scratch.drop()
    print(f"\n{'view':<45} {'queries':>7} {'best ms':>9} {'p95 ms':>9}")
    for row in rows:
        print(f"{row['name']:<45} {row['queries']:>7} {row['ms']:>9.1f} {row['p95']:>9.1f}")
    worst = max(row["p95"] for row in rows)
    verdict = f"({'within' if worst <= 300 else 'OVER'} the 300 ms budget)"
    if loaded is None:
        print(
            f"\nTrails: about {counted[0]:,} access-log rows and {counted[1]:,} audit entries "
            f"(reused {scratch.name}, counts from the statistics); slowest view p95 "
            f"{worst:,.1f} ms {verdict}."
        )
        return
    print(
        f"\nTrails: {options.rows:,} access-log rows and {options.rows:,} audit entries loaded "
        f"in {loaded:,.0f} s ({options.rows / spent['insert']:,.0f} rows/s per trail inserting "
        f"{spent['insert']:,.0f} s, indexes {spent['indexes']:,.0f} s, vacuum "
        f"{spent['vacuum']:,.0f} s); slowest view p95 {worst:,.1f} ms {verdict}."
    )


def _counts(url):
    """The trails' row counts as the statistics give them (no count of 10M rows)."""
    import psycopg

    with psycopg.connect(_conninfo(url)) as connection:
        return [
            int(
                connection.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
                ).fetchone()[0]
            )
            for table in TRAILS
        ]


def _measure_main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.logs --measure")
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    sys.stdout.write(MARKER + json.dumps(measure(options.runs)) + "\n")


if __name__ == "__main__":
    if "--measure" in sys.argv[1:]:
        _measure_main(sys.argv[1:])
    else:
        main()
