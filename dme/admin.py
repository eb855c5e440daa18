"""DME admin: the catalogue with stock per location, stock levels (low-stock filter,
adjustments), units with their maintenance log and history, orders with their lines and
delivery, deliveries with the proof of delivery, rentals. Every state change is an
action (or the proof-of-delivery page) that calls ``dme.services``."""

import re
from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from clinical.admin import PatientLinkedSearchMixin
from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.exceptions import ServiceError

from . import forms, services
from .choices import AssetStatus, DeliveryStatus
from .models import (
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

ORDER_NUMBER_RE = re.compile(r"^O-?\d{1,12}$", re.IGNORECASE)


class DMEAdmin(TenantAdmin):
    """TenantAdmin whose relation filters list only the company's rows."""


def action_with_form(modeladmin, request, queryset, *, form_class, title, apply, form_kwargs=None):
    """An action that first asks for input (a date, a reason) on an intermediate page,
    then applies ``apply(obj, cleaned_data)`` to every selected row."""
    form_kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            return apply(form.cleaned_data)
    else:
        form = form_class(**form_kwargs)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/dme/action_form.html", context)


# Catalogue and stock -----------------------------------------------------------------


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
class EquipmentAdmin(DMEAdmin):
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
class StockLevelAdmin(DMEAdmin):
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

    @admin.action(description="Adjust stock on hand (with a reason)", permissions=["change"])
    def adjust(self, request, queryset):
        def apply(data):
            run_service(
                self,
                request,
                queryset.select_related("equipment", "location"),
                lambda level: services.adjust_stock(level, data["delta"], reason=data["reason"]),
                "stock level(s) adjusted",
            )

        return action_with_form(
            self,
            request,
            queryset,
            form_class=forms.StockAdjustmentForm,
            title="Adjust stock on hand",
            apply=apply,
        )


class MaintenanceRecordInline(TenantInlineMixin, admin.TabularInline):
    """The unit's maintenance log; entries are added here, never changed."""

    model = MaintenanceRecord
    extra = 0
    can_delete = False
    fields = ["performed_on", "kind", "work_done", "performed_by"]

    def has_change_permission(self, request, obj=None):
        return False


class RentalHistoryInline(TenantInlineMixin, admin.TabularInline):
    model = Rental
    fk_name = "asset"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["patient", "start_date", "end_date", "months_billed", "status"]
    readonly_fields = fields
    verbose_name_plural = "rental history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patient")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(DMEAdmin):
    """Serialized units. Their status changes through orders, returns and the
    actions; each change is in the unit's audit history ("Audit log")."""

    show_auditlog_history_link = True

    list_display = ["serial_number", "equipment", "status", "location", "patient", "purchase_date"]
    list_filter = ["status", "equipment__category", "location"]
    search_fields = ["=serial_number"]
    search_help_text = "Serial number (exact)."
    autocomplete_fields = ["equipment"]
    list_select_related = ["equipment", "location", "patient"]
    readonly_fields = ["status", "patient", "reserved_for"]
    inlines = [MaintenanceRecordInline, RentalHistoryInline]
    actions = ["return_to_stock", "retire"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["equipment", "location"]
        return fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        if obj.company_id is None:
            from accounts.tenancy import get_active_company

            obj.company = get_active_company(request.user)
        services.register_asset(obj)
        return None

    def save_formset(self, request, form, formset, change):
        # Maintenance entries: the technician is whoever records them.
        for instance in formset.save(commit=False):
            if isinstance(instance, MaintenanceRecord):
                instance.company_id = form.instance.company_id
                instance.technician = instance.technician or request.user
                instance.performed_by = instance.performed_by or request.user.get_full_name()
            instance.save()
        formset.save_m2m()

    @admin.action(description="Cleaned or repaired: back in stock", permissions=["change"])
    def return_to_stock(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda asset: services.return_to_stock(asset, user=request.user),
            "unit(s) back in stock",
        )

    @admin.action(description="Retire (out of service for good)", permissions=["change"])
    def retire(self, request, queryset):
        def apply(data):
            run_service(
                self,
                request,
                queryset,
                lambda asset: services.retire_asset(
                    asset, reason=data["reason"], user=request.user
                ),
                "unit(s) retired",
            )

        return action_with_form(
            self, request, queryset, form_class=forms.ReasonForm, title="Retire units", apply=apply
        )


# Orders ------------------------------------------------------------------------------


class OrderLineInline(TenantInlineMixin, admin.TabularInline):
    """Lines, editable while the order is received or verified."""

    model = OrderLine
    form = forms.OrderLineForm
    extra = 0
    fields = [
        "equipment",
        "quantity",
        "kind",
        "modifiers",
        "unit_price",
        "reserved_quantity",
        "delivered_quantity",
    ]
    readonly_fields = ["reserved_quantity", "delivered_quantity"]
    autocomplete_fields = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment")

    def _editable(self, obj):
        return obj is None or obj.is_editable

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


class DeliveryInline(TenantInlineMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["scheduled_date", "method", "driver", "status", "delivered_on"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("driver")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(PatientLinkedSearchMixin, DMEAdmin):
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
    readonly_fields = [
        "number",
        "status",
        "ready_to_verify",
        "verified_at",
        "confirmed_at",
        "delivered_on",
        "cancelled_at",
        "cancellation_reason",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "patient", "prescriber", "location"]}),
        ("Written order", {"fields": ["written_order_date", "prescriber_signed_on", "notes"]}),
        (
            "Progress",
            {
                "fields": [
                    "ready_to_verify",
                    "verified_at",
                    "confirmed_at",
                    "delivered_on",
                    "cancelled_at",
                    "cancellation_reason",
                ]
            },
        ),
    ]
    inlines = [OrderLineInline, DeliveryInline]
    actions = ["verify", "confirm", "schedule", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("patient")
            if not obj.is_editable:
                fields.append("location")
            if obj.is_closed:
                fields += ["prescriber", "written_order_date", "prescriber_signed_on"]
        return fields

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

    @admin.action(description="Verify (written order checked)", permissions=["change"])
    def verify(self, request, queryset):
        run_service(self, request, queryset, services.verify_order, "order(s) verified")

    @admin.action(description="Confirm (reserve stock)", permissions=["change"])
    def confirm(self, request, queryset):
        run_service(self, request, queryset, services.confirm_order, "order(s) confirmed")

    @admin.action(description="Schedule delivery", permissions=["change"])
    def schedule(self, request, queryset):
        def apply(data):
            run_service(
                self,
                request,
                queryset,
                lambda order: services.schedule_delivery(order, **data),
                "delivery(ies) scheduled",
            )

        return action_with_form(
            self,
            request,
            queryset,
            form_class=forms.ScheduleDeliveryForm,
            title="Schedule deliveries",
            apply=apply,
            form_kwargs={"user": request.user},
        )

    @admin.action(description="Cancel (release reserved stock)", permissions=["change"])
    def cancel(self, request, queryset):
        def apply(data):
            run_service(
                self,
                request,
                queryset,
                lambda order: services.cancel_order(order, reason=data["reason"]),
                "order(s) cancelled",
            )

        return action_with_form(
            self,
            request,
            queryset,
            form_class=forms.OptionalReasonForm,
            title="Cancel orders",
            apply=apply,
        )


# Deliveries --------------------------------------------------------------------------


class DeliveryItemInline(TenantInlineMixin, admin.TabularInline):
    model = DeliveryItem
    extra = 0
    can_delete = False
    fields = ["description", "quantity", "serial_numbers"]
    readonly_fields = fields
    verbose_name_plural = "items delivered"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


SCHEDULING_FIELDS = [
    "scheduled_date",
    "window_start",
    "window_end",
    "method",
    "driver",
    "address",
    "carrier",
    "tracking_number",
    "instructions",
]
PROOF_FIELDS = [
    "proof_link",
    "patient_name",
    "delivered_on",
    "signer_name",
    "signer_relationship",
    "signed_at",
    "signature",
    "completed_by",
    "cancelled_at",
]


@admin.register(Delivery)
class DeliveryAdmin(DMEAdmin):
    """Deliveries are created by scheduling an order; the proof of delivery is
    recorded on its own page (the "Record proof of delivery" link)."""

    list_display = [
        "order",
        "scheduled_date",
        "window",
        "method",
        "driver",
        "status",
        "delivered_on",
    ]
    list_filter = ["status", "method", "scheduled_date", "driver"]
    search_fields = ["=order__number"]
    search_help_text = "Order number (exact, O-000123)."
    list_select_related = ["order", "driver"]
    autocomplete_fields = ["driver"]
    fieldsets = [
        (None, {"fields": ["order", "status", *SCHEDULING_FIELDS]}),
        ("Proof of delivery", {"fields": PROOF_FIELDS}),
    ]
    readonly_fields = ["order", "status", *PROOF_FIELDS]
    inlines = [DeliveryItemInline]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False  # Deliveries are scheduled from orders.

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != DeliveryStatus.SCHEDULED:
            fields += SCHEDULING_FIELDS
        return fields

    @admin.display(description="window")
    def window(self, obj):
        if obj.window_start and obj.window_end:
            return f"{obj.window_start:%H:%M}-{obj.window_end:%H:%M}"
        return "-"

    @admin.display(description="signature")
    def signature(self, obj):
        if not obj.signature_image:
            return "-"
        return format_html(
            '<img src="{}" alt="signature" style="max-height:80px">', obj.signature_image
        )

    @admin.display(description="proof of delivery")
    def proof_link(self, obj):
        if obj.pk is None or obj.status != DeliveryStatus.SCHEDULED:
            return "-"
        return format_html(
            '<a class="button" href="{}">Record proof of delivery</a>',
            reverse("admin:dme_delivery_proof", args=[obj.pk]),
        )

    @admin.action(description="Cancel delivery (order keeps its stock)", permissions=["change"])
    def cancel(self, request, queryset):
        run_service(self, request, queryset, services.cancel_delivery, "delivery(ies) cancelled")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/proof/",
                self.admin_site.admin_view(self.proof_view),
                name="dme_delivery_proof",
            ),
            *super().get_urls(),
        ]

    def proof_view(self, request, object_id):
        """Record the proof of delivery: the signer and the serials handed over."""
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            raise Http404
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        order = delivery.order
        lines = list(order.lines.select_related("equipment").order_by("created_at", "id"))
        reserved = defaultdict(list)
        for asset in Asset.objects.filter(
            reserved_for__in=[line.pk for line in lines], status=AssetStatus.RESERVED
        ).order_by("serial_number"):
            reserved[asset.reserved_for_id].append(asset.serial_number)
        form_kwargs = {"delivery": delivery, "lines": lines, "reserved_serials": reserved}
        change_url = reverse("admin:dme_delivery_change", args=[delivery.pk])
        if request.method == "POST":
            form = forms.ProofOfDeliveryForm(request.POST, **form_kwargs)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    services.complete_delivery(
                        delivery,
                        delivered_on=data["delivered_on"],
                        signer_name=data["signer_name"],
                        signer_relationship=data["signer_relationship"],
                        tracking_number=data["tracking_number"],
                        items=form.items(),
                        user=request.user,
                    )
                except ServiceError as error:
                    form.add_error(None, error.message)
                    form.add_service_errors(error.fields)
                else:
                    self.message_user(
                        request,
                        f"Order {order.number} delivered; proof of delivery recorded.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(change_url)
        else:
            form = forms.ProofOfDeliveryForm(**form_kwargs)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Proof of delivery: order {order.number}",
            "opts": self.model._meta,
            "original": delivery,
            "order": order,
            "lines": lines,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/dme/delivery/proof_of_delivery.html", context)


# Rentals -----------------------------------------------------------------------------


@admin.register(Rental)
class RentalAdmin(PatientLinkedSearchMixin, DMEAdmin):
    """Rentals start when deliveries complete; billing counts their months. Staff
    record pickups with the "Record return" action."""

    list_display = [
        "equipment",
        "asset",
        "patient",
        "start_date",
        "months_billed",
        "cap_months",
        "status",
        "end_date",
    ]
    list_filter = ["status", "equipment__category", "start_date"]
    list_select_related = ["equipment", "asset", "patient"]
    fields = [
        "patient",
        "order",
        "order_line",
        "equipment",
        "asset",
        "quantity",
        "start_date",
        "monthly_fee",
        "months_billed",
        "cap_months",
        "status",
        "capped_on",
        "returned_on",
        "end_date",
        "picked_up_by",
        "return_location",
        "return_notes",
    ]
    readonly_fields = [name for name in fields if name != "return_notes"]
    actions = ["record_return"]

    def has_add_permission(self, request):
        return False  # Rentals start when a delivery is completed.

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Record return (pickup)", permissions=["change"])
    def record_return(self, request, queryset):
        def apply(data):
            run_service(
                self,
                request,
                queryset.select_related("equipment", "asset"),
                lambda rental: services.return_rental(
                    rental,
                    returned_on=data["returned_on"],
                    location=data["location"],
                    picked_up_by=data["picked_up_by"] or request.user,
                    notes=data["notes"],
                ),
                "rental(s) returned",
            )

        return action_with_form(
            self,
            request,
            queryset,
            form_class=forms.RentalReturnForm,
            title="Record returns",
            apply=apply,
            form_kwargs={"user": request.user},
        )
