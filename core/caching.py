"""Cached reads of reference data and of a user's access, with TTLs and versions.

Every entry belongs to a *kind* (``settings.CACHE_TTLS`` gives its lifetime) and to one
or more *scopes* (a company, a user, ``"global"``). Each scope has a version number in
the cache; the entry's key carries the versions it was computed under, so bumping one
version (one cache write) makes every entry of that scope unreachable at once, however
many there are: a bulk import of a fee schedule invalidates the company's fee entries
in one write, a role change invalidates the user's access in one write.

    value = cached("fees", company_id, ("fee", payer_id, hcpcs, day), compute)
    invalidate("fees", company_id)           # after a change (signals do it)

Rules (docs/operations.md, Caching):

- Keys are made of the kind, ids (UUIDs, integers) and public codes (HCPCS, ICD-10)
  only: never a name, an identifier of a patient or any other PHI. :func:`make_key`
  refuses any other part (a ``TypeError``), so a mistake fails in the tests.
- Values are reference data (fee schedules, ICD-10 codes, catalogue items, payers,
  roles and memberships): none holds PHI, so nothing decrypted is ever cached.
- A version that is missing (evicted, the cache flushed) is re-created from the clock,
  never from 0, so an entry computed under an old number cannot come back.

Each read counts a hit or a miss per kind (``core.metrics``: ``ariesone_cache_requests_total``).
"""

import datetime
import re
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from . import metrics

T = TypeVar("T")

GLOBAL = "global"
# Kinds and the setting that gives their lifetime (seconds).
KINDS = ("access", "catalogue", "fees", "icd10", "payers")
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.\-*]{1,64}$")
# A value that means "absent" in the cache (None is a valid cached result).
_NONE = "__cached_none__"


def ttl(kind: str) -> int:
    """The lifetime of ``kind`` in seconds (``CACHE_TTL_PERMISSIONS`` for access,
    ``CACHE_TTL_REFERENCE`` for the reference kinds)."""
    ttls: dict[str, int] = settings.CACHE_TTLS
    return ttls[kind]


def _part(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, uuid.UUID | int):
        return str(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()  # a date of service, never a date of birth
    if isinstance(value, str) and _SAFE_TEXT.match(value):
        # Public codes and ids as text (HCPCS E0601, ICD-10 G4733, a UUID's string).
        return value
    raise TypeError(
        "A cache key part must be an id, a number or a short code (never PHI); got a "
        f"{type(value).__name__}."
    )


def make_key(kind: str, *parts: Any) -> str:
    """``cache:<kind>:<part>:...``; refuses any part that is not an id or a code."""
    if kind not in KINDS:
        raise ValueError(f"Unknown cache kind {kind!r}; add it to core.caching.KINDS.")
    return ":".join(["cache", kind, *(_part(part) for part in parts)])


def _version_key(kind: str, scope: Any) -> str:
    return make_key(kind, "v", GLOBAL if scope is None else scope)


_EPOCH_KEY = "cache:epoch"


def _versions(kind: str, scopes: Sequence[Any]) -> list[int]:
    """The epoch (:func:`expire_all`) and the version of each scope: one round trip."""
    keys = [_EPOCH_KEY, *(_version_key(kind, scope) for scope in scopes)]
    found = cache.get_many(keys)
    missing = {key: time.time_ns() for key in keys if key not in found}
    if missing:
        # Versions never expire; add() keeps a number another process set meanwhile.
        for key, value in missing.items():
            if not cache.add(key, value, timeout=None):
                value = cache.get(key, value)
            found[key] = value
    return [int(found[key]) for key in keys]


def cached(
    kind: str,
    scopes: Any,
    parts: Iterable[Hashable],
    compute: Callable[[], T],
    *,
    timeout: int | None = None,
) -> T:
    """The cached value of ``compute()`` for ``parts`` of ``kind`` under ``scopes``
    (one scope, e.g. a company id, or a tuple of them; None: the global scope)."""
    scope_list = list(scopes) if isinstance(scopes, tuple | list) else [scopes]
    versions = _versions(kind, scope_list)
    key = make_key(kind, *parts, "v", *versions)
    value = cache.get(key)
    if value is not None:
        metrics.CACHE_REQUESTS.labels(kind=kind, result="hit").inc()
        return None if value == _NONE else value  # type: ignore[return-value]
    metrics.CACHE_REQUESTS.labels(kind=kind, result="miss").inc()
    value = compute()
    if not _dirty(kind, scope_list):
        cache.set(key, _NONE if value is None else value, timeout or ttl(kind))
    return value


def cached_many(
    kind: str,
    scope: Any,
    ids: Iterable[str],
    compute: Callable[[list[str]], dict[str, Any]],
    *,
    parts: Sequence[Any] = (),
) -> dict[str, Any]:
    """``{id: value}`` for many ids in two cache round trips; ``compute(missing_ids)``
    returns the values of those not cached (ids it leaves out are cached as absent).
    ``parts`` go in every key before the id (a company's rows carry the company id, so
    two companies never share a key even if their versions were equal)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    epoch, version = _versions(kind, [scope])
    keys = {make_key(kind, *parts, item, "v", epoch, version): item for item in wanted}
    found = cache.get_many(list(keys))
    result = {keys[key]: value for key, value in found.items()}
    hits = len(result)
    missing = [item for item in wanted if item not in result]
    if hits:
        metrics.CACHE_REQUESTS.labels(kind=kind, result="hit").inc(hits)
    if missing:
        metrics.CACHE_REQUESTS.labels(kind=kind, result="miss").inc(len(missing))
        computed = compute(missing)
        fresh = {item: computed.get(item, _NONE) for item in missing}
        if not _dirty(kind, [scope]):
            cache.set_many(
                {
                    make_key(kind, *parts, item, "v", epoch, version): value
                    for item, value in fresh.items()
                },
                ttl(kind),
            )
        result.update(fresh)
    return {item: value for item, value in result.items() if value != _NONE}


def expire_all() -> None:
    """Every entry of every kind and scope, in one write (the bench's cold runs, the
    tests' query counts, an operator after a restore)."""
    try:
        cache.incr(_EPOCH_KEY)
    except ValueError:
        cache.set(_EPOCH_KEY, time.time_ns(), timeout=None)


def _bump(kind: str, scopes: Iterable[Any]) -> None:
    for scope in scopes:
        key = _version_key(kind, scope)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, time.time_ns(), timeout=None)


def _open_transaction(connection: Any) -> Any:
    """The outermost atomic block of the application (a test case's own blocks, which
    never commit, are not one), or None in autocommit."""
    for block in connection.atomic_blocks:
        if not getattr(block, "_from_testcase", False):
            return block
    return None


def _dirty(kind: str, scopes: Sequence[Any]) -> bool:
    """Whether this transaction invalidated one of the scopes: what it reads may not
    commit, so it is not written to the cache."""
    connection = transaction.get_connection()
    marks: dict[tuple[str, str], Any] = connection.__dict__.get("_cache_dirty", {})
    if not marks:
        return False
    if not connection.in_atomic_block:
        marks.clear()
        return False
    blocks = [id(block) for block in connection.atomic_blocks]
    return any(
        id(marks.get((kind, _version_key(kind, scope)))) in blocks
        for scope in scopes
        if (kind, _version_key(kind, scope)) in marks
    )


def invalidate(kind: str, *scopes: Any) -> None:
    """Make every entry of ``kind`` under each scope unreachable (one write per scope).

    Done at once, and again when the transaction commits; until then what the
    transaction reads of these scopes is not cached (a rollback must not leave it)."""
    scope_list = list(scopes) or [None]
    _bump(kind, scope_list)
    connection = transaction.get_connection()
    block = _open_transaction(connection)
    if block is not None:
        marks = connection.__dict__.setdefault("_cache_dirty", {})
        for scope in scope_list:
            marks[(kind, _version_key(kind, scope))] = block
        transaction.on_commit(lambda: _bump(kind, scope_list))
