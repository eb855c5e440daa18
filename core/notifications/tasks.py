"""The Celery task that sends one notification (core autodiscovers it through
``core.tasks``). Retries with exponential backoff: attempt n waits
``NOTIFICATION_RETRY_BASE_SECONDS * 2^(n-1)`` seconds, at most
``NOTIFICATION_RETRY_MAX_SECONDS``; after ``NOTIFICATION_MAX_ATTEMPTS`` the row is failed."""

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from .sending import NotificationNotSent, attempt

logger = logging.getLogger(__name__)


def backoff(retries: int) -> int:
    return int(
        min(
            settings.NOTIFICATION_RETRY_BASE_SECONDS * 2**retries,
            settings.NOTIFICATION_RETRY_MAX_SECONDS,
        )
    )


@shared_task(bind=True, name="core.notifications.send_notification", max_retries=None)
def send_notification(self: Any, notification_id: str) -> str:
    """Send the notification ``notification_id``; returns its status (never PHI).

    On a worker a failed attempt is retried by Celery after :func:`backoff` seconds.
    Run in-process (no broker: the laptop default and the tests), the attempts follow
    each other at once: nothing may wait inside the request that queued the send.
    """
    attempts = settings.NOTIFICATION_MAX_ATTEMPTS
    if self.request.is_eager:
        for number in range(1, attempts + 1):
            try:
                return attempt(notification_id, final=number >= attempts)
            except NotificationNotSent as error:
                logger.warning(
                    "notification %s attempt %d failed: %s", notification_id, number, error
                )
        return "failed"
    final = self.request.retries + 1 >= attempts
    try:
        return attempt(notification_id, final=final)
    except NotificationNotSent as error:
        logger.warning(
            "notification %s attempt %d failed: %s",
            notification_id,
            self.request.retries + 1,
            error,
        )
        raise self.retry(countdown=backoff(self.request.retries), exc=error) from None
