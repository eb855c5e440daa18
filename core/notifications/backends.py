"""SMS backends: one interface, the class chosen by ``SMS_BACKEND``.

E-mail goes through Django's own mail backends (``EMAIL_BACKEND``: the console in
development, SMTP in production). SMS has no backend in Django, so this module gives
the same shape: a class with ``send_message(to, body)`` that raises on failure. The
console backend prints to stdout (the development default); ``locmem`` keeps the
messages in ``outbox`` for tests. A provider's backend (Twilio, an SMPP gateway) is a
subclass of :class:`BaseSMSBackend` named by its dotted path in ``SMS_BACKEND``.
"""

import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

from django.conf import settings
from django.utils.module_loading import import_string


class SMSSendError(Exception):
    """The SMS provider refused or could not take the message."""


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str


class BaseSMSBackend:
    """Send one text message; raise on failure (the caller records and retries)."""

    def __init__(self, **kwargs: Any) -> None:
        self.options = kwargs

    def send_message(self, to: str, body: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Writes the message to stdout (development)."""

    stream: TextIO | None = None
    _lock = threading.Lock()

    def send_message(self, to: str, body: str) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(f"SMS to {to}\n{body}\n{'-' * 40}\n")
            stream.flush()


outbox: list[SMSMessage] = []


class LocMemSMSBackend(BaseSMSBackend):
    """Keeps the messages in ``core.notifications.backends.outbox`` (tests)."""

    def send_message(self, to: str, body: str) -> None:
        outbox.append(SMSMessage(to, body))


def get_sms_backend() -> BaseSMSBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseSMSBackend)):
        raise TypeError("SMS_BACKEND must name a subclass of BaseSMSBackend.")
    return backend_class()
