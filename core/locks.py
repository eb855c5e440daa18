"""Locks: one cache lock for the periodic jobs that must never overlap (backups, data
quality, rental billing), and one row lock for the services (:func:`lock_row`).

``cache.add`` is atomic on Redis, so the lock holds across workers and machines; with
the local-memory cache of a laptop it only covers one process.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.cache import cache
from django.db import models, router, transaction

_M = TypeVar("_M", bound=models.Model)


def lock_row(instance: _M, *related: str) -> _M:
    """``instance``'s row re-read under ``SELECT ... FOR UPDATE OF`` itself (never the
    joined ``related`` rows, which may be NULL), locked until the transaction ends.

    The one row-lock helper of every service: a service locks the rows it changes
    first, parents before children (an order before its deliveries and rentals), and
    then reads them fresh. Outside ``transaction.atomic()`` the lock would end at once,
    so that is refused.
    """
    model = type(instance)
    using = router.db_for_write(model)
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError(f"Locking a {model.__name__} must run inside transaction.atomic().")
    queryset = model._default_manager.using(using).select_for_update(of=("self",))
    if related:
        queryset = queryset.select_related(*related)
    return queryset.get(pk=instance.pk)


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
