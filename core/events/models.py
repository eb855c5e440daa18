"""The transactional outbox and the webhook subscriptions it fans out to.

``OutboxEvent`` rows are written by :func:`core.events.emit` inside the transaction
of the change they describe (they commit or roll back with it), then published by
the relay (:mod:`core.events.relay`). ``AggregateSequence`` numbers each aggregate's
events so consumers can order them. ``WebhookSubscription`` / ``WebhookDelivery`` /
``WebhookAttempt`` are the integrators' push channel (:mod:`core.events.webhooks`).

Nothing here holds PHI: event data carries ids and codes only (docs/events.md).
"""

import uuid

from django.db import models
from django.utils import timezone

from core.models import TenantModel
from core.phi import EncryptedCharField

from .choices import DeliveryStatus


class AggregateSequence(models.Model):
    """The last sequence number given to an aggregate's events (``patient``, id).

    Drawn with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` inside the
    emitting transaction: the row stays locked until it ends, so two transactions
    changing one aggregate get consecutive numbers in commit order.
    """

    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    last_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id"], name="aggregate_sequence_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id} #{self.last_sequence}"


class OutboxEvent(models.Model):
    """One domain event, in the outbox until the relay has published it.

    ``published_at`` is set once every configured broker (RabbitMQ, Kafka) confirmed
    it; ``dispatched_at`` once its webhook deliveries were queued. With no broker
    configured, ``published_at`` stays empty: the rows wait for one.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField("event id", default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField("type", max_length=64)
    version = models.PositiveSmallIntegerField(default=1)
    source = models.CharField(max_length=64)
    occurred_at = models.DateTimeField("time", default=timezone.now)
    company = models.ForeignKey(
        "accounts.Company", on_delete=models.CASCADE, null=True, related_name="+"
    )
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    data = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict)
    # Relay state.
    published_at = models.DateTimeField("published", null=True, blank=True)
    dispatched_at = models.DateTimeField("webhooks queued", null=True, blank=True)
    attempts = models.PositiveIntegerField("publish attempts", default=0)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "outbox event"
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id", "sequence"],
                name="outbox_aggregate_sequence_uniq",
            )
        ]
        indexes = [
            # The relay's queue: unpublished rows in id order (partial on PostgreSQL
            # and SQLite alike, so it stays as small as the backlog).
            models.Index(
                fields=["id"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(
                fields=["id"],
                name="outbox_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            # Retention: published rows by age.
            models.Index(fields=["published_at"], name="outbox_published_idx"),
            # The admin's and the API's "events of this record".
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id} #{self.sequence}"

    def envelope(self) -> dict[str, object]:
        """The one event schema every channel carries (docs/events.md)."""
        return {
            "id": str(self.event_id),
            "type": self.event_type,
            "version": self.version,
            "source": self.source,
            "time": self.occurred_at.isoformat(),
            "company": str(self.company_id) if self.company_id else None,
            "aggregate": {
                "type": self.aggregate_type,
                "id": self.aggregate_id,
                "sequence": self.sequence,
            },
            "data": self.data,
            "metadata": self.metadata,
        }


class WebhookSubscription(TenantModel):
    """An integrator's endpoint: the event types it wants and the secret it verifies
    our signature with (shown once, at creation)."""

    url = models.URLField("URL", max_length=500)
    event_types = models.JSONField(
        default=list,
        help_text='Event types to send ("patient.updated"), a family ("patient.*") or "*".',
    )
    description = models.CharField(max_length=200, blank=True)
    secret = EncryptedCharField(max_length=100, editable=False)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["url"]
        verbose_name = "webhook subscription"
        indexes = [models.Index(fields=["company", "is_active"], name="webhook_company_active_idx")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        for pattern in self.event_types or []:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


class WebhookDelivery(TenantModel):
    """One event owed to one subscription: retried with exponential backoff until it
    is delivered or, after ``WEBHOOK_MAX_ATTEMPTS``, dead-lettered (replayable)."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField("next attempt", default=timezone.now)
    delivered_at = models.DateTimeField("delivered", null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("last HTTP status", null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_delivery_uniq")
        ]
        indexes = [
            # The sender's queue: pending rows that are due.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["company", "status"], name="webhook_company_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery: when, the answer (status code or error), how long."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
