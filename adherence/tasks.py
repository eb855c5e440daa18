"""Celery tasks of the adherence app: thin wrappers around ``adherence.services``."""

import logging

from celery import shared_task
from django.utils import timezone

from core.locks import cache_lock

from . import services

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 60 * 60


@shared_task(name="adherence.tasks.run_daily")
def run_daily():
    """Daily: re-evaluate open PAP rentals (a 90-day window that closed without an
    import is not met), predict at day 14, write outcomes back into the prediction log.
    Returns counts only (no patient data in the result or the logs)."""
    with cache_lock("adherence.run_daily", LOCK_TIMEOUT) as acquired:
        if not acquired:
            logger.warning("adherence run skipped: another run is in progress")
            return {"status": "skipped"}
        run = services.run_daily(as_of=timezone.localdate())
    return {
        "status": "done",
        "as_of": run.as_of.isoformat(),
        "evaluated": run.evaluated,
        "predicted": run.predicted,
        "outcomes": run.outcomes,
    }
