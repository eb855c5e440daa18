"""``python -m bench.lists``: the per-request cost of the big API lists (orders, patients,
claims first pages) against their keyset SQL and ``/health/``, on the database of
``DATABASE_URL`` (a bench copy: the pages append access-log rows).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aries_bench_100000 \\
        DEBUG=1 .venv/bin/python -m bench.lists [--runs 30] [--profile orders]

Per request: the median CPU time of this process around the test client's call (what
a loaded machine does not blur), the best and p95 wall times, the queries (counted in a
run of their own: recording queries costs CPU, so the timed runs record none), and the
ratio of the median CPU to the keyset SQL (the page's ``SELECT`` of 51 rows by the
cursor key, run and fetched through Django's cursor; ``EXPLAIN ANALYZE``'s execution
time beside it). DEBUG's query recording is switched off unless ``--debug``. ``--profile
NAME`` prints the cProfile of that page (cumulative time, top 40).
Target (issue 19 item 5): a 50-row list within 8x its keyset SQL.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time

from bench.measure import get_ok, percentile

PAGES = {
    "orders": ("/api/v1/orders/", "dme_order", "created_at DESC, id DESC"),
    "patients": ("/api/v1/patients/", "clinical_patient", "last_name, first_name, number"),
    "claims": ("/api/v1/claims/", "hme_claim", "created_at DESC, id DESC"),
}


def _timed(call, runs):
    call()  # warm-up: plans, connection, caches
    walls, cpus = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - started_cpu) * 1000)
    walls.sort()
    return {"cpu_ms": statistics.median(cpus), "best_ms": walls[0], "p95_ms": percentile(walls)}


def _queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def keyset_ms(table, ordering, company, runs=20):
    """The page's keyset ``SELECT`` of 51 rows (what the cursor asks for): ``(client
    ms, plan ms)``, the median wall time of running and fetching it through Django's
    cursor (the issue's "0.8 ms") and the best execution time ``EXPLAIN ANALYZE``
    gives (the server's own work)."""
    from django.db import connection

    sql = f"SELECT * FROM {table} WHERE company_id = %s ORDER BY {ordering} LIMIT 51"
    best, walls = None, []
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, [company.pk])
            cursor.fetchall()
            walls.append((time.perf_counter() - started) * 1000)
        for _ in range(5):
            cursor.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM "
                f"{table} WHERE company_id = %s ORDER BY {ordering} LIMIT 51",
                [company.pk],
            )
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            figure = plan[0]["Execution Time"]
            best = figure if best is None else min(best, figure)
    return statistics.median(walls), best


def profile(call, top=40):
    call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per request")
    parser.add_argument("--profile", choices=sorted(PAGES), help="print this page's cProfile")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="keep DEBUG's query recording (a bench artefact: production runs without it)",
    )
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if not options.debug:
        # The bench copy was seeded with DEBUG's development keys, so the settings load
        # with DEBUG on; only its per-query recording is switched off here.
        from django.conf import settings

        settings.DEBUG = False
    from django.test import Client

    from .measure import clients, company

    demo = company()
    api = clients()["api"]
    if options.profile:
        profile(get_ok("bench.lists", api, PAGES[options.profile][0]))
        return
    health = _timed(get_ok("bench.lists", Client(), "/health/"), options.runs)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average {load}; /health/ CPU {health['cpu_ms']:.2f} ms (median)")
    print(
        f"{'page':<10} {'cpu ms':>7} {'best ms':>8} {'p95 ms':>8} {'queries':>8} "
        f"{'SQL ms':>7} {'plan ms':>8} {'cpu/SQL':>8} {'cpu/health':>11}"
    )
    for name, (url, table, ordering) in PAGES.items():
        call = get_ok("bench.lists", api, url)
        figures = _timed(call, options.runs)
        queries = _queries(call)
        sql, planned = keyset_ms(table, ordering, demo)
        print(
            f"{name:<10} {figures['cpu_ms']:7.1f} {figures['best_ms']:8.1f} "
            f"{figures['p95_ms']:8.1f} {queries:8d} {sql:7.2f} {planned:8.2f} "
            f"{figures['cpu_ms'] / sql:8.1f} {figures['cpu_ms'] / health['cpu_ms']:11.1f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
