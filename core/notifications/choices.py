from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message (SMS)"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    # Every attempt failed (NOTIFICATION_MAX_ATTEMPTS): staff contact the person another way.
    FAILED = "failed", "Failed"
    # Not sent at all: the patient opted out or has no contact on file for any channel.
    SKIPPED = "skipped", "Not sent"
