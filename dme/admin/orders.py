"""DME admin, the orders: lines editable while the order is open (saved through
``dme.services``), the deliveries scheduled from them, and the workflow actions."""

import re

from django.contrib import admin

from clinical.admin_search import PatientLinkedSearchMixin
from core.admin import EditableWhileParentMixin, TenantAdmin, TenantInlineMixin, run_service
from core.admin_actions import FormAction
from core.admin_buttons import Button, ChangeButtonsMixin, can_become
from core.admin_widgets import ListFieldsMixin

from .. import billing_hooks, forms, services
from ..choices import OrderStatus
from ..models import Delivery, Order, OrderLine
from ..transitions import ORDER_TRANSITIONS
from .tools import ObjectToolsMixin

ORDER_NUMBER_RE = re.compile(r"^O-?\d{1,12}$", re.IGNORECASE)


class OrderLineInline(
    ListFieldsMixin, EditableWhileParentMixin, TenantInlineMixin, admin.TabularInline
):
    """Lines, editable while the order is received or verified."""

    model = OrderLine
    list_fields = ("modifiers",)
    form = forms.OrderLineForm
    extra = 0
    fields = [
        "equipment",
        "quantity",
        "kind",
        "modifiers",
        "unit_price",
        "rent_to_purchase_price",
        "recurrence_months",
        "reserved_quantity",
        "delivered_quantity",
    ]
    readonly_fields = ["reserved_quantity", "delivered_quantity"]
    autocomplete_fields = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


DELIVERY_FIELDS = ("scheduled_date", "method", "driver", "status", "delivered_on")


class DeliveryInline(TenantInlineMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("driver")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Set by the services as the order moves on: shown, never edited.
PROGRESS_FIELDS = (
    "ready_to_verify",
    "verified_at",
    "confirmed_at",
    "delivered_on",
    "cancelled_at",
    "cancellation_reason",
)


@admin.register(Order)
class OrderAdmin(ObjectToolsMixin, ChangeButtonsMixin, PatientLinkedSearchMixin, TenantAdmin):
    list_display = [
        "number",
        "patient",
        "prescriber",
        "location",
        "status",
        "written_order_date",
        "created_at",
    ]
    list_filter = ["status", "location", "written_order_date", "created_at"]
    search_help_text = "Order number (O-000123), or the patient search: names, P-number, DOB."
    autocomplete_fields = ["patient", "prescriber"]
    list_select_related = ["patient", "prescriber", "location"]
    readonly_fields = ["number", "status", *PROGRESS_FIELDS, "billing_readiness"]
    fieldsets = [
        (None, {"fields": ["number", "status", "patient", "prescriber", "location"]}),
        ("Written order", {"fields": ["written_order_date", "prescriber_signed_on", "notes"]}),
        ("Progress", {"fields": PROGRESS_FIELDS}),
        ("Ready to bill / On hold", {"fields": ["billing_readiness"]}),
    ]
    inlines = [OrderLineInline, DeliveryInline]
    actions = ["verify", "confirm", "schedule", "cancel"]
    # The steps as buttons on the order's page (core.admin_buttons).
    change_buttons = [
        Button("verify", when=can_become(ORDER_TRANSITIONS, OrderStatus.VERIFIED)),
        Button("confirm", when=can_become(ORDER_TRANSITIONS, OrderStatus.CONFIRMED)),
        Button("schedule", when=can_become(ORDER_TRANSITIONS, OrderStatus.SCHEDULED)),
        Button("cancel", when=can_become(ORDER_TRANSITIONS, OrderStatus.CANCELLED), style="danger"),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("patient")
            if not obj.is_editable:
                fields.append("location")
            if obj.is_closed:
                fields += ["prescriber", "written_order_date", "prescriber_signed_on"]
        return fields

    def has_delete_permission(self, request, obj=None):
        # Orders are the written order behind claims: cancelled, never deleted
        # (a delivered order is billable history; docs/domain/hme-billing.md).
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if ORDER_NUMBER_RE.match(term):
            digits = re.sub(r"\D", "", term)
            return queryset.filter(number=f"O-{int(digits):06d}"), False
        return super().get_search_results(request, queryset, search_term)

    def save_formset(self, request, form, formset, change):
        if formset.model is not OrderLine:
            return super().save_formset(request, form, formset, change)
        for line in formset.save(commit=False):
            services.save_line(line)
        for line in formset.deleted_objects:
            services.delete_line(line)
        return None

    @admin.display(description="verification")
    def ready_to_verify(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        problems = services.order_problems(obj)
        return "Complete" if not problems else "Missing: " + "; ".join(problems)

    @admin.display(description="billing readiness")
    def billing_readiness(self, obj):
        """The reasons each line cannot be billed yet (from the billing app)."""
        return billing_hooks.panel("order", obj) or "-"

    @admin.action(description="Verify (written order checked)", permissions=["change"])
    def verify(self, request, queryset):
        run_service(self, request, queryset, services.verify_order, "order(s) verified")

    @admin.action(description="Confirm (reserve stock)", permissions=["change"])
    def confirm(self, request, queryset):
        run_service(self, request, queryset, services.confirm_order, "order(s) confirmed")

    schedule = FormAction(
        description="Schedule delivery",
        form_class=forms.ScheduleDeliveryForm,
        form_kwargs=lambda request, orders: {"user": request.user},
        service=lambda order, data, request: services.schedule_delivery(order, **data),
        done="delivery(ies) scheduled",
        title="Schedule deliveries",
    )

    cancel = FormAction(
        description="Cancel (release reserved stock)",
        form_class=forms.OptionalReasonForm,
        service=lambda order, data, request: services.cancel_order(order, reason=data["reason"]),
        done="order(s) cancelled",
        title="Cancel orders",
    )
