"""The access log and audit entries at millions of rows (issue 19, item 4).

    python -m bench.logs --database-url postgres://postgres@127.0.0.1:5432/ariesone_bench_1000 \
        --rows 10000000

makes a scratch copy of the (seeded, migrated) bench database (``<name>_logs``, created
with ``CREATE DATABASE ... TEMPLATE``; the source is only read), streams ``--rows``
access-log rows and as many audit entries into it with ``COPY`` (six years of them,
newest densest, spread over the demo company's staff, channels and records, plus a
tenth for a second company), runs ``VACUUM ANALYZE``, then times the admin views of
both trails as the demo Auditor sees them (``measure``: best and p95 of ``--runs``),
and drops the scratch copy (``--keep`` keeps it). A progress bar on stderr, one
summary line at the end. ``measure(runs)`` is also one of ``bench.measure.MEASURES``:
``make bench`` times the same views on each bench database, at the rows it has.
"""

import argparse
import datetime
import json
import os
import random
import sys
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from . import commands
from .databases import BenchDatabase

AUDITOR = "administrator@demo.ariesone.test"  # holds the trails' view permission
SECTION = "trails (admin, as the Administrator)"
MARKER = "BENCH-LOGS "
CHUNK = 50_000
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


def _scratch(source):
    """The scratch copy's BenchDatabase, created from ``source`` as a template."""
    from psycopg import sql

    parts = urlsplit(source.url)
    name = f"{source.name}_logs"
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    scratch = BenchDatabase(url=url, name=name, vendor="postgresql")
    if scratch.exists():
        raise SystemExit(f"bench: {name} exists (a run left it?); drop it first.")
    with source._maintenance() as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source.name)
            )
        )
    scratch.created = True
    return scratch


def _people(connection):
    """(company id, [(user id, e-mail)], [patient id]) of the demo company, and a
    second company's id if there is one."""
    company = connection.execute(
        "SELECT id FROM accounts_company WHERE name = %s", ["Aries Demo Medical Supply"]
    ).fetchone()
    if company is None:
        raise SystemExit("bench: the database has no demo company (seed_demo first).")
    staff = connection.execute(
        "SELECT u.id, u.email FROM accounts_user u JOIN accounts_membership m "
        "ON m.user_id = u.id WHERE m.company_id = %s",
        [company[0]],
    ).fetchall()
    patients = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM clinical_patient WHERE company_id = %s LIMIT 20000", [company[0]]
        )
    ]
    other = connection.execute(
        "SELECT id FROM accounts_company WHERE id <> %s LIMIT 1", [company[0]]
    ).fetchone()
    return company[0], staff, patients or [uuid.uuid4()], other[0] if other else None


def _timestamps(rng, count, now):
    """``count`` instants over six years, newest densest (a growing supplier)."""
    span = YEARS * 365 * 86400
    for _ in range(count):
        yield now - datetime.timedelta(seconds=span * (rng.random() ** 2))


def load(url, rows, progress):
    """COPY ``rows`` access-log rows and as many audit entries into ``url``."""
    import psycopg
    from psycopg.types.json import Jsonb

    rng = random.Random(19)
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(_conninfo(url)) as connection:
        company, staff, patients, other = _people(connection)
        types = dict(
            connection.execute(
                "SELECT model, id FROM django_content_type WHERE app_label IN "
                "('clinical', 'dme', 'hme')"
            ).fetchall()
        )
        patient_type = types.get("patient") or next(iter(types.values()))
        type_ids = list(types.values())
        vias = ["admin", "api", "api", "api", "page"]
        actions = ["view"] * 6 + ["list"] * 3 + ["export"]
        fields = Jsonb(["first_name", "last_name", "dob"])
        access_columns = (
            "timestamp, user_id, user_email, company_id, content_type_id, object_id, via, "
            "action, user_agent, fields, purpose, hash"
        )
        audit_columns = (
            "timestamp, actor_id, actor_email, company_id, content_type_id, object_pk, "
            "object_repr, action, changes_text"
        )
        done = 0
        while done < rows:
            size = min(CHUNK, rows - done)
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY core_accesslog ({access_columns}) FROM STDIN") as copy:
                    for stamp in _timestamps(rng, size, now):
                        ours = other is None or rng.random() < 0.9
                        user, email = rng.choice(staff) if ours else (None, "")
                        copy.write_row(
                            (
                                stamp,
                                user,
                                email,
                                company if ours else other,
                                patient_type if rng.random() < 0.7 else rng.choice(type_ids),
                                str(rng.choice(patients)),
                                rng.choice(vias),
                                rng.choice(actions),
                                "bench",
                                fields,
                                "",
                                "",
                            )
                        )
                with cursor.copy(f"COPY core_auditentry ({audit_columns}) FROM STDIN") as copy:
                    for stamp in _timestamps(rng, size, now):
                        ours = other is None or rng.random() < 0.9
                        user, email = rng.choice(staff) if ours else (None, "")
                        copy.write_row(
                            (
                                stamp,
                                user,
                                email,
                                company if ours else other,
                                patient_type if rng.random() < 0.7 else rng.choice(type_ids),
                                str(rng.choice(patients)),
                                "P-000000",
                                rng.choice([0, 1, 1, 1, 2]),
                                "",
                            )
                        )
            connection.commit()
            done += size
            progress.update(size)
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE core_accesslog")
        connection.execute("VACUUM ANALYZE core_auditentry")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.logs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", required=True, help="a seeded bench database")
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows per trail")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
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
    scratch = _scratch(source)
    try:
        with tqdm(total=options.rows, desc="trails", unit="row", unit_scale=True) as bar:
            load(scratch.url, options.rows, bar)
        loaded = time.perf_counter() - started
        arguments = ["--measure", "--runs", str(options.runs)]
        rows = commands.child_result("bench.logs", scratch.url, arguments, MARKER, scratch.name)
    finally:
        if not options.keep:
            scratch.drop()
    print(f"\n{'view':<45} {'queries':>7} {'best ms':>9} {'p95 ms':>9}")
    for row in rows:
        print(f"{row['name']:<45} {row['queries']:>7} {row['ms']:>9.1f} {row['p95']:>9.1f}")
    worst = max(row["p95"] for row in rows)
    print(
        f"\nTrails: {options.rows:,} access-log rows and {options.rows:,} audit entries loaded "
        f"in {loaded:,.0f} s; slowest view p95 {worst:,.1f} ms "
        f"({'within' if worst <= 300 else 'OVER'} the 300 ms budget)."
    )


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
