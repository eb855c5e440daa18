"""The resupply refresh and worklist at a database's size (``python -m bench.resupply``).

Run against a copy of a seeded bench database (never a template)::

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/aries_x_bench_100000 \\
        .venv/bin/python -m bench.resupply

Prints, per company: the refresh's time, queries, items and requests opened (the first
run writes the items, the second finds nothing new), and the worklist API page of 50 and
the admin changelist: best of 3 with their query counts. The refresh opens requests as of
a day chosen so that the seeded deliveries fall in the contact window.
"""

import os
import sys
import time


def _best(call, runs=3):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    best, queries = None, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
        if best is None or elapsed < best:
            best, queries = elapsed, len(captured)
    return best * 1000, queries


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from accounts.choices import Role
    from accounts.models import Company, Membership
    from clinical.models import Patient
    from dme.models import DeliveryItem
    from resupply import services
    from resupply.models import ResupplyItem, ResupplyRequest

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        print(f"refusing to write {name}: use a bench copy", file=sys.stderr)
        return 2
    latest = (
        DeliveryItem.objects.filter(order_line__equipment__hcpcs_code__startswith="A7")
        .order_by("-delivery__delivered_on")
        .values_list("delivery__delivered_on", flat=True)
        .first()
    )
    print(
        f"{name}: {Patient.objects.count()} patients, "
        f"{DeliveryItem.objects.count()} delivered items; latest PAP supply {latest}"
    )
    for company in Company.objects.order_by("name"):
        for run in (1, 2):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                counts = services.refresh_company(company, as_of=None)
                elapsed = time.perf_counter() - started
            print(
                f"{company.name}: refresh run {run} {elapsed:.2f} s, {len(captured)} queries, "
                f"{counts}"
            )
    print(f"items {ResupplyItem.objects.count()}, requests {ResupplyRequest.objects.count()}")
    membership = (
        Membership.objects.filter(role=Role.INTAKE, is_active=True).select_related("user").first()
        or Membership.objects.filter(role=Role.ADMINISTRATOR).select_related("user").first()
    )
    if membership is None:
        print("no staff membership to measure the pages with", file=sys.stderr)
        return 0
    api = APIClient()
    api.force_authenticate(membership.user)
    admin = Client()
    admin.force_login(membership.user)
    api_ms, api_q = _best(lambda: api.get("/api/v1/resupply-requests/?page_size=50"))
    admin_ms, admin_q = _best(lambda: admin.get("/admin/resupply/resupplyrequest/"))
    print(f"worklist API page of 50: {api_ms:.1f} ms, {api_q} queries")
    print(f"worklist admin changelist: {admin_ms:.1f} ms, {admin_q} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
