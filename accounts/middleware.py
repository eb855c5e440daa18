from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from .security import mfa
from .sessions import SEEN_KEY, STARTED_KEY
from .tenancy import SESSION_KEY, request_company

SIGNED_OUT_KEY = "_signed_out_reason"


class ActiveCompanyMiddleware:
    """Browser requests act for the company chosen in the session (if any)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        company_id = request.session.get(SESSION_KEY)
        if company_id and request.user.is_authenticated:
            request_company(request.user, company_id)
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """HIPAA automatic logoff, 45 CFR 164.312(a)(2)(iii): a signed-in browser session
    ends after ``SESSION_IDLE_MINUTES`` without a request, and ``SESSION_MAX_HOURS``
    after sign-in whatever the activity. The next page says why (a message on the
    sign-in page). Reads only the session: no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if AUTH_SESSION_KEY in session:
            now = timezone.now().timestamp()
            started = session.setdefault(STARTED_KEY, now)
            seen = session.get(SEEN_KEY, now)
            reason = None
            if now - started > settings.SESSION_MAX_HOURS * 3600:
                reason = (
                    f"You were signed out: a session lasts at most "
                    f"{settings.SESSION_MAX_HOURS} hours. Please sign in again."
                )
            elif now - seen > settings.SESSION_IDLE_MINUTES * 60:
                reason = (
                    f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes "
                    "without activity (automatic logoff). Please sign in again."
                )
            if reason:
                logout(request)
                # Messages are not set up yet at this point of the chain: the notice
                # middleware turns this into a message on the sign-in page.
                request.session[SIGNED_OUT_KEY] = reason
            else:
                session[SEEN_KEY] = now
        return self.get_response(request)


class SignedOutNoticeMiddleware:
    """Shows why the automatic logoff ended a session (after MessageMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason = request.session.pop(SIGNED_OUT_KEY, None)
        if reason:
            messages.warning(request, reason)
        return self.get_response(request)


# Pages a signed-in user without their second factor may still open.
MFA_EXEMPT_PREFIXES = ("/accounts/mfa/", "/admin/logout/", "/admin/login/", "/static/", "/health/")


class MFARequiredMiddleware:
    """A browser session that still owes its second factor reaches no page but the MFA
    ones: a user with a device is asked for a code, a user whose role requires MFA and
    who has none is sent to enrol. Session-authenticated API calls get a 403 in the
    error shape. What is owed was decided at sign-in (``accounts.security.mfa``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = request.session.get(mfa.SESSION_STATE, mfa.NONE)
        if (
            state == mfa.NONE
            or AUTH_SESSION_KEY not in request.session
            or request.path.startswith(MFA_EXEMPT_PREFIXES)
            or request.user.is_verified()
        ):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            message = "Complete the second sign-in step (MFA) in the admin first."
            body = {"error": {"code": "mfa_required", "message": message, "fields": {}}}
            return JsonResponse(body, status=403)
        target = "accounts:mfa-verify" if state == mfa.VERIFY else "accounts:mfa-enrol"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
