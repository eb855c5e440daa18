"""API of purchasing, receiving, transfers, recalls, the stock ledger, counts and the
unit's life (issue 20). Scoped viewsets (another company's record is a 404); every
state change is an action calling ``dme.services``; stock-moving actions honour
``Idempotency-Key``."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.access import record_access
from core.api.filters import TenantFilterSet
from core.api.idempotency import idempotent
from core.api.permissions import ActionPermission
from core.api.views import (
    ProtectedDeleteMixin,
    TenantModelViewSet,
    TenantNoDeleteViewSet,
    TenantReadOnlyViewSet,
)
from core.choices import AccessAction, AccessVia
from core.exceptions import ServiceError

from .. import services
from ..choices import CountSheetStatus, MovementKind, PurchaseOrderStatus, TransferStatus
from ..history import unit_history
from ..models import (
    Asset,
    CountLine,
    CountSheet,
    PurchaseOrder,
    Recall,
    Receipt,
    StockMovement,
    Transfer,
    Vendor,
    VendorItem,
)
from ..services.purchasing import ReceiveItem
from . import inventory_serializers as serializers


class VendorViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """Vendors. One with purchase orders cannot be deleted: set ``is_active`` false."""

    queryset = Vendor.objects.all()
    serializer_class = serializers.VendorSerializer
    search_fields = ["^name", "=account_number"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["is_active"]
    permission_classes = [ActionPermission]
    action_permissions = {"suggest": ["dme.add_purchaseorder"]}
    protected_message = "This vendor has purchase orders: deactivate it instead."

    @extend_schema(request=None, responses=serializers.SuggestionSerializer)
    @action(detail=False, methods=["post"])
    @idempotent
    def suggest(self, request):
        """Draft purchase orders for stock at or below its reorder point, one per
        preferred vendor and location (nothing new on a second run)."""
        company = self.get_active_company()
        run = services.suggest_purchase_orders(company, user=request.user)
        return Response(
            {
                "created": [po.pk for po in run.created],
                "lines": run.lines,
                "without_vendor": run.without_vendor,
                "summary": run.summary(),
            },
            status=status.HTTP_201_CREATED if run.created else status.HTTP_200_OK,
        )


class VendorItemViewSet(TenantModelViewSet):
    """What each vendor supplies at what cost; one preferred vendor per item."""

    queryset = VendorItem.objects.all()
    serializer_class = serializers.VendorItemSerializer
    filterset_fields = ["vendor", "equipment", "is_preferred"]
    ordering_fields = ["created_at"]


class PurchaseOrderFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PurchaseOrderStatus.choices)

    class Meta:
        model = PurchaseOrder
        fields = ["status", "vendor", "location", "suggested"]


class PurchaseOrderViewSet(TenantNoDeleteViewSet):
    """Purchase orders: create a draft with ``new_lines``; ``send``, ``receive`` (all
    or part, the rest backordered) and ``cancel``. Never deleted: cancel instead."""

    queryset = PurchaseOrder.objects.prefetch_related("lines")
    serializer_class = serializers.PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    search_fields = ["=number"]
    ordering_fields = ["created_at", "sent_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        name: ["dme.change_purchaseorder"] for name in ("send", "receive", "cancel")
    }

    def _respond(self, po):
        return Response(self.get_serializer(self.get_queryset().get(pk=po.pk)).data)

    @extend_schema(request=None, responses=serializers.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._respond(services.send_purchase_order(self.get_object(), user=request.user))

    @extend_schema(request=None, responses=serializers.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a draft or a sent order, or the backorder of a partly received one."""
        return self._respond(services.cancel_purchase_order(self.get_object(), user=request.user))

    @extend_schema(
        request=serializers.ReceiveSerializer, responses={201: serializers.ReceiptSerializer}
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def receive(self, request, pk=None):
        """Record a receipt: serial numbers for serialized items (one unit each), lot
        and expiry for lot-tracked supplies; all of it or nothing."""
        po = self.get_object()
        body = serializers.ReceiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        items = [
            ReceiveItem(
                line_id=line["line"],
                quantity=line["quantity"],
                unit_cost=line.get("unit_cost"),
                serial_numbers=line["serial_numbers"],
                lot_number=line.get("lot_number", ""),
                expiry_date=line.get("expiry_date"),
            )
            for line in data["lines"]
        ]
        receipt = services.receive_purchase_order(
            po, items, user=request.user, packing_slip=data.get("packing_slip", "")
        )
        receipt = Receipt.objects.prefetch_related("lines").get(pk=receipt.pk)
        return Response(
            serializers.ReceiptSerializer(receipt, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class ReceiptViewSet(TenantReadOnlyViewSet):
    """Receipts against purchase orders (recorded with ``POST /purchase-orders/{id}/receive/``)."""

    queryset = Receipt.objects.prefetch_related("lines")
    serializer_class = serializers.ReceiptSerializer
    filterset_fields = ["purchase_order"]
    ordering_fields = ["received_at"]


class TransferFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TransferStatus.choices)

    class Meta:
        model = Transfer
        fields = ["status", "from_location", "to_location"]


class TransferViewSet(TenantNoDeleteViewSet):
    """Transfers between locations (a warehouse, a driver's van): ``ship`` (in transit:
    counted at neither end, ``?status=in_transit`` lists them), ``receive``, or
    ``transfer-now`` (both in one step); ``cancel`` a draft."""

    queryset = Transfer.objects.prefetch_related("lines")
    serializer_class = serializers.TransferSerializer
    filterset_class = TransferFilter
    search_fields = ["=number"]
    ordering_fields = ["created_at", "shipped_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        name: ["dme.change_transfer"] for name in ("ship", "receive", "transfer_now", "cancel")
    }

    def _run(self, service, request):
        transfer = service(self.get_object(), user=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=transfer.pk)).data)

    @extend_schema(request=None, responses=serializers.TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def ship(self, request, pk=None):
        return self._run(services.ship_transfer, request)

    @extend_schema(request=None, responses=serializers.TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def receive(self, request, pk=None):
        return self._run(services.receive_transfer, request)

    @extend_schema(request=None, responses=serializers.TransferSerializer)
    @action(detail=True, methods=["post"], url_path="transfer-now")
    @idempotent
    def transfer_now(self, request, pk=None):
        return self._run(services.transfer_now, request)

    @extend_schema(request=None, responses=serializers.TransferSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._run(services.cancel_transfer, request)


class RecallViewSet(TenantModelViewSet):
    """Manufacturers' recalls. ``GET /recalls/lookup/?serial=`` finds the units with a
    serial number, their recalls and warranty."""

    queryset = Recall.objects.all()
    serializer_class = serializers.RecallSerializer
    search_fields = ["^manufacturer", "^model_number", "=reference"]
    ordering_fields = ["issued_on", "created_at"]

    @extend_schema(
        parameters=[OpenApiParameter("serial", str, required=True)],
        responses=serializers.SerialLookupSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def lookup(self, request):
        company = self.get_active_company()
        try:
            found = services.lookup_serial(company.pk, request.query_params.get("serial", ""))
        except ServiceError as error:
            raise ValidationError({"serial": [error.message]}) from None
        return Response(serializers.SerialLookupSerializer(found, many=True).data)


class StockMovementFilter(TenantFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=MovementKind.choices)

    class Meta:
        model = StockMovement
        fields = ["kind", "equipment", "location", "asset", "reference"]


class StockMovementViewSet(TenantReadOnlyViewSet):
    """The stock ledger: receipts, transfers, count adjustments, unit status moves."""

    queryset = StockMovement.objects.all()
    serializer_class = serializers.StockMovementSerializer
    filterset_class = StockMovementFilter
    ordering_fields = ["moved_at"]


class CountSheetFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CountSheetStatus.choices)

    class Meta:
        model = CountSheet
        fields = ["status", "location"]


class CountSheetViewSet(TenantNoDeleteViewSet):
    """Cycle counts: create one for a location; ``count`` writes counted quantities;
    ``post`` adjusts the variances (each with its reason); ``cancel``."""

    queryset = CountSheet.objects.prefetch_related("lines")
    serializer_class = serializers.CountSheetSerializer
    filterset_class = CountSheetFilter
    ordering_fields = ["created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {name: ["dme.change_countsheet"] for name in ("count", "post", "cancel")}

    def _respond(self, sheet):
        return Response(self.get_serializer(self.get_queryset().get(pk=sheet.pk)).data)

    @extend_schema(request=serializers.CountSerializer, responses=serializers.CountSheetSerializer)
    @action(detail=True, methods=["post"])
    def count(self, request, pk=None):
        sheet = self.get_object()
        body = serializers.CountSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines = {line.pk: line for line in CountLine.objects.filter(count_sheet=sheet)}
        for index, entry in enumerate(body.validated_data["lines"]):
            line = lines.get(entry["line"])
            if line is None:
                raise ValidationError({f"lines.{index}.line": ["Not a line of this sheet."]})
            line.count_sheet = sheet
            services.record_count(line, entry["counted_quantity"], reason=entry["reason"])
        return self._respond(sheet)

    @extend_schema(request=None, responses=serializers.CountSheetSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def post(self, request, pk=None):
        return self._respond(services.post_count_sheet(self.get_object(), user=request.user))

    @extend_schema(request=None, responses=serializers.CountSheetSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._respond(services.cancel_count_sheet(self.get_object()))


class AssetLifeMixin:
    """The unit's life on ``/assets/{id}/``: ``life`` (POST: sold, lost, junked,
    transferred out, lent, back in stock) and ``history`` (GET, receipt to today)."""

    @extend_schema(request=serializers.UnitLifeSerializer, responses=None)
    @action(detail=True, methods=["post"])
    @idempotent
    def life(self, request, pk=None):
        asset = self.get_object()
        body = serializers.UnitLifeSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        data = body.validated_data
        asset = services.change_unit_life(
            asset,
            data["status"],
            reason=data["reason"],
            patient=data.get("patient"),
            location=data.get("location"),
            user=request.user,
        )
        return Response(self.get_serializer(Asset.objects.get(pk=asset.pk)).data)

    @extend_schema(request=None, responses=serializers.HistoryEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        asset = self.get_object()
        # The history names the patients who had the unit: a look at PHI, logged.
        record_access(request, [asset], via=AccessVia.API, action=AccessAction.VIEW)
        return Response(serializers.HistoryEventSerializer(unit_history(asset), many=True).data)
