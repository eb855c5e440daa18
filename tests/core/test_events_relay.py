"""The relay with stand-in brokers: order, at-least-once, what stays unsent,
retention, the Kafka wiring, the command and the beat task."""

import datetime
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.events import emit
from core.events.choices import DeliveryStatus
from core.events.publishers import (
    KafkaPublisher,
    PublishFailed,
    configured_publishers,
    kafka_topic,
)
from core.events.relay import _in_turn, purge_published, relay_batch
from core.models import OutboxEvent, WebhookDelivery
from tests.clinical.factories import PatientFactory

pytestmark = pytest.mark.django_db


class FakeBroker:
    """Takes messages in order; ``fail_at`` makes the n-th (0-based) publish fail."""

    name = "fake"

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.messages = []
        self.closed = False

    def publish(self, events):
        for index, event in enumerate(events):
            if self.fail_at is not None and len(self.messages) == self.fail_at:
                self.fail_at = None
                raise PublishFailed("fake: connection reset", index)
            self.messages.append(event.envelope())
        return len(events)

    def close(self):
        self.closed = True


def emit_many(company, count=2, per=3):
    patients = [PatientFactory(company=company) for _ in range(count)]
    for _ in range(per):
        for patient in patients:
            emit("patient.updated", patient, {}, company=company)
    return patients


def by_aggregate(messages):
    order = {}
    for message in messages:
        order.setdefault(message["aggregate"]["id"], []).append(message["aggregate"]["sequence"])
    return order


def test_without_a_broker_events_stay_in_the_outbox(company, settings):
    settings.EVENTS_BROKER_URL = settings.KAFKA_BOOTSTRAP_SERVERS = ""
    assert configured_publishers() == []
    emit_many(company)
    result = relay_batch(configured_publishers())
    assert result.published == 0
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 6


def test_the_settings_choose_the_brokers(settings):
    settings.EVENTS_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    assert [p.name for p in configured_publishers()] == ["rabbitmq"]


def test_it_publishes_in_order_and_marks_what_was_sent(company):
    patients = emit_many(company)
    broker = FakeBroker()
    result = relay_batch([broker], batch_size=4)
    assert (result.published, result.failed) == (4, 0)
    relay_batch([broker], batch_size=4)
    assert by_aggregate(broker.messages) == {str(p.pk): [1, 2, 3] for p in patients}
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    # Published once: another round sends nothing.
    assert relay_batch([broker]).published == 0
    assert len(broker.messages) == 6


def test_a_failure_stops_the_batch_and_the_rest_is_retried(company):
    patients = emit_many(company)
    broker = FakeBroker(fail_at=2)
    result = relay_batch([broker])
    assert (result.published, result.failed) == (2, 4)
    left = OutboxEvent.objects.filter(published_at__isnull=True)
    assert set(left.values_list("attempts", flat=True)) == {1}
    assert set(left.values_list("last_error", flat=True)) == {"fake: connection reset"}
    assert relay_batch([broker]).published == 4
    assert by_aggregate(broker.messages) == {str(p.pk): [1, 2, 3] for p in patients}


def test_an_aggregate_waits_for_its_earlier_event(company):
    _first, second = emit_many(company, per=2)
    events = list(OutboxEvent.objects.order_by("id"))
    # Another relay holds the first event of ``first`` (not in this batch).
    batch = events[1:]
    assert [e.aggregate_id for e in _in_turn(batch)] == [str(second.pk)] * 2
    assert _in_turn(events) == events


def test_every_broker_must_confirm(company):
    emit_many(company, count=1, per=2)
    good, bad = FakeBroker(), FakeBroker(fail_at=1)
    result = relay_batch([good, bad])
    assert (result.published, result.failed) == (1, 1)


def test_retention_purges_old_published_events_only(company, settings):
    settings.EVENTS_RETENTION_DAYS = 7
    emit_many(company, count=1, per=4)
    old = timezone.now() - datetime.timedelta(days=8)
    events = list(OutboxEvent.objects.order_by("id"))
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events[:3]]).update(published_at=old)
    OutboxEvent.objects.filter(pk=events[3].pk).update(published_at=timezone.now())
    from core.events import webhooks

    subscription = webhooks.create_subscription(
        company=company, url="https://hooks.example.test/in", event_types=["*"]
    )
    WebhookDelivery.objects.create(
        company=company, subscription=subscription, event=events[2], status=DeliveryStatus.DEAD
    )
    assert purge_published() == 2
    # The dead letter's event and the recent one stay.
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {events[2].pk, events[3].pk}


class FakeKafka:
    def __init__(self, fail_key=None):
        self.produced, self.pending, self.fail_key = [], [], fail_key

    def produce(self, topic, key, value, headers, on_delivery):
        self.produced.append((topic, key, json.loads(value), dict(headers)))
        self.pending.append((key, on_delivery))

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        for key, callback in self.pending:
            callback("Broker: not enough replicas" if key == self.fail_key else None, object())
        self.pending = []
        return 0


def test_kafka_topics_keys_and_headers(company, settings):
    settings.KAFKA_TOPIC_PREFIX = ""
    patient = PatientFactory(company=company)
    emit("patient.updated", patient, {}, company=company)
    emit("phi.accessed", ("user", "u1"), {}, company=company)
    fake = FakeKafka()
    assert relay_batch([KafkaPublisher("unused:9092", producer=fake)]).published == 2
    (topic, key, body, headers), (audit_topic, audit_key, _, _) = fake.produced
    assert (topic, key) == ("patient-events", str(patient.pk).encode())
    assert (audit_topic, audit_key) == ("audit-events", b"u1")
    assert headers["event_id"] == body["id"].encode()
    assert headers["event_type"] == b"patient.updated"


def test_kafka_failures_keep_the_rest_unsent(company):
    first, second = PatientFactory(company=company), PatientFactory(company=company)
    for patient in (first, second, first):
        emit("patient.updated", patient, {}, company=company)
    fake = FakeKafka(fail_key=str(second.pk).encode())
    result = relay_batch([KafkaPublisher("unused:9092", producer=fake)])
    assert (result.published, result.failed) == (1, 2)
    assert "not enough replicas" in result.errors[0]


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("appointment.booked", "appointment-events"),
        ("document.received", "document-events"),
        ("claim.paid", "patient-events"),
        ("phi.accessed", "audit-events"),
    ],
)
def test_kafka_topic_per_family(event_type, topic, settings):
    settings.KAFKA_TOPIC_PREFIX = "staging."
    assert kafka_topic(event_type) == f"staging.{topic}"


def test_the_kafka_client_is_installed():
    from importlib.metadata import version

    import confluent_kafka

    assert version("confluent-kafka").startswith("2.")
    assert confluent_kafka.Producer


def test_the_command_relays_once_and_summarises(company, settings, capsys):
    settings.EVENTS_BROKER_URL = settings.KAFKA_BOOTSTRAP_SERVERS = ""
    emit_many(company, count=1, per=2)
    call_command("relay_events", "--once")
    captured = capsys.readouterr()
    assert "No broker configured" in captured.err
    assert captured.out.strip().splitlines()[-1].startswith("Relayed 0 event(s)")


def test_the_command_refuses_a_bad_batch_size():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--batch-size"):
        call_command("relay_events", "--once", "--batch-size", "0")


def test_the_beat_task_runs_under_its_lock(company, settings, monkeypatch):
    from core import tasks
    from core.locks import cache_lock

    broker = FakeBroker()
    monkeypatch.setattr("core.events.relay.configured_publishers", lambda: [broker])
    emit_many(company, count=1, per=3)
    with cache_lock("relay_events", 60):
        assert tasks.relay_events.delay().get() is None
    assert tasks.relay_events.delay().get() == 3
    assert broker.closed


def test_the_beat_schedule_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="core.tasks.relay_events")
    assert (task.interval.every, task.interval.period) == (5, "seconds")
