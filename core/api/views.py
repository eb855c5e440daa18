"""Viewset base: every company-owned endpoint is scoped, attributed and access-logged."""

from contextlib import ExitStack

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.access import record_access
from core.api.exceptions import in_use_message
from core.api.idempotency import idempotent
from core.choices import AccessAction, AccessVia
from core.context import acting_as, client_ip
from core.exceptions import Conflict
from core.probes import note_not_found
from core.tenancy import get_active_company


class ActorMixin:
    """Attribute saves to the API user. JWT authentication happens inside the view,
    after the middleware, so the actor is set here, once the user is known, and
    reset when the view returns or raises (never left behind for the next request
    served by the same thread)."""

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as self._actor_context:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._actor_context.enter_context(acting_as(request.user, remote_addr=client_ip(request)))


class TenantViewSetMixin(ActorMixin):
    """Scoping from ``for_user``: another company's record is a 404, never a 403.

    A model with ``access_logged = True`` gets every list page and every retrieve
    written to the access log (one INSERT a request).
    """

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)

    def get_active_company(self):
        return get_active_company(self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            context["company"] = self.get_active_company()
        return context

    @property
    def access_logged(self):
        return getattr(self.get_queryset().model, "access_logged", False)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None and self.access_logged:
            record_access(
                self.request,
                page,
                via=AccessVia.API,
                action=AccessAction.LIST,
                fields=self.get_serializer().fields.keys(),
            )
        return page

    def retrieve(self, request, *args, **kwargs):
        try:
            instance = self.get_object()
        except Http404:
            # Repeated 404s on existing records of other companies are a probe.
            note_not_found(
                request,
                self.get_queryset().model,
                kwargs.get(self.lookup_url_kwarg or self.lookup_field),
            )
            raise
        serializer = self.get_serializer(instance)
        if self.access_logged:
            # The data elements the response shows: the serializer's field names.
            record_access(
                request,
                [instance],
                via=AccessVia.API,
                action=AccessAction.VIEW,
                fields=serializer.fields.keys(),
            )
        return Response(serializer.data)


class TenantCreateMixin(mixins.CreateModelMixin):
    """``create`` that honours the ``Idempotency-Key`` header and files the new
    record under the active company. Viewsets built from DRF's mixins (no DELETE,
    append-only) use it in place of ``CreateModelMixin``."""

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        company = self.get_active_company()
        if company is None:
            raise PermissionDenied("You are not an active member of any company.")
        serializer.save(company=company)


class TenantModelViewSet(TenantViewSetMixin, TenantCreateMixin, viewsets.ModelViewSet):
    """CRUD for a company-owned model: declare queryset, serializer and filterset."""


class ProtectedDeleteMixin:
    """DELETE of a record still referenced (PROTECT foreign keys: a payer with
    policies, an item on orders) is a 409 naming the kinds and counts of what blocks
    it, not a 500. (The exception handler maps the same errors for viewsets without
    this mixin; here the delete runs in a savepoint, so nothing is half-deleted.)"""

    # The way out, added after the counts ("deactivate it instead").
    protected_message = ""

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                instance.delete()
        except (ProtectedError, RestrictedError) as error:
            message = " ".join(filter(None, [in_use_message(error), self.protected_message]))
            raise Conflict(message, code="in_use") from None


class TenantNoDeleteViewSet(
    TenantViewSetMixin,
    TenantCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Records kept as history (orders, deliveries, claims, payments): no DELETE."""


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Read-only endpoint for a company-owned model."""
