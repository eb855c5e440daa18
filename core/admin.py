"""Admin pieces every app uses: tenant scoping, access logging, big-table pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from .access import record_access
from .admin_filters import TenantListFilterMixin
from .backups.progress import human_size
from .choices import AccessAction, AccessVia
from .exceptions import ServiceError
from .models import AccessLog, Backup, DataQualityFinding, DataQualityRun, TenantModel
from .pagination import EstimatedCountPaginator
from .phi import names_encrypted_field
from .tenancy import get_active_company


def assign_company(request: HttpRequest, obj: Model, *, parent: Model | None = None) -> None:
    """The one place the admin fills ``company`` on a new company-owned object.

    An inline row takes its parent's company; anything else the user's active company.
    Objects that already have a company (operators choose it) keep it.
    """
    if not isinstance(obj, TenantModel) or obj.company_id is not None:
        return
    if parent is not None and getattr(parent, "company_id", None) is not None:
        obj.company_id = parent.company_id
        return
    obj.company = get_active_company(request.user)


class TenantAdminMixin(TenantListFilterMixin):
    """Scope a ModelAdmin to the user's company and fill the company on create.

    - relation filters of ``list_filter`` list only the company's records;
    - the changelist, change page, and every foreign-key/many-to-many choice (including
      autocomplete) start from ``for_user``: another company's record is a 404;
    - new records get the active company; only operators see the company field;
    - viewing a change page of an ``access_logged`` model writes an AccessLog row.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if hasattr(queryset, "for_user"):
            queryset = queryset.for_user(request.user)
        return queryset

    def lookup_allowed(self, lookup, value, request=None):
        # ?dob__gte=1950-01-01: a filter on an encrypted column compares ciphertext
        # (meaningless) and puts PHI in the URL; refuse it (DESIGN.md section 3).
        if names_encrypted_field(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if issubclass(self.model, TenantModel) and not request.user.is_superuser:
            exclude.append("company")
        return exclude

    def _scope_field(self, db_field, request, kwargs):
        if "queryset" not in kwargs:
            related = db_field.remote_field.model
            queryset = related._default_manager.all()
            if hasattr(queryset, "for_user"):
                kwargs["queryset"] = queryset.for_user(request.user)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def assign_company(self, request: HttpRequest, obj: Model) -> None:
        """Give a new company-owned object the company: see :func:`assign_company`."""
        assign_company(request, obj)

    def save_model(self, request, obj, form, change):
        self.assign_company(request, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            assign_company(request, instance, parent=form.instance)
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another company's record (or none) is a 404 on every page: no existence leak.
        raise Http404

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if getattr(self.model, "access_logged", False) and response.status_code == 200:
            obj = (
                response.context_data.get("original") if hasattr(response, "context_data") else None
            )
            if obj is not None:
                record_access(request, [obj], via=AccessVia.ADMIN, action=AccessAction.VIEW)
        return response


class AuditHistoryMixin(AuditlogHistoryAdminMixin):
    """The django-auditlog history page of a row (``<id>/auditlog/``), for the
    company's rows only: another company's id is a 404, like its change page. Values
    of encrypted fields show as masked (core.audit). Set ``show_auditlog_history_link``
    to add an "Audit log" column to the list."""

    def auditlog_history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        response = super().auditlog_history_view(request, object_id, extra_context)
        if getattr(self.model, "access_logged", False):
            record_access(request, [obj], via=AccessVia.ADMIN, action=AccessAction.VIEW)
        return response


def apply_each(
    rows: Iterable[Any], change: Callable[[Any], object]
) -> tuple[list[Any], list[tuple[Any, ServiceError]]]:
    """Apply ``change`` (a service call) to each row, each in its own transaction (the
    service's). Returns the rows changed and the ``(row, ServiceError)`` refusals."""
    succeeded: list[Any] = []
    refused: list[tuple[Any, ServiceError]] = []
    for obj in rows:
        try:
            change(obj)
        except ServiceError as error:
            refused.append((obj, error))
        else:
            succeeded.append(obj)
    return succeeded, refused


def report_results(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    succeeded: list[Any],
    refused: list[tuple[Any, ServiceError]],
    done: str,
    *,
    shown: int = 20,
) -> None:
    """The successes in one message ("3 claim(s) approved."), each refusal in its own,
    naming the row (the first ``shown`` of them)."""
    if succeeded:
        modeladmin.message_user(request, f"{len(succeeded)} {done}.", messages.SUCCESS)
    for obj, error in refused[:shown]:
        modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
    if len(refused) > shown:
        modeladmin.message_user(request, f"... and {len(refused) - shown} more.", messages.ERROR)


def run_service(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: Iterable[Any],
    change: Callable[[Any], object],
    done: str,
    *,
    shown: int = 20,
) -> None:
    """An admin action's body without input: apply ``change`` to each selected row and
    report (see :func:`apply_each`, :func:`report_results`). Actions that ask for input
    first are declared with ``core.admin_actions.FormAction``."""
    succeeded, refused = apply_each(queryset, change)
    report_results(modeladmin, request, succeeded, refused, done, shown=shown)


class TenantAdmin(TenantAdminMixin, AuditHistoryMixin, admin.ModelAdmin):
    """ModelAdmin for a company-owned model."""


class TenantInlineMixin:
    """Inlines: scope their foreign-key choices like the parent admin does."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if hasattr(queryset, "for_user"):
            queryset = queryset.for_user(request.user)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = TenantAdminMixin._scope_field(self, db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        exclude.append("company")
        return exclude


class ReadOnlyAdminMixin:
    """For trails: nobody adds, changes or deletes through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "timestamp",
        "user_email",
        "action",
        "via",
        "content_type",
        "object_id",
        "ip_address",
    ]
    list_filter = [("timestamp", admin.DateFieldListFilter), "via", "action", "content_type"]
    search_fields = ["=user_email", "=object_id"]
    date_hierarchy = None
    list_select_related = ["content_type"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(company=get_active_company(request.user))


@admin.register(Backup)
class BackupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history of backups: written by ``core.backups`` only, never edited here.

    Operators (superusers) see it; so does any role holding ``core.view_backup``
    (the Auditor through its view-everything permission). The rows hold no PHI.
    """

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
    def size(self, obj):
        return "-" if obj.size_bytes is None else human_size(obj.size_bytes)


class DataQualityFindingInline(admin.TabularInline):
    model = DataQualityFinding
    extra = 0
    can_delete = False
    fields = ["check_name", "severity", "passed", "count", "detail", "records", "duration_ms"]
    readonly_fields = fields
    ordering = ["passed", "check_name"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="sample records")
    def records(self, finding):
        """Links to the failing records' admin pages (ids only, never values)."""
        if not finding.sample_ids:
            return "-"
        if finding.content_type_id is None:
            return ", ".join(finding.sample_ids)
        opts = finding.content_type.model_class()._meta
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
class DataQualityRunAdmin(admin.ModelAdmin):
    """Data-quality runs across every company: operators' page (superusers only)."""

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
    fields = [
        "started_at",
        "finished_at",
        "status",
        "checks_run",
        "failed_errors",
        "failed_warnings",
        "triggered_by",
        "requested_by",
    ]
    readonly_fields = fields
    inlines = [DataQualityFindingInline]
    change_list_template = "admin/core/dataqualityrun/change_list.html"

    def get_urls(self):
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [path("run/", run_now, name="core_dataqualityrun_run"), *super().get_urls()]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def run_now_view(self, request):
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
