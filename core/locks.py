"""One cache lock for the periodic jobs that must never overlap (backups, data quality,
rental billing).

``cache.add`` is atomic on Redis, so the lock holds across workers and machines; with
the local-memory cache of a laptop it only covers one process.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


def lock_key(name: str) -> str:
    return f"lock:{name}"


@contextmanager
def cache_lock(name: str, timeout: float, *, holder: str = "") -> Iterator[bool]:
    """Try to take the lock ``name`` for at most ``timeout`` seconds; yield whether it
    was taken. It is released on exit, and only by its own holder (a lock that expired
    and was taken by another run is left alone). ``holder`` labels it for messages."""
    key = lock_key(name)
    token = f"{holder}:{uuid.uuid4().hex}"
    acquired = cache.add(key, token, timeout)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def lock_holder(name: str) -> str:
    """The label of whoever holds the lock ``name`` now ("" when free or unlabelled)."""
    return str(cache.get(lock_key(name)) or "").split(":", 1)[0]
