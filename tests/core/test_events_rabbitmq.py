"""The relay against a real RabbitMQ (``EVENTS_BROKER_URL``, else the local
amqp://guest:guest@127.0.0.1:5672//): skipped when it cannot be reached.

Each test uses its own exchange and queue names (prefix ``aries-events-test-``),
deleted afterwards: the shared server is never stopped or reconfigured. A "broker
restart" is simulated from our side: a wrong address (the broker is down), the
connection's socket shut mid-batch (the broker dropped us), and a relay that dies
between the broker's confirm and its commit (a redelivery, same event id).
"""

import json
import os
import socket
import uuid

import pytest
from django.db import transaction

from core.events import emit
from core.events.publishers import RabbitMQPublisher
from core.events.relay import BatchResult, publish_batch, relay_batch
from core.models import OutboxEvent
from tests.clinical.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]

URL = os.environ.get("EVENTS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"


def reachable():
    from kombu import Connection

    try:
        with Connection(URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def broker():
    if not reachable():
        pytest.skip(f"RabbitMQ not reachable at {URL.split('@')[-1]}")
    return URL


@pytest.fixture
def queue(broker, settings):
    """A fresh exchange (the settings name it) and a queue bound to all its keys."""
    from kombu import Connection, Exchange, Queue

    name = f"aries-events-test-{uuid.uuid4().hex[:12]}"
    settings.EVENTS_BROKER_URL, settings.EVENTS_EXCHANGE = broker, name
    connection = Connection(broker)
    channel = connection.channel()
    exchange = Exchange(name, type="topic", durable=True)
    bound = Queue(name, exchange=exchange, routing_key="#", durable=False, auto_delete=False)
    bound(channel).declare()
    yield bound(channel)
    bound(channel).delete()
    exchange(channel).delete()
    connection.release()


def drain(queue):
    messages = []
    while (message := queue.get(no_ack=True)) is not None:
        messages.append(message)
    return messages


def publisher(settings):
    return RabbitMQPublisher(settings.EVENTS_BROKER_URL, settings.EVENTS_EXCHANGE, timeout=5)


def emit_interleaved(company):
    first, second = PatientFactory(company=company), PatientFactory(company=company)
    for patient in (first, second, first, second, first):
        emit("patient.updated", patient, {"fields": ["city"]}, company=company)
    return first, second


def sequences(messages):
    by_aggregate = {}
    for message in messages:
        body = json.loads(message.body)
        by_aggregate.setdefault(body["aggregate"]["id"], []).append(body["aggregate"]["sequence"])
    return by_aggregate


def test_it_delivers_to_a_real_queue_in_order(company, queue, settings):
    first, second = emit_interleaved(company)
    relay = publisher(settings)
    result = relay_batch([relay], housekeeping=False)
    relay.close()
    assert (result.published, result.failed) == (5, 0)
    messages = drain(queue)
    assert sequences(messages) == {str(first.pk): [1, 2, 3], str(second.pk): [1, 2]}
    events = {str(e.event_id): e for e in OutboxEvent.objects.all()}
    for message in messages:
        assert message.properties["message_id"] in events
        assert message.properties["delivery_mode"] == 2
        assert message.delivery_info["routing_key"] == "patient.updated"
        assert message.content_type == "application/json"
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_a_broker_that_is_down_loses_nothing(company, queue, settings):
    emit_interleaved(company)
    down = RabbitMQPublisher(
        "amqp://guest:guest@127.0.0.1:1//", settings.EVENTS_EXCHANGE, timeout=1
    )
    result = relay_batch([down], housekeeping=False)
    assert (result.published, result.failed) == (0, 5)
    assert "RabbitMQ" in result.errors[0]
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}
    relay = publisher(settings)
    assert relay_batch([relay], housekeeping=False).published == 5
    relay.close()
    assert len(drain(queue)) == 5


def test_a_dropped_connection_mid_batch_is_resumed_in_order(company, queue, settings):
    first, second = emit_interleaved(company)
    relay = publisher(settings)
    producer = relay._open()
    original = producer.publish
    calls = []

    def publish_then_drop(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            # The broker goes away under us: the socket is shut before the 3rd message.
            relay._connection.connection._transport.sock.shutdown(socket.SHUT_RDWR)
        return original(*args, **kwargs)

    producer.publish = publish_then_drop
    result = relay_batch([relay], housekeeping=False)
    assert (result.published, result.failed) == (2, 3)
    # The failed publisher reconnects on its next batch.
    assert relay_batch([relay], housekeeping=False).published == 3
    relay.close()
    assert sequences(drain(queue)) == {str(first.pk): [1, 2, 3], str(second.pk): [1, 2]}


def test_a_relay_dying_before_its_commit_repeats_with_the_same_id(company, queue, settings):
    emit_interleaved(company)
    relay = publisher(settings)

    class Crash(Exception):
        pass

    # The broker confirmed, then the relay died before marking the rows sent.
    def publish_then_crash():
        with transaction.atomic():
            publish_batch([relay], 100, BatchResult())
            raise Crash

    with pytest.raises(Crash):
        publish_then_crash()
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 5
    assert relay_batch([relay], housekeeping=False).published == 5
    relay.close()
    messages = drain(queue)
    ids = [message.properties["message_id"] for message in messages]
    assert len(ids) == 10
    assert len(set(ids)) == 5
    assert set(ids) == {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
