"""Lockout after repeated sign-in failures (django-axes), for the admin and the API.

Limiting sign-in attempts is 45 CFR 164.308(a)(5)(ii)(C) (log-in monitoring). An account
locks after ``LOCKOUT_FAILURES`` failures within ``LOCKOUT_MINUTES``, whatever address
they come from; a client address after ``LOCKOUT_ADDRESS_FAILURES``, whatever accounts
it tries (higher, because a clinic's staff share one address). Both keys use the real
client address (``core.context.client_ip``), so a forged ``X-Forwarded-For`` changes
nothing. Each lockout and each unlock is written to the compliance log.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.db.models import Sum
from django.dispatch import receiver
from django.forms.utils import ErrorDict, ErrorList
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.choices import ComplianceKind
from core.compliance import record_event
from core.context import client_ip

LOCKOUT_CODE = "locked_out"


def lockout_message():
    minutes = settings.LOCKOUT_MINUTES
    return (
        f"Too many failed sign-ins: this account or address is locked for {minutes} minutes. "
        "Your company's Administrator can unlock it sooner."
    )


def normalise_email(value):
    return (value or "").strip().lower()


def attempted_email(request, credentials):
    """The account an attempt is for, normalised as accounts store it (lower case), so
    that ``Admin@X`` and ``admin@x`` count against one bucket. The admin form posts
    ``username``; the JWT serializer passes ``email``."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None and request.method == "POST":
        value = request.POST.get("email") or request.POST.get("username")
    return normalise_email(value) or None


def client_address(request):
    return client_ip(request)


def cool_off_start():
    return timezone.now() - settings.AXES_COOLOFF_TIME


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one limit per key: the account's failures against
    ``LOCKOUT_FAILURES`` and the address's against ``LOCKOUT_ADDRESS_FAILURES``.

    Axes compares the largest count of all its keys with one limit; this answers the
    account's count, or that limit itself once the address is over its own."""

    def get_failures(self, request, credentials=None):
        username = attempted_email(request, credentials)
        since = cool_off_start()
        recent = AccessAttempt.objects.filter(attempt_time__gte=since)
        account = 0
        if username:
            account = (
                recent.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"] or 0
            )
        address = (
            recent.filter(ip_address=request.axes_ip_address).aggregate(
                n=Sum("failures_since_start")
            )["n"]
            or 0
        )
        if address >= settings.LOCKOUT_ADDRESS_FAILURES:
            return max(account, settings.LOCKOUT_FAILURES)
        return account


def is_api_request(request):
    return request.path.startswith("/api/")


def lockout_response(request, original_response=None, credentials=None):
    """A locked-out attempt: the API's error shape (429), or the admin sign-in page with
    the reason beside the form."""
    message = lockout_message()
    if is_api_request(request):
        body = {"error": {"code": LOCKOUT_CODE, "message": message, "fields": {}}}
        return JsonResponse(body, status=429)
    from django.contrib import admin

    # The sign-in page again, its one error saying why: not a bare 429 text. The form
    # is never validated (that would be one more attempt).
    form = AuthenticationForm(request, data={"username": request.POST.get("username", "")})
    form._errors = ErrorDict({NON_FIELD_ERRORS: ErrorList([message])})
    context = {
        **admin.site.each_context(request),
        "form": form,
        "app_path": request.get_full_path(),
        "next": request.POST.get("next", ""),
        "title": "Log in",
    }
    return TemplateResponse(request, "admin/login.html", context, status=429).render()


@receiver(user_locked_out, dispatch_uid="accounts.lockout.record")
def record_lockout(sender, request, username, ip_address, **kwargs):
    """One compliance event per company of the locked account (company-scoped for the
    Auditor); an unknown or company-less account is one event without company."""
    from core import rls

    # An anonymous sign-in attempt: the platform's own security bookkeeping reads the
    # account's companies and the log across them (row-level security bypass,
    # docs/security/rls.md).
    with rls.operator():
        _record_lockout(request, username)


def _record_lockout(request, username):
    from accounts.models import Membership, User

    user = User.objects.filter(email=username).first() if username else None
    if _already_recorded(user, request):
        return
    detail = {"limit": settings.LOCKOUT_FAILURES, "minutes": settings.LOCKOUT_MINUTES}
    companies = (
        list(Membership.objects.filter(user=user).values_list("company_id", flat=True))
        if user is not None
        else []
    )
    for company_id in companies or [None]:
        record_event(
            ComplianceKind.LOCKOUT,
            company=company_id,
            actor=user,
            request=request,
            target=user,
            detail=detail,
        )


def _already_recorded(user, request):
    """Axes signals a lockout on every attempt made while locked: record the first only
    (a later one after an unlock or after the cool-off is a new lockout)."""
    from core.models import ComplianceEvent

    events = ComplianceEvent.objects.filter(
        kind__in=[ComplianceKind.LOCKOUT, ComplianceKind.LOCKOUT_CLEARED],
        timestamp__gte=cool_off_start(),
    )
    if user is not None:
        events = events.filter(target_id=str(user.pk))
    else:
        events = events.filter(target_id="", ip_address=client_ip(request))
    latest = events.order_by("-timestamp", "-id").values_list("kind", flat=True).first()
    return latest == ComplianceKind.LOCKOUT


def locked_emails(emails=None):
    """The accounts locked now (normalised e-mails), optionally among ``emails``."""
    attempts = AccessAttempt.objects.filter(attempt_time__gte=cool_off_start())
    if emails is not None:
        attempts = attempts.filter(username__in=list(emails))
    totals = attempts.values("username").annotate(n=Sum("failures_since_start"))
    return {row["username"] for row in totals if row["n"] >= settings.LOCKOUT_FAILURES}


def locked_addresses():
    """The client addresses locked now: {address: failures}."""
    totals = (
        AccessAttempt.objects.filter(attempt_time__gte=cool_off_start())
        .values("ip_address")
        .annotate(n=Sum("failures_since_start"))
    )
    limit = settings.LOCKOUT_ADDRESS_FAILURES
    return {row["ip_address"]: row["n"] for row in totals if row["n"] >= limit}


@transaction.atomic
def unlock_account(user, *, actor, request=None, company=None):
    """Clear the failed attempts of ``user``'s account; returns how many were cleared.

    Callers scope ``user`` first (``User.objects.for_user(actor)``): an Administrator
    unlocks their company's staff, an operator anyone."""
    deleted, _ = AccessAttempt.objects.filter(username=normalise_email(user.email)).delete()
    record_event(
        ComplianceKind.LOCKOUT_CLEARED,
        company=company,
        actor=actor,
        request=request,
        target=user,
        detail={"attempts_cleared": deleted},
    )
    return deleted


@transaction.atomic
def unlock_address(ip_address, *, actor, request=None):
    """Clear the failed attempts from one client address (operators only: an address
    is not any one company's)."""
    deleted, _ = AccessAttempt.objects.filter(ip_address=ip_address).delete()
    record_event(
        ComplianceKind.LOCKOUT_CLEARED,
        actor=actor,
        request=request,
        detail={"attempts_cleared": deleted, "scope": "address"},
    )
    return deleted
