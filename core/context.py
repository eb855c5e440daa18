"""Who is acting: the user behind the current request, API call, command or job.

Base models read it to fill ``created_by``/``updated_by``; django-auditlog reads its own
actor, which :func:`acting_as` sets at the same time so both always agree. A context
variable (not a thread local) so that it is right under threads and asyncio alike.
The database's row-level security scope (``core.rls``) follows an acting user too.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from auditlog.context import set_actor
from django.http import HttpRequest

_actor: ContextVar[Any] = ContextVar("ariesone_actor", default=None)


def get_actor() -> Any:
    """Return the acting user, or None for a system job."""
    return _actor.get()


@contextmanager
def acting_as(user: Any, remote_addr: str | None = None) -> Iterator[None]:
    """Attribute every save inside the block to ``user`` (None or anonymous: system)."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    from . import rls

    token = _actor.set(user)
    try:
        if user is None:
            yield
        else:
            # The database's row-level security follows the same user (core.rls).
            with set_actor(user, remote_addr=remote_addr), rls.for_user(user):
                yield
    finally:
        _actor.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """The client address: ``REMOTE_ADDR``, or the hop our own proxies saw.

    ``X-Forwarded-For`` is written by the client as much as by proxies, so it is trusted
    only as far as ``settings.NUM_PROXIES`` says (DRF's convention): 0 ignores it; N takes
    the N-th address from the right, the one the outermost of our N proxies appended.
    Anything further left was sent by the client and may be forged.
    """
    from django.conf import settings

    remote_addr = request.META.get("REMOTE_ADDR") or None
    num_proxies = getattr(settings, "NUM_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not num_proxies or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    return hops[-min(num_proxies, len(hops))][:45] or remote_addr
