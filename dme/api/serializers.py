"""DME API serializers. Lean on purpose: related records are ids; an order carries its
lines (prefetched in one query per page), a delivery its proof-of-delivery items."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Location, User
from core.api.fields import HCPCSCodeField
from core.api.lean import LeanListSerializer
from core.api.serializers import (
    AUDIT_FIELDS,
    INT4_MAX,
    INT4_MIN,
    ModelSerializer,
    ScopedSerializer,
    TenantModelSerializer,
)
from core.validators import normalize_hcpcs

from .. import billing_hooks, services
from ..choices import RENTED_LINE_KINDS, LineKind, MaintenanceKind, SignerRelationship
from ..models import (
    Asset,
    Delivery,
    DeliveryItem,
    Equipment,
    MaintenanceRecord,
    Order,
    OrderLine,
    Rental,
    StockLevel,
)
from ..reference import catalogue_items


class ModifiersField(serializers.ListField):
    """HCPCS modifiers: ``["rr", " kx"]`` is read as ``["RR", "KX"]``; the model
    validates them (at most four, KX never with GA/GY/GZ, RR/NU/UE by line kind)."""

    child = serializers.CharField(max_length=8)

    def to_internal_value(self, data):
        return [normalize_hcpcs(value) for value in super().to_internal_value(data)]


# Catalogue and stock -----------------------------------------------------------------


class EquipmentSerializer(TenantModelSerializer):
    hcpcs_code = HCPCSCodeField(help_text="HCPCS Level II code, as E0601.")

    class Meta:
        model = Equipment
        fields = [
            *AUDIT_FIELDS,
            "company",
            "name",
            "hcpcs_code",
            "category",
            "manufacturer",
            "model_number",
            "description",
            "billing_kind",
            "purchase_price",
            "monthly_rental_fee",
            "is_serialized",
            "is_active",
        ]


class StockLevelSerializer(TenantModelSerializer):
    """``on_hand`` is set when the stock level is created; afterwards it changes only
    through ``POST /stock-levels/{id}/adjust/`` (and orders, deliveries, returns).
    Serialized items start at 0: their units, once registered, are the stock."""

    available = serializers.IntegerField(read_only=True)
    is_low = serializers.BooleanField(read_only=True)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="On hand x average cost."
    )

    class Meta:
        model = StockLevel
        fields = [
            *AUDIT_FIELDS,
            "company",
            "equipment",
            "location",
            "on_hand",
            "reserved",
            "available",
            "reorder_point",
            "is_low",
            # PAR level and valuation (issue 20).
            "reorder_quantity",
            "average_cost",
            "value",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("equipment", "location", "on_hand"):
                fields[name].read_only = True
        return fields

    def validate(self, attrs):
        equipment = attrs.get("equipment")
        serialized = equipment is not None and equipment.is_serialized
        if self.instance is None and serialized and attrs.get("on_hand", 0):
            raise serializers.ValidationError(
                {"on_hand": ["A serialized item starts at 0: register its units instead."]}
            )
        return super().validate(attrs)


class StockAdjustmentSerializer(serializers.Serializer):
    # The column is a PostgreSQL integer (int4): a change outside it can never apply.
    delta = serializers.IntegerField(
        min_value=INT4_MIN,
        max_value=INT4_MAX,
        help_text="Units to add (positive) or remove (negative).",
    )
    reason = serializers.CharField(max_length=200, help_text="Count, receipt, damage...")


class AssetSerializer(TenantModelSerializer):
    """Registering a unit (create) puts it in stock at its location; later its status,
    location and patient change only through actions and orders."""

    class Meta:
        model = Asset
        fields = [
            *AUDIT_FIELDS,
            "company",
            "equipment",
            "serial_number",
            "status",
            "location",
            "patient",
            "reserved_for",
            "purchase_date",
            "purchase_cost",
            "notes",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("equipment", "location"):
                fields[name].read_only = True
        else:
            fields["location"].required = True
        return fields

    def validate_location(self, value):
        # Not allow_null=False on the field: the schema would then deny the null that a
        # unit with a patient shows in responses.
        if value is None and self.instance is None:
            raise serializers.ValidationError("Say where the unit is.")
        return value

    def create(self, validated_data):
        return services.register_asset(Asset(**validated_data))


class MaintenanceRecordSerializer(TenantModelSerializer):
    class Meta:
        model = MaintenanceRecord
        fields = [
            *AUDIT_FIELDS,
            "company",
            "asset",
            "performed_on",
            "kind",
            "work_done",
            "performed_by",
            "technician",
        ]
        read_only_fields = ["asset", "technician"]


class MaintenanceEntrySerializer(serializers.Serializer):
    performed_on = serializers.DateField(default=timezone.localdate)
    kind = serializers.ChoiceField(choices=MaintenanceKind.choices)
    work_done = serializers.CharField()
    performed_by = serializers.CharField(
        required=False,
        allow_blank=True,
        # DRF's stub wants an int; the model field always has one (None: no limit).
        max_length=MaintenanceRecord._meta.get_field("performed_by").max_length,  # type: ignore[arg-type]
        help_text="Empty: you (the requesting user).",
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class NoteSerializer(serializers.Serializer):
    work_done = serializers.CharField(required=False, default="Cleaned, checked and back in stock.")


# Orders ------------------------------------------------------------------------------


class OrderLineSerializer(TenantModelSerializer):
    """A line. ``unit_price`` left out is the catalogue's (purchase price, or monthly
    fee for a rental). In ``/order-lines/`` lines change only while the order is
    received or verified."""

    modifiers = ModifiersField(required=False, help_text='Up to four, as ["RR", "KX"].')
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            *AUDIT_FIELDS,
            "company",
            "order",
            "equipment",
            "quantity",
            "kind",
            "rent_to_purchase_price",
            "recurrence_months",
            "modifiers",
            "unit_price",
            "amount",
            "reserved_quantity",
            "delivered_quantity",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["order"].read_only = True
        return fields

    def validate(self, attrs):
        equipment = attrs.get("equipment") or getattr(self.instance, "equipment", None)
        kind = attrs.get("kind") or getattr(self.instance, "kind", LineKind.PURCHASE)
        if "unit_price" not in attrs and equipment is not None and self.instance is None:
            attrs["unit_price"] = (
                equipment.monthly_rental_fee
                if kind in RENTED_LINE_KINDS
                else equipment.purchase_price
            )
        return super().validate(attrs)

    def create(self, validated_data):
        return services.save_line(OrderLine(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.save_line(instance)


class OrderLinesSerializer(serializers.ListSerializer):
    """An order's lines written with it: their catalogue items are read in one query
    (``dme.reference``), then each line's item comes from the cache."""

    def to_internal_value(self, data):
        field = self.child.fields.get("equipment")
        company_id = getattr(field, "cache_company_id", None)
        if company_id is not None and isinstance(data, list):
            ids = [line.get("equipment") for line in data if isinstance(line, dict)]
            catalogue_items(company_id, ids)
        return super().to_internal_value(data)


class NestedOrderLineSerializer(OrderLineSerializer):
    """A line inside an order: the order is the parent."""

    class Meta(OrderLineSerializer.Meta):
        fields = [name for name in OrderLineSerializer.Meta.fields if name != "order"]
        list_serializer_class = OrderLinesSerializer


class ReadinessSummarySerializer(serializers.Serializer):
    """Ready to bill or on hold, from the billing app's stored holds (refreshed after
    each change and daily; ``dme.billing_hooks``); ``GET /orders/{id}/readiness/``
    computes the reasons now, in words."""

    def get_fields(self):
        # "errors" is the serializer's own attribute: declared here, not as a class field.
        return {
            "status": serializers.CharField(help_text='"ready" or "on_hold".'),
            "errors": serializers.IntegerField(help_text="Reasons that hold billing."),
            "warnings": serializers.IntegerField(help_text="Reasons that do not."),
            "codes": serializers.ListField(child=serializers.CharField()),
        }


class OrderListSerializer(LeanListSerializer):
    """Computes the page's readiness summaries in one batch (no query per row); the
    rows through the lean plan (``core.api.lean``: the same output)."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.context["readiness"] = billing_hooks.order_summaries(items) or {}
        return super().to_representation(items)


class OrderSerializer(TenantModelSerializer):
    """An order with its lines. Create it with its lines in one request (one
    transaction); afterwards lines change through ``/order-lines/`` and the status
    through the actions (verify, confirm, cancel) and ``/deliveries/``. ``readiness``
    summarizes whether its lines can be billed (null without the billing app)."""

    lines = NestedOrderLineSerializer(many=True)
    readiness = serializers.SerializerMethodField()

    @extend_schema_field(ReadinessSummarySerializer(allow_null=True))
    def get_readiness(self, order):
        summaries = self.context.get("readiness")
        if summaries is None or order.pk not in summaries:
            summaries = billing_hooks.order_summaries([order]) or {}
        return summaries.get(order.pk)

    class Meta:
        model = Order
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "patient",
            "prescriber",
            "location",
            "written_order_date",
            "prescriber_signed_on",
            "status",
            "notes",
            "verified_at",
            "confirmed_at",
            "delivered_on",
            "cancelled_at",
            "cancellation_reason",
            "lines",
            "readiness",
        ]
        list_serializer_class = OrderListSerializer

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["lines"].read_only = True
            fields["patient"].read_only = True
            if not self.instance.is_editable:
                fields["location"].read_only = True
            if self.instance.is_closed:
                for name in ("prescriber", "written_order_date", "prescriber_signed_on"):
                    fields[name].read_only = True
        return fields

    def validate_lines(self, lines):
        if not lines:
            raise serializers.ValidationError("An order needs at least one line.")
        return lines

    def validate(self, attrs):
        lines = attrs.pop("lines", None)
        attrs = super().validate(attrs)
        if lines is not None:
            attrs["lines"] = lines
        return attrs

    def create(self, validated_data):
        lines = validated_data.pop("lines")
        order = Order(**validated_data)
        return services.create_order(order, [OrderLine(**line) for line in lines])

    def update(self, instance, validated_data):
        if "location" in validated_data:
            services.ensure_lines_editable(instance)
        return super().update(instance, validated_data)


class CancelOrderSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


# Deliveries --------------------------------------------------------------------------


class DeliveryItemSerializer(ModelSerializer):
    class Meta:
        model = DeliveryItem
        fields = ["id", "order_line", "description", "quantity", "serial_numbers"]


class DeliverySerializer(TenantModelSerializer):
    """Creating a delivery schedules the order (it must be confirmed); the address
    defaults to the patient's. Scheduling fields change while it is scheduled; it is
    completed with ``POST /deliveries/{id}/complete/`` and the proof of delivery."""

    items = DeliveryItemSerializer(many=True, read_only=True)
    has_signature = serializers.SerializerMethodField()
    address = serializers.CharField(
        required=False, allow_blank=True, help_text="Empty: the patient's address on file."
    )
    # "" until the proof of delivery is recorded: declared, since DRF drops allow_blank on
    # read-only fields.
    signer_relationship = serializers.ChoiceField(
        choices=SignerRelationship.choices,
        allow_blank=True,
        read_only=True,
        label="Signer's relationship to the patient",
    )

    class Meta:
        model = Delivery
        fields = [
            *AUDIT_FIELDS,
            "company",
            "order",
            "status",
            "method",
            "scheduled_date",
            "window_start",
            "window_end",
            "address",
            "driver",
            "carrier",
            "tracking_number",
            "instructions",
            "patient_name",
            "delivered_on",
            "signer_name",
            "signer_relationship",
            "signed_at",
            "has_signature",
            "completed_by",
            "cancelled_at",
            "items",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["order"].read_only = True
        return fields

    def get_has_signature(self, delivery) -> bool:
        return bool(delivery.signature_image)

    def validate(self, attrs):
        order = attrs.get("order") or getattr(self.instance, "order", None)
        if not attrs.get("address", "x").strip() and order is not None:
            attrs["address"] = services.patient_address(order.patient)
            if not attrs["address"]:
                raise serializers.ValidationError(
                    {"address": ["The patient has no address on file: give one."]}
                )
        if self.instance is None:
            # Checked by the service (409 when the order is not confirmed), not by the
            # "one open delivery per order" constraint here.
            return attrs
        services.ensure_delivery_editable(self.instance)
        return super().validate(attrs)

    def create(self, validated_data):
        validated_data.pop("company", None)
        order = validated_data.pop("order")
        return services.schedule_delivery(order, **validated_data)


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with its signature image (a data URL; only on retrieve)."""

    signature_image = serializers.CharField(read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "signature_image"]


class ProofItemSerializer(ScopedSerializer):
    order_line = serializers.PrimaryKeyRelatedField(queryset=OrderLine.objects.all())
    quantity = serializers.IntegerField(min_value=1)
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )


class ProofOfDeliverySerializer(ScopedSerializer):
    """The proof of delivery (docs/domain/dme.md): the date received (the date of
    service), who signed (the patient or a designee, never supplier staff: printed
    name and relationship), optionally the signature image as a data URL, and every
    line handed over with its quantity and serial numbers. Shipped deliveries give
    the carrier's tracking number instead of a signature."""

    delivered_on = serializers.DateField(default=timezone.localdate)
    signer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # Free text here, so that "supplier_staff" is refused with the rule, not as a typo.
    signer_relationship = serializers.CharField(max_length=32, required=False, allow_blank=True)
    signed_at = serializers.DateTimeField(required=False)
    signature_image = serializers.CharField(
        required=False, allow_blank=True, help_text="data:image/png;base64,..."
    )
    tracking_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    items = ProofItemSerializer(many=True, allow_empty=False)


# Rentals -----------------------------------------------------------------------------


class RentalSerializer(TenantModelSerializer):
    """Rentals start when a delivery is completed; read-only here. ``return`` records
    the pickup; billing counts months and caps them."""

    class Meta:
        model = Rental
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "order",
            "order_line",
            "equipment",
            "asset",
            "quantity",
            "start_date",
            "end_date",
            "months_billed",
            "cap_months",
            "monthly_fee",
            "status",
            "capped_on",
            "returned_on",
            "picked_up_by",
            "return_location",
            "return_notes",
        ]
        read_only_fields = fields


class RentalReturnSerializer(ScopedSerializer):
    returned_on = serializers.DateField(default=timezone.localdate)
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), help_text="Where the equipment goes back to."
    )
    picked_up_by = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="Empty: you."
    )
    notes = serializers.CharField(required=False, allow_blank=True)
