"""``python -m bench.adherence`` on a seeded bench database (``seed_demo --scale N`` with
the adherence app): what the adherence check adds to ready-to-bill for 1 and for 50 PAP
rental lines (time with/without, queries: the ratio 50/1 of queries should be 1), the
import of a 90-night export (first time, and again: unchanged) and one prediction.

Writes to the database it is given (imports one file into one rental): use your copy.
"""

import datetime
import os
import random
import sys
import time

import django


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    django.setup()


def _best(call, runs=5):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()
    best, queries = float("inf"), 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
        if elapsed < best:
            best, queries = elapsed, len(captured)
    return best * 1000, queries


def readiness_figures(lines):
    from adherence.hooks import adherence_readiness
    from hme import readiness

    with_ms, with_q = _best(lambda: readiness.line_reasons(lines))
    readiness.unregister_check(adherence_readiness)
    try:
        without_ms, without_q = _best(lambda: readiness.line_reasons(lines))
    finally:
        readiness.register_check(adherence_readiness)
    return with_ms, with_q, without_ms, without_q


def main():
    _setup()
    from django.db import transaction
    from django.utils import timezone

    from adherence import ml, services
    from adherence.demo_data import as_csv, nights_for
    from adherence.models import AdherenceStatus

    statuses = list(
        AdherenceStatus.objects.select_related("rental").order_by("period_start", "id")[:50]
    )
    if len(statuses) < 50:
        sys.exit("bench: fewer than 50 PAP rentals with usage: seed_demo --scale 1000 first.")
    lines = [s.rental.order_line_id for s in statuses]
    print("Ready to bill, PAP rental lines (best of 5):")
    for size in (1, 50):
        with_ms, with_q, without_ms, without_q = readiness_figures(lines[:size])
        print(
            f"  {size:>2} line(s): {with_ms:7.1f} ms / {with_q} queries with the adherence "
            f"check, {without_ms:7.1f} ms / {without_q} without (x{with_ms / without_ms:.2f})"
        )

    rental = services.pap_rentals(statuses[0].company).filter(adherence__isnull=True).first()
    if rental is None:
        sys.exit("bench: no PAP rental without usage left to import into.")
    today = timezone.localdate()
    start = max(rental.start_date, today - datetime.timedelta(days=90))
    data = as_csv(nights_for(random.Random(1), start, today - datetime.timedelta(days=1)))
    with transaction.atomic():
        started = time.perf_counter()
        first = services.import_usage_into(rental, data)
        first_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        again = services.import_usage_into(rental, data)
        again_ms = (time.perf_counter() - started) * 1000
        print(
            f"Import of {first.rows} nights: {first_ms:.0f} ms; again ({again.unchanged} "
            f"unchanged): {again_ms:.0f} ms (x{again_ms / first_ms:.2f})"
        )
        model = ml.active_model(rental.company_id)
        if model is not None:
            pipeline = ml.load(model)
            values = ml.features(start, ml._nights_by_rental([rental.pk])[rental.pk])
            row = [[values[name] for name in ml.FEATURES]]
            started = time.perf_counter()
            for _ in range(100):
                pipeline.predict_proba(row)
            print(f"Prediction: {(time.perf_counter() - started) * 10:.2f} ms each (100 runs)")
        transaction.set_rollback(True)  # measured, not kept


if __name__ == "__main__":
    main()
