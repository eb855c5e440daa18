"""Celery tasks of the cockpit: thin wrappers around ``cockpit.services``."""

import logging

from celery import shared_task

from core.locks import cache_lock

from . import services

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 30 * 60


@shared_task(name="cockpit.tasks.refresh_dashboard_snapshots")
def refresh_dashboard_snapshots():
    """Recompute every active company's dashboard figures (every 15 minutes; beat
    entry in migration cockpit 0002). Counts and company ids only, no figures."""
    with cache_lock("cockpit.refresh_dashboard_snapshots", LOCK_TIMEOUT) as acquired:
        if not acquired:
            logger.warning("dashboard figures: refresh skipped, another run is in progress")
            return {"status": "skipped"}
        run = services.refresh_snapshots()
    return {
        "status": "done",
        "refreshed": run.refreshed,
        "failed_companies": run.failed,
        "took_ms": run.took_ms,
    }
