"""The request an event is emitted under: its correlation id, client address and
user agent, set by ``core.middleware.CorrelationIdMiddleware`` for the whole request
so a service deep down the stack emits with them without being handed the request."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from core.context import client_ip

HEADER = "X-Request-ID"
# Accepted from the client as is: up to 128 characters of letters, digits and ._:-
# (a UUID, a trace id). Anything else is replaced by a fresh UUID, so no client text
# of any shape reaches logs or events.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class RequestInfo:
    correlation_id: str
    ip: str | None = None
    user_agent: str = ""


_current: ContextVar[RequestInfo | None] = ContextVar("ariesone_request_info", default=None)


def correlation_id_from(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _VALID.match(given) else str(uuid.uuid4())


def request_info(request: HttpRequest) -> RequestInfo:
    correlation_id = getattr(request, "correlation_id", None) or correlation_id_from(request)
    return RequestInfo(
        correlation_id=correlation_id,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
    )


def current_request_info() -> RequestInfo | None:
    return _current.get()


@contextmanager
def within_request(info: RequestInfo) -> Iterator[None]:
    token = _current.set(info)
    try:
        yield
    finally:
        _current.reset(token)
