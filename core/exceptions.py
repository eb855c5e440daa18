"""Errors that services raise. Each carries a message a person can act on.

The API turns them into the one error shape (``core.api.exceptions``); admin actions
show the message; commands print it and exit non-zero.
"""

from typing import Any


class ServiceError(Exception):
    """A business rule refused the operation; nothing was changed."""

    code = "invalid"
    status_code = 400

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields: dict[str, Any] = fields or {}


class InvalidTransition(ServiceError):
    """A status change the transition table does not allow."""

    code = "invalid_transition"
    status_code = 409


class Conflict(ServiceError):
    """The operation collides with the current state of another record."""

    code = "conflict"
    status_code = 409


class AccessLogUnavailable(ServiceError):
    """The access log could not be written, so the records are not shown: a read of
    patient data is never served without its trail (45 CFR 164.312(b))."""

    code = "access_log_unavailable"
    status_code = 503
