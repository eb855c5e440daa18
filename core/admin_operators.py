"""The operators' pages in the admin: backups, periodic tasks and their schedules
(django-celery-beat) and data-quality runs. They are global (every company's jobs), so
only operators (superusers) see them; a company's staff get a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from .admin import ReadOnlyAdminMixin
from .admin_types import MixinAdminBase, ModelAdminBase, TabularInlineBase
from .backups.progress import human_size
from .models import Backup, DataQualityFinding, DataQualityRun


class OperatorOnlyMixin(MixinAdminBase):
    """Operators' pages (superusers): a company's staff, whatever their role's
    permissions, neither see them in the index nor open them (403)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Backup)
class BackupAdmin(OperatorOnlyMixin, ReadOnlyAdminMixin, ModelAdminBase):
    """The history of backups: written by ``core.backups`` only, never edited here.
    Global, operators only (the rows hold no PHI, but they are not a company's)."""

    list_display = [
        "started_at",
        "status",
        "vendor",
        "file_name",
        "size",
        "duration",
        "row_count",
        "trigger",
        "run_by",
        "verified_at",
    ]
    list_filter = ["status", "vendor", "trigger", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["=file_name", "=sha256"]
    fields = [
        "id",
        "status",
        "error",
        "started_at",
        "finished_at",
        "duration",
        "vendor",
        "file_name",
        "size_bytes",
        "sha256",
        "row_count",
        "table_count",
        "key_fingerprint",
        "app_version",
        "trigger",
        "requested_by",
        "run_by",
        "verified_at",
        "pruned_at",
    ]

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: Backup) -> str:
        return "-" if obj.size_bytes is None else human_size(obj.size_bytes)


# Shown read-only: tuples, which suit both ``fields`` and ``readonly_fields`` types.
_FINDING_FIELDS = (
    "check_name",
    "severity",
    "passed",
    "count",
    "detail",
    "records",
    "duration_ms",
    "full_pass_at",
)
_RUN_FIELDS = (
    "started_at",
    "finished_at",
    "status",
    "checks_run",
    "failed_errors",
    "failed_warnings",
    "triggered_by",
    "requested_by",
)


class DataQualityFindingInline(TabularInlineBase):
    model = DataQualityFinding
    extra = 0
    can_delete = False
    fields = readonly_fields = _FINDING_FIELDS
    ordering = ["passed", "check_name"]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="sample records")
    def records(self, finding: DataQualityFinding) -> str:
        """Links to the failing records' admin pages (ids only, never values)."""
        if not finding.sample_ids:
            return "-"
        content_type = finding.content_type
        model = content_type.model_class() if content_type is not None else None
        if model is None:
            # No record type, or a stale one whose model is gone: the ids, unlinked.
            return ", ".join(finding.sample_ids)
        opts = model._meta
        links = []
        for pk in finding.sample_ids:
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            except NoReverseMatch:
                links.append(format_html("{}", pk))
            else:
                links.append(format_html('<a href="{}">{}</a>', url, str(pk)[:8]))
        more = finding.count - len(finding.sample_ids)
        suffix = format_html(" and {} more", more) if more > 0 else ""
        return format_html_join(", ", "{}", ((link,) for link in links)) + suffix


@admin.register(DataQualityRun)
class DataQualityRunAdmin(OperatorOnlyMixin, ModelAdminBase):
    """Data-quality runs across every company: operators' page."""

    list_display = [
        "started_at",
        "status",
        "checks_run",
        "failed_errors",
        "failed_warnings",
        "duration",
        "triggered_by",
    ]
    list_filter = ["status", ("started_at", admin.DateFieldListFilter)]
    fields = readonly_fields = _RUN_FIELDS
    inlines = [DataQualityFindingInline]
    change_list_template = "admin/core/dataqualityrun/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [path("run/", run_now, name="core_dataqualityrun_run"), *super().get_urls()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def run_now_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Run every check now (the "Run the checks now" button of the list)."""
        from .quality.runner import run_checks

        if not request.user.is_superuser:
            raise PermissionDenied
        run = run_checks(triggered_by="admin", requested_by=request.user)
        self.message_user(
            request,
            f"Run finished: {run.get_status_display()} ({run.checks_run} checks, "
            f"{run.failed_errors} errors, {run.failed_warnings} warnings failed).",
            messages.WARNING if run.failed_errors else messages.SUCCESS,
        )
        return redirect("admin:core_dataqualityrun_change", run.pk)


# django-celery-beat's schedules are global (every company's jobs): re-registered with
# the same admins, for operators only.
for _model, _admin_class in [
    (PeriodicTask, beat_admin.PeriodicTaskAdmin),
    (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
    (CrontabSchedule, beat_admin.CrontabScheduleAdmin),
    (SolarSchedule, beat_admin.SolarScheduleAdmin),
    (ClockedSchedule, beat_admin.ClockedScheduleAdmin),
]:
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(
        _model, type(f"Operator{_admin_class.__name__}", (OperatorOnlyMixin, _admin_class), {})
    )
