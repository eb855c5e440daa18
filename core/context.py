"""Who is acting: the user behind the current request, API call, command or job.

Base models read it to fill ``created_by``/``updated_by``; django-auditlog reads its own
actor, which :func:`acting_as` sets at the same time so both always agree. A context
variable (not a thread local) so that it is right under threads and asyncio alike.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from auditlog.context import set_actor

_actor: ContextVar[Any] = ContextVar("ariesone_actor", default=None)


def get_actor() -> Any:
    """Return the acting user, or None for a system job."""
    return _actor.get()


@contextmanager
def acting_as(user: Any, remote_addr: str | None = None) -> Iterator[None]:
    """Attribute every save inside the block to ``user`` (None or anonymous: system)."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    token = _actor.set(user)
    try:
        if user is None:
            yield
        else:
            with set_actor(user, remote_addr=remote_addr):
                yield
    finally:
        _actor.reset(token)


def client_ip(request):
    """The client address; behind our proxy the first X-Forwarded-For hop."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:45] or None
    return request.META.get("REMOTE_ADDR") or None
