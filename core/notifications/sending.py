"""Delivering one notification: the e-mail or SMS backend, the attempt recorded.

Called by the Celery task ``core.notifications.tasks.send_notification`` (which
retries with backoff); a failure is recorded on the row by its kind only (the
exception's class and an SMTP code), never the backend's message, which may quote
the address or the body.
"""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from core.locks import lock_row

from .backends import get_sms_backend
from .choices import Channel, NotificationStatus
from .models import Notification


class NotificationNotSent(Exception):
    """This attempt failed; the task retries while attempts remain."""


def error_kind(error: BaseException) -> str:
    kind = type(error).__name__
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(answer[0]) for answer in error.recipients.values()})
        return f"{kind} ({', '.join(codes)})"
    return f"{kind} ({code})" if code else kind


def _deliver(notification: Notification) -> None:
    if notification.channel == Channel.SMS:
        get_sms_backend().send_message(notification.recipient, notification.body)
        return
    EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
    ).send(fail_silently=False)


def attempt(notification_id: str, *, final: bool) -> str:
    """One attempt at sending; returns the status. ``final``: no retry follows, so a
    failure marks the row failed. A row already sent (a redelivered task) is left be.
    A failure that will be retried is recorded (attempts, error kind), then raised as
    :class:`NotificationNotSent` for the task to retry."""
    failed = ""
    with transaction.atomic():
        notification = Notification.objects.filter(pk=notification_id).first()
        if notification is None:
            return "missing"
        notification = lock_row(notification)
        if notification.status != NotificationStatus.QUEUED:
            return notification.status
        notification.attempts += 1
        try:
            _deliver(notification)
        except Exception as error:  # any backend failure: recorded, then retried
            notification.last_error = failed = error_kind(error)[:200]
            if final:
                notification.status = NotificationStatus.FAILED
                notification.body = ""
            notification.save(update_fields=["attempts", "last_error", "status", "body"])
        else:
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
            notification.body = ""
            notification.save(update_fields=["attempts", "status", "sent_at", "body"])
    if failed and not final:
        raise NotificationNotSent(failed)
    return notification.status
