"""The cockpit at scale (issue 14): each role's dashboard (the admin index) and the
patient change page (its story panels), in-process through Django's test ``Client``;
best of ``runs`` after a warm-up, with the query count of that run.

Run by ``bench.measure`` on each bench database (``make bench``), or alone on one:

    DATABASE_URL=postgres://.../aries_bench_100000 python -m bench.cockpit [--runs 5]

Budget: each page under ``BUDGET_MS`` in-process on PostgreSQL, at a query count that
is the same on the small and the large database. Besides the wall time, the CPU time
of this process (``cpu ms``: Python and templates, not the database server) is shown:
on a shared machine the wall time also counts the waits for a CPU.

The dashboards read the company's stored figures (``cockpit.DashboardSnapshot``): on a
database without them the warm-up request computes them (as a company's first view
does), so the timed runs measure the reads, as between two refreshes of the task.
"""

import argparse
import os
import sys

BUDGET_MS = 150
DEMO_EMAIL = "{role}@demo.ariesone.test"
# (label, demo user's role): the administrator's index holds the KPIs and every queue.
DASHBOARDS = [
    ("dashboard: administrator", "administrator"),
    ("dashboard: intake", "intake"),
    ("dashboard: clinician", "clinician"),
    ("dashboard: warehouse", "warehouse"),
    ("dashboard: billing", "billing"),
    ("dashboard: auditor", "auditor"),
]


def _client(role):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=DEMO_EMAIL.format(role=role)))
    return client


def _best(client, url, runs):
    from django.core.cache import cache

    from .measure import best_of

    cache.clear()
    response = client.get(url)  # warm-up: templates, plans, connection
    if response.status_code != 200:
        raise SystemExit(f"bench.cockpit: {url} answered {response.status_code}.")
    best, cpu, queries, _samples = best_of(lambda: client.get(url), runs, before=cache.clear)
    return best * 1000, cpu * 1000, queries


def _patients(company):
    """The patient with the longest history (most orders, then claims) and one from
    the middle of the list."""
    from django.db.models import Count

    from clinical.models import Patient
    from dme.models import Order

    busiest = (
        Order.objects.filter(company=company)
        .values("patient")
        .annotate(n=Count("pk"))
        .order_by("-n", "patient")
        .first()
    )
    patients = Patient.objects.filter(company=company).order_by("number")
    middle = patients[patients.count() // 2]
    rows = [("patient page: middle of the list", middle.pk)]
    if busiest is not None:
        rows.append((f"patient page: longest history ({busiest['n']} orders)", busiest["patient"]))
    return rows


def measure(runs, company):
    """``[{"name", "ms", "queries"}]`` for every dashboard and the patient pages."""
    from django.urls import reverse

    results = []
    clients = {}
    for name, role in DASHBOARDS:
        clients[role] = _client(role)
        ms, cpu, queries = _best(clients[role], reverse("admin:index"), runs)
        results.append({"name": name, "ms": ms, "cpu_ms": cpu, "queries": queries})
        sys.stderr.write(f"  {name:<45} {ms:9.1f} ms  {queries:3d} queries\n")
    for name, pk in _patients(company):
        url = reverse("admin:clinical_patient_change", args=[pk])
        ms, cpu, queries = _best(clients["administrator"], url, runs)
        # The label of the busiest patient carries its order count; the report matches
        # the rows of both sizes by the words before it.
        results.append({"name": name, "ms": ms, "cpu_ms": cpu, "queries": queries})
        sys.stderr.write(f"  {name:<45} {ms:9.1f} ms  {queries:3d} queries\n")
    return results


def _key(name):
    return name.split(" (")[0]


def report(sizes, results):
    """Lines for ``bench.__main__.report``: both sizes, queries, the budget verdict."""
    small, large = (results[size]["cockpit"] for size in (sizes[0], sizes[-1]))
    print()
    print(
        f"{'Cockpit (budget ' + str(BUDGET_MS) + ' ms)':<45} {'queries':>9} {'small ms':>10} "
        f"{'large ms':>10} {'large cpu':>10} {'verdict':>9}"
    )
    by_name = {_key(row["name"]): row for row in small}
    for after in large:
        before = by_name.get(_key(after["name"]), after)
        queries = f"{before['queries']}/{after['queries']}"
        if before["queries"] == after["queries"]:
            queries = str(after["queries"])
        verdict = "ok" if after["ms"] < BUDGET_MS else "OVER"
        print(
            f"{after['name']:<45} {queries:>9} {before['ms']:>10.1f} {after['ms']:>10.1f} "
            f"{after.get('cpu_ms', 0):>10.1f} {verdict:>9}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cockpit")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from .measure import company

    rows = measure(options.runs, company())
    print(
        f"Cockpit on {connection.settings_dict['NAME']} ({connection.vendor}), best of "
        f"{options.runs}; budget {BUDGET_MS} ms:"
    )
    for row in rows:
        verdict = "ok" if row["ms"] < BUDGET_MS else "OVER"
        print(
            f"  {row['name']:<50} {row['queries']:>4} queries {row['ms']:>8.1f} ms "
            f"(cpu {row['cpu_ms']:>6.1f} ms)  {verdict}"
        )


if __name__ == "__main__":
    main()
