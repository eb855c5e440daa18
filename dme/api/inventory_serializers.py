"""API serializers of purchasing, receiving, transfers, recalls, counts and unit life
(issue 20). Lean: related records are ids; a purchase order, transfer or count sheet
carries its lines (prefetched, one query per page)."""

from rest_framework import serializers

from accounts.models import Location
from clinical.models import Patient
from core.api.serializers import (
    AUDIT_FIELDS,
    CachedPrimaryKeyRelatedField,
    ModelSerializer,
    ScopedSerializer,
    TenantModelSerializer,
)

from .. import services
from ..forms_inventory import LIFE_CHOICES
from ..models import (
    Asset,
    CountLine,
    CountSheet,
    Equipment,
    PurchaseOrder,
    PurchaseOrderLine,
    Recall,
    Receipt,
    ReceiptLine,
    StockMovement,
    Transfer,
    TransferLine,
    Vendor,
    VendorItem,
)
from ..services.purchasing import SERIAL_MAX


class VendorSerializer(TenantModelSerializer):
    class Meta:
        model = Vendor
        fields = [
            *AUDIT_FIELDS,
            "company",
            "name",
            "account_number",
            "contact_name",
            "contact_email",
            "contact_phone",
            "terms",
            "lead_time_days",
            "is_active",
        ]


class VendorItemSerializer(TenantModelSerializer):
    class Meta:
        model = VendorItem
        fields = [
            *AUDIT_FIELDS,
            "company",
            "vendor",
            "equipment",
            "vendor_item_number",
            "unit_cost",
            "is_preferred",
        ]


class PurchaseOrderLineSerializer(ModelSerializer):
    backordered = serializers.IntegerField(read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "id",
            "equipment",
            "quantity",
            "unit_cost",
            "expected_date",
            "received_quantity",
            "backordered",
        ]
        read_only_fields = ["id", "received_quantity"]
        extra_kwargs = {"unit_cost": {"required": False}}


class ScopedLineSerializer(ScopedSerializer):
    """A line written in a create request: the item is one of the user's."""

    equipment = CachedPrimaryKeyRelatedField(queryset=Equipment.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    expected_date = serializers.DateField(required=False, allow_null=True)


class PurchaseOrderSerializer(TenantModelSerializer):
    """A purchase order with its lines; create it as a draft with its lines, then
    ``send``, ``receive`` and ``cancel``."""

    lines = PurchaseOrderLineSerializer(many=True, read_only=True)
    new_lines = ScopedLineSerializer(many=True, write_only=True, required=False)

    class Meta:
        model = PurchaseOrder
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "vendor",
            "location",
            "status",
            "sent_at",
            "suggested",
            "notes",
            "lines",
            "new_lines",
        ]
        read_only_fields = ["number", "status", "sent_at", "suggested"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["vendor"].read_only = True
            fields["location"].read_only = True
            fields["new_lines"].read_only = True
        return fields

    def validate(self, attrs):
        lines = attrs.pop("new_lines", None)
        attrs = super().validate(attrs)
        if lines is not None:
            attrs["new_lines"] = lines
        return attrs

    def create(self, validated_data):
        return services.create_purchase_order(
            vendor=validated_data["vendor"],
            location=validated_data["location"],
            lines=validated_data.get("new_lines", []),
            notes=validated_data.get("notes", ""),
        )


class ReceiveLineSerializer(serializers.Serializer):
    line = serializers.UUIDField(help_text="The purchase order line.")
    quantity = serializers.IntegerField(min_value=0, required=False)
    unit_cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=SERIAL_MAX), required=False, default=list
    )
    lot_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    expiry_date = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        serials = [s.strip().upper() for s in attrs.get("serial_numbers", []) if s.strip()]
        attrs["serial_numbers"] = serials
        if "quantity" not in attrs:
            if not serials:
                raise serializers.ValidationError({"quantity": ["Required without serials."]})
            attrs["quantity"] = len(serials)
        return attrs


class ReceiveSerializer(serializers.Serializer):
    """What came in: one entry per purchase order line (serialized items: their serial
    numbers, the quantity defaults to their count; lot-tracked: lot and expiry)."""

    lines = ReceiveLineSerializer(many=True)
    packing_slip = serializers.CharField(max_length=64, required=False, allow_blank=True)


class ReceiptLineSerializer(ModelSerializer):
    class Meta:
        model = ReceiptLine
        fields = ["id", "purchase_order_line", "quantity", "unit_cost", "lot", "serial_numbers"]


class ReceiptSerializer(TenantModelSerializer):
    lines = ReceiptLineSerializer(many=True, read_only=True)

    class Meta:
        model = Receipt
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "purchase_order",
            "received_at",
            "received_by",
            "packing_slip",
            "lines",
        ]


class SuggestionSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.UUIDField())
    lines = serializers.IntegerField()
    without_vendor = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField()


# Transfers ----------------------------------------------------------------------------


class TransferLineSerializer(ModelSerializer):
    class Meta:
        model = TransferLine
        fields = ["id", "equipment", "quantity", "asset", "unit_cost"]


class NewTransferLineSerializer(ScopedSerializer):
    equipment = CachedPrimaryKeyRelatedField(queryset=Equipment.objects.all(), required=False)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    asset = serializers.PrimaryKeyRelatedField(queryset=Asset.objects.all(), required=False)

    def validate(self, attrs):
        if not attrs.get("equipment") and not attrs.get("asset"):
            raise serializers.ValidationError({"equipment": ["Give the item or the unit."]})
        return attrs


class TransferSerializer(TenantModelSerializer):
    """A transfer with its lines; create it as a draft with its lines, then ``ship``
    and ``receive`` (in transit between), or ``transfer-now``."""

    lines = TransferLineSerializer(many=True, read_only=True)
    new_lines = NewTransferLineSerializer(many=True, write_only=True)

    class Meta:
        model = Transfer
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "from_location",
            "to_location",
            "status",
            "shipped_at",
            "received_at",
            "notes",
            "lines",
            "new_lines",
        ]
        read_only_fields = ["number", "status", "shipped_at", "received_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in ("from_location", "to_location", "new_lines"):
                fields[name].read_only = True
        return fields

    def validate(self, attrs):
        lines = attrs.pop("new_lines", None)
        attrs = super().validate(attrs)
        if lines is not None:
            attrs["new_lines"] = lines
        return attrs

    def create(self, validated_data):
        return services.create_transfer(
            from_location=validated_data["from_location"],
            to_location=validated_data["to_location"],
            lines=validated_data.get("new_lines", []),
            notes=validated_data.get("notes", ""),
        )


# Recalls, ledger, counts, unit life -------------------------------------------------------


class RecallSerializer(TenantModelSerializer):
    class Meta:
        model = Recall
        fields = [
            *AUDIT_FIELDS,
            "company",
            "manufacturer",
            "model_number",
            "reference",
            "issued_on",
            "serial_from",
            "serial_to",
            "serial_numbers",
            "notice",
        ]


class SerialLookupSerializer(serializers.Serializer):
    asset = serializers.UUIDField(source="asset.pk")
    serial_number = serializers.CharField(source="asset.serial_number")
    equipment = serializers.UUIDField(source="asset.equipment_id")
    status = serializers.CharField(source="asset.status")
    warranty_ends_on = serializers.DateField(source="asset.warranty_ends_on")
    under_warranty = serializers.BooleanField(allow_null=True)
    recalls = serializers.SerializerMethodField()

    def get_recalls(self, obj) -> list[str]:
        return [str(recall.pk) for recall in obj.recalls]


class StockMovementSerializer(TenantModelSerializer):
    class Meta:
        model = StockMovement
        fields = [
            *AUDIT_FIELDS,
            "company",
            "kind",
            "moved_at",
            "equipment",
            "location",
            "quantity",
            "unit_cost",
            "asset",
            "lot",
            "reference",
            "reason",
        ]


class CountLineSerializer(ModelSerializer):
    variance = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = CountLine
        fields = ["id", "equipment", "expected_quantity", "counted_quantity", "variance", "reason"]


class CountSheetSerializer(TenantModelSerializer):
    """A cycle count: create it for a location (its lines list the stock there), write
    counts with ``count``, then ``post`` the variances."""

    lines = CountLineSerializer(many=True, read_only=True)

    class Meta:
        model = CountSheet
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "location",
            "status",
            "posted_at",
            "notes",
            "lines",
        ]
        read_only_fields = ["number", "status", "posted_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["location"].read_only = True
        return fields

    def create(self, validated_data):
        return services.open_count_sheet(
            validated_data["location"], notes=validated_data.get("notes", "")
        )


class CountEntrySerializer(serializers.Serializer):
    line = serializers.UUIDField()
    counted_quantity = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CountSerializer(serializers.Serializer):
    lines = CountEntrySerializer(many=True)


class UnitLifeSerializer(ScopedSerializer):
    status = serializers.ChoiceField(choices=LIFE_CHOICES)
    reason = serializers.CharField(max_length=200)
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(), required=False, allow_null=True
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, allow_null=True
    )


class HistoryEventSerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    what = serializers.CharField(source="source", help_text="Ledger, audit trail, rental...")
    text = serializers.CharField(help_text="What happened (patients by number only).")
