"""``python -m bench.payments``: the payments list, a payment's detail and the keyset SQL
of the same page, on the database of ``DATABASE_URL`` (a bench copy: it only reads,
apart from the access-log rows the detail writes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aries_bench_100000 \\
        DEBUG=1 .venv/bin/python -m bench.payments

Prints, per request, the best of ``--runs`` in ms, the p95, the median CPU time of this
process (what a loaded machine does not blur), its queries, and the ratio to the page's
keyset SQL (one ``SELECT`` of 50 payments ordered by the cursor's key).
Target (issue 19 item 3): a list page <= 50 ms at 100,000 patients, queries constant.
"""

import argparse
import os
import statistics
import sys
import time

from bench.measure import get_ok, percentile

PAGE = "/api/v1/payments/"


def _timed(call, runs):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up: plans, connection, templates
    times, cpu, queries = [], [], 0
    for index in range(runs):
        cache.clear()  # the throttle counters
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        queries = len(captured)
        sys.stderr.write(f"\r  {index + 1}/{runs}")
    sys.stderr.write("\r")
    times.sort()
    figures = {"best_ms": times[0], "p50_ms": statistics.median(times), "p95_ms": percentile(times)}
    # This process's CPU (Python: ORM, serializers, hashing), apart from the database's
    # and whatever else the machine runs: the figure a loaded machine does not blur.
    figures["cpu_ms"] = statistics.median(cpu)
    return figures, queries


def keyset_sql(company):
    """The page's own SQL: the 50 newest payments of the company, by the cursor key."""
    from django.db import connection

    def call():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM hme_payment WHERE company_id = %s "
                "ORDER BY created_at DESC, id DESC LIMIT 50",
                [company.pk],
            )
            cursor.fetchall()

    return call


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.payments", description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per request")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db.models import Count

    from hme.models import Payer, Payment

    from .measure import clients, company

    demo = company()
    api = clients()["api"]
    busiest = (
        Payment.objects.filter(company=demo)
        .annotate(n=Count("allocations"))
        .order_by("-n", "id")
        .first()
    )
    if busiest is None:
        raise SystemExit("bench.payments: the database has no payments (seed it first).")
    medicare = Payer.objects.filter(company=demo, kind="medicare").first()

    def get(url):
        return get_ok("bench.payments", api, url)

    targets = [("payments: first page", get(PAGE))]
    if medicare is not None:
        targets.append(("payments: ?payer=Medicare", get(f"{PAGE}?payer={medicare.pk}")))
    targets.append((f"payment: detail ({busiest.n} allocations)", get(f"{PAGE}{busiest.pk}/")))
    sql, _ = _timed(keyset_sql(demo), options.runs)
    payments = Payment.objects.filter(company=demo).count()
    print(f"payments: {payments:,}; keyset SQL of a page: {sql['best_ms']:.2f} ms")
    print(f"{'request':<40} {'best ms':>8} {'p95 ms':>8} {'cpu ms':>7} {'queries':>8} {'x SQL':>7}")
    worst = 0.0
    for name, call in targets:
        figures, queries = _timed(call, options.runs)
        ratio = figures["best_ms"] / sql["best_ms"] if sql["best_ms"] else 0.0
        if "page" in name:
            worst = max(worst, figures["p95_ms"])
        print(
            f"{name:<40} {figures['best_ms']:8.1f} {figures['p95_ms']:8.1f} "
            f"{figures['cpu_ms']:7.1f} {queries:8d} {ratio:7.1f}"
        )
    verdict = "within" if worst <= 50 else "OVER"
    print(f"summary: payments list p95 {worst:.1f} ms ({verdict} the 50 ms target)")


if __name__ == "__main__":
    main()
