"""API sign-in, refresh, sign-out, and the user's sessions and tokens.

- ``auth/token/``: e-mail + password (+ ``company``), and ``otp`` (a TOTP code or a
  recovery code) when the user has a second factor. A user whose role requires MFA and
  who has not enrolled is refused (403 ``mfa_enrolment_required``): they enrol in the
  admin first. Limited per account and per real client address
  (``accounts.throttles``); locked out by django-axes (429 ``locked_out``).
- ``auth/token/refresh/``: rotates; the old refresh token is blacklisted, so a reused
  one is refused; a deactivated user or membership is refused.
- ``auth/logout/``: blacklists the refresh token posted.
- ``auth/sessions/``: the browser sessions and refresh tokens of the user (or, for an
  Administrator, of a user of their company: ``?user=<id>``; operators: anyone), and
  ``DELETE auth/sessions/{id}/`` to end one.
"""

import contextlib
import uuid

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.authentication import COMPANY_CLAIM
from accounts.choices import Role
from accounts.models import Membership, User
from accounts.security import mfa
from accounts.security.lockout import LOCKOUT_CODE, lockout_message
from accounts.sessions import end_session, sessions_of
from accounts.tenancy import get_active_membership
from accounts.throttles import SignInAccountThrottle, SignInAddressThrottle
from core import rls
from core.api.exceptions import error_body
from core.api.views import ActorMixin

from .serializers import CompanyTokenObtainPairSerializer


class MFARequired(PermissionDenied):
    default_detail = "Your role requires two-step sign-in: set it up in the admin first."
    default_code = "mfa_enrolment_required"


class OTPRequired(AuthenticationFailed):
    default_detail = "This account uses two-step sign-in: send the code as otp."
    default_code = "otp_required"


class OTPInvalid(AuthenticationFailed):
    default_detail = "The one-time code is not right (or the recovery code was used)."
    default_code = "otp_invalid"


def _revoke(refresh):
    with contextlib.suppress(TokenError):
        RefreshToken(refresh).blacklist()


class MFATokenObtainPairSerializer(CompanyTokenObtainPairSerializer):
    """The sign-in serializer with the second factor: checked once the password is,
    before the pair is handed out (a pair issued for a wrong code is revoked at once)."""

    otp = serializers.CharField(
        required=False,
        write_only=True,
        help_text="A code of the authenticator app, or a recovery code (users with MFA).",
    )

    def validate(self, attrs):
        code = attrs.pop("otp", "")
        self._issued = []
        self.get_token = self._tracked_token
        data = super().validate(attrs)
        self._revoke_unused(data["refresh"])
        user = self.user
        if mfa.has_device(user):
            if not code:
                _revoke(data["refresh"])
                raise OTPRequired()
            if mfa.verify_code(user, code) is None:
                _revoke(data["refresh"])
                raise OTPInvalid()
        elif mfa.mfa_required(user):
            _revoke(data["refresh"])
            raise MFARequired()
        return data

    def _tracked_token(self, user):
        token = type(self).get_token(user)
        self._issued.append(token)
        return token

    def _revoke_unused(self, handed_out):
        """The parent serializers mint a refresh token, then the company one that is
        handed out: the first would stay outstanding (a live "session" no one holds)."""
        for token in self._issued:
            if str(token) != handed_out:
                token.blacklist()


class TokenObtainView(TokenObtainPairView):
    """Exchange email and password (and optionally a company id and a one-time code)
    for a JWT pair."""

    serializer_class = MFATokenObtainPairSerializer
    throttle_classes = [SignInAccountThrottle, SignInAddressThrottle]

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # django-axes flags the request it saw in authenticate() (DRF's request here).
        if getattr(request, "axes_locked_out", False):
            return Response(error_body(LOCKOUT_CODE, lockout_message()), status=429)
        return response

    def handle_exception(self, exc):
        if getattr(self.request, "axes_locked_out", False):
            return Response(error_body(LOCKOUT_CODE, lockout_message()), status=429)
        return super().handle_exception(exc)


class ActiveAccountRefreshSerializer(TokenRefreshSerializer):
    """Refresh only for an active user whose membership of the token's company is still
    active; a refused token is blacklisted too."""

    def validate(self, attrs):
        try:
            refresh = RefreshToken(attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        user = User.objects.filter(pk=refresh.get("user_id")).first()
        company_id = refresh.get(COMPANY_CLAIM)
        usable = user is not None and user.is_active
        if usable and company_id:
            # Row-level security: the token user's own memberships (docs/security/rls.md).
            with rls.user_lookup(user.pk):
                memberships = Membership.objects.active()
                usable = memberships.filter(user=user, company_id=company_id).exists()
        if not usable:
            refresh.blacklist()
            raise AuthenticationFailed(
                "No active account found for the given token.", "no_active_account"
            )
        return super().validate(attrs)


class TokenRefreshThrottledView(TokenRefreshView):
    serializer_class = ActiveAccountRefreshSerializer
    throttle_classes = [SignInAddressThrottle]


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutView(APIView):
    """Revoke a refresh token (sign out of the API). The access token lives out its
    few minutes."""

    # Whoever holds a refresh token may revoke it; no access token needed.
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SignInAddressThrottle]
    serializer_class = LogoutSerializer

    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionSerializer(serializers.Serializer):
    """A browser session (``browser-<id>``) or a refresh token (``token-<id>``)."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["browser", "token"])
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    current = serializers.BooleanField()


USER_PARAMETER = OpenApiParameter(
    "user", str, description="Another user's id (Administrators: their company's staff)."
)


def manageable_user(request):
    """The user whose sessions the request is about: the caller, or ``?user=`` when the
    caller may manage them (operators: anyone; an Administrator of the active company:
    its staff). Anyone else is a 404, never a 403."""
    actor = request.user
    requested = request.query_params.get("user")
    if not requested or requested == str(actor.pk):
        return actor
    membership = get_active_membership(actor)
    is_admin = membership is not None and membership.role == Role.ADMINISTRATOR
    if not (actor.is_superuser or is_admin):
        raise Http404
    try:
        return User.objects.for_user(actor).get(pk=uuid.UUID(requested))
    except (ValueError, User.DoesNotExist) as exc:
        raise Http404 from exc


class SessionListView(ActorMixin, APIView):
    """The live browser sessions and refresh tokens of a user."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[USER_PARAMETER], responses=SessionSerializer(many=True))
    def get(self, request):
        user = manageable_user(request)
        items = sessions_of(user, current_session_key=request.session.session_key)
        return Response(SessionSerializer(items, many=True).data)


class SessionDetailView(ActorMixin, APIView):
    """End one browser session or refresh token."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[USER_PARAMETER], responses={204: None})
    def delete(self, request, session_id):
        user = manageable_user(request)
        membership = get_active_membership(request.user)
        ended = end_session(
            user,
            session_id,
            actor=request.user,
            request=request,
            company=membership.company_id if membership else None,
        )
        if not ended:
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)
