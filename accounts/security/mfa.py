"""Multi-factor authentication (django-otp): TOTP apps and one-time recovery codes.

Person or entity authentication, 45 CFR 164.312(d): the roles in ``MFA_REQUIRED_ROLES``
(Administrator, Billing, Auditor by default, and "operator" for superusers) must enrol a
second factor before any staff page; every other user may enrol, and whoever has a
device is asked for a code at each sign-in (admin) and for an ``otp`` field at JWT
sign-in. The choice of library is in docs/decisions/0007-mfa.md.

The session carries what the sign-in decided (``SESSION_STATE``), so that enforcement
costs no query per request; enrolment and resets update it.
"""

import secrets

import django_otp
from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.choices import ComplianceKind
from core.compliance import record_event

SESSION_STATE = "mfa_state"
VERIFY = "verify"  # has a device, must give a code
ENROL = "enrol"  # must use MFA, has no device yet
NONE = "none"  # may go on
OPERATOR = "operator"
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def required_roles():
    return {role.strip().lower() for role in settings.MFA_REQUIRED_ROLES if role.strip()}


def mfa_required(user):
    """Whether ``user`` must use a second factor: an operator, or an active member of
    any company in a role that requires it (the role of one company must not be
    escaped by switching to another)."""
    if not settings.MFA_ENFORCE or not user.is_authenticated:
        return False
    roles = required_roles()
    if user.is_superuser and OPERATOR in roles:
        return True
    from accounts.models import Membership
    from core import rls

    # Every company of the user counts (row-level security: their own memberships).
    with rls.user_lookup(user.pk):
        return Membership.objects.active().filter(user=user, role__in=roles).exists()


def has_device(user):
    return django_otp.user_has_device(user, confirmed=True)


def sign_in_state(user):
    if has_device(user):
        return VERIFY
    if mfa_required(user):
        return ENROL
    return NONE


def remember_state(request, user):
    """Called at every browser sign-in (``user_logged_in``)."""
    request.session[SESSION_STATE] = sign_in_state(user)


def _companies(user):
    from accounts.models import Membership
    from core import rls

    with rls.user_lookup(user.pk):
        companies = list(Membership.objects.filter(user=user).values_list("company_id", flat=True))
    return companies or [None]


def pending_totp_device(user):
    """The unconfirmed TOTP device of an enrolment in progress (created once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def new_recovery_code():
    # 10 characters from a 32-letter alphabet: 50 bits, each code works once.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@transaction.atomic
def confirm_enrolment(user, device, token, *, request=None):
    """Confirm the pending TOTP ``device`` with a first code from the app; returns the
    recovery codes (shown once), or None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = replace_recovery_codes(user)
    for company_id in _companies(user):
        record_event(
            ComplianceKind.MFA_ENROLLED,
            company=company_id,
            actor=user,
            request=request,
            target=user,
            detail={"device": "totp", "recovery_codes": len(codes)},
        )
    return device, codes


def replace_recovery_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [new_recovery_code() for _ in range(settings.MFA_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


def verify_code(user, code):
    """The device that accepts ``code`` (a TOTP code or an unused recovery code, which
    this consumes), or None. TOTP devices slow down repeated failures themselves
    (django-otp's throttling)."""
    code = (code or "").strip().replace(" ", "").lower()
    if not code:
        return None
    return django_otp.match_token(user, code)


@transaction.atomic
def reset_mfa(user, *, actor, request=None, company=None):
    """Remove every second factor of ``user`` (a lost phone): they enrol again at their
    next sign-in. Callers scope ``user`` first (an Administrator: their company's staff;
    an operator: anyone)."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=user)
        removed += devices.count()
        devices.delete()  # a static device's recovery codes go with it
    record_event(
        ComplianceKind.MFA_RESET,
        company=company,
        actor=actor,
        request=request,
        target=user,
        detail={"devices_removed": removed},
    )
    return removed
