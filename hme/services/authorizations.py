"""Prior authorizations: decisions, expiry, and drawing units for claims."""

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import ServiceError
from core.locks import lock_row

from ..choices import AuthorizationStatus
from ..models import Authorization, Coverage
from ..rules import default_auth_end, requires_prior_auth
from ..transitions import check_authorization_transition


def approve_authorization(
    authorization: Authorization,
    *,
    number: str | None,
    units_approved: int | None,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
) -> Authorization:
    """Record the payer's approval: its number (UTN), units and validity.

    ``valid_to`` defaults to the end of the prior-authorization window of the codes
    (docs/domain/hme-billing.md: power mobility 6 months, support surfaces 1 month,
    orthoses 60 days, lower-limb prostheses 120 days) from ``valid_from``.
    """
    with transaction.atomic():
        authorization = lock_row(authorization)
        check_authorization_transition(authorization, AuthorizationStatus.APPROVED)
        if valid_to is None:
            valid_to = default_auth_end(authorization.hcpcs_codes, valid_from)
            if valid_to is None:
                raise ServiceError(
                    "None of these codes has a standard authorization window: give 'valid to'.",
                    fields={"valid_to": ["This field is required for these codes."]},
                )
        if not (number or "").strip():
            raise ServiceError(
                "Give the payer's authorization number.",
                fields={"number": ["This field is required."]},
            )
        if not units_approved or units_approved < 1:
            raise ServiceError(
                "Approve at least one unit.", fields={"units_approved": ["At least 1."]}
            )
        authorization.number = (number or "").strip()
        authorization.units_approved = units_approved
        authorization.valid_from = valid_from
        authorization.valid_to = valid_to
        authorization.status = AuthorizationStatus.APPROVED
        authorization.decided_at = timezone.now()
        _full_clean(authorization)
        authorization.save()
    return authorization


def deny_authorization(authorization: Authorization, *, note: str = "") -> Authorization:
    with transaction.atomic():
        authorization = lock_row(authorization)
        check_authorization_transition(authorization, AuthorizationStatus.DENIED)
        authorization.status = AuthorizationStatus.DENIED
        authorization.decided_at = timezone.now()
        if note:
            authorization.notes = f"{authorization.notes}\n{note}".strip()
        authorization.save(update_fields=["status", "decided_at", "notes"])
    return authorization


def expire_authorizations(as_of: datetime.date | None = None) -> int:
    """Approved authorizations whose validity ended before ``as_of`` become expired.
    Returns how many."""
    as_of = as_of or timezone.localdate()
    expired = 0
    queryset = Authorization.objects.filter(
        status=AuthorizationStatus.APPROVED, valid_to__lt=as_of
    ).values_list("pk", flat=True)
    for pk in queryset:
        with transaction.atomic():
            authorization = lock_row(Authorization(pk=pk))
            check_authorization_transition(authorization, AuthorizationStatus.EXPIRED)
            authorization.status = AuthorizationStatus.EXPIRED
            authorization.save(update_fields=["status"])
            expired += 1
    return expired


def _full_clean(authorization: Authorization) -> None:
    try:
        authorization.full_clean()
    except ValidationError as error:
        raise ServiceError(
            "The authorization is not valid: " + " ".join(error.messages),
            fields=getattr(error, "message_dict", {}),
        ) from error


def _validity(auth: Authorization) -> tuple[datetime.date, datetime.date]:
    """The dates of an approved (or since expired) authorization: an approved one has
    both (constraint ``authorization_approved_complete``) and expiring keeps them."""
    assert auth.valid_from is not None
    assert auth.valid_to is not None
    return auth.valid_from, auth.valid_to


def find_authorization(
    coverage: Coverage, hcpcs: str, day: datetime.date, units: int
) -> Authorization | None:
    """The approved authorization of ``coverage`` that covers ``units`` of ``hcpcs`` on
    ``day``, or None when the code needs none. Raises ServiceError (code
    ``authorization_required``) saying whether it is missing, expired, used up or only
    requested."""
    rule = requires_prior_auth(hcpcs)
    if rule is None:
        return None
    candidates: list[Authorization] = [
        auth
        for auth in Authorization.objects.filter(coverage=coverage).order_by("valid_to")
        if hcpcs in (auth.hcpcs_codes or [])
    ]
    # Approved, or approved once and expired since: they have dates to talk about.
    decided = [
        a
        for a in candidates
        if a.status in (AuthorizationStatus.APPROVED, AuthorizationStatus.EXPIRED)
    ]
    usable = [
        a for a in decided if a.status == AuthorizationStatus.APPROVED and a.covers(hcpcs, day)
    ]
    for auth in usable:
        if auth.units_left >= units:
            return auth
    what = f"{hcpcs} ({rule.category.lower()}) needs prior authorization"
    if usable:
        left = max(a.units_left for a in usable)
        message = (
            f"{what}: authorization {usable[0].number} has {left} unit(s) left of "
            f"{usable[0].units_approved}, and this claim bills {units}. Ask the payer for more."
        )
    elif ended := [a for a in decided if _validity(a)[1] < day]:
        last = ended[-1]
        message = (
            f"{what}: authorization {last.number} expired on {_validity(last)[1].isoformat()}, "
            f"before the date of service {day.isoformat()}. Request a new one."
        )
    elif decided:
        message = (
            f"{what}: authorization {decided[0].number} is valid from "
            f"{_validity(decided[0])[0].isoformat()}, after the date of service {day.isoformat()}."
        )
    elif candidates:
        message = (
            f"{what}: the request on file is {candidates[-1].get_status_display().lower()}, "
            "not approved."
        )
    else:
        message = f"{what}: none is on file for this coverage. Request it from the payer."
    raise ServiceError(message, code="authorization_required")


def draw_units(authorization: Authorization, units: int) -> None:
    """Use ``units`` of an authorization, race-free: one conditional UPDATE with F()."""
    drawn = Authorization.objects.filter(
        pk=authorization.pk,
        status=AuthorizationStatus.APPROVED,
        units_used__lte=F("units_approved") - units,
    ).update(units_used=F("units_used") + units)
    if not drawn:
        authorization.refresh_from_db()
        raise ServiceError(
            f"Authorization {authorization.number} has {authorization.units_left} unit(s) "
            f"left; {units} needed.",
            code="authorization_required",
        )


def return_units(authorization_id: uuid.UUID, units: int) -> None:
    """Give units back (a voided claim, a replaced line)."""
    Authorization.objects.filter(pk=authorization_id, units_used__gte=units).update(
        units_used=F("units_used") - units
    )
