"""One row per notification sent (or refused) to a patient or a prescriber.

The subject is plaintext (it never holds PHI: ``core.notifications`` checks it and a
test renders every template's subject with a patient); the recipient's address and
the body are encrypted, and the body is erased once the send has finished (sent or
failed for good): the record keeps who, what template, when, the status and the
attempts, never the message itself longer than needed to retry it.
"""

from django.db import models

from core.models import TenantModel
from core.phi import EncryptedCharField, EncryptedTextField

from .choices import Channel, NotificationStatus


class Notification(TenantModel):
    """A message through one channel (e-mail or SMS), sent by Celery with retries."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    template = models.CharField(
        max_length=64, help_text="The registered template's key (core.notifications)."
    )
    # The patient it is about or addressed to, by id (core sits below clinical).
    patient_id = models.UUIDField("patient id", null=True, blank=True)
    # The record that caused it ("clinical.appointment", id): reminders are sent once.
    related_type = models.CharField("about", max_length=64, blank=True)
    related_id = models.CharField("about id", max_length=64, blank=True)
    recipient = EncryptedCharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # The failure's kind (exception class, SMTP code), never the message or the address.
    last_error = models.CharField("last error", max_length=200, blank=True)
    sent_at = models.DateTimeField("sent at", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin list of one company, newest first.
            models.Index(fields=["company", "created_at"], name="notification_company_idx"),
            # A patient's notifications (patient page panel).
            models.Index(fields=["company", "patient_id"], name="notification_patient_idx"),
            # "Was this appointment's reminder already sent?"
            models.Index(
                fields=["related_type", "related_id", "template"], name="notification_about_idx"
            ),
            # Operators' sweep of stuck or failed sends.
            models.Index(fields=["status", "created_at"], name="notification_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} by {self.get_channel_display()} ({self.get_status_display()})"
