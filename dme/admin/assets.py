"""DME admin, the serialized units: status through the actions, the maintenance log
(added through ``dme.services.log_maintenance``) and the rental history."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.tenancy import signed_in_user
from core.access import record_access
from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.admin_actions import FormAction, ServiceErrorsInFormMixin
from core.admin_buttons import Button, ChangeButtonsMixin, can_become
from core.choices import AccessAction, AccessVia
from core.exceptions import ServiceError

from .. import forms, services
from ..choices import AssetStatus
from ..forms_inventory import UnitLifeForm
from ..history import unit_history
from ..models import Asset, MaintenanceRecord, Rental
from ..transitions import ASSET_TRANSITIONS


class MaintenanceRecordInline(TenantInlineMixin, admin.TabularInline):
    """The unit's maintenance log; entries are added here (through
    ``services.log_maintenance``, see ``AssetAdmin.save_formset``), never changed."""

    model = MaintenanceRecord
    form = forms.MaintenanceRecordForm
    extra = 0
    can_delete = False
    fields = ["performed_on", "kind", "work_done", "performed_by"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A class made for this request: its rows report the service's refusal.
        formset.form.request = request
        return formset

    def has_change_permission(self, request, obj=None):
        return False


RENTAL_HISTORY_FIELDS = ("patient", "start_date", "end_date", "months_billed", "status")


class RentalHistoryInline(TenantInlineMixin, admin.TabularInline):
    model = Rental
    fk_name = "asset"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = RENTAL_HISTORY_FIELDS
    readonly_fields = RENTAL_HISTORY_FIELDS
    verbose_name_plural = "rental history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patient")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(ChangeButtonsMixin, ServiceErrorsInFormMixin, TenantAdmin):
    """Serialized units. Their status changes through orders, returns and the
    actions; each change is in the unit's audit history ("Audit log")."""

    form = forms.AssetAdminForm
    show_auditlog_history_link = True

    list_display = ["serial_number", "equipment", "status", "location", "patient", "purchase_date"]
    list_filter = ["status", "equipment__category", "location"]
    search_fields = ["=serial_number"]
    search_help_text = "Serial number (exact)."
    autocomplete_fields = ["equipment"]
    list_select_related = ["equipment", "location", "patient"]
    readonly_fields = ["status", "patient", "reserved_for", "life_link"]
    inlines = [MaintenanceRecordInline, RentalHistoryInline]
    actions = ["return_to_stock", "retire", "change_life"]
    change_buttons = [
        Button(
            "return_to_stock",
            when=can_become(
                ASSET_TRANSITIONS,
                AssetStatus.IN_STOCK,
                also=lambda asset: asset.status == AssetStatus.IN_MAINTENANCE,
            ),
        ),
        Button("retire", when=can_become(ASSET_TRANSITIONS, AssetStatus.RETIRED), style="danger"),
    ]

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
        self.assign_company(request, obj)
        services.register_asset(obj)
        return None

    def save_formset(self, request, form, formset, change):
        if formset.model is not MaintenanceRecord:
            return super().save_formset(request, form, formset, change)
        # New log rows go through the service (retired units and future dates are
        # refused); a refusal rolls the whole save back and shows on its row.
        created = []
        for row in formset.extra_forms:
            if not row.has_changed():
                continue
            data = row.cleaned_data
            try:
                record = services.log_maintenance(
                    form.instance,
                    performed_on=data["performed_on"],
                    kind=data["kind"],
                    work_done=data["work_done"],
                    performed_by=data["performed_by"],
                    technician=request.user,
                )
            except ServiceError as error:
                error.form_prefix = row.prefix
                raise
            created.append(record)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = created, [], []
        return None

    @admin.action(description="Cleaned or repaired: back in stock", permissions=["change"])
    def return_to_stock(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda asset: services.return_to_stock(asset, user=request.user),
            "unit(s) back in stock",
        )

    # The unit's whole life (issue 20) -------------------------------------------------

    change_life = FormAction(
        description="Sold, lost, junked, transferred out, lent, or back in stock",
        form_class=UnitLifeForm,
        form_kwargs=lambda request, units: {"user": request.user},
        service=lambda asset, data, request: services.change_unit_life(
            asset,
            data["status"],
            reason=data["reason"],
            patient=data["patient_number"],
            location=data["location"],
            user=signed_in_user(request),
        ),
        done="unit(s) changed",
        title="Change units' status",
    )

    @admin.display(description="history")
    def life_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">From receipt to today</a>',
            reverse("admin:dme_asset_life", args=[obj.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/life/",
                self.admin_site.admin_view(self.life_view),
                name="dme_asset_life",
            ),
            *super().get_urls(),
        ]

    def life_view(self, request, object_id):
        """The unit's history: receipt, movements, status changes (audit trail),
        maintenance, deliveries and rentals, oldest first."""
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        events = unit_history(asset)
        # The history names the patients who had the unit: a look at PHI, logged.
        record_access(request, [asset], via=AccessVia.ADMIN, action=AccessAction.VIEW)
        context = {
            **self.admin_site.each_context(request),
            "title": f"History of {asset}",
            "opts": self.model._meta,
            "original": asset,
            "events": events,
            "change_url": reverse("admin:dme_asset_change", args=[asset.pk]),
        }
        return TemplateResponse(request, "admin/dme/asset/life.html", context)

    retire = FormAction(
        description="Retire (out of service for good)",
        form_class=forms.ReasonForm,
        service=lambda asset, data, request: services.retire_asset(
            asset, reason=data["reason"], user=signed_in_user(request)
        ),
        done="unit(s) retired",
        title="Retire units",
    )
