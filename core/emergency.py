"""Emergency access, "break the glass" (HIPAA 45 CFR 164.312(a)(2)(ii), emergency
access procedure).

What it means in our data: patients are seen by the whole company, but their
location-bound records (appointments, orders and their lines, deliveries, rentals,
claims: models with ``location_field`` and ``patient_field``) are narrowed to the
locations of a user's membership. A user so narrowed who must act for a patient seen
elsewhere asks for a grant with a stated reason: for ``EMERGENCY_ACCESS_MINUTES``,
``TenantQuerySet.for_user`` also shows them that patient's records at every location.
Each grant is written to the access log (action "emergency", the reason as purpose),
recorded as an EMERGENCY_ACCESS compliance event, and listed for the Auditor.
"""

import datetime
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .access import record_access
from .choices import AccessAction, ComplianceKind
from .compliance import record_event
from .exceptions import ServiceError
from .tenancy import get_active_membership

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import EmergencyAccess, TenantModel

MIN_REASON = 10
_CACHE = "_emergency_patient_ids"


def grant_emergency_access(
    request: "HttpRequest", patient: "TenantModel", reason: str | None, *, via: str
) -> "EmergencyAccess":
    """Give ``request.user`` emergency access to ``patient`` (found through
    ``for_user``: another company's patient never gets here) and return the grant."""
    from .models import EmergencyAccess

    # Views call this for a signed-in user only; EmergencyAccess.user takes the User.
    user: Any = request.user
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        raise ServiceError(
            "State why you need emergency access.",
            code="reason_required",
            fields={"reason": [f"Give a reason of at least {MIN_REASON} characters."]},
        )
    if len(reason) > 500:
        raise ServiceError(
            "The reason is too long.",
            fields={"reason": ["Keep the reason under 500 characters."]},
        )
    membership = get_active_membership(user)
    if membership is None or membership.company_id != patient.company_id:
        raise ServiceError("You are not a member of this patient's company.", code="not_member")
    if not membership.location_ids:
        raise ServiceError(
            "You already see this patient's records at every location.", code="not_needed"
        )
    now = timezone.now()
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            company_id=patient.company_id,
            user=user,
            patient_id=patient.pk,
            reason=reason,
            granted_at=now,
            expires_at=now + datetime.timedelta(minutes=settings.EMERGENCY_ACCESS_MINUTES),
        )
        record_access(request, [patient], via=via, action=AccessAction.EMERGENCY, purpose=reason)
        record_event(
            ComplianceKind.EMERGENCY_ACCESS,
            company=patient.company_id,
            request=request,
            target=patient,
            # The reason is free text (it may name the patient): kept on the grant only.
            detail={"grant": grant.pk, "minutes": settings.EMERGENCY_ACCESS_MINUTES},
        )
    user.__dict__.pop(_CACHE, None)
    return grant


def granted_patient_ids(user: Any, company_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the patients ``user`` holds a grant in force for in ``company_id``.
    One query per request (cached on the user object, like the active membership)."""
    from .models import EmergencyAccess

    cached = user.__dict__.get(_CACHE)
    if cached is not None and cached[0] == company_id:
        cached_ids: list[uuid.UUID] = cached[1]
        return cached_ids
    ids = list(
        EmergencyAccess.objects.filter(
            user_id=user.pk, company_id=company_id, expires_at__gt=timezone.now()
        ).values_list("patient_id", flat=True)
    )
    user.__dict__[_CACHE] = (company_id, ids)
    return ids
