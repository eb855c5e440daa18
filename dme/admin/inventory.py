"""DME admin, stock on the move and its value: transfers (ship, receive, or both at
once; in transit shown as such), lots, recalls (with the units they name and a serial
look-up), the stock ledger, cycle count sheets, and the valuation report (CSV)."""

import csv
import uuid
from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import Location
from accounts.tenancy import signed_in_user
from core.admin import (
    EditableWhileParentMixin,
    ReadOnlyAdminMixin,
    TenantAdmin,
    TenantInlineMixin,
    run_service,
)
from core.exceptions import ServiceError
from core.tenancy import get_active_company_id

from .. import services
from ..forms_inventory import SerialLookupForm
from ..models import (
    CountLine,
    CountSheet,
    Lot,
    Recall,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from ..services.counts import VALUATION_HEADER, valuation_rows
from ..services.transfers import in_transit

# Transfers ------------------------------------------------------------------------------


class TransferLineInline(EditableWhileParentMixin, TenantInlineMixin, admin.TabularInline):
    model = TransferLine
    extra = 0
    fields = ["equipment", "quantity", "asset", "unit_cost"]
    readonly_fields = ["unit_cost"]
    autocomplete_fields = ["equipment", "asset"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment", "asset__equipment")


@admin.register(Transfer)
class TransferAdmin(TenantAdmin):
    """Transfers between our locations: draft -> in transit (counted at neither end)
    -> received. "Transfer now" ships and receives in one step."""

    list_display = ["number", "from_location", "to_location", "status", "shipped_at", "received_at"]
    list_filter = ["status", "from_location", "to_location"]
    search_fields = ["=number"]
    list_select_related = ["from_location", "to_location"]
    readonly_fields = ["number", "status", "shipped_at", "received_at"]
    fields = [
        "number",
        "from_location",
        "to_location",
        "status",
        "shipped_at",
        "received_at",
        "notes",
    ]
    inlines = [TransferLineInline]
    actions = ["ship", "receive", "transfer_now", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["from_location", "to_location"]
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        self.assign_company(request, obj)
        services.create_transfer(
            from_location=obj.from_location,
            to_location=obj.to_location,
            notes=obj.notes,
            transfer=obj,
            user=signed_in_user(request),
        )
        return None

    def save_formset(self, request, form, formset, change):
        if formset.model is not TransferLine:
            return super().save_formset(request, form, formset, change)
        for line in formset.save(commit=False):
            if line._state.adding:
                services.transfers.add_transfer_line(form.instance, line)
            elif form.instance.is_editable:
                line.save()
        for line in formset.deleted_objects:
            if form.instance.is_editable:
                line.delete()
        return None

    def _run(self, request, queryset, service, done):
        user = signed_in_user(request)
        run_service(self, request, queryset, lambda t: service(t, user=user), done)

    @admin.action(description="Ship (stock leaves; in transit)", permissions=["change"])
    def ship(self, request, queryset):
        self._run(request, queryset, services.ship_transfer, "transfer(s) shipped")

    @admin.action(description="Receive at the destination", permissions=["change"])
    def receive(self, request, queryset):
        self._run(request, queryset, services.receive_transfer, "transfer(s) received")

    @admin.action(description="Transfer now (ship and receive at once)", permissions=["change"])
    def transfer_now(self, request, queryset):
        self._run(request, queryset, services.transfer_now, "transfer(s) done")

    @admin.action(description="Cancel (drafts only)", permissions=["change"])
    def cancel(self, request, queryset):
        self._run(request, queryset, services.cancel_transfer, "transfer(s) cancelled")


# Lots and recalls ------------------------------------------------------------------------


@admin.register(Lot)
class LotAdmin(TenantAdmin):
    """Lots of lot-tracked supplies, created by receipts."""

    list_display = ["lot_number", "equipment", "expiry_date"]
    list_filter = ["expiry_date"]
    search_fields = ["=lot_number"]
    list_select_related = ["equipment"]
    autocomplete_fields = ["equipment"]


@admin.register(Recall)
class RecallAdmin(TenantAdmin):
    """Manufacturers' recalls; each lists the units it names. "Serial look-up" finds a
    serial number's units, their recalls and warranty."""

    list_display = ["__str__", "issued_on", "serial_from", "serial_to"]
    list_filter = ["manufacturer", "issued_on"]
    search_fields = ["^manufacturer", "^model_number", "=reference"]
    readonly_fields = ["affected_units"]

    @admin.display(description="units named")
    def affected_units(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        units = services.recalled_units(obj)
        if not units:
            return "None of our units."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (
                    reverse("admin:dme_asset_change", args=[u.pk]),
                    u.serial_number,
                    u.get_status_display(),
                )
                for u in units
            ),
        )

    def get_urls(self):
        return [
            path(
                "lookup/",
                self.admin_site.admin_view(self.lookup_view),
                name="dme_recall_lookup",
            ),
            *super().get_urls(),
        ]

    def lookup_view(self, request):
        """Recalls and warranty of the units with a serial number (the user's company)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SerialLookupForm(request.GET or None)
        found = None
        if form.is_valid():
            try:
                found = services.lookup_serial(
                    get_active_company_id(request.user), form.cleaned_data["serial"]
                )
            except ServiceError as error:
                form.add_error("serial", error.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "Serial look-up: recalls and warranty",
            "opts": self.model._meta,
            "form": form,
            "found": found,
        }
        return TemplateResponse(request, "admin/dme/recall/lookup.html", context)


# The stock ledger and the valuation -------------------------------------------------------


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Every receipt, transfer, count adjustment and unit status change, as written."""

    list_display = [
        "moved_at",
        "kind",
        "equipment",
        "location",
        "quantity",
        "unit_cost",
        "reference",
    ]
    list_filter = ["kind", "location", "moved_at"]
    search_fields = ["=reference"]
    list_select_related = ["equipment", "location"]
    date_hierarchy = "moved_at"

    def get_urls(self):
        return [
            path(
                "valuation/",
                self.admin_site.admin_view(self.valuation_view),
                name="dme_stock_valuation",
            ),
            *super().get_urls(),
        ]

    def valuation_view(self, request):
        """Stock valuation per location (quantity x moving average cost), with what is
        in transit; ``?format=csv`` downloads it."""
        if not request.user.has_perm("dme.view_stocklevel"):
            raise PermissionDenied
        levels = (
            StockLevel.objects.for_user(request.user)
            .select_related("equipment", "location")
            .order_by("location__name", "equipment__name")
        )
        location_id = request.GET.get("location", "")
        locations = Location.objects.for_user(request.user).order_by("name")
        if location_id:
            location = locations.filter(pk=location_id).first() if _is_uuid(location_id) else None
            if location is None:
                raise Http404
            levels = levels.filter(location=location)
        rows = list(valuation_rows(levels))
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="stock-valuation.csv"'
            writer = csv.writer(response)
            writer.writerow(VALUATION_HEADER)
            for row in rows:
                writer.writerow(
                    [
                        row.location,
                        row.hcpcs_code,
                        row.item,
                        row.on_hand,
                        row.average_cost,
                        row.value,
                    ]
                )
            return response
        totals: dict[str, Decimal] = {}
        for row in rows:
            totals[row.location] = totals.get(row.location, Decimal("0")) + row.value
        company_id = get_active_company_id(request.user)
        transit = in_transit(company_id) if company_id else {}
        context = {
            **self.admin_site.each_context(request),
            "title": "Stock valuation",
            "opts": self.model._meta,
            "rows": rows,
            "totals": sorted(totals.items()),
            "grand_total": sum(row.value for row in rows),
            "in_transit_units": sum(transit.values()),
            "locations": locations,
            "location_id": location_id,
        }
        return TemplateResponse(request, "admin/dme/stockmovement/valuation.html", context)


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# Cycle counts -----------------------------------------------------------------------------


class CountLineInline(EditableWhileParentMixin, TenantInlineMixin, admin.TabularInline):
    """The count: write the counted quantity, and the reason where it differs."""

    model = CountLine
    extra = 0
    fields = ["equipment", "expected_quantity", "counted_quantity", "variance", "reason"]
    readonly_fields = ["equipment", "expected_quantity", "variance"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("equipment")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="variance")
    def variance(self, obj):
        value = obj.variance
        return "-" if value is None else f"{value:+d}"


@admin.register(CountSheet)
class CountSheetAdmin(TenantAdmin):
    """Cycle counts: adding a sheet lists the location's counted stock; fill in the
    counts, then "Post" adjusts every variance with its reason."""

    list_display = ["number", "location", "status", "created_at", "posted_at"]
    list_filter = ["status", "location"]
    search_fields = ["=number"]
    list_select_related = ["location"]
    readonly_fields = ["number", "status", "posted_at", "export_link"]
    fields = ["number", "location", "status", "posted_at", "notes", "export_link"]
    inlines = [CountLineInline]
    actions = ["post", "cancel", "export_csv"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("location")
        return fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        self.assign_company(request, obj)
        services.open_count_sheet(
            obj.location, sheet=obj, notes=obj.notes, user=signed_in_user(request)
        )
        return None

    def save_formset(self, request, form, formset, change):
        if formset.model is not CountLine:
            return super().save_formset(request, form, formset, change)
        for line in formset.save(commit=False):
            if line.counted_quantity is not None:
                services.record_count(line, line.counted_quantity, reason=line.reason)
        return None

    @admin.display(description="count sheet (CSV)")
    def export_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">Download</a>', reverse("admin:dme_countsheet_csv", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/csv/",
                self.admin_site.admin_view(self.csv_view),
                name="dme_countsheet_csv",
            ),
            *super().get_urls(),
        ]

    def csv_view(self, request, object_id):
        sheet = self.get_object(request, object_id)
        if sheet is None:
            raise Http404
        return count_sheets_csv([sheet])

    @admin.action(description="Post the variances as adjustments", permissions=["change"])
    def post(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda sheet: services.post_count_sheet(sheet, user=user),
            "count sheet(s) posted",
        )

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request, queryset):
        run_service(
            self, request, queryset, services.cancel_count_sheet, "count sheet(s) cancelled"
        )

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return count_sheets_csv(queryset.select_related("location"))


COUNT_HEADER = [
    "sheet",
    "location",
    "status",
    "hcpcs_code",
    "item",
    "expected",
    "counted",
    "variance",
    "reason",
]


def count_sheets_csv(sheets):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="count-sheets.csv"'
    writer = csv.writer(response)
    writer.writerow(COUNT_HEADER)
    lines = (
        CountLine.objects.filter(count_sheet__in=[s.pk for s in sheets])
        .select_related("count_sheet__location", "equipment")
        .order_by("count_sheet__number", "equipment__name")
    )
    for line in lines:
        sheet = line.count_sheet
        writer.writerow(
            [
                sheet.number,
                sheet.location.name,
                sheet.get_status_display(),
                line.equipment.hcpcs_code,
                line.equipment.name,
                line.expected_quantity,
                "" if line.counted_quantity is None else line.counted_quantity,
                "" if line.variance is None else line.variance,
                line.reason,
            ]
        )
    return response
