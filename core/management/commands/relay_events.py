"""``manage.py relay_events``: publish the outbox to the configured brokers and send
the due webhooks, in a loop (``--once``: one drain and out)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.events.publishers import configured_publishers
from core.events.relay import BatchResult, relay_batch


class Command(BaseCommand):
    help = (
        "Relay the event outbox: queue webhook deliveries, publish to RabbitMQ "
        "(EVENTS_BROKER_URL) and Kafka (KAFKA_BOOTSTRAP_SERVERS) in order per aggregate, "
        "POST the due webhooks, purge published events past EVENTS_RETENTION_DAYS. "
        "One summary line per batch that did something."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Drain what is waiting now, then exit."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="Seconds to sleep when the outbox is empty (default 2).",
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Events per batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        publishers = configured_publishers()
        if not publishers:
            self.stderr.write(
                "No broker configured (EVENTS_BROKER_URL, KAFKA_BOOTSTRAP_SERVERS): "
                "events stay in the outbox; webhooks are still sent."
            )
        totals = BatchResult()
        batches = 0
        try:
            while True:
                result = relay_batch(
                    publishers, batch_size=options["batch_size"], housekeeping=batches == 0
                )
                batches += 1
                for name in ("published", "failed", "dispatched", "delivered", "dead", "purged"):
                    setattr(totals, name, getattr(totals, name) + getattr(result, name))
                if result.busy or result.failed or result.purged:
                    self.stdout.write(f"batch {batches}: {result.summary()}")
                if result.busy and not result.failed:
                    continue
                if options["once"]:
                    break
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        except DatabaseError as error:
            raise CommandError(f"Relay stopped: database error: {type(error).__name__}") from None
        finally:
            for publisher in publishers:
                publisher.close()
        self.stdout.write(
            f"Relayed {totals.published} event(s) in {batches} batch(es); "
            f"{totals.failed} left for a retry; {totals.delivered} webhook(s) delivered, "
            f"{totals.dead} dead-lettered; {totals.purged} purged."
        )
