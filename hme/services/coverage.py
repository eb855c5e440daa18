"""Coverage: eligibility verification, and keeping "in force today" current."""

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinical.models import Patient
from core.exceptions import ServiceError
from core.locks import lock_row

from ..choices import CoveragePriority
from ..models import Coverage


def verify_coverage(coverage: Coverage, user: Any) -> Coverage:
    """Record that ``user`` checked the patient's eligibility with the payer, now (the
    manual fallback of the 270/271 exchange, ``hme.services.eligibility``), as a
    verification record too.

    ``user`` is whatever the request has (an anonymous user records no one)."""
    from .eligibility import record_manual_check

    with transaction.atomic():
        coverage = lock_row(coverage)
        coverage.verified_at = timezone.now()
        coverage.verified_by = user if getattr(user, "is_authenticated", False) else None
        coverage.save(update_fields=["verified_at", "verified_by"])
        record_manual_check(coverage, user)
    return coverage


def refresh_coverage_status(as_of: datetime.date | None = None) -> dict[str, int]:
    """Set ``is_active`` (in force on ``as_of``, default today) on every coverage whose
    flag is stale: policies that ended are turned off, policies whose effective date
    came are turned on. Returns ``{"activated", "deactivated", "conflicts"}``;
    a policy that would make two active ones of the same priority for a patient (data
    entered around the overlap check) stays off and is counted as a conflict.
    """
    as_of = as_of or timezone.localdate()
    in_force = Q(effective_date__lte=as_of) & (
        Q(termination_date__isnull=True) | Q(termination_date__gte=as_of)
    )
    # Turn off first, so a successor policy can then be turned on.
    deactivated = Coverage.objects.filter(is_active=True).exclude(in_force).update(is_active=False)
    activated = conflicts = 0
    for pk in Coverage.objects.filter(in_force, is_active=False).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                activated += Coverage.objects.filter(pk=pk).update(is_active=True)
        except IntegrityError:
            conflicts += 1
    return {"activated": activated, "deactivated": deactivated, "conflicts": conflicts}


def coverage_on(
    patient: Patient, day: datetime.date, priority: str = CoveragePriority.PRIMARY
) -> Coverage:
    """The patient's policy of ``priority`` in force on ``day``; ServiceError if none."""
    coverage: Coverage | None = (
        Coverage.objects.filter(patient=patient, priority=priority)
        .in_force_on(day)
        .select_related("payer")
        .order_by("-effective_date")
        .first()
    )
    if coverage is None:
        raise ServiceError(
            f"{patient.number} has no {CoveragePriority(priority).label.lower()} coverage in "
            f"force on {day.isoformat()}: add the policy (or its dates) before billing.",
            code="no_coverage",
        )
    return coverage
