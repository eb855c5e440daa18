"""DME admin, the deliveries: scheduled from orders, cancelled by an action, completed on
the proof-of-delivery page (signer and serial numbers) through ``dme.services``."""

from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.admin_buttons import Button, ChangeButtonsMixin, LinkButton, can_become
from core.admin_widgets import ListFieldsMixin
from core.exceptions import ServiceError

from .. import billing_hooks, forms, services
from ..choices import AssetStatus, DeliveryStatus
from ..models import Asset, Delivery, DeliveryItem
from ..transitions import DELIVERY_TRANSITIONS
from .tools import ObjectToolsMixin

DELIVERY_ITEM_FIELDS = ("description", "quantity", "serial_numbers")


class DeliveryItemInline(ListFieldsMixin, TenantInlineMixin, admin.TabularInline):
    model = DeliveryItem
    list_fields = ("serial_numbers",)
    extra = 0
    can_delete = False
    fields = DELIVERY_ITEM_FIELDS
    readonly_fields = DELIVERY_ITEM_FIELDS
    verbose_name_plural = "items delivered"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


SCHEDULING_FIELDS = (
    "scheduled_date",
    "window_start",
    "window_end",
    "method",
    "driver",
    "address",
    "carrier",
    "tracking_number",
    "instructions",
)
PROOF_FIELDS = (
    "proof_link",
    "patient_name",
    "delivered_on",
    "signer_name",
    "signer_relationship",
    "signed_at",
    "signature",
    "completed_by",
    "cancelled_at",
)


@admin.register(Delivery)
class DeliveryAdmin(ObjectToolsMixin, ChangeButtonsMixin, TenantAdmin):
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
        ("Ready to bill / On hold", {"fields": ["billing_readiness"]}),
    ]
    readonly_fields = ["order", "status", *PROOF_FIELDS, "billing_readiness"]
    inlines = [DeliveryItemInline]
    actions = ["cancel"]
    change_buttons = [
        LinkButton(
            "Record proof of delivery",
            url=lambda delivery: reverse("admin:dme_delivery_proof", args=[delivery.pk]),
            when=can_become(DELIVERY_TRANSITIONS, DeliveryStatus.DELIVERED),
            permission="dme.change_delivery",
        ),
        LinkButton(
            "Print delivery ticket",
            url=lambda delivery: reverse("admin:print_delivery_ticket", args=[delivery.pk]),
            when=lambda delivery: delivery.status != DeliveryStatus.CANCELLED,
        ),
        Button(
            "cancel",
            when=can_become(DELIVERY_TRANSITIONS, DeliveryStatus.CANCELLED),
            style="danger",
        ),
    ]

    def has_add_permission(self, request):
        return False  # Deliveries are scheduled from orders.

    def has_delete_permission(self, request, obj=None):
        # A delivery is cancelled, never deleted: a completed one holds the proof of
        # delivery billing relies on (kept 7 years).
        return False

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

    @admin.display(description="billing readiness")
    def billing_readiness(self, obj):
        """The reasons the order's lines cannot be billed yet (from the billing app)."""
        return billing_hooks.panel("delivery", obj) or "-"

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
                        signature_image=data["signature_image"],
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
