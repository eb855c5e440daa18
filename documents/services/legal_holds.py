"""Placing and releasing legal holds (retention stops for what they cover)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row

from ..models import LegalHold


def place_hold(*, company: Any, reason: str, patient: Any = None, claim: Any = None) -> LegalHold:
    """Hold every record of ``patient`` or of ``claim`` past its retention end."""
    if (patient is None) == (claim is None):
        raise ServiceError("A legal hold names either a patient or a claim.", code="hold_target")
    target = patient if patient is not None else claim
    if target.company_id != company.pk:
        raise ServiceError("This record is not in your company.", code="other_company")
    if not (reason or "").strip():
        raise ServiceError("Say why (matter or case number).", fields={"reason": ["Required."]})
    with transaction.atomic():
        return LegalHold.objects.create(
            company=company, patient=patient, claim=claim, reason=reason.strip()
        )


def release_hold(hold: LegalHold, *, user: Any = None) -> LegalHold:
    """End a hold; retention runs again for what it covered."""
    with transaction.atomic():
        hold = lock_row(hold)
        if hold.released_at is not None:
            raise InvalidTransition("This legal hold was already released.")
        hold.released_at = timezone.now()
        hold.released_by = user if user is not None and user.is_authenticated else None
        hold.save(update_fields=["released_at", "released_by"])
    return hold
