"""Admin of the adherence app: nights, imports (with the upload page), statuses."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import ReadOnlyAdminMixin, TenantAdmin, run_service
from core.exceptions import ServiceError
from core.tenancy import get_active_company

from . import services
from .forms import UsageUploadForm
from .models import AdherenceStatus, UsageImport, UsageNight


@admin.register(UsageNight)
class UsageNightAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Nights as imported: read-only (a corrected export re-imported updates them)."""

    list_display = ["night", "rental", "hours", "ahi", "leak", "source"]
    list_filter = ["source", "night"]
    list_select_related = ["rental", "rental__equipment"]
    raw_id_fields = ["rental", "patient"]
    date_hierarchy = "night"


@admin.register(UsageImport)
class UsageImportAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Each file imported; "Import usage" uploads a new one."""

    list_display = [
        "created_at",
        "rental",
        "source",
        "rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "first_night",
        "last_night",
        "created_by",
    ]
    list_filter = ["source", "created_at"]
    list_select_related = ["rental", "rental__equipment", "created_by"]
    raw_id_fields = ["rental"]
    change_list_template = "admin/adherence/usageimport/change_list.html"

    def get_urls(self):
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="adherence_usageimport_upload",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Upload a nightly usage export: the rental is matched by the device serial or
        patient number; a bad line refuses the file with its number."""
        if not request.user.has_perm("adherence.add_usageimport"):
            raise PermissionDenied
        form = UsageUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = services.import_usage(
                    get_active_company(request.user),
                    form.cleaned_data["file"].read(),
                    serial=form.cleaned_data["serial"],
                    patient_reference=form.cleaned_data["patient"],
                    source=form.cleaned_data["source"],
                )
            except ServiceError as error:
                field = "serial" if "serial" in error.fields else "file"
                form.add_error(field, error.message)
            except DatabaseError:
                form.add_error("file", "The file could not be stored; nothing was imported.")
            else:
                messages.success(request, result.summary())
                return HttpResponseRedirect(
                    reverse("admin:adherence_adherencestatus_change", args=[result.status.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import device usage",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/adherence/usageimport/upload.html", context)


@admin.register(AdherenceStatus)
class AdherenceStatusAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Each PAP rental against the Medicare rule; "Re-evaluate" recomputes it today."""

    list_display = [
        "rental",
        "state",
        "period_start",
        "period_end",
        "best_window_nights",
        "trailing_nights",
        "trailing_days",
        "met_on",
        "days_remaining",
    ]
    list_filter = ["state", "period_end"]
    list_select_related = ["rental", "rental__equipment"]
    raw_id_fields = ["rental", "patient", "alert", "prediction"]
    actions = ["re_evaluate"]

    def has_re_evaluate_permission(self, request):
        return request.user.has_perm("adherence.change_adherencestatus")

    @admin.action(description="Re-evaluate adherence today", permissions=["re_evaluate"])
    def re_evaluate(self, request, queryset):
        run_service(
            self,
            request,
            queryset.select_related("rental"),
            lambda status: services.refresh_rental(status.rental),
            "rental(s) re-evaluated",
        )
