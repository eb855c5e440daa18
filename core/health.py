"""Health probes for load balancers and orchestrators.

``/health/`` says the process answers; ``/health/ready/`` checks each service the
site needs and answers 503 naming the one that failed.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = "health:ready"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return the value written")


def check_broker() -> None:
    # The project's Celery app (config imports it at start-up) is the current one:
    # core does not import config.
    with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": check_database, "cache": check_cache}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = check_broker
    return checks


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    for name, check in readiness_checks().items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # any failure makes the service not ready
            healthy = False
            logger.warning("Readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "error", "error": type(exc).__name__}
        else:
            results[name] = {
                "status": "ok",
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
    failing = [name for name, result in results.items() if result["status"] != "ok"]
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=200 if healthy else 503)
