"""The pieces every readiness check shares: the reason, the registry, the batch.

A check is a function ``check(batch) -> Iterable[(line_id, Reason)]`` that looks at
every line of a :class:`Batch` at once, from what the batch prefetched (or from one
query of its own for the whole batch, never one per line). Register it with
:func:`register_check`; apps on higher floors (documents, resupply) do so in their
``AppConfig.ready()``.
"""

import datetime
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Severity: an error holds billing; a warning is shown but bills (the payer may deny).
from ..models.readiness import Severity


@dataclass(frozen=True)
class Fix:
    """The record and field a clerk changes to clear a reason: ``model`` is the model
    label (``dme.order``), ``pk`` its id, ``field`` the field name ("" for the record)."""

    model: str
    pk: uuid.UUID | None
    field: str = ""

    @property
    def app_label(self) -> str:
        return self.model.split(".")[0]

    @property
    def model_name(self) -> str:
        return self.model.split(".")[1]


@dataclass(frozen=True)
class Reason:
    """Why a line cannot be billed yet, in a clerk's words.

    ``message`` names records by their numbers (order, patient number, HCPCS) and never
    carries what the staff page does not already show; it is never logged.
    """

    code: str
    message: str
    severity: str
    fix: Fix | None = None
    source: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "model": self.fix.model if self.fix else "",
            "pk": str(self.fix.pk) if self.fix and self.fix.pk else "",
            "field": self.fix.field if self.fix else "",
        }


def error(code: str, message: str, fix: Fix | None = None, source: str = "") -> Reason:
    return Reason(code, message, Severity.ERROR, fix, source)


def warning(code: str, message: str, fix: Fix | None = None, source: str = "") -> Reason:
    return Reason(code, message, Severity.WARNING, fix, source)


SupplyRow = tuple[datetime.date | None, int, uuid.UUID]


@dataclass
class Batch:
    """The lines being checked and everything the built-in checks read about them,
    loaded once for the whole batch (``hme.readiness.compute.load_batch``).

    ``dates[line_id]`` is each line's date of service (the delivery date, or the next
    rental month's), ``None`` when not delivered yet; ``on`` is the day billing happens
    (timely filing counts to it). ``extra`` is for registered checks to cache what they
    load once per batch.
    """

    lines: list[Any]
    on: datetime.date
    dates: dict[uuid.UUID, datetime.date | None]
    deliveries: dict[uuid.UUID, Any] = field(default_factory=dict)  # order id -> delivery
    delivered_items: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    coverages: dict[uuid.UUID, list[Any]] = field(default_factory=lambda: defaultdict(list))
    authorizations: dict[uuid.UUID, list[Any]] = field(default_factory=lambda: defaultdict(list))
    # patient id -> [(diagnosis id, code)]
    diagnoses: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    icd10: dict[str, Any] = field(default_factory=dict)
    icd10_loaded: bool = False
    rentals: dict[uuid.UUID, list[Any]] = field(default_factory=lambda: defaultdict(list))
    earlier_items: dict[uuid.UUID, list[Any]] = field(default_factory=lambda: defaultdict(list))
    # (patient id, HCPCS) -> [(delivered on, quantity, order line id)]
    supply_history: dict[tuple[uuid.UUID, str], list[SupplyRow]] = field(
        default_factory=lambda: defaultdict(list)
    )
    extra: dict[str, Any] = field(default_factory=dict)

    def coverage(self, line: Any) -> Any:
        """The line's primary coverage in force on its date of service, or None."""
        day = self.dates.get(line.pk) or self.on
        for coverage in self.coverages.get(line.order.patient_id, []):
            if coverage.priority == "primary" and coverage.in_force_on(day):
                return coverage
        return None


Check = Callable[[Batch], Iterable[tuple[uuid.UUID, Reason]]]
_CHECKS: list[Check] = []


def register_check(check: Check) -> Check:
    """Add a readiness check (usable as a decorator). Idempotent: a check registered
    twice runs once. It gets the whole :class:`Batch` and yields ``(line id, Reason)``;
    it must not query per line (load what it needs once, keyed by the batch's ids)."""
    if check not in _CHECKS:
        _CHECKS.append(check)
    return check


def unregister_check(check: Check) -> None:
    if check in _CHECKS:
        _CHECKS.remove(check)


def registered_checks() -> list[Check]:
    return list(_CHECKS)
