"""Where the relay publishes: RabbitMQ (kombu, a topic exchange) and Kafka
(confluent-kafka, one topic per family). Each publisher takes a batch of events in
outbox order and returns how many of them, from the start, the broker confirmed;
a failure stops the batch there (the rest stay unpublished and are retried, so the
order per aggregate holds and nothing is lost; a retry may repeat a message, with
the same event id).
"""

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

from .types import family

if TYPE_CHECKING:
    from kombu import Connection, Producer

    from .models import OutboxEvent

logger = logging.getLogger(__name__)


class PublishFailed(Exception):
    """The broker refused or lost a message: ``done`` events of the batch (from its
    start) were confirmed before it. The message names the broker and the error
    class, never the event's data."""

    def __init__(self, message: str, done: int) -> None:
        super().__init__(message)
        self.done = done


class Publisher(Protocol):
    name: str

    def publish(self, events: Sequence["OutboxEvent"]) -> int: ...

    def close(self) -> None: ...


def body(event: "OutboxEvent") -> bytes:
    return json.dumps(event.envelope(), separators=(",", ":"), sort_keys=True).encode()


def _reason(error: BaseException) -> str:
    # The class and text of a broker or socket error: no event data is in them.
    return f"{type(error).__name__}: {error}"[:200]


class RabbitMQPublisher:
    """Persistent messages on a durable topic exchange, routing key = event type
    (``patient.updated``), ``message_id`` = event id, with publisher confirms: a
    publish returns once the broker has taken the message (or raises)."""

    name = "rabbitmq"

    def __init__(self, url: str, exchange: str, *, timeout: float = 10.0) -> None:
        from kombu import Exchange

        self.url = url
        self.exchange = Exchange(exchange, type="topic", durable=True)
        self.timeout = timeout
        self._connection: Connection | None = None
        self._producer: Producer | None = None

    def _open(self) -> "Producer":
        if self._producer is None:
            from kombu import Connection, Producer

            connection = Connection(
                self.url,
                connect_timeout=self.timeout,
                transport_options={"confirm_publish": True},
            )
            try:
                connection.ensure_connection(max_retries=1, timeout=int(self.timeout) or 1)
                channel = connection.channel()
                self.exchange(channel).declare()
            except Exception:
                connection.release()
                raise
            self._connection = connection
            self._producer = Producer(channel, exchange=self.exchange)
        return self._producer

    def publish(self, events: Sequence["OutboxEvent"]) -> int:
        done = 0
        try:
            producer = self._open()
            for event in events:
                producer.publish(
                    body(event),
                    routing_key=event.event_type,
                    exchange=self.exchange,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=str(event.event_id),
                    timestamp=int(event.occurred_at.timestamp()),
                    headers={
                        "event_type": event.event_type,
                        "aggregate_type": event.aggregate_type,
                        "aggregate_id": event.aggregate_id,
                        "sequence": event.sequence,
                    },
                    retry=False,
                    timeout=self.timeout,
                    confirm_timeout=self.timeout,
                )
                done += 1
        except Exception as error:
            self.close()
            raise PublishFailed(f"RabbitMQ: {_reason(error)}", done) from error
        return done

    def close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # closing a broken connection
                logger.debug("RabbitMQ connection already gone")


def kafka_topic(event_type: str) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}{family(event_type)}"


class KafkaPublisher:
    """One topic per family (``patient-events``...), key = aggregate id (one
    aggregate's events stay on one partition, in order), idempotent producer with
    ``acks=all``: ``flush`` returns once every message is acknowledged or failed."""

    name = "kafka"

    def __init__(
        self, bootstrap_servers: str, *, producer: Any = None, timeout: float = 30.0
    ) -> None:
        if producer is None:
            from confluent_kafka import Producer as KafkaProducer

            producer = KafkaProducer(
                {
                    "bootstrap.servers": bootstrap_servers,
                    "client.id": "ariesone-relay",
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                }
            )
        self.producer = producer
        self.timeout = timeout

    def publish(self, events: Sequence["OutboxEvent"]) -> int:
        errors: dict[int, str] = {}
        delivered: set[int] = set()

        def report(index: int) -> Any:
            def on_delivery(error: Any, message: Any) -> None:
                if error is not None:
                    errors[index] = str(error)[:200]
                else:
                    delivered.add(index)

            return on_delivery

        sent = 0
        try:
            for index, event in enumerate(events):
                self.producer.produce(
                    kafka_topic(event.event_type),
                    key=event.aggregate_id.encode(),
                    value=body(event),
                    headers=[
                        ("event_id", str(event.event_id).encode()),
                        ("event_type", event.event_type.encode()),
                        ("sequence", str(event.sequence).encode()),
                    ],
                    on_delivery=report(index),
                )
                sent += 1
                self.producer.poll(0)
        except Exception as error:  # BufferError, KafkaException
            errors.setdefault(sent, _reason(error))
        self.producer.flush(self.timeout)
        done = 0
        while done < len(events) and done in delivered:
            done += 1
        if done < len(events):
            reason = errors.get(done, "no delivery report before the timeout")
            raise PublishFailed(f"Kafka: {reason}", done)
        return done

    def close(self) -> None:
        self.producer.flush(self.timeout)


def configured_publishers() -> list[Publisher]:
    """The brokers the settings name: RabbitMQ when ``EVENTS_BROKER_URL`` is set,
    Kafka when ``KAFKA_BOOTSTRAP_SERVERS`` is. None: events stay in the outbox."""
    publishers: list[Publisher] = []
    if settings.EVENTS_BROKER_URL:
        publishers.append(RabbitMQPublisher(settings.EVENTS_BROKER_URL, settings.EVENTS_EXCHANGE))
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        publishers.append(KafkaPublisher(settings.KAFKA_BOOTSTRAP_SERVERS))
    return publishers
