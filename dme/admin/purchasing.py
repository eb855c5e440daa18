"""DME admin, purchasing: vendors and their items, purchase orders (lines editable while
a draft, through ``dme.services``), the reorder-point suggestion run, and the receive
page (one row per line still due; a scanner fills one serial field per scan)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.tenancy import signed_in_user
from core.admin import EditableWhileParentMixin, TenantAdmin, TenantInlineMixin, run_service
from core.admin_widgets import ListFieldsMixin
from core.exceptions import ServiceError
from core.tenancy import get_active_company

from .. import services
from ..forms_inventory import ReceiveForm
from ..models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Vendor,
    VendorItem,
)


class VendorItemInline(TenantInlineMixin, admin.TabularInline):
    model = VendorItem
    extra = 0
    fields = ["equipment", "vendor_item_number", "unit_cost", "is_preferred"]
    autocomplete_fields = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment")


@admin.register(Vendor)
class VendorAdmin(TenantAdmin):
    """Who we buy from; the items each supplies and which vendor is preferred."""

    list_display = [
        "name",
        "account_number",
        "contact_name",
        "terms",
        "lead_time_days",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["^name", "=account_number"]
    inlines = [VendorItemInline]
    actions = ["suggest"]

    @admin.action(
        description="Suggest purchase orders from reorder points (these vendors)",
        permissions=["add"],
    )
    def suggest(self, request, queryset):
        suggest_for_company(self, request, vendors=list(queryset))


def suggest_for_company(modeladmin, request, *, vendors=None):
    """The suggestion run for the signed-in user's company (the selected vendors)."""
    company = get_active_company(request.user)
    if company is None:
        raise Http404
    try:
        run = services.suggest_purchase_orders(
            company, user=signed_in_user(request), vendors=vendors
        )
    except ServiceError as error:
        modeladmin.message_user(request, error.message, messages.ERROR)
        return
    modeladmin.message_user(
        request, run.summary(), messages.SUCCESS if run.created else messages.INFO
    )


class PurchaseOrderLineInline(EditableWhileParentMixin, TenantInlineMixin, admin.TabularInline):
    """Lines, editable while the order is a draft."""

    model = PurchaseOrderLine
    extra = 0
    fields = ["equipment", "quantity", "unit_cost", "expected_date", "received_quantity", "due"]
    readonly_fields = ["received_quantity", "due"]
    autocomplete_fields = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment")

    @admin.display(description="backordered")
    def due(self, obj):
        return obj.backordered if obj.pk else "-"


class ReceiptLineInline(ListFieldsMixin, TenantInlineMixin, admin.TabularInline):
    model = ReceiptLine
    list_fields = ("serial_numbers",)
    extra = 0
    can_delete = False
    fields = ["purchase_order_line", "quantity", "unit_cost", "lot", "serial_numbers"]
    readonly_fields = ["purchase_order_line", "quantity", "unit_cost", "lot", "serial_numbers"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("purchase_order_line__equipment", "lot")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Receipt)
class ReceiptAdmin(TenantAdmin):
    """What came in, per delivery from a vendor (recorded by the receive page)."""

    list_display = ["number", "purchase_order", "received_at", "received_by", "packing_slip"]
    list_select_related = ["purchase_order", "received_by"]
    search_fields = ["=number", "=purchase_order__number"]
    readonly_fields = ["number", "purchase_order", "received_at", "received_by", "packing_slip"]
    fields = ["number", "purchase_order", "received_at", "received_by", "packing_slip"]
    inlines = [ReceiptLineInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(TenantAdmin):
    """Purchase orders: draft (lines editable) -> sent -> partly received -> received,
    or cancelled; receive with the "Receive" link."""

    list_display = [
        "number",
        "vendor",
        "location",
        "status",
        "sent_at",
        "suggested",
        "receive_link",
    ]
    list_filter = ["status", "vendor", "location", "suggested"]
    search_fields = ["=number"]
    list_select_related = ["vendor", "location"]
    autocomplete_fields = ["vendor"]
    readonly_fields = ["number", "status", "sent_at", "suggested", "receive_link"]
    fields = [
        "number",
        "vendor",
        "location",
        "status",
        "sent_at",
        "suggested",
        "notes",
        "receive_link",
    ]
    inlines = [PurchaseOrderLineInline]
    actions = ["send", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable:
            fields += ["vendor", "location"]
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        self.assign_company(request, obj)
        services.purchasing.save_new_purchase_order(obj)
        return None

    def save_formset(self, request, form, formset, change):
        if formset.model is not PurchaseOrderLine:
            return super().save_formset(request, form, formset, change)
        for line in formset.save(commit=False):
            services.save_po_line(form.instance, line)
        for line in formset.deleted_objects:
            services.purchasing.delete_po_line(line)
        return None

    @admin.display(description="receive")
    def receive_link(self, obj):
        if obj is None or obj.pk is None or not obj.is_receivable:
            return "-"
        return format_html(
            '<a href="{}">Receive</a>', reverse("admin:dme_purchaseorder_receive", args=[obj.pk])
        )

    @admin.action(description="Send to the vendor", permissions=["change"])
    def send(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda po: services.send_purchase_order(po, user=user),
            "purchase order(s) sent",
        )

    @admin.action(description="Cancel (or cancel the backorder)", permissions=["change"])
    def cancel(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda po: services.cancel_purchase_order(po, user=user),
            "purchase order(s) cancelled",
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/receive/",
                self.admin_site.admin_view(self.receive_view),
                name="dme_purchaseorder_receive",
            ),
            *super().get_urls(),
        ]

    def receive_view(self, request, object_id):
        """Receive all or part of the order; the rest stays backordered."""
        po = self.get_object(request, unquote(object_id))
        if po is None:
            raise Http404
        if not self.has_change_permission(request, po):
            raise PermissionDenied
        change_url = reverse("admin:dme_purchaseorder_change", args=[po.pk])
        if not po.is_receivable:
            self.message_user(
                request,
                f"Purchase order {po.number} is {po.get_status_display().lower()}: nothing to "
                "receive.",
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        lines = list(po.lines.select_related("equipment").order_by("created_at", "id"))
        form = ReceiveForm(request.POST or None, lines=lines)
        if request.method == "POST" and form.is_valid():
            try:
                receipt = services.receive_purchase_order(
                    po,
                    form.items(),
                    user=signed_in_user(request),
                    packing_slip=form.cleaned_data["packing_slip"],
                )
            except ServiceError as error:
                form.add_error(None, error.message)
                form.add_service_errors(error.fields)
            else:
                po.refresh_from_db()
                self.message_user(
                    request,
                    f"{receipt.number} recorded; {po.number} is {po.get_status_display().lower()}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Receive purchase order {po.number}",
            "opts": self.model._meta,
            "original": po,
            "form": form,
            "rows": form.bound_rows(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/dme/purchaseorder/receive.html", context)
