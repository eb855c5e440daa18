"""Filters integrators and staff use: status, patient, location, equipment, HCPCS,
date ranges (``<field>_after`` / ``<field>_before``, inclusive), low stock.

No filter takes PHI (addresses, names of signers): it stays out of URLs.
"""

import django_filters
from django.db.models import Exists, OuterRef

from accounts.models import Location
from clinical.models import Patient
from core.api.filters import TenantFilterSet
from core.validators import normalize_hcpcs

from ..choices import (
    AssetStatus,
    BillingKind,
    DeliveryStatus,
    EquipmentCategory,
    OrderStatus,
    RentalStatus,
)
from ..models import Asset, Delivery, Equipment, Order, OrderLine, Rental, StockLevel


class HCPCSFilter(django_filters.CharFilter):
    """``?hcpcs=e0601``: the code, any case."""

    def filter(self, qs, value):
        return super().filter(qs, normalize_hcpcs(value) if value else value)


class EquipmentFilter(TenantFilterSet):
    hcpcs = HCPCSFilter(field_name="hcpcs_code", label="HCPCS code")
    category = django_filters.MultipleChoiceFilter(choices=EquipmentCategory.choices)
    billing_kind = django_filters.MultipleChoiceFilter(choices=BillingKind.choices)
    name = django_filters.CharFilter(lookup_expr="istartswith", label="Name prefix")

    class Meta:
        model = Equipment
        fields = ["hcpcs", "category", "billing_kind", "manufacturer", "is_serialized", "is_active"]


class StockLevelFilter(TenantFilterSet):
    low = django_filters.BooleanFilter(
        method="filter_low", label="true: free stock (on hand - reserved) under the reorder point"
    )
    hcpcs = HCPCSFilter(field_name="equipment__hcpcs_code", label="HCPCS code")
    category = django_filters.MultipleChoiceFilter(
        field_name="equipment__category", choices=EquipmentCategory.choices
    )

    class Meta:
        model = StockLevel
        fields = ["equipment", "location", "low", "hcpcs", "category"]

    def filter_low(self, queryset, name, value):
        return queryset.low() if value else queryset.not_low()


class AssetFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AssetStatus.choices)
    hcpcs = HCPCSFilter(field_name="equipment__hcpcs_code", label="HCPCS code")
    purchase_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Asset
        fields = ["equipment", "location", "patient", "status", "serial_number", "hcpcs"]


class OrderFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    written_order_date = django_filters.DateFromToRangeFilter()
    delivered_on = django_filters.DateFromToRangeFilter()
    created_at = django_filters.IsoDateTimeFromToRangeFilter()
    equipment = django_filters.ModelChoiceFilter(
        field_name="lines__equipment",
        queryset=Equipment.objects.all(),
        method="filter_equipment",
        label="Has a line of",
    )
    hcpcs = django_filters.CharFilter(method="filter_hcpcs", label="Has a line with HCPCS code")

    class Meta:
        model = Order
        fields = ["number", "patient", "prescriber", "location", "status", "equipment", "hcpcs"]

    # EXISTS, not a join: an order with two matching lines is listed once, and the
    # cursor pagination keeps its plain ORDER BY.
    def filter_equipment(self, queryset, name, value):
        lines = OrderLine.objects.filter(order=OuterRef("pk"), equipment=value)
        return queryset.filter(Exists(lines))

    def filter_hcpcs(self, queryset, name, value):
        lines = OrderLine.objects.filter(
            order=OuterRef("pk"), equipment__hcpcs_code=normalize_hcpcs(value)
        )
        return queryset.filter(Exists(lines))


class OrderLineFilter(TenantFilterSet):
    hcpcs = HCPCSFilter(field_name="equipment__hcpcs_code", label="HCPCS code")
    order_status = django_filters.MultipleChoiceFilter(
        field_name="order__status", choices=OrderStatus.choices
    )

    class Meta:
        model = OrderLine
        fields = ["order", "equipment", "kind", "hcpcs", "order_status"]


class DeliveryFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)
    scheduled_date = django_filters.DateFromToRangeFilter()
    delivered_on = django_filters.DateFromToRangeFilter()
    patient = django_filters.ModelChoiceFilter(
        field_name="order__patient", queryset=Patient.objects.all(), label="Patient"
    )
    location = django_filters.ModelChoiceFilter(
        field_name="order__location", queryset=Location.objects.all(), label="Location"
    )

    class Meta:
        model = Delivery
        fields = ["order", "driver", "method", "status", "patient", "location"]


class RentalFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RentalStatus.choices)
    start_date = django_filters.DateFromToRangeFilter()
    end_date = django_filters.DateFromToRangeFilter()
    hcpcs = HCPCSFilter(field_name="equipment__hcpcs_code", label="HCPCS code")
    category = django_filters.MultipleChoiceFilter(
        field_name="equipment__category", choices=EquipmentCategory.choices
    )

    class Meta:
        model = Rental
        fields = ["patient", "order", "equipment", "asset", "status", "hcpcs", "category"]
