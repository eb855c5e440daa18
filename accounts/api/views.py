from django.db import transaction
from django.db.models import Prefetch
from rest_framework import mixins, permissions, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Company, Location, Membership, User
from accounts.tenancy import get_active_company
from core.api.views import ActorMixin, TenantModelViewSet

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
    """Staff of the active company. Deleting removes the user from the company (their
    membership is deactivated); the account and its history stay."""

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
            .prefetch_related("memberships")
            .order_by("email")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["company"] = getattr(self.request, "user_company", None)
        return context

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.save()

    def perform_destroy(self, instance):
        for membership in instance.memberships.filter(company=self.request.user_company):
            membership.is_active = False
            membership.save(update_fields=["is_active"])
