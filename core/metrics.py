"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

What is measured (docs/operations.md, Metrics):

- ``ariesone_http_requests_total`` / ``ariesone_http_request_duration_seconds``: by view
  (the URL name, or the route pattern; never the raw path with its ids), method and
  status (:class:`MetricsMiddleware`);
- ``ariesone_db_queries_total`` / ``ariesone_db_query_duration_seconds_total``: every
  query (``core.slow_queries`` counts them on each connection);
- ``ariesone_cache_requests_total{kind,result}``: hits and misses of ``core.caching``;
- ``ariesone_celery_tasks_total{task,outcome}`` (Celery signals) and
  ``ariesone_celery_queue_length{queue}`` (the Redis broker's lists; absent when tasks
  run eagerly or the broker is not Redis);
- ``ariesone_outbox_unpublished_events`` and ``ariesone_outbox_oldest_unpublished_age_seconds``;
- ``ariesone_backup_newest_good_age_seconds`` (newest succeeded backup);
- ``ariesone_db_pool_size``, ``_available``, ``_waiting`` (psycopg's pool, when on).

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory that
every worker shares (emptied at each start); the endpoint then adds up what every
process wrote there.

Label values are route names, task names and codes: never PHI.
"""

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)
# No ``*_created`` series: they double the scrape and Prometheus does not need them.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "ariesone_http_requests", "HTTP requests served.", ["view", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ariesone_http_request_duration_seconds",
    "Time to answer a request, by view and status.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_QUERIES = Counter("ariesone_db_queries", "Database queries run.", ["alias"])
DB_QUERY_SECONDS = Counter(
    "ariesone_db_query_duration_seconds", "Time spent in database queries.", ["alias"]
)
SLOW_QUERIES = Counter("ariesone_db_slow_queries", "Queries slower than SLOW_QUERY_MS.", ["alias"])
CACHE_REQUESTS = Counter(
    "ariesone_cache_requests",
    "Reads of core.caching: result is hit or miss (hit ratio = hit / (hit + miss)).",
    ["kind", "result"],
)
CELERY_TASKS = Counter(
    "ariesone_celery_tasks", "Celery tasks finished, by outcome.", ["task", "outcome"]
)
# One value per process: the sum over live processes is the whole site's pool.
POOL_SIZE = Gauge(
    "ariesone_db_pool_size", "Connections the pool holds.", ["alias"], multiprocess_mode="livesum"
)
POOL_AVAILABLE = Gauge(
    "ariesone_db_pool_available",
    "Idle connections in the pool.",
    ["alias"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "ariesone_db_pool_waiting",
    "Requests waiting for a pooled connection.",
    ["alias"],
    multiprocess_mode="livesum",
)


def view_label(request: HttpRequest) -> str:
    """The URL name (``api:patient-detail``) or route pattern; never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    if match.view_name:
        return str(match.view_name)
    return match.route or "<unnamed>"


def record_pool_stats() -> None:
    """Copy the psycopg pool's figures of this process into the gauges."""
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
        if pool is None:
            continue
        stats = pool.get_stats()
        POOL_SIZE.labels(alias=alias).set(stats.get("pool_size", 0))
        POOL_AVAILABLE.labels(alias=alias).set(stats.get("pool_available", 0))
        POOL_WAITING.labels(alias=alias).set(stats.get("requests_waiting", 0))


def _pooled() -> bool:
    return any(
        (database.get("OPTIONS") or {}).get("pool") for database in settings.DATABASES.values()
    )


class MetricsMiddleware:
    """Times each request and counts it by view, method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        labels = {
            "view": view_label(request),
            "method": request.method if request.method in _METHODS else "other",
            "status": str(response.status_code),
        }
        HTTP_REQUESTS.labels(**labels).inc()
        HTTP_LATENCY.labels(**labels).observe(time.perf_counter() - started)
        if _pooled():
            # Each worker's own figures, so the summed gauges cover every process.
            record_pool_stats()
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# Gauges read when Prometheus scrapes ---------------------------------------------
class StateCollector(Collector):
    """Outbox lag, backup age and Celery queue depth, read at scrape time."""

    def describe(self) -> list[GaugeMetricFamily]:
        # Registering must not query the database (apps are still loading).
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError

        for part in (self._outbox, self._backup, self._queues):
            try:
                families = list(part())
            except DatabaseError as error:
                # The scrape goes on without this family (the database is the probe's job).
                logger.warning("metrics: %s unavailable (%s)", part.__name__, type(error).__name__)
                continue
            yield from families

    def _outbox(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from core.events.models import OutboxEvent

        row = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
            count=Count("id"), oldest=Min("occurred_at")
        )
        yield _gauge(
            "ariesone_outbox_unpublished_events", "Events waiting for the relay.", row["count"]
        )
        age = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0.0
        yield _gauge(
            "ariesone_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest event not yet published (0: none waits).",
            age,
        )

    def _backup(self) -> Iterator[GaugeMetricFamily]:
        from django.utils import timezone

        from core.choices import BackupStatus
        from core.models import Backup

        newest = (
            Backup.objects.filter(status=BackupStatus.SUCCEEDED, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if newest is not None:
            yield _gauge(
                "ariesone_backup_newest_good_age_seconds",
                "Seconds since the newest succeeded backup finished.",
                (timezone.now() - newest).total_seconds(),
            )

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        depths = celery_queue_depths()
        if depths is None:
            return
        family = GaugeMetricFamily(
            "ariesone_celery_queue_length", "Tasks waiting in the broker queue.", labels=["queue"]
        )
        for queue, depth in sorted(depths.items()):
            family.add_metric([queue], depth)
        yield family


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def celery_queue_depths() -> dict[str, int] | None:
    """Lengths of the broker's queues, or None when tasks run eagerly or the broker
    is not Redis (RabbitMQ reports its own queues)."""
    broker = getattr(settings, "CELERY_BROKER_URL", "")
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) or not broker:
        return None
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    queues = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")}
    queues.update(getattr(settings, "CELERY_METRICS_QUEUES", ()))
    try:
        client = redis.Redis.from_url(broker, socket_timeout=1, socket_connect_timeout=1)
        try:
            return {queue: int(client.llen(queue)) for queue in queues}
        finally:
            client.close()
    except redis.RedisError as error:
        # The scrape goes on without the queue gauge; the reason has no PHI.
        logger.warning("metrics: broker queue depth unavailable (%s)", type(error).__name__)
        return None


_STATE = StateCollector()
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    REGISTRY.register(_STATE)


def registry() -> CollectorRegistry:
    """What one scrape returns: this process's metrics, or every worker's when
    ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        combined.register(_STATE)
        return combined
    return REGISTRY


# Celery task outcomes ------------------------------------------------------------
def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def connect_celery_signals() -> None:
    from celery import signals

    def on_success(sender: Any = None, **kwargs: Any) -> None:
        CELERY_TASKS.labels(task=_task_name(sender), outcome="success").inc()

    def on_failure(sender: Any = None, **kwargs: Any) -> None:
        CELERY_TASKS.labels(task=_task_name(sender), outcome="failure").inc()

    def on_retry(sender: Any = None, **kwargs: Any) -> None:
        CELERY_TASKS.labels(task=_task_name(sender), outcome="retry").inc()

    signals.task_success.connect(on_success, weak=False, dispatch_uid="core.metrics.success")
    signals.task_failure.connect(on_failure, weak=False, dispatch_uid="core.metrics.failure")
    signals.task_retry.connect(on_retry, weak=False, dispatch_uid="core.metrics.retry")


# The endpoint -----------------------------------------------------------------
def _allowed_address(request: HttpRequest) -> bool:
    from core.context import client_ip

    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.METRICS_ALLOWED_IPS]


def _valid_token(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].encode(), expected.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format, to an allowed address or the
    bearer token only; anyone else gets a 404 (the endpoint is not advertised)."""
    if not (_allowed_address(request) or _valid_token(request)):
        raise Http404
    record_pool_stats()
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
