"""Celery tasks of resupply: thin wrappers around ``resupply.services``."""

from celery import shared_task

from core.locks import cache_lock


@shared_task(name="resupply.tasks.refresh_worklist")
def refresh_worklist() -> dict[str, int] | None:
    """Refresh every company's resupply items and outreach worklist (daily; beat entry
    "Refresh the resupply worklist (daily)"). Returns counts (None: another run holds
    the lock)."""
    from . import services

    with cache_lock("resupply.refresh_worklist", 3 * 3600) as acquired:
        return services.refresh_worklist() if acquired else None
