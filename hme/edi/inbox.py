"""Inbound X12 files: validate, then dispatch each transaction set to its handler by ST01.

Handlers are registered per transaction set id::

    from hme.edi.inbox import register_handler

    def handle_999(transaction, context): ...
    register_handler("999", handle_999)

A handler receives the :class:`~hme.edi.x12.Transaction` (its ISA, GS and ST..SE
segments) and an :class:`InboxContext` (company, file name); it returns a small dict of
counts for the summary (or ``None``) and raises :class:`~hme.edi.x12.X12Error` (or any
``ServiceError``) to refuse the file. :func:`dispatch_file` reads the whole file first
(invalid X12 is refused before anything changes), then runs every handler inside one
database transaction: one refusal rolls back the whole file.

Built-in handlers live in the modules of ``HANDLER_MODULES`` (imported on first use);
another module adds itself to that list (or registers from its AppConfig.ready).
"""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from .x12 import Transaction, X12Error, read_transactions

__all__ = [
    "HANDLER_MODULES",
    "Handler",
    "InboxContext",
    "InboxResult",
    "dispatch_file",
    "handler_for",
    "register_handler",
    "unregister_handler",
]

#: Modules that register handlers when imported (999 and 277CA here; 835/271 elsewhere).
HANDLER_MODULES: list[str] = ["hme.edi.acks"]


@dataclass
class InboxContext:
    """What a handler knows about the file its transaction set came in."""

    company: Any  # accounts.Company
    file_name: str
    checksum: str  # SHA-256 of the file's bytes
    # Anything a handler wants to hand to the next one of the same file.
    shared: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Transaction, InboxContext], "dict[str, int] | None"]

_handlers: dict[str, Handler] = {}
_loaded = False


def register_handler(set_id: str, handler: Handler) -> None:
    """Register ``handler`` for transaction sets whose ST01 is ``set_id`` ("999", "835"...).

    Registering again for the same id replaces the handler (tests use this)."""
    if not (set_id.isdigit() and len(set_id) == 3):
        raise ValueError("A transaction set id is three digits (ST01), e.g. '999'.")
    _handlers[set_id] = handler


def unregister_handler(set_id: str) -> None:
    _handlers.pop(set_id, None)


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        _loaded = True


def handler_for(set_id: str) -> Handler | None:
    _load()
    return _handlers.get(set_id)


@dataclass
class InboxResult:
    """What one file did: its transaction sets by id and the handlers' counts."""

    file_name: str
    checksum: str
    sets: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        sets = ", ".join(f"{n} x {set_id}" for set_id, n in sorted(self.sets.items()))
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return f"{self.file_name}: {sets or 'no transaction set'}" + (
            f" ({counts})" if counts else ""
        )


def dispatch_file(company: Any, file_name: str, data: bytes) -> InboxResult:
    """Validate ``data`` as X12 and run each transaction set's handler, all or nothing.

    Raises :class:`X12Error` (segment and position named) for invalid X12 or a
    transaction set no handler knows; any handler's ``ServiceError`` rolls everything
    back and propagates. Nothing is changed when it raises.
    """
    checksum = hashlib.sha256(data).hexdigest()
    # First pass: the whole file must be X12 with sound envelopes before anything runs.
    transactions = list(read_transactions(data))
    if not transactions:
        raise X12Error("The file holds no transaction set.")
    for tx in transactions:
        if handler_for(tx.set_id) is None:
            raise tx.segments[0].error(f"No handler for transaction set {tx.set_id}")
    result = InboxResult(file_name=file_name, checksum=checksum)
    context = InboxContext(company=company, file_name=file_name, checksum=checksum)
    with transaction.atomic():
        for tx in transactions:
            handler = handler_for(tx.set_id)
            assert handler is not None
            counts = handler(tx, context)
            result.sets[tx.set_id] += 1
            if counts:
                result.counts.update(counts)
    return result
