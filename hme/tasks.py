"""Celery tasks of the billing app: thin wrappers around ``hme.services``."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 60 * 60


def _locked(name):
    """A cache lock so two runs of a periodic job never overlap (None: already running)."""
    key = f"lock:{name}"
    return key if cache.add(key, "1", timeout=LOCK_TIMEOUT) else None


@shared_task(name="hme.tasks.bill_rental_months")
def bill_rental_months():
    """Bill every rental month due as of today (daily; beat entry made by the lead).

    Returns counts and the failing rentals' ids; the reasons (which may name a
    patient number) are for staff, in ``manage.py bill_rental_months``, not for logs.
    """
    key = _locked("hme.bill_rental_months")
    if key is None:
        logger.warning("rental billing skipped: another run is in progress")
        return {"status": "skipped"}
    try:
        run = services.bill_rental_months(as_of=timezone.localdate())
    finally:
        cache.delete(key)
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
