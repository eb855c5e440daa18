"""Ready to bill on a 50-row order page (run inside ``bench.measure``'s child process).

Times the API orders list (its ``readiness`` summary per row) with the billing app's
summary provider registered and with it removed, and ``order_reasons`` on the same 50
orders alone; the ratio with/without is what readiness adds to the page (issue 11:
under 1.30), at a query count that does not grow with the page (no per-row queries).
"""

import time

PAGE = "/api/v1/orders/?page_size=50"


def _best(call, runs):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up
    best, queries = None, 0
    for _ in range(runs):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
        if best is None or elapsed < best:
            best, queries = elapsed, len(captured)
    return best * 1000, queries


def measure(api, runs, company):
    from dme import billing_hooks
    from dme.models import Order
    from hme.readiness import order_reasons

    def page():
        response = api.get(PAGE)
        if response.status_code != 200:
            raise SystemExit(f"bench: {PAGE} answered {response.status_code}.")

    with_ms, with_queries = _best(page, runs)
    provider = billing_hooks._providers.pop("orders", None)
    try:
        without_ms, without_queries = _best(page, runs)
    finally:
        if provider is not None:
            billing_hooks.register_order_summary(provider)
    orders = list(Order.objects.filter(company=company).order_by("-created_at", "-id")[:50])
    alone_ms, alone_queries = _best(lambda: order_reasons(orders), runs)
    return {
        "with_ms": with_ms,
        "with_queries": with_queries,
        "without_ms": without_ms,
        "without_queries": without_queries,
        "alone_ms": alone_ms,
        "alone_queries": alone_queries,
        "orders": len(orders),
    }


def report(sizes, results):
    """Lines for ``bench.__main__.report``."""
    print()
    print(
        f"{'Ready to bill, 50-row API orders page':<45} {'queries':>9} {'small ms':>10} "
        f"{'large ms':>10} {'ratio':>7}"
    )
    small, large = (results[size]["readiness"] for size in sizes)
    rows = (
        ("page with readiness", "with"),
        ("page without readiness", "without"),
        ("order_reasons() on 50 orders alone", "alone"),
    )
    for label, key in rows:
        queries = f"{small[key + '_queries']}/{large[key + '_queries']}"
        ratio = large[key + "_ms"] / small[key + "_ms"] if small[key + "_ms"] else 0
        print(
            f"{label:<45} {queries:>9} {small[key + '_ms']:>10.1f} {large[key + '_ms']:>10.1f} "
            f"{ratio:>7.2f}"
        )
    for size in sizes:
        value = results[size]["readiness"]
        overhead = value["with_ms"] / value["without_ms"] if value["without_ms"] else 0
        verdict = "ok" if overhead < 1.30 else "OVER the 1.30 budget"
        print(
            f"readiness adds x{overhead:.2f} to the page at {size:,} patients "
            f"({value['with_queries'] - value['without_queries']:+d} queries): {verdict}"
        )
