"""The relay: outbox -> webhooks queue, brokers, housekeeping (docs/events.md).

One :func:`relay_batch` round:

1. *dispatch*: queue webhook deliveries for events not yet dispatched;
2. *publish*: take the oldest unpublished events (``SELECT ... FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so two relays never take the same rows), leave out any
   aggregate whose earlier event another relay holds, publish them in id order to
   every configured broker and mark the confirmed ones ``published_at``. A failure
   stops the batch: the rest stay unpublished, are counted and retried next round
   (at least once; a retry may repeat a message, with the same event id);
3. *deliver*: POST the due webhook deliveries;
4. *housekeeping*: delete published events older than ``EVENTS_RETENTION_DAYS``
   (their deliveries done).

Run by the Celery task ``core.tasks.relay_events`` (beat, every few seconds, under a
cache lock) and by ``manage.py relay_events`` (a loop, or ``--once``).
"""

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import webhooks
from .choices import DeliveryStatus
from .models import OutboxEvent, WebhookDelivery
from .publishers import Publisher, PublishFailed, configured_publishers

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    dispatched: int = 0
    published: int = 0
    held_back: int = 0
    failed: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    dead: int = 0
    purged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        """Whether the round found work (the loop then goes again at once)."""
        return bool(self.dispatched or self.published or self.delivered)

    def summary(self) -> str:
        line = (
            f"published {self.published}, held back {self.held_back}, failed {self.failed}; "
            f"webhooks queued {self.dispatched}, delivered {self.delivered}, "
            f"failed {self.delivery_failures}, dead {self.dead}; purged {self.purged}"
        )
        if self.errors:
            line += f" ({'; '.join(self.errors)})"
        return line


def dispatch_webhooks(batch_size: int) -> int:
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        if not events:
            return 0
        queued = webhooks.dispatch(events)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            dispatched_at=timezone.now()
        )
    return queued


def _in_turn(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """``events`` minus the aggregates whose earlier unpublished event is not in this
    batch (another relay holds it locked): publishing theirs now would overtake it."""
    if not events:
        return events
    ids = [event.pk for event in events]
    first: dict[tuple[str, str], int] = {}
    for event in events:
        first.setdefault((event.aggregate_type, event.aggregate_id), event.pk)
    earlier = (
        OutboxEvent.objects.filter(
            published_at__isnull=True,
            aggregate_id__in={key[1] for key in first},
            id__lt=max(ids),
        )
        .exclude(id__in=ids)
        .values_list("aggregate_type", "aggregate_id", "id")
    )
    blocked = {(kind, pk) for kind, pk, row_id in earlier if row_id < first.get((kind, pk), 0)}
    return [e for e in events if (e.aggregate_type, e.aggregate_id) not in blocked]


def publish_batch(publishers: Sequence[Publisher], batch_size: int, result: BatchResult) -> None:
    with transaction.atomic():
        taken = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        events = _in_turn(taken)
        result.held_back += len(taken) - len(events)
        done = len(events)
        for publisher in publishers:
            try:
                done = min(done, publisher.publish(events[:done]))
            except PublishFailed as error:
                done = min(done, error.done)
                result.errors.append(str(error))
                logger.warning("event relay: %s", error)
        published, failed = events[:done], events[done:]
        if published:
            OutboxEvent.objects.filter(pk__in=[e.pk for e in published]).update(
                published_at=timezone.now()
            )
        if failed:
            reason = (result.errors[-1] if result.errors else "")[:255]
            OutboxEvent.objects.filter(pk__in=[e.pk for e in failed]).update(
                attempts=F("attempts") + 1, last_error=reason
            )
        result.published += len(published)
        result.failed += len(failed)


def purge_published(now: datetime.datetime | None = None, limit: int = 5000) -> int:
    """Delete published events older than ``EVENTS_RETENTION_DAYS`` whose webhook
    deliveries are all delivered (pending and dead-lettered ones are kept)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    open_deliveries = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD]
    ).values("event_id")
    ids = list(
        OutboxEvent.objects.filter(published_at__lt=cutoff)
        .filter(~Q(pk__in=open_deliveries))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return 0
    deleted, _ = OutboxEvent.objects.filter(pk__in=ids).delete()
    return len(ids) if deleted else 0


def relay_batch(
    publishers: Sequence[Publisher] | None = None,
    *,
    batch_size: int | None = None,
    housekeeping: bool = True,
) -> BatchResult:
    """One round of the relay (see the module docstring)."""
    size = batch_size or settings.EVENTS_RELAY_BATCH_SIZE
    result = BatchResult()
    result.dispatched = dispatch_webhooks(size)
    if publishers:
        publish_batch(publishers, size, result)
    sent = webhooks.send_due(limit=size)
    result.delivered, result.delivery_failures, result.dead = sent.delivered, sent.failed, sent.dead
    if housekeeping:
        result.purged = purge_published()
    return result


def relay_pending(*, max_batches: int = 20, batch_size: int | None = None) -> list[BatchResult]:
    """Rounds until the outbox is drained (or ``max_batches``): the Celery task."""
    publishers = configured_publishers()
    results: list[BatchResult] = []
    try:
        for number in range(max_batches):
            result = relay_batch(publishers, batch_size=batch_size, housekeeping=number == 0)
            results.append(result)
            if not result.busy or result.failed:
                break
    finally:
        for publisher in publishers:
            publisher.close()
    return results
