"""Cached against uncached (``core.caching``): the same requests with every cached
entry expired before each run (cold: what every request cost before the cache) and
with the cache as it is after the first request (warm). Run inside ``bench.measure``'s
child process (``make bench``) or alone on a seeded database:

    DEBUG=1 DATABASE_URL=postgres://.../aries_bench_1000 python -m bench.cache

Prints queries and best time of each request both ways, and the hit ratio of the warm
runs per kind (the counters ``/metrics`` exports). Besides the lists, the paths that read
the catalogue and the payers as reference data (``core.reference``): an order's change
page (each line's item checked), an order created through the API with five lines (each
line's item resolved and checked; run in a transaction that is rolled back, so the
database is left as it was) and the billing changelists' payer filter.
"""

import os
import sys
from dataclasses import dataclass, field

# API lists and admin pages read on every visit (a subset of bench.measure's targets).
TARGETS = [
    ("API payers: first page", "api", "/api/v1/payers/"),
    ("API orders: first page", "api", "/api/v1/orders/"),
    ("API claims: first page", "api", "/api/v1/claims/"),
    ("API patients: first page", "api", "/api/v1/patients/"),
    ("API locations", "api", "/api/v1/locations/"),
    ("admin orders: first page", "admin", "/admin/dme/order/"),
    ("admin claims: first page", "admin", "/admin/hme/claim/"),
    ("admin patients: first page", "admin", "/admin/clinical/patient/"),
    ("admin payments: first page", "admin", "/admin/hme/payment/"),
    ("admin coverages: first page", "admin", "/admin/hme/coverage/"),
]
# Lines of the order the bench creates through the API.
ORDER_LINES = 5


@dataclass
class Post:
    """A write measured inside a transaction that is rolled back afterwards."""

    url: str
    body: dict = field(default_factory=dict)
    status: int = 201


class _RolledBack(Exception):
    pass


def targets():
    """:data:`TARGETS` and the requests that need the demo's ids."""
    import datetime

    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import Location
    from clinical.models import Patient, Provider
    from dme.choices import BillingKind
    from dme.models import Equipment, Order

    from .measure import company

    demo = company()
    rows = list(TARGETS)
    order = (
        Order.objects.filter(company=demo)
        .annotate(lines_count=Count("lines"))
        .order_by("-lines_count", "number")
        .first()
    )
    if order is not None:
        rows.append(
            (
                f"admin order: change page ({order.lines_count} lines)",
                "admin",
                f"/admin/dme/order/{order.pk}/change/",
            )
        )
    items = list(
        Equipment.objects.filter(
            company=demo,
            is_active=True,
            billing_kind__in=[BillingKind.PURCHASE, BillingKind.SUPPLY],
        ).order_by("name")[:ORDER_LINES]
    )
    patient = Patient.objects.filter(company=demo).order_by("number").first()
    prescriber = Provider.objects.filter(company=demo).order_by("created_at").first()
    location = Location.objects.filter(company=demo).order_by("created_at").first()
    if items and patient and prescriber and location:
        day = timezone.localdate() - datetime.timedelta(days=2)
        body = {
            "patient": str(patient.pk),
            "prescriber": str(prescriber.pk),
            "location": str(location.pk),
            "written_order_date": day.isoformat(),
            "lines": [
                {"equipment": str(item.pk), "quantity": 1, "modifiers": ["NU"]} for item in items
            ],
        }
        rows.append(
            (f"API order: create, {len(items)} lines", "api", Post("/api/v1/orders/", body))
        )
    return rows


def _clear_throttles(users):
    from django.core.cache import cache

    cache.delete_many([f"throttle_user_{user.pk}" for user in users])


def _run(client, url, runs, cold, users):
    from core.caching import expire_all

    from .measure import best_of

    def before():
        _clear_throttles(users)
        if cold:
            expire_all()

    def call():
        if isinstance(url, Post):
            _post(client, url)
            return
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"bench.cache: {url} answered {response.status_code}.")

    best, _cpu, queries, _samples = best_of(call, runs, before=before)
    return best * 1000, queries


def _post(client, target):
    from django.db import transaction

    try:
        with transaction.atomic():
            response = client.post(target.url, target.body, format="json")
            raise _RolledBack
    except _RolledBack:
        pass
    if response.status_code != target.status:
        raise SystemExit(f"bench.cache: POST {target.url} answered {response.status_code}.")


def _request(client, url):
    if isinstance(url, Post):
        _post(client, url)
    else:
        client.get(url)


def _counts():
    from core.caching import KINDS
    from core.metrics import CACHE_REQUESTS

    return {
        (kind, result): CACHE_REQUESTS.labels(kind=kind, result=result)._value.get()
        for kind in KINDS
        for result in ("hit", "miss")
    }


def measure(by_kind, runs):
    """``{"requests": [...], "hit_ratio": {kind: ratio}}``."""
    from accounts.models import User

    users = list(User.objects.filter(email__endswith="@demo.ariesone.test"))
    rows = []
    before = after = None
    for name, kind, url in targets():
        client = by_kind[kind]
        _clear_throttles(users)
        _request(client, url)  # warm-up: templates, plans, connection
        cold_ms, cold_queries = _run(client, url, runs, True, users)
        _request(client, url)  # fills the cache
        start = _counts()
        warm_ms, warm_queries = _run(client, url, runs, False, users)
        end = _counts()
        before = start if before is None else {k: before[k] + start[k] for k in start}
        after = end if after is None else {k: after[k] + end[k] for k in end}
        rows.append(
            {
                "name": name,
                "cold_ms": cold_ms,
                "cold_queries": cold_queries,
                "warm_ms": warm_ms,
                "warm_queries": warm_queries,
            }
        )
        sys.stderr.write(
            f"  cache {name:<35} cold {cold_ms:7.1f} ms {cold_queries:3d} q, "
            f"warm {warm_ms:7.1f} ms {warm_queries:3d} q\n"
        )
    ratios = {}
    if before and after:
        from core.caching import KINDS

        for kind in KINDS:
            hits = after[(kind, "hit")] - before[(kind, "hit")]
            misses = after[(kind, "miss")] - before[(kind, "miss")]
            if hits + misses:
                ratios[kind] = hits / (hits + misses)
    return {"requests": rows, "hit_ratio": ratios}


def report(sizes, results):
    """The table of ``make bench``: per size, cold and warm queries and times."""
    print()
    print("Caching (core.caching): cold = every cached entry expired before each run")
    print(f"{'request':<36} {'size':>8} {'queries cold/warm':>18} {'ms cold':>9} {'ms warm':>9}")
    for size in sizes:
        data = results[size].get("cache")
        if not data:
            continue
        label = f"{size:,}" if isinstance(size, int) else str(size)
        for row in data["requests"]:
            queries = f"{row['cold_queries']}/{row['warm_queries']}"
            print(
                f"{row['name']:<36} {label:>8} {queries:>18} {row['cold_ms']:>9.1f} "
                f"{row['warm_ms']:>9.1f}"
            )
        ratios = ", ".join(f"{kind} {ratio:.0%}" for kind, ratio in data["hit_ratio"].items())
        print(f"  hit ratio of the warm runs ({label}): {ratios or 'no reads'}")


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from .measure import clients

    runs = int(os.environ.get("BENCH_RUNS", "5"))
    result = measure(clients(), runs)
    report(["here"], {"here": {"cache": result}})


if __name__ == "__main__":
    main()
