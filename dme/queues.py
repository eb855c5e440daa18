"""The warehouse's "Pickups due": the rentals to collect, their count per reason and the
dashboard lines that link to them.

A rental is due for pickup when the supplier's unit is still with a patient who no
longer needs it: the rental is active (not capped: a capped rental's title passed to
the patient, 42 CFR 414.229(f)) and the patient is marked deceased or inactive. The
rentals list's "pickup due" filter shows the same rows (``dme.admin.rentals``); the
pickup itself is recorded by ``dme.services.return_rental``.

The count joins every active rental to every patient who left (at 100,000 patients
7,000 of them and 38,000 active rentals: 40 ms, ten times that at 1M), so the cockpit
stores it with its other figures (``cockpit.figures``, refreshed every 15 minutes)
and the lines link to the live list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, QuerySet
from django.urls import reverse

from clinical.choices import PatientStatus
from core.queues import QueueItem

from .choices import RentalStatus
from .models import Rental

# (filter value, patient status, line label)
PICKUP_REASONS = [
    ("deceased", PatientStatus.DECEASED, "Patient deceased"),
    ("inactive", PatientStatus.INACTIVE, "Patient inactive"),
]


def pickups_due(rentals: QuerySet[Rental], reason: str | None = None) -> QuerySet[Rental]:
    """The rentals of ``rentals`` to pick up (all reasons, or one of
    ``PICKUP_REASONS``)."""
    statuses = [status for value, status, _ in PICKUP_REASONS if reason in (None, value)]
    return rentals.filter(status=RentalStatus.ACTIVE, patient__status__in=statuses)


def pickup_counts(rentals: QuerySet[Rental]) -> dict[str, int]:
    """``{reason: count}`` of the rentals of ``rentals`` to pick up, every reason of
    ``PICKUP_REASONS`` (one grouped count; JSON-ready for the cockpit's snapshot)."""
    by_status = dict(
        pickups_due(rentals).values_list("patient__status").annotate(count=Count("*")).order_by()
    )
    return {value: by_status.get(status, 0) for value, status, _ in PICKUP_REASONS}


def pickup_items(counts: dict[str, Any]) -> list[QueueItem]:
    """The dashboard's lines for ``counts`` (:func:`pickup_counts`), each linking to the
    rentals list's "pickup due" filter of its reason."""
    base = reverse("admin:dme_rental_changelist")
    return [
        QueueItem(label, counts.get(value, 0), f"{base}?{urlencode({'pickup': value})}")
        for value, _, label in PICKUP_REASONS
    ]
