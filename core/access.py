"""Writing the PHI access log: one call, a fixed handful of queries per request.

Tamper evidence: each row carries ``seq`` (its place in its company's chain) and
``hash`` = HMAC-SHA256(key, previous row's hash + the row's canonical fields). An
HMAC rather than a bare SHA-256: whoever can write to the database but does not hold
the key cannot forge a consistent chain after changing or deleting a row. The key is
``ACCESS_LOG_HASH_KEY``, else one derived from ``SECRET_KEY``. ``verify_access_log``
walks the chains. HIPAA: 45 CFR 164.312(b) (audit controls) and 164.312(c)(1)
(integrity).
"""

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, transaction
from django.db.models import GenericIPAddressField
from django.utils import timezone

from .context import client_ip
from .events.audit import emit_access
from .exceptions import AccessLogUnavailable

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import AccessLog, AccessLogChain

_ip_field: "GenericIPAddressField[Any, Any]" = GenericIPAddressField()


def hash_key() -> bytes:
    key = settings.ACCESS_LOG_HASH_KEY
    if key:
        return cast(str, key).encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"ariesone access log", "sha256").digest()


def chain_key(company_id: uuid.UUID | str | None) -> str:
    return str(company_id) if company_id else ""


def canonical(row: "AccessLog") -> str:
    """The fields the hash covers, as stable text. Not ``user_id``: it is set to NULL
    when a user is deleted, which must not break the chain (``user_email`` stays)."""
    timestamp = row.timestamp.astimezone(UTC).isoformat()
    return json.dumps(
        [
            row.seq,
            chain_key(row.company_id),
            timestamp,
            row.user_email,
            row.content_type_id,
            row.object_id,
            row.via,
            row.action,
            _ip_field.get_prep_value(row.ip_address),
            row.user_agent,
            sorted(row.fields or []),
            row.purpose,
        ],
        separators=(",", ":"),
    )


def row_hash(row: "AccessLog", previous_hash: str, key: bytes | None = None) -> str:
    message = (previous_hash + canonical(row)).encode()
    return hmac.new(key or hash_key(), message, hashlib.sha256).hexdigest()


def _lock_heads(keys: set[str]) -> dict[str, "AccessLogChain"]:
    """Lock (creating if needed) the chain heads of ``keys``: ``{key: head}``.

    One statement, whether the heads exist or not (``INSERT ... ON CONFLICT DO UPDATE
    ... RETURNING``: the no-op update takes the row lock ``SELECT ... FOR UPDATE``
    would), so a request's query count never depends on being a company's first."""
    from django.db import connection

    from .models import AccessLogChain

    quote = connection.ops.quote_name
    table, key, seq, last = (
        quote(name) for name in (AccessLogChain._meta.db_table, "key", "last_seq", "last_hash")
    )
    ordered = sorted(keys)  # locked in key order: two writers never wait crosswise
    values = ", ".join(["(%s, 0, '')"] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, {seq}, {last}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({key}) DO UPDATE SET {seq} = {table}.{seq} "
            f"RETURNING {key}, {seq}, {last}",
            ordered,
        )
        heads = [AccessLogChain(key=k, last_seq=seq, last_hash=h) for k, seq, h in cursor]
    return {head.key: head for head in heads}


def append(rows: list["AccessLog"]) -> list["AccessLog"]:
    """Chain and insert ``rows`` (unsaved AccessLog objects): lock the heads (one
    statement), one multi-row INSERT, one UPDATE of the heads; in the caller's
    transaction when there is one (``record_access``'s: no savepoint of its own),
    else in its own."""
    from .models import AccessLogChain

    if not rows:
        return []
    key = hash_key()
    with transaction.atomic(savepoint=False):
        heads = _lock_heads({chain_key(row.company_id) for row in rows})
        for row in rows:
            head = heads[chain_key(row.company_id)]
            head.last_seq += 1
            row.seq = head.last_seq
            row.hash = row_hash(row, head.last_hash, key)
            head.last_hash = row.hash
        created = _insert(rows)
        AccessLogChain.objects.bulk_update(heads.values(), ["last_seq", "last_hash"])
    return created


def _insert(rows: list["AccessLog"]) -> list["AccessLog"]:
    """One multi-row INSERT of ``rows`` (their ids set from ``RETURNING``).

    On PostgreSQL the rows travel as one JSON parameter, unpacked by
    ``jsonb_to_recordset`` into the columns' own types: Django's ``bulk_create`` sends
    one array per column through ``UNNEST``, and psycopg's client-side binding quotes
    every element in Python (the biggest part of a 50-row list page's access-log cost,
    issue 19); one parameter also keeps the statement in psycopg's cache of converted
    queries. Elsewhere ``bulk_create``, which is already one INSERT."""
    from django.db import connection

    from .models import AccessLog

    if connection.vendor != "postgresql":
        return AccessLog.objects.bulk_create(rows)
    fields = [field for field in AccessLog._meta.concrete_fields if not field.primary_key]
    document = json.dumps(
        [
            {field.column: field.get_prep_value(getattr(row, field.attname)) for field in fields}
            for row in rows
        ],
        default=_json_value,
        separators=(",", ":"),
    )
    quote = connection.ops.quote_name
    pk = AccessLog._meta.pk
    assert pk is not None  # a concrete model always has one
    columns = ", ".join(quote(field.column) for field in fields)
    types = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(AccessLog._meta.db_table)} ({columns}) "  # noqa: S608 - model names
            f"SELECT {columns} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) "
            f"WITH ORDINALITY AS v({columns}, n) ORDER BY n RETURNING {quote(pk.column)}",
            [document],
        )
        for row, (row_id,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = row_id
            row._state.adding = False
            row._state.db = connection.alias
    return rows


def _json_value(value: Any) -> str:
    """A column value JSON has no type for, as PostgreSQL reads it back exactly."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"No JSON form for a {type(value).__name__} in the access log.")


def record_access(
    request: "HttpRequest",
    objects: Iterable[Any],
    *,
    via: str,
    action: str,
    fields: Iterable[object] = (),
    purpose: str = "",
) -> list["AccessLog"]:
    """Log that ``request.user`` looked at ``objects`` (model instances).

    ``fields`` names the data elements shown (never their values); ``purpose`` is the
    stated reason, when there is one (else the request's ``X-Purpose`` header; never
    a query parameter, which would put it in URLs and server logs). A 50-row API
    page costs the same queries as one row.
    """
    from .models import AccessLog

    objects = [obj for obj in objects if obj is not None]
    if not objects:
        return []
    user = request.user if request.user.is_authenticated else None
    ip_address = client_ip(request)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:255]
    purpose = (purpose or request_purpose(request))[:200]
    fields = sorted({str(name) for name in fields})
    now = timezone.now()
    content_types = ContentType.objects.get_for_models(*{type(obj) for obj in objects})
    rows = [
        AccessLog(
            timestamp=now,
            user=user,
            user_email=user.email if user is not None else "",
            company_id=getattr(obj, "company_id", None),
            content_type=content_types[type(obj)],
            object_id=str(obj.pk),
            via=via,
            action=action,
            ip_address=ip_address,
            user_agent=user_agent,
            fields=fields,
            purpose=purpose,
        )
        for obj in objects
    ]
    try:
        # Its own transaction (the rows and the event commit together, with one
        # COMMIT), or a savepoint in the caller's, which a failure leaves usable.
        with transaction.atomic():
            created = append(rows)
            emit_access(request, created)  # one phi.accessed event (docs/events.md)
    except DatabaseError as error:
        # Never dropped: the request that wanted to show the records fails (a 503 in
        # the API) rather than show them unlogged. No PHI in the message.
        raise AccessLogUnavailable(
            "The access log could not be written, so the records are not shown. "
            "Try again; if it persists, tell your administrator."
        ) from error
    return created


def request_purpose(request: "HttpRequest") -> str:
    """The purpose a client states for a request (seed 002's data-access log)."""
    purpose: str = request.META.get("HTTP_X_PURPOSE", "").strip()
    return purpose


class ChainProblem:
    """One break in a chain: a ``changed`` row (its hash does not match its fields and
    the row before it), rows ``missing`` before a row (a gap in the sequence), or rows
    missing at the end (the head is ahead of the last row)."""

    def __init__(self, kind: str, row_id: int | None, message: str) -> None:
        self.kind, self.row_id, self.message = kind, row_id, message

    def __str__(self) -> str:
        return self.message


def chain_keys() -> list[uuid.UUID | None]:
    """The company ids (None: rows of no company) that have access-log rows or a head."""
    from .models import AccessLog, AccessLogChain

    keys: set[uuid.UUID | None] = set(
        AccessLog.objects.values_list("company_id", flat=True).distinct()
    )
    keys |= {
        uuid.UUID(key) if key else None
        for key in AccessLogChain.objects.values_list("key", flat=True)
    }
    return sorted(keys, key=str)


def verify_chain(
    company_id: uuid.UUID | None,
    *,
    batch_size: int = 2000,
    progress: Callable[[int], object] | None = None,
) -> list[ChainProblem]:
    """Walk one company's chain in ``seq`` order, in batches; return its problems.

    A changed row is named once: the walk carries on from its stored hash, so the rows
    after it still verify. A deleted row shows as a gap before the next row (or, at the
    end, as the head being ahead of the last row).
    """
    from .models import AccessLog, AccessLogChain

    key = hash_key()
    # company_id=None matches the rows of no company (IS NULL); the plugin's lookup
    # types do not allow None.
    rows = AccessLog.objects.filter(company_id=company_id).order_by("seq", "id")  # type: ignore[misc]
    problems: list[ChainProblem] = []
    head = AccessLogChain.objects.filter(key=chain_key(company_id)).first()
    # Retention dropped the rows through ``pruned_seq`` (core.partitions): start after them.
    pruned = head.pruned_seq if head is not None else 0
    previous = head.pruned_hash if head is not None else ""
    expected, last_seq, last_id = pruned + 1, pruned, 0
    unsealed = rows.filter(seq__isnull=True)
    for row_id in unsealed.values_list("id", flat=True)[:100]:
        problems.append(ChainProblem("changed", row_id, f"Row {row_id} has no place in the chain."))
    rows = rows.filter(seq__isnull=False)
    while True:
        batch = list(rows.filter(seq__gt=last_seq)[:batch_size])
        if not batch:
            break
        for row in batch:
            # Only sealed rows are walked here (seq__isnull=False above).
            seq = cast(int, row.seq)
            if seq > expected:
                problems.append(
                    ChainProblem(
                        "missing",
                        row.id,
                        f"{seq - expected} row(s) missing before row {row.id} "
                        f"(sequence {expected}-{seq - 1}).",
                    )
                )
            elif row_hash(row, previous, key) != row.hash:
                problems.append(ChainProblem("changed", row.id, f"Row {row.id} was changed."))
            expected, previous, last_seq, last_id = seq + 1, row.hash, seq, row.id
        if progress is not None:
            progress(len(batch))
    if head is not None and head.last_seq > last_seq:
        problems.append(
            ChainProblem(
                "missing",
                last_id or None,
                f"{head.last_seq - last_seq} row(s) missing after row {last_id or '-'} "
                f"(sequence {last_seq + 1}-{head.last_seq}).",
            )
        )
    return problems
