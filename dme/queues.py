"""The warehouse's "Pickups due" on the cockpit's dashboards (``core.queues``),
registered in ``DmeConfig.ready()``.

A rental is due for pickup when the supplier's unit is still with a patient who no
longer needs it: the rental is active (not capped: a capped rental's title passed to
the patient, 42 CFR 414.229(f)) and the patient is marked deceased or inactive. The
rentals list's "pickup due" filter shows the same rows (``dme.admin.rentals``); the
pickup itself is recorded by ``dme.services.return_rental``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from clinical.choices import PatientStatus
from core.queues import QueueItem, provide

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


def pickups(request: HttpRequest) -> list[QueueItem]:
    """One grouped count for every reason (the rentals' status index, joined to the
    patients' status)."""
    counts = dict(
        pickups_due(Rental.objects.for_user(request.user))
        .values_list("patient__status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    base = reverse("admin:dme_rental_changelist")
    return [
        QueueItem(label, counts.get(status, 0), f"{base}?{urlencode({'pickup': value})}")
        for value, status, label in PICKUP_REASONS
    ]


def register() -> None:
    provide("warehouse.pickups", pickups)
