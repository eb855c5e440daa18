"""Celery tasks of the documents app: thin wrappers around ``documents.services``."""

import logging

from celery import shared_task

from core.locks import cache_lock

from . import services

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 30 * 60


@shared_task(name="documents.tasks.process_fax_inbox")
def process_fax_inbox():
    """Take in the inbox folder's faxes and OCR the waiting intakes (every few minutes;
    beat entry "Process the fax inbox"). Returns counts only."""
    with cache_lock("documents.process_fax_inbox", LOCK_TIMEOUT) as acquired:
        if not acquired:
            logger.info("fax inbox skipped: another run is in progress")
            return {"status": "skipped"}
        counts = services.process_pending()
    if counts["failed"] or counts["refused"]:
        logger.warning(
            "fax inbox: %d refused, %d OCR failure(s)", counts["refused"], counts["failed"]
        )
    return {"status": "done", **counts}


@shared_task(name="documents.tasks.recognise_intake")
def recognise_intake(intake_id):
    """OCR one uploaded fax now (the upload does not wait for the next inbox run)."""
    from .choices import IntakeStatus
    from .models import FaxIntake

    intake = FaxIntake.objects.filter(pk=intake_id).first()
    if intake is None:
        return {"status": "missing"}
    if intake.status not in (IntakeStatus.RECEIVED, IntakeStatus.FAILED):
        # Run twice (a late ack redelivered it): the first run's result stands.
        return {"status": intake.status}
    return {"status": services.recognise_intake(intake).status}
