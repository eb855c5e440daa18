"""DME API: scoped, access-logged viewsets. Every state change is an action or a
create that calls ``dme.services``; stock-moving actions honour ``Idempotency-Key``."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.pagination import CursorPagination
from core.api.permissions import ActionPermission
from core.api.views import (
    ProtectedDeleteMixin,
    TenantModelViewSet,
    TenantNoDeleteViewSet,
    TenantReadOnlyViewSet,
)
from core.db_router import ReplicaReadMixin
from core.exceptions import Conflict

from .. import services
from ..models import (
    Asset,
    Delivery,
    Equipment,
    MaintenanceRecord,
    Order,
    OrderLine,
    Rental,
    StockLevel,
)
from . import filters, serializers
from .inventory_views import AssetLifeMixin

# Catalogue and stock -----------------------------------------------------------------


class EquipmentViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """The catalogue. An item on orders or in stock cannot be deleted: set
    ``is_active`` to false instead."""

    queryset = Equipment.objects.all()
    serializer_class = serializers.EquipmentSerializer
    filterset_class = filters.EquipmentFilter
    search_fields = ["^name", "=hcpcs_code", "^manufacturer"]
    ordering_fields = ["name", "hcpcs_code", "category", "created_at"]
    protected_message = (
        "This item is on orders, in stock or has units: deactivate it (is_active false) instead."
    )


class StockLevelViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """Stock per location. ``?low=true`` lists what needs reordering. Quantities
    change with ``POST /stock-levels/{id}/adjust/`` (counts, receipts, losses)."""

    queryset = StockLevel.objects.select_related("equipment", "location")
    serializer_class = serializers.StockLevelSerializer
    filterset_class = filters.StockLevelFilter
    ordering_fields = ["on_hand", "reorder_point", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {"adjust": ["dme.change_stocklevel"]}

    def perform_destroy(self, instance):
        if instance.on_hand or instance.reserved:
            raise Conflict(
                "Only an empty stock level can be deleted: adjust it to 0 first.", code="in_use"
            )
        super().perform_destroy(instance)

    @extend_schema(
        request=serializers.StockAdjustmentSerializer, responses=serializers.StockLevelSerializer
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def adjust(self, request, pk=None):
        """Add or remove units on hand, with the reason (kept in the audit history)."""
        body = serializers.StockAdjustmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.adjust_stock(self.get_object(), **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)


class AssetViewSet(AssetLifeMixin, TenantNoDeleteViewSet):
    """Serialized units. Creating one registers it in stock at its location. Retire a
    unit instead of deleting it: its history stays."""

    queryset = Asset.objects.select_related("equipment")
    serializer_class = serializers.AssetSerializer
    filterset_class = filters.AssetFilter
    search_fields = ["=serial_number"]
    ordering_fields = ["serial_number", "purchase_date", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        name: ["dme.change_asset"]
        for name in ("maintenance", "send_to_maintenance", "return_to_stock", "retire", "life")
    }

    def _respond(self, asset):
        return Response(self.get_serializer(asset).data)

    @extend_schema(
        methods=["GET"], request=None, responses=serializers.MaintenanceRecordSerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.MaintenanceEntrySerializer,
        responses={201: serializers.MaintenanceRecordSerializer},
    )
    # The log is one plain list: no pagination, no filters of the asset list.
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def maintenance(self, request, pk=None):
        """The unit's maintenance log (GET), or a new entry (POST)."""
        asset = self.get_object()
        if request.method == "GET":
            records = MaintenanceRecord.objects.filter(asset=asset).select_related("asset")
            return Response(
                serializers.MaintenanceRecordSerializer(
                    records, many=True, context=self.get_serializer_context()
                ).data
            )
        body = serializers.MaintenanceEntrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.log_maintenance(asset, technician=request.user, **body.validated_data)
        return Response(
            serializers.MaintenanceRecordSerializer(
                record, context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=serializers.NoteSerializer, responses=serializers.AssetSerializer)
    @action(detail=True, methods=["post"], url_path="send-to-maintenance")
    @idempotent
    def send_to_maintenance(self, request, pk=None):
        """Take a unit in stock out for maintenance (it stops counting on hand)."""
        body = serializers.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.send_to_maintenance(
                self.get_object(), work_done=body.validated_data["work_done"], user=request.user
            )
        )

    @extend_schema(request=serializers.NoteSerializer, responses=serializers.AssetSerializer)
    @action(detail=True, methods=["post"], url_path="return-to-stock")
    @idempotent
    def return_to_stock(self, request, pk=None):
        """A cleaned or repaired unit goes back on hand at its location."""
        body = serializers.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.return_to_stock(
                self.get_object(), user=request.user, work_done=body.validated_data["work_done"]
            )
        )

    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.AssetSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def retire(self, request, pk=None):
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.retire_asset(
                self.get_object(), reason=body.validated_data["reason"], user=request.user
            )
        )


# Orders ------------------------------------------------------------------------------


class OrderViewSet(ReplicaReadMixin, TenantNoDeleteViewSet):
    """Orders with their lines (create both in one request). Cursor-paginated,
    newest first. Status moves with ``verify``, ``confirm`` (reserves the stock; 400
    ``insufficient_stock`` naming the short line) and ``cancel``; deliveries are
    scheduled with ``POST /deliveries/``. Orders are never deleted: cancel them."""

    queryset = Order.objects.select_related("location").prefetch_related("lines")
    serializer_class = serializers.OrderSerializer
    filterset_class = filters.OrderFilter
    pagination_class = CursorPagination
    # The cursor walks (-created_at, -id): no client-chosen ordering.
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["=number", "^patient__last_name"]
    permission_classes = [ActionPermission]
    action_permissions = {name: ["dme.change_order"] for name in ("verify", "confirm", "cancel")}

    def get_queryset(self):
        queryset = super().get_queryset()
        # A page shows each order's location id, its own column: no join for the rows.
        return queryset.select_related(None) if self.action == "list" else queryset

    def _respond(self, order):
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data)

    @extend_schema(request=None, responses=serializers.OrderSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """The written order is complete and checked: received -> verified."""
        return self._respond(services.verify_order(self.get_object()))

    @extend_schema(request=None, responses=serializers.OrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def confirm(self, request, pk=None):
        """Reserve stock and units for every line, or nothing: verified -> confirmed."""
        return self._respond(services.confirm_order(self.get_object()))

    @extend_schema(request=serializers.CancelOrderSerializer, responses=serializers.OrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, pk=None):
        """Cancel before delivery; what was reserved goes back to stock."""
        body = serializers.CancelOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.cancel_order(self.get_object(), reason=body.validated_data.get("reason", ""))
        )


class OrderLineViewSet(TenantModelViewSet):
    """Lines of orders still being prepared (received or verified): adding, changing
    or deleting one sends a verified order back to received."""

    queryset = OrderLine.objects.select_related("equipment", "order")
    serializer_class = serializers.OrderLineSerializer
    filterset_class = filters.OrderLineFilter
    ordering_fields = ["created_at"]

    def perform_destroy(self, instance):
        services.delete_line(instance)


# Deliveries --------------------------------------------------------------------------


class DeliveryViewSet(TenantNoDeleteViewSet):
    """Deliveries. Creating one schedules a confirmed order; ``complete`` records
    the proof of delivery and hands everything over; ``cancel`` calls it off (the
    order keeps its reserved stock). Cursor-paginated, newest first."""

    queryset = Delivery.objects.select_related("order").prefetch_related("items")
    serializer_class = serializers.DeliverySerializer
    filterset_class = filters.DeliveryFilter
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    permission_classes = [ActionPermission]
    action_permissions = {name: ["dme.change_delivery"] for name in ("complete", "cancel")}

    def get_serializer_class(self):
        if self.action in ("retrieve", "complete"):
            return serializers.DeliveryDetailSerializer
        return super().get_serializer_class()

    def perform_update(self, serializer):
        services.ensure_delivery_editable(serializer.instance)
        serializer.save()

    def _respond(self, delivery):
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(self.get_serializer(delivery).data)

    @extend_schema(
        request=serializers.ProofOfDeliverySerializer,
        responses=serializers.DeliveryDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request, pk=None):
        """Record the proof of delivery (docs/domain/dme.md) and hand over."""
        delivery = self.get_object()
        body = serializers.ProofOfDeliverySerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        return self._respond(
            services.complete_delivery(delivery, user=request.user, **body.validated_data)
        )

    @extend_schema(request=None, responses=serializers.DeliverySerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._respond(services.cancel_delivery(self.get_object()))


# Rentals -----------------------------------------------------------------------------


class RentalViewSet(TenantReadOnlyViewSet):
    """Rentals, started by completed deliveries. ``return`` records the pickup."""

    queryset = Rental.objects.all()
    serializer_class = serializers.RentalSerializer
    filterset_class = filters.RentalFilter
    ordering_fields = ["start_date", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {"return_rental": ["dme.change_rental"]}

    @extend_schema(
        request=serializers.RentalReturnSerializer, responses=serializers.RentalSerializer
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    @idempotent
    def return_rental(self, request, pk=None):
        """Record the pickup: the unit goes to maintenance at the given location."""
        rental = self.get_object()
        body = serializers.RentalReturnSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rental = services.return_rental(
            rental,
            returned_on=data["returned_on"],
            location=data["location"],
            picked_up_by=data.get("picked_up_by") or request.user,
            notes=data.get("notes", ""),
        )
        return Response(self.get_serializer(rental).data)
