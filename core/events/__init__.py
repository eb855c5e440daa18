"""Domain events through a transactional outbox (docs/events.md).

Services call :func:`emit` inside the transaction of the change: the event row
commits or rolls back with it. The relay (``core.events.relay``: the Celery task
``core.tasks.relay_events`` and ``manage.py relay_events``) publishes the rows in order
per aggregate, at least once, to RabbitMQ, Kafka and the webhook subscriptions.

``data`` carries ids, codes, statuses and amounts only, never PHI: no names, dates
of birth, identifiers such as MBIs or member ids, addresses, phone numbers or notes.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import connections, router, transaction

from core.context import get_actor

from .context import current_request_info, request_info
from .types import EVENT_TYPES

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import OutboxEvent

__all__ = ["EVENT_TYPES", "emit"]

# A guard, not the proof (that is the demo walk in tests/core/test_events_phi.py):
# codes and ids are short, so a long string in data is most likely free text.
MAX_TEXT = 64


class EventDataError(ValueError):
    """An event's data holds something other than ids, codes, numbers and flags."""


def _check(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise EventDataError(f"Event data {path} is longer than {MAX_TEXT} characters.")
        return value
    if isinstance(value, list | tuple):
        return [_check(item, f"{path}[]") for item in value]
    if isinstance(value, Mapping):
        return {str(key): _check(item, f"{path}.{key}") for key, item in value.items()}
    # Decimals (money), UUIDs, dates of service: their text form.
    text = str(value)
    return _check(text, path)


def _aggregate(aggregate: Any) -> tuple[str, str, str]:
    """(type, id, source) of a model instance or of a ``(type, id)`` pair."""
    if isinstance(aggregate, tuple):
        kind, pk = aggregate
        return str(kind), str(pk), "ariesone/core"
    meta = aggregate._meta
    return meta.model_name, str(aggregate.pk), f"ariesone/{meta.app_label}"


def _next_sequence(aggregate_type: str, aggregate_id: str) -> int:
    """One statement on PostgreSQL and SQLite (3.35+) alike: create the counter at 1
    or add 1, and return it. The row stays locked until the transaction ends."""
    from .models import AggregateSequence

    table = AggregateSequence._meta.db_table
    connection = connections[router.db_for_write(AggregateSequence)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence) "  # noqa: S608
            "VALUES (%s, %s, 1) ON CONFLICT (aggregate_type, aggregate_id) "
            f"DO UPDATE SET last_sequence = {table}.last_sequence + 1 RETURNING last_sequence",
            [aggregate_type, aggregate_id],
        )
        row = cursor.fetchone()
    return int(row[0])


def metadata(request: "HttpRequest | None" = None) -> dict[str, Any]:
    """Correlation id, user id, IP address and user agent of the request (the one
    given, else the one being served), or of no request (a job: all empty)."""
    info = request_info(request) if request is not None else current_request_info()
    user = get_actor()
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    return {
        "correlation_id": info.correlation_id if info else None,
        "user_id": str(user.pk) if user is not None else None,
        "ip": info.ip if info else None,
        "user_agent": info.user_agent if info else "",
    }


def emit(
    event_type: str,
    aggregate: Any,
    data: Mapping[str, Any],
    *,
    company: Any,
    request: "HttpRequest | None" = None,
    version: int = 1,
) -> "OutboxEvent":
    """Write one event to the outbox, in the caller's transaction (two queries).

    ``aggregate`` is the model instance the event is about (or a ``(type, id)``
    pair); ``company`` the tenant (an instance or its id); ``data`` ids and codes.
    """
    from .models import OutboxEvent

    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}: add it to core/events/types.py.")
    aggregate_type, aggregate_id, source = _aggregate(aggregate)
    clean = _check(dict(data), "data")
    company_id = getattr(company, "pk", company)
    # Joins the caller's transaction (no savepoint); alone, it is its own.
    with transaction.atomic(using=router.db_for_write(OutboxEvent), savepoint=False):
        sequence = _next_sequence(aggregate_type, aggregate_id)
        return OutboxEvent.objects.create(
            event_type=event_type,
            version=version,
            source=source,
            company_id=company_id,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            sequence=sequence,
            data=clean,
            metadata=metadata(request),
        )
