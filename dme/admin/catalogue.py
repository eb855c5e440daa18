"""DME admin, the catalogue: items with their stock per location, and the stock levels
(low-stock filter, adjustments with a reason through ``dme.services``)."""

import re

from django.contrib import admin
from django.db.models import F, Q

from core.admin import TenantAdmin, TenantInlineMixin
from core.admin_actions import FormAction

from .. import forms, services
from ..models import Equipment, StockLevel

# What clerks type for an item, by its HCPCS Level II code (the CMS HCPCS descriptors:
# E0601 continuous positive airway pressure device, E0470/E0471 respiratory assist
# device (bi-level), A7030 full face mask, A7034 nasal interface, A7037 tubing, E1390
# oxygen concentrator, E0570 nebulizer, E0260 hospital bed, K0001 standard wheelchair,
# E0143 walker). A phrase found in the search term also finds items of these codes,
# whatever their name; each item's own ``synonyms`` adds the words of its maker.
CLERK_WORDS = {
    "cpap": ("E0601",),
    "apap": ("E0601",),
    "bipap": ("E0470", "E0471"),
    "bilevel": ("E0470", "E0471"),
    "full face mask": ("A7030",),
    "nasal mask": ("A7034",),
    "tubing": ("A7037",),
    "concentrator": ("E1390",),
    "oxygen": ("E1390",),
    "nebulizer": ("E0570",),
    "hospital bed": ("E0260",),
    "wheelchair": ("K0001",),
    "walker": ("E0143",),
}
WORD_SPLIT = re.compile(r"[\s,;/]+")


def equipment_search(queryset, term):
    """Items matching every word of ``term`` in any of name, description, synonyms,
    manufacturer, model or HCPCS code, plus the items of the codes ``CLERK_WORDS``
    knows the phrase by: "cpap", "full face mask", "E0601", "resmed airfit"."""
    text = " ".join(term.lower().split())
    words = [word for word in WORD_SPLIT.split(text) if word]
    if not words:
        return queryset
    every_word = Q()
    for word in words:
        every_word &= (
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(synonyms__icontains=word)
            | Q(manufacturer__icontains=word)
            | Q(model_number__iexact=word)
            | Q(hcpcs_code__iexact=word)
        )
    codes = {code for phrase, known in CLERK_WORDS.items() if phrase in text for code in known}
    if codes:
        every_word |= Q(hcpcs_code__in=sorted(codes))
    return queryset.filter(every_word)


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
    search_help_text = (
        "Any word of the name, description, synonyms or maker, or the HCPCS code: "
        "cpap, full face mask, E0601."
    )
    inlines = [StockLevelInline]

    def get_search_results(self, request, queryset, search_term):
        # The list and every equipment picker (order lines): equipment_search.
        return equipment_search(queryset, search_term), False


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
    search_help_text = "Any word of the item (name, synonyms, HCPCS): cpap, mask, E0601."
    autocomplete_fields = ["equipment"]
    list_select_related = ["equipment", "location"]
    readonly_fields = ["reserved", "available"]
    actions = ["adjust"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        items = equipment_search(Equipment.objects.for_user(request.user), search_term)
        return queryset.filter(equipment__in=items.values("pk")), False

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
