from django.contrib.auth import update_session_auth_hash
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import Company, Location, Membership, User
from accounts.passwords import PasswordResetRequestForm
from accounts.tenancy import get_active_company
from accounts.throttles import SignInAccountThrottle, SignInAddressThrottle
from core.api.views import ActorMixin, TenantModelViewSet
from core.exceptions import Conflict

from . import filters, serializers


class MeView(ActorMixin, APIView):
    """The signed-in user, their active company, role and permissions."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = serializers.MeSerializer

    def get(self, request):
        user = User.objects.prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("company"))
        ).get(pk=request.user.pk)
        # Keep the request's active company (token or session) on the fresh object.
        user.__dict__.update({k: v for k, v in request.user.__dict__.items() if k.startswith("_")})
        return Response(self.serializer_class(user).data)


class CompanyViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The companies the user belongs to. Creating a company is an operator's job."""

    queryset = Company.objects.all()
    serializer_class = serializers.CompanySerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)


class LocationViewSet(TenantModelViewSet):
    queryset = Location.objects.all()
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilter
    search_fields = ["^name", "^city"]
    ordering_fields = ["name", "city", "created_at"]


class UserViewSet(ActorMixin, viewsets.ModelViewSet):
    """Staff of the active company.

    Creating adds a person to the company (a new account gets a set-password e-mail);
    updating changes their membership (role, locations, expiry), never their account;
    deleting removes them from the company (the membership is deactivated; the account
    and its history stay). The company's last active Administrator cannot be removed
    or demoted (409 ``last_administrator``).
    """

    queryset = User.objects.all()
    serializer_class = serializers.UserSerializer
    filterset_class = filters.UserFilter
    search_fields = ["^email", "^last_name", "^first_name"]
    ordering_fields = ["email", "last_name", "date_joined"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.user_company = get_active_company(request.user)

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .for_user(self.request.user)
            .prefetch_related(
                Prefetch("memberships", queryset=Membership.objects.prefetch_related("locations"))
            )
            .order_by("email")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["company"] = getattr(self.request, "user_company", None)
        return context

    def perform_destroy(self, instance):
        company = self.request.user_company
        membership = next(
            (m for m in instance.memberships.all() if company and m.company_id == company.pk),
            None,
        )
        if membership is None:
            raise Conflict(
                "This person is not a member of the company you act for.", code="not_a_member"
            )
        services.remove_member(membership, actor=self.request.user, request=self.request)


class MyPasswordView(ActorMixin, APIView):
    """Change your own password: the current one and the new one."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = serializers.PasswordChangeSerializer

    @extend_schema(request=serializers.PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_own_password(
            request.user,
            old_password=serializer.validated_data["old_password"],
            new_password=serializer.validated_data["new_password"],
        )
        if hasattr(request, "session") and request._request.user.is_authenticated:
            # A browser session signed in as this user stays signed in.
            update_session_auth_hash(request._request, request.user)
        return Response(status=204)


RESET_SENT = "If this address belongs to an account, a link to set its password is on its way."


class PasswordResetRequestView(APIView):
    """Ask for a set-password link by e-mail. The answer is the same whether or not
    the address has an account."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    # Per e-mail asked for (hashed) and per real client address, like the sign-in.
    throttle_classes = [SignInAccountThrottle, SignInAddressThrottle]
    serializer_class = serializers.PasswordResetRequestSerializer

    @extend_schema(
        request=serializers.PasswordResetRequestSerializer,
        responses={202: serializers.DetailSerializer},
    )
    def post(self, request):
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        form = PasswordResetRequestForm(data=serializer.validated_data)
        if form.is_valid():
            form.save(request=request._request)
        return Response({"detail": RESET_SENT}, status=202)


class PasswordResetConfirmView(APIView):
    """Set a new password with the ``uid`` and ``token`` of a reset link."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [SignInAddressThrottle]
    serializer_class = serializers.PasswordResetConfirmSerializer

    @extend_schema(request=serializers.PasswordResetConfirmSerializer, responses={204: None})
    def post(self, request):
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_for_reset_link(data["uid"], data["token"])
        services.set_password(user, data["new_password"], actor=user, reset=True)
        return Response(status=204)
