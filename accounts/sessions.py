"""Staff sessions and tokens: who is signed in where, and ending it.

Django's session table has no user column (the user id sits inside the encoded data),
so each browser sign-in writes a :class:`UserSession` row (``user_logged_in``) naming
the session key; refresh tokens are listed from simplejwt's outstanding-token table.
Ending one deletes the browser session or blacklists the refresh token (its access
token lives out its ``JWT_ACCESS_MINUTES``), and is written to the compliance log.

django-user-sessions would replace the session backend for this; its last release
(2.0.0, 2022) predates Django 5.x, so this small model does the one thing we need.
"""

import uuid
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.dispatch import receiver
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from core.choices import ComplianceKind
from core.compliance import record_event
from core.context import client_ip

BROWSER = "browser"
TOKEN = "token"
# Session keys of the automatic logoff (accounts.middleware.SessionTimeoutMiddleware).
STARTED_KEY = "_signed_in_at"
SEEN_KEY = "_last_seen_at"


class UserSession(models.Model):
    """One browser sign-in of a user: the session key, when and from where.

    The row goes when the session ends (sign-out, revocation, automatic logoff); a row
    whose session expired on its own is skipped by every list and pruned with it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="browser_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "accounts"
        ordering = ["-created_at"]
        verbose_name = "browser session"
        indexes = [
            # A user's sessions, newest first.
            models.Index(fields=["user", "created_at"], name="usersession_user_time_idx"),
        ]

    def __str__(self):
        return f"Browser session of {self.created_at:%Y-%m-%d %H:%M}"


def session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


@receiver(user_logged_in, dispatch_uid="accounts.sessions.logged_in")
def on_logged_in(sender, request, user, **kwargs):
    """Record the browser session and start its idle and absolute clocks; decide
    whether the sign-in needs a second factor. API sign-ins (no session) are skipped."""
    session = getattr(request, "session", None)
    if session is None:
        return
    from accounts.security.mfa import remember_state

    now = timezone.now().timestamp()
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now
    remember_state(request, user)
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "created_at": timezone.now(),
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        },
    )


@receiver(user_logged_out, dispatch_uid="accounts.sessions.logged_out")
def on_logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


def sessions_of(user, *, current_session_key=None):
    """Every live browser session and refresh token of ``user``, newest first, as plain
    dicts. Three queries whatever their number."""
    now = timezone.now()
    browser = list(UserSession.objects.filter(user=user))
    live = set(
        Session.objects.filter(
            session_key__in=[row.session_key for row in browser], expire_date__gt=now
        ).values_list("session_key", flat=True)
    )
    items = [
        {
            "id": f"{BROWSER}-{row.pk}",
            "kind": BROWSER,
            "created_at": row.created_at,
            "expires_at": None,
            "ip_address": row.ip_address,
            "user_agent": row.user_agent,
            "current": row.session_key == current_session_key,
        }
        for row in browser
        if row.session_key in live
    ]
    tokens = OutstandingToken.objects.filter(
        user=user, expires_at__gt=now, blacklistedtoken__isnull=True
    ).order_by("-created_at")
    items += [
        {
            "id": f"{TOKEN}-{token.pk}",
            "kind": TOKEN,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "ip_address": None,
            "user_agent": "",
            "current": False,
        }
        for token in tokens
    ]
    items.sort(key=lambda item: item["created_at"] or now, reverse=True)
    return items


def parse_session_id(value):
    """``browser-<uuid>`` or ``token-<int>`` -> (kind, pk), or None."""
    kind, _, pk = (value or "").partition("-")
    try:
        if kind == BROWSER:
            return kind, uuid.UUID(pk)
        if kind == TOKEN:
            return kind, int(pk)
    except ValueError:
        return None
    return None


@transaction.atomic
def end_session(user, session_id, *, actor, request=None, company=None):
    """End one browser session or refresh token of ``user``; False if it is not theirs
    (or gone). Callers scope ``user`` first."""
    parsed = parse_session_id(session_id)
    if parsed is None:
        return False
    kind, pk = parsed
    if kind == BROWSER:
        row = UserSession.objects.filter(user=user, pk=pk).first()
        if row is None:
            return False
        session_store()(session_key=row.session_key).delete()
        row.delete()
    else:
        token = OutstandingToken.objects.filter(user=user, pk=pk).first()
        if token is None or BlacklistedToken.objects.filter(token=token).exists():
            return False
        BlacklistedToken.objects.get_or_create(token=token)
    _record_revoked(user, actor=actor, request=request, company=company, kinds={kind: 1})
    return True


@transaction.atomic
def end_all_sessions(user, *, actor, request=None, company=None, keep_session_key=None):
    """End every browser session and refresh token of ``user`` (but the caller's own
    browser session when ``keep_session_key`` is given). Returns how many ended."""
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    tokens = list(
        OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True
    )
    counts = {BROWSER: len(keys), TOKEN: len(tokens)}
    if any(counts.values()):
        _record_revoked(user, actor=actor, request=request, company=company, kinds=counts)
    return sum(counts.values())


def _record_revoked(user, *, actor, request, company, kinds):
    record_event(
        ComplianceKind.SESSION_REVOKED,
        company=company,
        actor=actor,
        request=request,
        target=user,
        detail={"ended": kinds},
    )
