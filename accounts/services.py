"""Account operations: the one place that adds, changes and removes members, switches
the active company, issues tokens and changes passwords.

An account (``User``) is global: one person may work for several companies. A company's
Administrator manages only *memberships* of their company (role, locations, active,
expiry); an account's e-mail, names, active flag and password change only by the person
themself, by a reset e-mail, or by an operator (superuser). Every change is audited:
django-auditlog writes the row change with the actor set here, and the compliance log
gets one event (45 CFR 164.308(a)(4)(ii)(C) access modification, 164.312(b) audit
controls, 164.308(a)(5)(ii)(D) password management).
"""

import datetime
import enum
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.choices import ComplianceKind
from core.compliance import record_event
from core.context import acting_as, get_actor
from core.exceptions import Conflict, ServiceError

from .choices import Role
from .models import Company, Location, Membership, User
from .passwords import RESET_FLAG, send_set_password_email

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework_simplejwt.tokens import RefreshToken


class _Unset(enum.Enum):
    """The default of ``update_membership``'s fields: leave it as it is (None is a
    value: no expiry date)."""

    UNSET = enum.auto()


UNSET = _Unset.UNSET

LAST_ADMIN_MESSAGE = (
    "{company} would be left without an active Administrator. Make another member an "
    "Administrator first."
)


def _acting(actor: User | None) -> AbstractContextManager[None]:
    """Attribute the saves to ``actor`` unless they already are (auditlog's actor
    context does not nest: an inner one would clear the outer one on exit)."""
    if actor is None or get_actor() == actor:
        return nullcontext()
    return acting_as(actor)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as error:
        raise ServiceError(
            "Choose one of the roles.", code="invalid_role", fields={"role": ["Unknown role."]}
        ) from error


def _company_locations(
    company: Company, locations: Iterable[Location | uuid.UUID | str] | None
) -> list[Location]:
    locations = list(locations or ())
    ids = {getattr(location, "pk", location) for location in locations}
    found = list(Location.objects.filter(company=company, pk__in=ids))
    if len(found) != len(ids):
        raise ServiceError(
            "A chosen location does not belong to this company.",
            fields={"locations": ["Choose locations of this company."]},
        )
    return found


def _normalize_email(email: str | None) -> str:
    email = (email or "").strip().lower()
    if not email:
        raise ServiceError("An e-mail address is required.", fields={"email": ["Required."]})
    return email


def check_can_add(company: Company, email: str | None) -> str:
    """Refuse to add a person who is already an active member of ``company``."""
    email = _normalize_email(email)
    if Membership.objects.filter(
        company=company, user__email__iexact=email, is_active=True
    ).exists():
        raise Conflict(
            "This person is already a member of this company.",
            code="already_member",
            fields={"email": ["Already a member of this company."]},
        )
    return email


def _ensure_an_administrator_remains(membership: Membership, *, lock: bool = True) -> None:
    """Raise Conflict when ``membership`` is the company's last active Administrator
    (one whose role applies today and has no end date).

    The company's administrator memberships are locked first (``SELECT ... FOR
    UPDATE``), so two concurrent demotions queue up and the second sees the first's
    result: never 0 administrators. Forms pre-check with ``lock=False``; the service
    checks again under the lock.
    """
    admins = Membership.objects.filter(
        company_id=membership.company_id, role=Role.ADMINISTRATOR, is_active=True
    )
    if lock:
        admins = admins.select_for_update()
    locked = list(admins.order_by("pk").values_list("pk", flat=True))
    others = (
        Membership.objects.active()
        .filter(pk__in=locked, expires_on__isnull=True)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise Conflict(
            LAST_ADMIN_MESSAGE.format(company=membership.company),
            code="last_administrator",
        )


def _lock_company(company_id: uuid.UUID) -> None:
    """Serialize the membership changes of one company on its row. Every service locks
    the company before any membership, so two changes never wait on each other in a
    circle (a deadlock seen when each locked its own membership first)."""
    list(Company.objects.select_for_update().filter(pk=company_id).values_list("pk", flat=True))


def check_membership_change(
    membership: Membership,
    *,
    role: str,
    is_active: bool,
    expires_on: datetime.date | None,
    lock: bool = False,
) -> None:
    """Raise Conflict when the change would leave the company without an active
    Administrator (demoted, deactivated, or given an end date)."""
    was_admin = _applies(
        membership.role, membership.is_active, membership.expires_on, membership.user.is_active
    )
    stays_admin = (
        _applies(Role(role), bool(is_active), None, membership.user.is_active)
        and expires_on is None
    )
    if was_admin and not stays_admin:
        _ensure_an_administrator_remains(membership, lock=lock)


def _applies(
    role: str, is_active: bool, expires_on: datetime.date | None, user_active: bool = True
) -> bool:
    """Whether a membership with these values acts as an Administrator today."""
    return (
        role == Role.ADMINISTRATOR
        and is_active
        and user_active
        and (expires_on is None or expires_on >= timezone.localdate())
    )


def _snapshot(membership: Membership) -> dict[str, Any]:
    return {
        "role": membership.role,
        "is_active": membership.is_active,
        "expires_on": membership.expires_on.isoformat() if membership.expires_on else None,
        "locations": sorted(str(pk) for pk in membership.locations.values_list("pk", flat=True)),
    }


def _send_invitation(user: User, request: "HttpRequest | None" = None) -> None:
    """A password-reset e-mail: the new member sets their own password (the
    Administrator never knows it)."""
    transaction.on_commit(lambda: send_set_password_email(user, request=request))


@transaction.atomic
def add_member(
    company: Company,
    *,
    email: str,
    role: str,
    actor: User | None,
    locations: Iterable[Location | uuid.UUID | str] | None = (),
    first_name: str = "",
    last_name: str = "",
    expires_on: datetime.date | None = None,
    request: "HttpRequest | None" = None,
) -> Membership:
    """Add a person to ``company`` with ``role``; return their membership.

    A new e-mail gets a new account with no usable password and a set-password e-mail.
    An existing account gets a membership (a former membership is reactivated); its
    password, names and e-mail are never changed here.
    """
    email = check_can_add(company, email)
    role = _role(role)
    chosen = _company_locations(company, locations)
    with _acting(actor):
        user = User.objects.filter(email__iexact=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(
                email=email, first_name=first_name, last_name=last_name, is_staff=True
            )
        _lock_company(company.pk)
        membership = (
            Membership.objects.select_for_update().filter(company=company, user=user).first()
        )
        before = _snapshot(membership) if membership is not None else None
        if membership is None:
            membership = Membership(company=company, user=user)
        membership.role = role
        membership.is_active = True
        membership.expires_on = expires_on
        membership.save()
        membership.locations.set(chosen)
        record_event(
            ComplianceKind.MEMBERSHIP_CHANGED,
            company=company,
            actor=actor,
            request=request,
            target=membership,
            detail={"action": "added", "from": before, "to": _snapshot(membership)},
        )
    if created:
        _send_invitation(user, request=request)
    return membership


@transaction.atomic
def update_membership(
    membership: Membership,
    *,
    actor: User | None,
    role: str | _Unset = UNSET,
    locations: Iterable[Location | uuid.UUID | str] | _Unset | None = UNSET,
    is_active: bool | _Unset = UNSET,
    expires_on: datetime.date | _Unset | None = UNSET,
    request: "HttpRequest | None" = None,
) -> Membership:
    """Change a membership's role, locations, active flag or expiry date.

    The last active Administrator of a company cannot be demoted, deactivated or given
    an expiry date (the company would be left with none once it passes).
    """
    _lock_company(membership.company_id)
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("company", "user")
        .get(pk=membership.pk)
    )
    before = _snapshot(membership)
    new_role = membership.role if role is UNSET else _role(role)
    new_active = membership.is_active if is_active is UNSET else bool(is_active)
    new_expiry = membership.expires_on if expires_on is UNSET else expires_on
    check_membership_change(
        membership, role=new_role, is_active=new_active, expires_on=new_expiry, lock=True
    )
    with _acting(actor):
        membership.role = new_role
        membership.is_active = new_active
        membership.expires_on = new_expiry
        membership.save()
        if locations is not UNSET:
            membership.locations.set(_company_locations(membership.company, locations))
        after = _snapshot(membership)
        if after == before:
            return membership
        if after["role"] != before["role"]:
            record_event(
                ComplianceKind.ROLE_CHANGED,
                company=membership.company_id,
                actor=actor,
                request=request,
                target=membership,
                detail={"from": before["role"], "to": after["role"]},
            )
        if {k: v for k, v in after.items() if k != "role"} != {
            k: v for k, v in before.items() if k != "role"
        }:
            record_event(
                ComplianceKind.MEMBERSHIP_CHANGED,
                company=membership.company_id,
                actor=actor,
                request=request,
                target=membership,
                detail={"action": "changed", "from": before, "to": after},
            )
    membership.__dict__.pop("location_ids", None)
    return membership


def change_role(
    membership: Membership, role: str, *, actor: User | None, request: "HttpRequest | None" = None
) -> Membership:
    return update_membership(membership, role=role, actor=actor, request=request)


def set_member_locations(
    membership: Membership,
    locations: Iterable[Location | uuid.UUID | str] | None,
    *,
    actor: User | None,
    request: "HttpRequest | None" = None,
) -> Membership:
    return update_membership(membership, locations=locations, actor=actor, request=request)


def set_member_expiry(
    membership: Membership,
    expires_on: datetime.date | None,
    *,
    actor: User | None,
    request: "HttpRequest | None" = None,
) -> Membership:
    return update_membership(membership, expires_on=expires_on, actor=actor, request=request)


def remove_member(
    membership: Membership, *, actor: User | None, request: "HttpRequest | None" = None
) -> Membership:
    """Take a person out of the company: the membership is deactivated (the account
    and its history stay)."""
    return update_membership(membership, is_active=False, actor=actor, request=request)


def _operator_only(actor: User | None, what: str) -> None:
    if actor is None or not actor.is_superuser:
        raise ServiceError(
            f"Only an operator changes an account's {what}; a company's Administrator "
            "manages memberships.",
            code="operator_only",
        )


def check_can_deactivate(user: User, *, lock: bool = False) -> None:
    """Refuse to deactivate an account that is some company's last Administrator."""
    memberships = Membership.objects.active().administrators().filter(user=user)
    for membership in memberships.order_by("company_id"):
        if lock:
            _lock_company(membership.company_id)
        _ensure_an_administrator_remains(membership, lock=lock)


ACCOUNT_FIELDS = ("email", "first_name", "last_name", "is_active", "is_staff")


@transaction.atomic
def update_account(
    user: User, *, actor: User | None, request: "HttpRequest | None" = None, **changes: Any
) -> User:
    """An operator changes an account's e-mail, names, active or staff flag.

    Deactivating an account ends its role in every company at once: refused while it is
    some company's last active Administrator.
    """
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ServiceError(f"Not an account field: {', '.join(sorted(unknown))}.")
    _operator_only(actor, "details")
    user = User.objects.select_for_update().get(pk=user.pk)
    if "email" in changes:
        changes["email"] = _normalize_email(changes["email"])
        if User.objects.filter(email__iexact=changes["email"]).exclude(pk=user.pk).exists():
            raise Conflict(
                "A user with this email address already exists.",
                fields={"email": ["A user with this email address already exists."]},
            )
    if user.is_active and changes.get("is_active") is False:
        check_can_deactivate(user, lock=True)
    with _acting(actor):
        for name, value in changes.items():
            setattr(user, name, value)
        user.save()
    return user


def _validated(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ServiceError(
            "Choose another password.", code="weak_password", fields={field: error.messages}
        ) from error


@transaction.atomic
def change_own_password(user: User, *, old_password: str | None, new_password: str) -> User:
    """The signed-in person changes their own password (the old one is required).

    ``User.save`` records the compliance event (``accounts.passwords``).
    """
    if not user.check_password(old_password or ""):
        raise ServiceError(
            "The current password is not correct.",
            code="wrong_password",
            fields={"old_password": ["The current password is not correct."]},
        )
    _validated(new_password, user, "new_password")
    with _acting(user):
        user.set_password(new_password)
        user.save(update_fields=["password"])
    return user


def _may_set_password(actor: User | None, user: User) -> None:
    if actor is None or (actor.pk != user.pk and not actor.is_superuser):
        _operator_only(actor, "password")


@transaction.atomic
def set_password(user: User, new_password: str, *, actor: User | None, reset: bool = False) -> User:
    """Set ``user``'s password: by an operator, by the person themself (admin page),
    or (``reset``) through a password-reset link, where ``actor`` is the user.

    ``User.save`` records the compliance event: PASSWORD_RESET for a reset, else
    PASSWORD_CHANGED, with who did it.
    """
    _may_set_password(actor, user)
    _validated(new_password, user, "new_password")
    with _acting(actor):
        user.set_password(new_password)
        user.__dict__[RESET_FLAG] = reset
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def disable_password(user: User, *, actor: User) -> User:
    """Make the password unusable (the account then signs in only after a reset)."""
    _may_set_password(actor, user)
    with _acting(actor):
        user.set_unusable_password()
        user.save(update_fields=["password"])
    record_event(
        ComplianceKind.PASSWORD_CHANGED,
        actor=actor,
        target=user,
        detail={"by": "self" if actor.pk == user.pk else "operator", "disabled": True},
    )
    return user


def user_for_reset_link(uidb64: str, token: str) -> User:
    """The account a password-reset link was made for, or ServiceError when the link
    is malformed, used or expired (one message for all: nothing to learn from it)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_str
    from django.utils.http import urlsafe_base64_decode

    user: User | None = None
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.filter(pk=pk, is_active=True).first()
    except (TypeError, ValueError, OverflowError, ValidationError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ServiceError(
            "This password-reset link is invalid or has expired; ask for a new one.",
            code="invalid_reset_link",
            fields={"token": ["Invalid or expired."]},
        )
    return user


def switch_company(user: User, company: Company | uuid.UUID | str | None) -> Membership:
    """The membership ``user`` acts under in ``company`` (the session switcher).

    Raises ServiceError when they are not an active member of it.
    """
    from core import rls

    company_id = getattr(company, "pk", company)
    membership: Membership | None = None
    if company_id:
        try:
            with rls.user_lookup(user.pk):
                membership = (
                    Membership.objects.active()
                    .filter(user=user, company_id=company_id)
                    .select_related("company")
                    .first()
                )
        except ValidationError:
            membership = None
    if membership is None:
        raise ServiceError(
            "You are not an active member of that company.",
            code="not_a_member",
            fields={"company": ["You are not an active member of this company."]},
        )
    return membership


def issue_token(user: User, company: Company | uuid.UUID | str | None = None) -> "RefreshToken":
    """A refresh token (its access token inside) for ``user`` acting for ``company``
    (their oldest active membership when none is given). Operators with no membership
    get a token with no company."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from core import rls

    from .authentication import COMPANY_CLAIM

    # Row-level security: the signing-in user's own memberships (docs/security/rls.md).
    with rls.user_lookup(user.pk):
        if company is not None:
            membership = switch_company(user, company)
        else:
            membership = (
                Membership.objects.active().filter(user=user).order_by("created_at").first()
            )
    if company is None and membership is None and not user.is_superuser:
        raise ServiceError("You are not an active member of any company.", code="not_a_member")
    refresh = RefreshToken.for_user(user)
    if membership is not None:
        refresh[COMPANY_CLAIM] = str(membership.company_id)
    return refresh
