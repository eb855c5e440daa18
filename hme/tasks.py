"""Celery tasks of the billing app: thin wrappers around ``hme.services``."""

import logging

from celery import shared_task
from django.utils import timezone

from core.locks import cache_lock

from . import services

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 60 * 60


@shared_task(name="hme.tasks.bill_rental_months")
def bill_rental_months():
    """Bill every rental month due as of today (daily; beat entry made by the lead).

    Returns counts and the failing rentals' ids; the reasons (which may name a
    patient number) are for staff, in ``manage.py bill_rental_months``, not for logs.
    """
    with cache_lock("hme.bill_rental_months", LOCK_TIMEOUT) as acquired:
        if not acquired:
            logger.warning("rental billing skipped: another run is in progress")
            return {"status": "skipped"}
        run = services.bill_rental_months(as_of=timezone.localdate())
    if run.errors:
        logger.warning("rental billing: %d rental(s) could not be billed", len(run.errors))
    return {
        "status": "done",
        "as_of": run.as_of.isoformat(),
        "claims": len(run.claims),
        "capped": len(run.capped),
        "errors": len(run.errors),
        "failed_rentals": [str(pk) for pk, _ in run.errors],
    }


@shared_task(name="hme.tasks.refresh_coverage_status")
def refresh_coverage_status():
    """Turn coverages on and off as their dates come (daily, after midnight)."""
    return services.refresh_coverage_status(as_of=timezone.localdate())


@shared_task(name="hme.tasks.expire_authorizations")
def expire_authorizations():
    """Mark approved authorizations past their validity as expired (daily)."""
    return {"expired": services.expire_authorizations(as_of=timezone.localdate())}


@shared_task(name="hme.tasks.refresh_billing_holds")
def refresh_billing_holds():
    """Recompute the stored billing holds of every line still to bill (daily: timely
    filing and coverage dates move with the calendar). Counts only: no reasons in logs."""
    from .readiness.holds import refresh_holds

    with cache_lock("hme.refresh_billing_holds", LOCK_TIMEOUT) as acquired:
        if not acquired:
            return {"status": "skipped"}
        return {"status": "done", **refresh_holds(on=timezone.localdate())}
