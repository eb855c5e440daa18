"""Viewset base: every company-owned endpoint is scoped, attributed and access-logged."""

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.http import Http404, HttpRequest, HttpResponseBase
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, Serializer
from rest_framework.views import APIView

from core.access import record_access
from core.api.exceptions import in_use_message
from core.api.idempotency import idempotent
from core.choices import AccessAction, AccessVia
from core.context import acting_as, client_ip
from core.exceptions import Conflict
from core.probes import note_not_found
from core.tenancy import get_active_company

if TYPE_CHECKING:
    _APIView = APIView
    _GenericViewSet = viewsets.GenericViewSet[Any]
else:
    # The mixins' hosts, for the type checker only.
    _APIView = _GenericViewSet = object


# Serializer class -> its field names (they never depend on the request).
_FIELD_NAMES: dict[type[Any], list[str]] = {}


class ActorMixin(_APIView):
    """Attribute saves to the API user. JWT authentication happens inside the view,
    after the middleware, so the actor is set here, once the user is known, and
    reset when the view returns or raises (never left behind for the next request
    served by the same thread)."""

    _actor_context: ExitStack

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with ExitStack() as self._actor_context:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._actor_context.enter_context(acting_as(request.user, remote_addr=client_ip(request)))


class TenantViewSetMixin(ActorMixin, _GenericViewSet):
    """Scoping from ``for_user``: another company's record is a 404, never a 403.

    A model with ``access_logged = True`` gets every list page and every retrieve
    written to the access log (one INSERT a request).
    """

    def get_queryset(self) -> QuerySet[Any]:
        # Every model served through this base is a TenantModel: a TenantQuerySet.
        queryset: Any = super().get_queryset()
        scoped: QuerySet[Any] = queryset.for_user(self.request.user)
        return scoped

    def get_active_company(self) -> Any:
        return get_active_company(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            context["company"] = self.get_active_company()
        return context

    @property
    def access_logged(self) -> bool:
        return getattr(self.get_queryset().model, "access_logged", False)

    def paginate_queryset(self, queryset: QuerySet[Any]) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        if page is not None and self.access_logged:
            record_access(
                self.request,
                page,
                via=AccessVia.API,
                action=AccessAction.LIST,
                fields=self.logged_field_names(),
            )
        return page

    def logged_field_names(self) -> list[str]:
        """The list serializer's field names (the data elements a page shows), built
        once per serializer class: building a serializer's fields (and scoping their
        choices) just for their names cost as much as serializing a few rows."""
        serializer_class = self.get_serializer_class()
        names = _FIELD_NAMES.get(serializer_class)
        if names is None:
            names = list(cast(Serializer[Any], self.get_serializer()).fields.keys())
            _FIELD_NAMES[serializer_class] = names
        return names

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
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
        # A model serializer (a BaseSerializer has no fields).
        serializer = cast(Serializer[Any], self.get_serializer(instance))
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


class TenantCreateMixin(mixins.CreateModelMixin, _GenericViewSet):
    """``create`` that honours the ``Idempotency-Key`` header and files the new
    record under the active company. Viewsets built from DRF's mixins (no DELETE,
    append-only) use it in place of ``CreateModelMixin``."""

    # TenantViewSetMixin's, which every viewset using this mixin inherits too.
    get_active_company: Callable[[], Any]

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        company = self.get_active_company()
        if company is None:
            raise PermissionDenied("You are not an active member of any company.")
        serializer.save(company=company)


class TenantModelViewSet(TenantViewSetMixin, TenantCreateMixin, viewsets.ModelViewSet[Any]):
    """CRUD for a company-owned model: declare queryset, serializer and filterset."""


class ProtectedDeleteMixin:
    """DELETE of a record still referenced (PROTECT foreign keys: a payer with
    policies, an item on orders) is a 409 naming the kinds and counts of what blocks
    it, not a 500. (The exception handler maps the same errors for viewsets without
    this mixin; here the delete runs in a savepoint, so nothing is half-deleted.)"""

    # The way out, added after the counts ("deactivate it instead").
    protected_message = ""

    def perform_destroy(self, instance: Model) -> None:
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
    viewsets.GenericViewSet[Any],
):
    """Records kept as history (orders, deliveries, claims, payments): no DELETE."""


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet[Any]):
    """Read-only endpoint for a company-owned model."""
