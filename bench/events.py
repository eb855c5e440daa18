"""``python -m bench.events``: the event relay under a burst of changes.

    DEBUG=1 .venv/bin/python -m bench.events                  # 10,000 changes
    DEBUG=1 .venv/bin/python -m bench.events --changes 2000 --broker none

A writer thread commits ``--changes`` changes as fast as it can (each its own
transaction with one ``emit``, spread over ``--aggregates`` aggregates) while a relay
thread runs ``relay_batch`` rounds, as ``manage.py relay_events`` does. Printed: the
changes per second, the events relayed per second, the outbox lag (published_at -
occurred_at: median, 95th percentile, max) and the ratio relay rate / change rate (1 or
more: the relay keeps up with the burst).

The broker is RabbitMQ at ``--broker`` (default the local guest server) on a throwaway
exchange, or ``none``: a publisher that takes every message (the database side alone).
The database is ``aries_events_bench`` on the server of ``--database-url`` (default
``BENCH_DATABASE_URL``, else postgres://postgres@127.0.0.1:5432/ariesone_bench):
created and migrated when missing, its outbox emptied before and after. PostgreSQL only
(the relay and the writer run concurrently). Exits non-zero with one line on failure.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

from .databases import DEFAULT_URL, BenchDatabase


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--aggregates", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--broker",
        default=os.environ.get("EVENTS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//",
        help='RabbitMQ URL, or "none"',
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL"),
    )
    options = parser.parse_args(argv)
    if options.changes < 1 or options.aggregates < 1:
        parser.error("--changes and --aggregates must be at least 1.")
    return options


def bench_database(base_url):
    parts = urlsplit(base_url or DEFAULT_URL)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("bench.events: needs PostgreSQL (the writer and relay run at once).")
    url = urlunsplit((parts.scheme, parts.netloc, "/aries_events_bench", parts.query, ""))
    database = BenchDatabase(url=url, name="aries_events_bench", vendor="postgresql")
    if not database.exists():
        database.create()
    return database


class TakeAll:
    name = "none"

    def publish(self, events):
        return len(events)

    def close(self):
        pass


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def commit_burst(options, company):
    """``--changes`` transactions, one event each, over ``--aggregates`` aggregates."""
    from django.db import transaction

    from core.events import emit

    for number in range(options.changes):
        with transaction.atomic():
            emit(
                "patient.updated",
                ("bench", f"aggregate-{number % options.aggregates}"),
                {"fields": ["status"]},
                company=company.pk,
            )


def open_publisher(options, exchange):
    from core.events.publishers import RabbitMQPublisher

    if options.broker == "none":
        return TakeAll()
    publisher = RabbitMQPublisher(options.broker, exchange)
    try:
        publisher._open()
    except Exception as error:  # any failure: one line, then out
        raise SystemExit(f"bench.events: RabbitMQ unreachable ({type(error).__name__}).") from None
    return publisher


def main(argv=None):
    options = parse_args(argv)
    database = bench_database(options.database_url)
    os.environ["DATABASE_URL"] = database.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Company
    from core.events.relay import relay_batch
    from core.models import AggregateSequence, OutboxEvent

    call_command("migrate", verbosity=0)
    company, _ = Company.objects.get_or_create(name="Bench events")
    OutboxEvent.objects.all().delete()
    AggregateSequence.objects.filter(aggregate_type="bench").delete()
    exchange = f"aries-events-bench-{uuid.uuid4().hex[:8]}"
    publisher = open_publisher(options, exchange)

    done = threading.Event()
    relay_stats = {"published": 0, "seconds": 0.0, "failed": 0}

    def relay():
        started = None
        try:
            while True:
                result = relay_batch([publisher], batch_size=options.batch_size, housekeeping=False)
                if result.published and started is None:
                    started = time.perf_counter()
                relay_stats["published"] += result.published
                relay_stats["failed"] += result.failed
                if done.is_set() and not result.published and not result.failed:
                    break
                if not result.published:
                    time.sleep(0.05)
        finally:
            relay_stats["seconds"] = time.perf_counter() - (started or time.perf_counter())
            connection.close()

    relay_thread = threading.Thread(target=relay)
    relay_thread.start()
    started = time.perf_counter()
    commit_burst(options, company)
    write_seconds = time.perf_counter() - started
    done.set()
    relay_thread.join()

    lags = [
        (published - occurred).total_seconds()
        for occurred, published in OutboxEvent.objects.values_list("occurred_at", "published_at")
        if published is not None
    ]
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    OutboxEvent.objects.all().delete()
    AggregateSequence.objects.filter(aggregate_type="bench").delete()
    if unpublished or not lags:
        raise SystemExit(f"bench.events: {unpublished} event(s) left unpublished.")
    # Phase 2: the same burst committed with no relay running, then drained: the
    # relay's own rate, and how long the backlog of a burst takes to clear.
    commit_burst(options, company)
    drain_started = time.perf_counter()
    drained = 0
    while result := relay_batch([publisher], batch_size=options.batch_size, housekeeping=False):
        drained += result.published
        if not result.published:
            break
    drain_seconds = time.perf_counter() - drain_started
    publisher.close()
    if options.broker != "none":
        from kombu import Connection, Exchange

        with Connection(options.broker) as cleanup:
            Exchange(exchange)(cleanup.channel()).delete()
    backlog_lag = max(
        (published - occurred).total_seconds()
        for occurred, published in OutboxEvent.objects.values_list("occurred_at", "published_at")
    )
    OutboxEvent.objects.all().delete()
    AggregateSequence.objects.filter(aggregate_type="bench").delete()
    change_rate = options.changes / write_seconds
    relay_rate = relay_stats["published"] / max(relay_stats["seconds"], 1e-9)
    print(f"broker: {publisher.name}; {options.changes:,} changes, {options.aggregates} aggregates")
    print(f"changes committed: {change_rate:,.0f}/s ({write_seconds:.1f} s)")
    print(f"events relayed:    {relay_rate:,.0f}/s ({relay_stats['seconds']:.1f} s)")
    print(
        f"outbox lag: median {statistics.median(lags):.2f} s, "
        f"p95 {percentile(lags, 0.95):.2f} s, max {max(lags):.2f} s"
    )
    print(f"ratio relay/changes: {relay_rate / change_rate:.2f}")
    print(
        f"backlog of {drained:,} drained: {drained / drain_seconds:,.0f} events/s "
        f"({drain_seconds:.1f} s; oldest event's lag {backlog_lag:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
