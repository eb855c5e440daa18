"""Read-only work on a streaming replica, everything else on the primary
(docs/scaling.md, "Past one machine").

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` alias and this router.
Reads go to the replica only inside ``replica_reads()``: the list endpoints that opt in
(``ReplicaReadMixin``), and views wrapped in ``@replica_safe`` (dashboards, reports,
exports). Everything else reads the primary, as without a replica.

Read-your-writes: the first write of a request (a save, an update, a delete, a ``SELECT
... FOR UPDATE``) pins the rest of the request to the primary (a context-local flag),
and a cache marker keyed by the user's id pins the user's next requests for
``DATABASE_REPLICA_PIN_SECONDS`` (longer than the replica's lag), cookie-free. The
access log, the outbox and sessions do not pin: every read of patient data writes
them, and no page reads them back.

The cache key holds the user's id only (never PHI). Migrations run on the primary only.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from core.context import get_actor

REPLICA = "replica"
PRIMARY = "default"

# Append-only bookkeeping written while serving reads; no request reads it back.
UNPINNED = frozenset(
    {
        "core.accesslog",
        "core.accesslogchain",
        "core.outboxevent",
        "core.aggregatesequence",
        "sessions.session",
        "axes.accessattempt",
        "axes.accesslog",
        "axes.accessfailurelog",
    }
)

_reads_on_replica: ContextVar[bool] = ContextVar("ariesone_replica_reads", default=False)
_pinned: ContextVar[bool] = ContextVar("ariesone_replica_pinned", default=False)
_user_id: ContextVar[str | None] = ContextVar("ariesone_replica_user", default=None)
# Inside a request (ReplicaPinMiddleware) or a replica block: where a write pins.
# Outside (a command, a task, a test's set-up), nothing reads the replica, and a pin
# would outlive its work in the thread's context.
_in_scope: ContextVar[bool] = ContextVar("ariesone_replica_scope", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def pin_key(user_id: Any) -> str:
    return f"db-pin:{user_id}"


def is_pinned(user_id: Any) -> bool:
    """Whether ``user_id`` wrote within the last pin seconds (or this request did)."""
    if _pinned.get():
        return True
    return user_id is not None and bool(cache.get(pin_key(user_id)))


def pin(user_id: Any = None) -> None:
    """Send the rest of this request, and ``user_id``'s next requests for a few
    seconds, to the primary."""
    _pinned.set(True)
    _reads_on_replica.set(False)
    user_id = user_id if user_id is not None else _user_id.get()
    if user_id is not None:
        cache.set(pin_key(user_id), 1, settings.DATABASE_REPLICA_PIN_SECONDS)


@contextmanager
def replica_reads(user: Any = None) -> Iterator[bool]:
    """Within the block, reads go to the replica unless ``user`` (or this request)
    wrote lately; yields whether they do. A no-op without a replica."""
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    on_replica = replica_configured() and not is_pinned(user_id)
    tokens = (
        _reads_on_replica.set(on_replica),
        _pinned.set(_pinned.get()),
        _user_id.set(user_id),
        _in_scope.set(True),
    )
    try:
        yield on_replica
    finally:
        _reads_on_replica.reset(tokens[0])
        _pinned.reset(tokens[1])
        _user_id.reset(tokens[2])
        _in_scope.reset(tokens[3])


def replica_safe(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a read-only view (a dashboard, a report, an export): its reads go to the
    replica unless its user wrote in the last few seconds."""

    @wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with replica_reads(getattr(request, "user", None)):
            return view(request, *args, **kwargs)

    return wrapped


class ReplicaReadMixin:
    """For a DRF viewset: the actions in ``replica_actions`` (default: ``list``) read
    the replica. The user is known only after authentication (JWT), so the switch is
    made in ``initial``, and undone when the response is finished."""

    replica_actions: tuple[str, ...] = ("list",)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if getattr(self, "action", None) in self.replica_actions and request.method == "GET":
            context = replica_reads(request.user)
            context.__enter__()
            self._replica_context = context

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        finally:
            context = self.__dict__.pop("_replica_context", None)
            if context is not None:
                context.__exit__(None, None, None)


class ReplicaPinMiddleware:
    """Each request starts unpinned and reading the primary (the flags are context
    variables: a worker thread serves many requests)."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        tokens = (
            _reads_on_replica.set(False),
            _pinned.set(False),
            _user_id.set(None),
            _in_scope.set(True),
        )
        try:
            return self.get_response(request)
        finally:
            _reads_on_replica.reset(tokens[0])
            _pinned.reset(tokens[1])
            _user_id.reset(tokens[2])
            _in_scope.reset(tokens[3])


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry when a replica is configured."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        if _reads_on_replica.get() and not _pinned.get():
            return REPLICA
        return PRIMARY

    def db_for_write(self, model: Any, **hints: Any) -> str:
        if _in_scope.get() and model._meta.label_lower not in UNPINNED and not _pinned.get():
            actor = get_actor()
            pin(_user_id.get() or getattr(actor, "pk", None))
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # One database, two copies of it.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY
