"""Measure one seeded database (run by ``bench.__main__`` in a child process with that
database's ``DATABASE_URL``); prints one ``BENCH-RESULT {json}`` line.

Requests run in-process through Django's test ``Client`` (admin, session of the demo
Administrator) and DRF's ``APIClient`` (its JWT): warmed up once, then timed ``runs``
times; the best time and the 95th percentile (nearest rank: with 5 runs, the slowest)
are kept, with the number of queries of the best run. The throttle counters are
cleared before each request (they live in the cache), so the bench never meets a 429.
The operator commands are timed by ``bench.commands``.

Adding a measurement: write a function ``measure_x(runs) -> list[row]`` (a row is
``timed(name, call, runs)``, or a dict with ``name``, ``ms``, ``p95`` and ``queries``;
an optional ``section`` key groups rows under their own heading) and append it to
:data:`MEASURES`. ``python -m bench`` prints every row with one column per database
size and the ratios to the smallest.
"""

import argparse
import json
import os
import sys
import time
from base64 import b64encode
from urllib.parse import quote, urlencode

DEMO_COMPANY = "Aries Demo Medical Supply"
ADMINISTRATOR = "administrator@demo.ariesone.test"
MARKER = "BENCH-RESULT "
# A name prefix staff type: Smith is one of the demo's 263 last names (about 0.4%). At
# 1,000 patients it finds 4, a part page, so its ratio also counts the page filling up:
# BROAD_PREFIX (14% of the patients) fills a page at every size.
SEARCH_PREFIX = "smi"
BROAD_PREFIX = "s"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.measure")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    rows = []
    for function in MEASURES:
        rows.extend(function(options.runs))
    result = {"counts": counts(), "requests": rows}
    # Measurements with tables of their own (printed by their modules' ``report``).
    from . import cache, cockpit

    result["cockpit"] = cockpit.measure(options.runs, company())
    result["cache"] = cache.measure(clients(), options.runs)
    sys.stdout.write(MARKER + json.dumps(result) + "\n")


def get_ok(prog, client, url):
    """A call that GETs ``url`` through the test ``client`` and stops the bench (one
    line, ``prog`` first) when it does not answer 200."""

    def call():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{prog}: {url} answered {response.status_code}.")
        return response

    return call


def percentile(samples, share=0.95):
    """Nearest-rank percentile of the samples (``share`` of them at or below it)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil
    return ordered[int(rank) - 1]


def best_of(call, runs, before=None):
    """``call()`` timed ``runs`` times, ``before()`` (if given) ahead of each run:
    ``(best seconds, that run's CPU seconds, that run's queries, every run's seconds)``.
    The one timing loop of the bench modules."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples, best, cpu, queries = [], None, 0.0, 0
    for _ in range(runs):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            elapsed = time.perf_counter() - started
            used = time.process_time() - cpu_started
        samples.append(elapsed)
        if best is None or elapsed < best:
            best, cpu, queries = elapsed, used, len(captured)
    return best, cpu, queries, samples


def timed(name, call, runs, section=None):
    """One row: ``call()`` warmed up once, then timed ``runs`` times (cache cleared
    before each); best and p95 in ms, and the queries of the best run."""
    from django.core.cache import cache

    cache.clear()
    call()
    best, _cpu, queries, samples = best_of(call, runs, before=cache.clear)
    row = {"name": name, "ms": best * 1000, "p95": percentile(samples) * 1000, "queries": queries}
    if section:
        row["section"] = section
    sys.stderr.write(
        f"  {name:<45} {row['ms']:9.1f} ms (p95 {row['p95']:9.1f})  {queries:3d} queries\n"
    )
    return row


def company():
    from accounts.models import Company

    return Company.objects.get(name=DEMO_COMPANY)


def counts():
    from clinical.models import Appointment, Patient
    from dme.models import Order
    from hme.models import Claim, ClaimLine, Payment

    return {
        str(model._meta.verbose_name_plural): model.objects.count()
        for model in (Patient, Order, Claim, ClaimLine, Payment, Appointment)
    }


# The demo users whose dashboards are measured (the administrator's is "admin").
DASHBOARD_ROLES = ("intake", "warehouse", "billing")


def targets():
    """(name, kind, url) of every request measured; ids taken from the middle."""
    from clinical.models import Patient
    from dme.models import Order
    from hme.models import Claim, Payer

    demo = company()
    patients = Patient.objects.filter(company=demo).order_by("number")
    middle = patients[patients.count() // 2]
    order = Order.objects.filter(company=demo).order_by("number")[
        Order.objects.filter(company=demo).count() // 2
    ]
    claim = Claim.objects.filter(company=demo).order_by("number")[
        Claim.objects.filter(company=demo).count() // 2
    ]
    medicare = Payer.objects.get(company=demo, kind="medicare")
    prefix = SEARCH_PREFIX
    api = "/api/v1"
    return [
        ("API patients: first page", "api", f"{api}/patients/"),
        ("API patients: ?status=inactive", "api", f"{api}/patients/?status=inactive"),
        (f"API patients: ?search={prefix}", "api", f"{api}/patients/?search={prefix}"),
        (
            f"API patients: ?search={BROAD_PREFIX} (a full page at every size)",
            "api",
            f"{api}/patients/?search={BROAD_PREFIX}",
        ),
        ("API patient: retrieve", "api", f"{api}/patients/{middle.pk}/"),
        ("API orders: first page", "api", f"{api}/orders/"),
        ("API orders: ?status=verified", "api", f"{api}/orders/?status=verified"),
        ("API orders: cursor page half-way", "api", f"{api}/orders/?cursor={half_way(Order)}"),
        ("API order: retrieve", "api", f"{api}/orders/{order.pk}/"),
        ("API claims: first page", "api", f"{api}/claims/"),
        ("API claims: ?status=denied", "api", f"{api}/claims/?status=denied"),
        ("API claims: cursor page half-way", "api", f"{api}/claims/?cursor={half_way(Claim)}"),
        ("API claim: retrieve", "api", f"{api}/claims/{claim.pk}/"),
        ("API payments: first page", "api", f"{api}/payments/"),
        ("API payments: ?payer=Medicare", "api", f"{api}/payments/?payer={medicare.pk}"),
        ("API appointments: first page", "api", f"{api}/appointments/"),
        ("API appointments: ?status=scheduled", "api", f"{api}/appointments/?status=scheduled"),
        ("admin patients: first page", "admin", "/admin/clinical/patient/"),
        ("admin patients: ?q=<number>", "admin", f"/admin/clinical/patient/?q={middle.number}"),
        (f"admin patients: ?q={prefix}", "admin", f"/admin/clinical/patient/?q={prefix}"),
        (
            f"admin patients: ?q={BROAD_PREFIX} (a full page at every size)",
            "admin",
            f"/admin/clinical/patient/?q={BROAD_PREFIX}",
        ),
        ("admin patient: change page", "admin", f"/admin/clinical/patient/{middle.pk}/change/"),
        ("admin orders: first page", "admin", "/admin/dme/order/"),
        ("admin orders: ?q=<patient number>", "admin", f"/admin/dme/order/?q={middle.number}"),
        (f"admin orders: ?q={prefix}", "admin", f"/admin/dme/order/?q={prefix}"),
        (
            f"admin orders: ?q={BROAD_PREFIX} (a full page at every size)",
            "admin",
            f"/admin/dme/order/?q={BROAD_PREFIX}",
        ),
        ("admin claims: first page", "admin", "/admin/hme/claim/"),
        ("admin claims: ?q=<patient number>", "admin", f"/admin/hme/claim/?q={middle.number}"),
        (f"admin claims: ?q={prefix}", "admin", f"/admin/hme/claim/?q={prefix}"),
        (
            f"admin claims: ?q={BROAD_PREFIX} (a full page at every size)",
            "admin",
            f"/admin/hme/claim/?q={BROAD_PREFIX}",
        ),
        # The cockpit's role dashboards (the admin index) and the patient page's panels
        # (measured above as "admin patient: change page").
        ("dashboard: administrator (KPIs + all queues)", "admin", "/admin/"),
        ("dashboard: intake", "intake", "/admin/"),
        ("dashboard: warehouse", "warehouse", "/admin/"),
        ("dashboard: billing", "billing", "/admin/"),
    ]


def half_way(model):
    """A cursor (as DRF encodes it) pointing half-way down the newest-first list."""
    rows = model.objects.filter(company=company()).order_by("-created_at", "-id")
    position = rows.values_list("created_at", flat=True)[rows.count() // 2]
    return quote(b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii"))


def clients():
    from django.test import Client
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.authentication import COMPANY_CLAIM
    from accounts.models import User

    user = User.objects.get(email=ADMINISTRATOR)
    admin = Client()
    admin.force_login(user)
    refresh = RefreshToken.for_user(user)
    refresh[COMPANY_CLAIM] = str(company().pk)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    by_role = {}
    for role in DASHBOARD_ROLES:
        staff = Client()
        staff.force_login(
            User.objects.get(email=ADMINISTRATOR.replace("administrator@", f"{role}@"))
        )
        by_role[role] = staff
    return {"admin": admin, "api": api, **by_role}


def measure_requests(runs):
    by_kind = clients()
    results = []
    for name, kind, url in targets():
        client = by_kind[kind]

        def get(client=client, url=url):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"bench: {url} answered {response.status_code}.")

        results.append(timed(name, get, runs))
    return results


def measure_readiness(runs):
    from . import readiness

    return readiness.measure(clients()["api"], runs, company())


def measure_logs(runs):
    from . import logs

    return logs.measure(runs)


# Every measurement of one database, in report order (other bench modules append theirs).
MEASURES = [measure_requests, measure_readiness, measure_logs]


if __name__ == "__main__":
    main()
