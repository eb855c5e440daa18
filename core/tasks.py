"""Celery tasks of core: thin wrappers around services."""

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.backups import BackupInProgress, create_backup
from core.choices import BackupTrigger
from core.models import IdempotencyKey

logger = logging.getLogger(__name__)


@shared_task
def prune_idempotency_keys() -> int:
    """Delete stored Idempotency-Key responses past their time to live."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@shared_task
def backup_database() -> dict[str, Any]:
    """Back up the database and prune old backups (beat entry "backup-database-daily").

    The service records every run as a ``Backup`` row (a failure too, with its
    one-line error) and leaves no partial file; here the failure is logged and
    re-raised so Celery marks the task failed. A run that finds another backup in
    progress is skipped, not failed: the running one does the work.
    """
    try:
        result = create_backup(trigger=BackupTrigger.TASK)
    except BackupInProgress as exc:
        logger.warning("backup skipped: %s", exc)
        return {"status": "skipped", "reason": str(exc)}
    except Exception:
        logger.error("scheduled backup failed; see the latest Backup row in the admin")
        raise
    record = result.record
    return {
        "status": record.status,
        "backup": str(record.pk),
        "file": record.file_name,
        "size_bytes": record.size_bytes,
        "pruned": len(result.pruned),
    }


@shared_task
def run_data_quality() -> int | None:
    """Run every data-quality check and store the run (hourly by default).

    A cache lock keeps two runs from overlapping when one takes longer than the interval.
    """
    from core.locks import cache_lock
    from core.quality.runner import run_checks

    with cache_lock("run_data_quality", 55 * 60) as acquired:
        return run_checks(triggered_by="task").pk if acquired else None


@shared_task
def purge_compliance_events() -> int:
    """Purge compliance events past their 6-year retention (daily by default)."""
    from core.compliance import purge_expired_events

    return purge_expired_events()


@shared_task
def maintain_partitions() -> dict[str, int]:
    """Daily on PostgreSQL: create the trails' partitions of this month and the next
    three, drop the monthly partitions past the 6-year retention (45 CFR
    164.316(b)(2)(i)); core.partitions. Returns the counts (names carry no PHI)."""
    from core.partitions import drop_expired_partitions, ensure_partitions

    created = ensure_partitions()
    dropped = drop_expired_partitions()
    return {"created": created, "dropped": len(dropped)}


@shared_task
def relay_events() -> int | None:
    """Relay the event outbox (beat, every few seconds; docs/events.md). A cache lock
    keeps runs from overlapping; returns the events published (None: skipped)."""
    from core.events.relay import relay_pending
    from core.locks import cache_lock

    with cache_lock("relay_events", 5 * 60, holder="relay_events") as acquired:
        if not acquired:
            return None
        return sum(result.published for result in relay_pending())


# Notifications (core.notifications): the sending task lives with its package.
from core.notifications.tasks import send_notification  # noqa: E402, F401
