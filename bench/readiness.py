"""Ready to bill on a 50-row order page (run inside ``bench.measure``'s child process).

Times the API orders list (its ``readiness`` summary per row, read from the stored
holds) with the billing app's summary provider registered and with it removed, and the
live ``order_reasons`` on the same 50 orders alone (what the readiness endpoint, the
admin panels and billing's hold compute); the ratio with/without is what readiness adds
to the page (issue 11: under 1.30), at a query count that does not grow with the page
(no per-row queries).
"""

PAGE = "/api/v1/orders/?page_size=50"


SECTION = "Ready to bill, 50-row API orders page"
WITH = "page with readiness (stored holds)"
WITHOUT = "page without readiness"


def measure(api, runs, company):
    from dme import billing_hooks
    from dme.models import Order, OrderLine
    from hme.readiness import order_reasons
    from hme.readiness.holds import refresh_holds

    from .measure import timed

    def page():
        response = api.get(PAGE)
        if response.status_code != 200:
            raise SystemExit(f"bench: {PAGE} answered {response.status_code}.")

    orders = list(Order.objects.filter(company=company).order_by("-created_at", "-id")[:50])
    # The list reads the stored holds: refresh them for the page, as saves and the
    # daily task keep them (the bulk-seeded rows never went through a save).
    refresh_holds(OrderLine.objects.filter(order__in=orders))
    with_row = timed(WITH, page, runs, SECTION)
    provider = billing_hooks._providers.pop("orders", None)
    try:
        without_row = timed(WITHOUT, page, runs, SECTION)
    finally:
        if provider is not None:
            billing_hooks.register_order_summary(provider)
    alone_row = timed(
        f"order_reasons() on {len(orders)} orders, live",
        lambda: order_reasons(orders),
        runs,
        SECTION,
    )
    return [with_row, without_row, alone_row]


def report(sizes, results):
    """The verdict lines for ``bench.__main__.report`` (the rows are in its table)."""
    for size in sizes:
        rows = {row["name"]: row for row in results[size]["requests"]}
        if WITH not in rows or WITHOUT not in rows:
            continue
        with_row, without_row = rows[WITH], rows[WITHOUT]
        overhead = with_row["ms"] / without_row["ms"] if without_row["ms"] else 0
        verdict = "ok" if overhead < 1.30 else "OVER the 1.30 budget"
        print(
            f"readiness adds x{overhead:.2f} to the page at {size:,} patients "
            f"({with_row['queries'] - without_row['queries']:+d} queries): {verdict}"
        )
