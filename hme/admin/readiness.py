"""The "Ready to bill / On hold" worklist: order lines still to bill with their stored
reasons (``BillingHold``, refreshed after saves and daily), filterable by status and by
reason. The "Refresh reasons" action recomputes the selected lines now."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin import TenantAdmin
from dme.choices import OrderStatus

from ..models import BillableLine, BillingHold
from ..queues import NOT_DELIVERED
from ..readiness.holds import pending_lines, refresh_holds
from ..readiness.panels import fix_link


class ReadinessStatusFilter(admin.SimpleListFilter):
    title = "readiness"
    parameter_name = "readiness"

    def lookups(self, request, model_admin):
        return [
            ("on_hold", "On hold (an error)"),
            ("warning", "Ready, with warnings"),
            ("ready", "Ready to bill"),
        ]

    def queryset(self, request, queryset):
        errors = BillingHold.objects.filter(order_line=OuterRef("pk"), severity="error")
        warnings = BillingHold.objects.filter(order_line=OuterRef("pk"), severity="warning")
        if self.value() == "on_hold":
            return queryset.filter(Exists(errors))
        if self.value() == "warning":
            return queryset.filter(~Exists(errors), Exists(warnings))
        if self.value() == "ready":
            return queryset.filter(~Exists(errors), ~Exists(warnings))
        return queryset


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        codes = (
            BillingHold.objects.for_user(request.user)
            .order_by("code")
            .values_list("code", flat=True)
            .distinct()
        )
        return [(code, code.replace("_", " ")) for code in codes]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            Exists(BillingHold.objects.filter(order_line=OuterRef("pk"), code=self.value()))
        )


class StageFilter(admin.SimpleListFilter):
    """Where the line's order is: not delivered yet (intake's holds) or delivered
    (billing's holds); the dashboards' hold cards link here (hme.queues)."""

    title = "order stage"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [("before_delivery", "Not delivered yet"), ("delivered", "Delivered")]

    def queryset(self, request, queryset):
        if self.value() == "delivered":
            return queryset.filter(order__status=OrderStatus.DELIVERED)
        if self.value() == "before_delivery":
            return queryset.filter(order__status__in=NOT_DELIVERED)
        return queryset


@admin.register(BillableLine)
class BillableLineAdmin(TenantAdmin):
    """Lines of orders not cancelled that are not billed yet (purchases not on a live
    claim, rentals not started or still active), with why each is on hold."""

    list_display = ["order_link", "patient_number", "hcpcs", "kind", "readiness", "reasons"]
    list_filter = [ReadinessStatusFilter, ReasonFilter, StageFilter, "kind"]
    list_select_related = ["order", "order__patient", "equipment"]
    search_fields = ["=order__number"]
    search_help_text = "Order number (exact, O-000123)."
    actions = ["refresh"]

    def get_queryset(self, request):
        holds = BillingHold.objects.order_by("severity", "code")
        return pending_lines(super().get_queryset(request)).prefetch_related(
            Prefetch("billing_holds", queryset=holds, to_attr="holds")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj):
        url = reverse("admin:dme_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="patient")
    def patient_number(self, obj):
        return obj.order.patient.number

    @admin.display(description="HCPCS")
    def hcpcs(self, obj):
        return obj.equipment.hcpcs_code

    @admin.display(description="status")
    def readiness(self, obj):
        if any(hold.severity == "error" for hold in obj.holds):
            return "On hold"
        return "Ready (warnings)" if obj.holds else "Ready to bill"

    @admin.display(description="reasons")
    def reasons(self, obj):
        if not obj.holds:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong> {} <code>{}</code> {}</li>",
                (
                    (
                        "Error:" if hold.severity == "error" else "Warning:",
                        hold.message,
                        hold.code,
                        fix_link(_as_reason(hold)),
                    )
                    for hold in obj.holds
                ),
            ),
        )

    @admin.action(description="Refresh reasons now", permissions=["view"])
    def refresh(self, request, queryset):
        totals = refresh_holds(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{totals['lines']} line(s) checked: {totals['held']} on hold.")


def _as_reason(hold):
    from ..readiness import Fix, Reason

    fix = Fix(hold.fix_model, hold.fix_pk, hold.fix_field) if hold.fix_model else None
    return Reason(hold.code, hold.message, hold.severity, fix, hold.source)
