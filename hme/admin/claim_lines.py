"""Billing admin, the inlines of a claim: its lines (editable while it can be corrected,
saved through ``ClaimAdmin.save_related``) and the payments posted to it."""

from django.contrib import admin

from core.admin import EditableWhileParentMixin, ReadOnlyAdminMixin, TenantInlineMixin
from core.admin_widgets import ListFieldsMixin

from ..forms import ClaimLineAdminForm
from ..models import ClaimLine, PaymentAllocation


class ClaimLineInline(
    ListFieldsMixin, EditableWhileParentMixin, TenantInlineMixin, admin.TabularInline
):
    """The lines: editable while the claim can be corrected (pending or denied); saved
    through ``update_claim`` / ``create_claim``, never directly."""

    model = ClaimLine
    list_fields = ("modifiers", "diagnosis_pointers")
    form = ClaimLineAdminForm
    extra = 0
    fields = [
        "date_of_service",
        "hcpcs",
        "modifiers",
        "units",
        "charge",
        "diagnosis_pointers",
        "description",
        "allowed_amount",
        "paid_amount",
        "expected",
        "bills",
        "authorization",
    ]
    readonly_fields = ["allowed_amount", "paid_amount", "expected", "bills", "authorization"]
    ordering = ["line_number"]

    def get_extra(self, request, obj=None, **kwargs):
        return 0

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order_line__order", "rental_month", "authorization")
        )

    @admin.display(description="expected")
    def expected(self, obj):
        if obj.expected_amount is None:
            return obj.expected_basis or "-"
        return f"{obj.expected_amount} ({obj.expected_basis})"

    @admin.display(description="bills")
    def bills(self, obj):
        """What the line bills: the order line or the rental month."""
        if obj.order_line_id:
            return f"Order {obj.order_line.order.number}, delivered item"
        if obj.rental_month_id:
            month = obj.rental_month
            return f"Rental month {month.number} ({month.date_of_service:%m/%d/%Y})"
        return "nothing (typed by hand before billing traced lines)"


ALLOCATION_ON_CLAIM_FIELDS = ("payment", "claim_line", "amount", "adjustments_display")


class AllocationOnClaimInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = PaymentAllocation
    fk_name = "claim"
    extra = 0
    verbose_name_plural = "payments posted"
    fields = ALLOCATION_ON_CLAIM_FIELDS
    readonly_fields = ALLOCATION_ON_CLAIM_FIELDS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("payment", "claim_line")
            .prefetch_related("adjustments")
        )

    @admin.display(description="adjustments")
    def adjustments_display(self, obj):
        return "; ".join(f"{a.group}-{a.code} {a.amount}" for a in obj.adjustments.all()) or "-"
