"""DME admin, the catalogue: items with their stock per location, and the stock levels
(low-stock filter, adjustments with a reason through ``dme.services``)."""

from django.contrib import admin
from django.db.models import F

from core.admin import TenantAdmin, TenantInlineMixin
from core.admin_actions import FormAction

from .. import forms, services
from ..models import Equipment, StockLevel


class StockLevelInline(TenantInlineMixin, admin.TabularInline):
    """Stock of the item per location. Quantities move through adjustments (stock
    levels page), orders and returns; here only the reorder point changes."""

    model = StockLevel
    extra = 0
    can_delete = False
    fields = ["location", "on_hand", "reserved", "available", "reorder_point"]
    readonly_fields = ["on_hand", "reserved", "available"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    @admin.display(description="free")
    def available(self, obj):
        return obj.available if obj.pk else "-"


@admin.register(Equipment)
class EquipmentAdmin(TenantAdmin):
    list_display = [
        "name",
        "hcpcs_code",
        "category",
        "billing_kind",
        "manufacturer",
        "model_number",
        "purchase_price",
        "monthly_rental_fee",
        "is_serialized",
        "is_active",
    ]
    list_filter = ["category", "billing_kind", "is_serialized", "is_active"]
    search_fields = ["^name", "=hcpcs_code", "^manufacturer"]
    search_help_text = "Name or manufacturer (prefix), HCPCS code (exact, as E0601)."
    inlines = [StockLevelInline]


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "Low (free stock under the reorder point)"), ("no", "Enough")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.low()
        if self.value() == "no":
            return queryset.not_low()
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(TenantAdmin):
    show_auditlog_history_link = True
    list_display = [
        "equipment",
        "hcpcs",
        "location",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
        "is_low",
    ]
    list_filter = [LowStockFilter, "location", "equipment__category"]
    search_fields = ["^equipment__name", "=equipment__hcpcs_code"]
    search_help_text = "Item name (prefix) or HCPCS code (exact)."
    autocomplete_fields = ["equipment"]
    list_select_related = ["equipment", "location"]
    readonly_fields = ["reserved", "available"]
    actions = ["adjust"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # After creation only adjustments (with a reason) move the quantity.
            fields += ["equipment", "location", "on_hand"]
        return fields

    @admin.display(description="HCPCS", ordering="equipment__hcpcs_code")
    def hcpcs(self, obj):
        return obj.equipment.hcpcs_code

    @admin.display(description="free", ordering=F("on_hand") - F("reserved"))
    def available(self, obj):
        return obj.available

    @admin.display(description="low", boolean=True)
    def is_low(self, obj):
        return obj.is_low

    adjust = FormAction(
        description="Adjust stock on hand (with a reason)",
        form_class=forms.StockAdjustmentForm,
        service=lambda level, data, request: services.adjust_stock(
            level, data["delta"], reason=data["reason"]
        ),
        done="stock level(s) adjusted",
        title="Adjust stock on hand",
        select_related=["equipment", "location"],
    )
