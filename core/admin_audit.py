"""The trails in the admin.

- Audit entries, the access log, the compliance log and emergency accesses: read-only;
  a company's staff (Administrator, Auditor: the roles holding the view permission)
  see their active company's rows only, another company's row is a 404; rows of no
  company (global accounts, operators' jobs) are for operators (superusers) only.
- The operators' pages (backups, periodic tasks, data-quality runs) are in
  ``core/admin_operators.py``.

Lists are date-bounded, cursor-friendly and never search JSON (docs/architecture.md). The
access log and the audit entries (tens of millions of rows at six years' retention) open
on the last 7 days (``RecentDateFilter``: a filter widens it), filter by user, and search
an exact record id only (``ExactTrailSearchMixin``: an equality an index serves, never
``UPPER(...) LIKE``); docs/scaling.md, "Data at scale".
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, cast

from auditlog.mixins import LogEntryAdminMixin
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from .admin import ReadOnlyAdminMixin
from .admin_types import MixinAdminBase, ModelAdminBase
from .models import (
    AccessLog,
    AuditEntry,
    ComplianceEvent,
    EmergencyAccess,
)
from .pagination import BoundedCountPaginator
from .tenancy import get_active_company_id

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class NotFoundMixin:
    """A missing (or another company's) id is a 404, not Django's redirect to the
    admin index with "doesn't exist": the same answer either way, no existence leak."""

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        raise Http404


class CompanyTrailAdmin(NotFoundMixin, ReadOnlyAdminMixin, ModelAdminBase):
    """A trail with a ``company`` column: the active company's rows for its staff,
    everything for operators."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        company_id = get_active_company_id(request.user)
        if company_id is None:
            return queryset.none()
        return queryset.filter(company_id=company_id)


# The default window of the big trails, and the widest one offered (what is kept: HIPAA
# documentation is retained 6 years, 45 CFR 164.316(b)(2)(i)).
RECENT_DAYS = 7
KEPT_YEARS = 6


class RecentDateFilter(admin.DateFieldListFilter):
    """Django's date filter, but a list opened without a date (and without a search
    term) shows the last 7 days only: at millions of rows an unbounded page would sort
    and count them all. "Past 30 days", "Past year" and "Past 6 years (all kept)" widen
    it; an exact search (an e-mail, an id) looks across every date, through its index."""

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: dict[str, Any],
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.searched = bool(request.GET.get("q", "").strip())
        now = timezone.localtime(timezone.now())
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        tomorrow = today + datetime.timedelta(days=1)
        self.default_since = today - datetime.timedelta(days=RECENT_DAYS)

        def since(days: int) -> dict[str, Any]:
            return {
                self.lookup_kwarg_since: today - datetime.timedelta(days=days),
                self.lookup_kwarg_until: tomorrow,
            }

        self.links = (
            (f"Past {RECENT_DAYS} days", {}),
            ("Today", {self.lookup_kwarg_since: today, self.lookup_kwarg_until: tomorrow}),
            ("Past 30 days", since(30)),
            ("Past year", since(365)),
            (f"Past {KEPT_YEARS} years (all kept)", since(365 * KEPT_YEARS + 2)),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.used_parameters and not self.searched:
            return queryset.filter(**{self.lookup_kwarg_since: self.default_since})
        filtered: QuerySet[Any] | None = super().queryset(request, queryset)
        return queryset if filtered is None else filtered


class ExactTrailSearchMixin:
    """Search a trail by an exact record id, nothing else.

    Django's ``=field`` search compiles to ``UPPER(field) = UPPER(term)`` on
    PostgreSQL, which no plain index serves (at 638,000 rows it read the whole table);
    here the term is compared as typed, through the ``(company, object id, timestamp)``
    index. Who did it is the "user" filter (``CompanyUserFilter``): an e-mail address
    in ``?q=`` is refused by the admin's PHI guard (clinical.middleware) before any
    list sees it, as staff cannot tell a colleague's address from a patient's."""

    object_field: str = "object_id"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(**{self.object_field: term}), False


class CompanyUserFilter(admin.SimpleListFilter):
    """The staff member who acted: the active company's members (operators: the
    users of any company), through the ``(company, user, timestamp)`` index."""

    title = "user"
    parameter_name = "user"
    user_field = "user_id"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[Any, StrOrPromise]]:
        from django.contrib.auth import get_user_model

        users = get_user_model()._default_manager.all()
        if not request.user.is_superuser:
            company_id = get_active_company_id(request.user)
            users = users.filter(memberships__company_id=company_id)
        return [(user.pk, user.email) for user in users.order_by("email").distinct()[:500]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        from django.contrib.auth import get_user_model
        from django.core.exceptions import ValidationError

        try:
            user_id = get_user_model()._meta.pk.to_python(value)
        except ValidationError:
            return queryset.none()
        return queryset.filter(**{self.user_field: user_id})


class ActorFilter(CompanyUserFilter):
    parameter_name = "actor"
    user_field = "actor_id"


class AuditedTypeFilter(admin.SimpleListFilter):
    """The record type, listed from the audited models (auditlog's registry): not
    auditlog's own filter, which runs a DISTINCT over the whole trail on every page."""

    title = "record type"
    parameter_name = "resource_type"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[Any, StrOrPromise]]:
        types = ContentType.objects.get_for_models(*auditlog.get_models())
        return sorted(
            # Options always fills verbose_name (from the class name when not given).
            (
                (ct.pk, cast("StrOrPromise", model._meta.verbose_name))
                for model, ct in types.items()
            ),
            key=lambda choice: str(choice[1]),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        return queryset.filter(content_type_id=self.value())


class AuditEntryAdmin(ExactTrailSearchMixin, LogEntryAdminMixin, CompanyTrailAdmin):
    """django-auditlog's history, company by company (replaces its own LogEntry admin,
    which showed every company's entries to any staff with the view permission)."""

    list_select_related = ["content_type", "actor"]
    list_display = ["created", "resource_url", "action", "msg_short", "user_url"]
    list_filter = [("timestamp", RecentDateFilter), ActorFilter, "action", AuditedTypeFilter]
    # The exact object id: never the object's text or the changes.
    search_fields = ["=object_pk"]
    search_help_text = "An object id, exactly as written."
    object_field = "object_pk"
    readonly_fields = ["created", "resource_url", "action", "user_url", "msg"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "resource_url", "cid"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # LogEntryAdminMixin's links read the request.
        self.request = request
        return super().get_queryset(request)


# auditlog.admin registered its unscoped admin for the configured model: replace it.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)
admin.site.register(AuditEntry, AuditEntryAdmin)


@admin.register(AccessLog)
class AccessLogAdmin(ExactTrailSearchMixin, CompanyTrailAdmin):
    """Who looked at which patient-linked record (45 CFR 164.312(b))."""

    list_display = [
        "timestamp",
        "user_email",
        "action",
        "via",
        "content_type",
        "object_id",
        "purpose",
        "ip_address",
    ]
    list_filter = [
        ("timestamp", RecentDateFilter),
        CompanyUserFilter,
        "via",
        "action",
        "content_type",
    ]
    search_fields = ["=object_id"]
    search_help_text = "A record id, exactly as written."
    list_select_related = ["content_type"]


@admin.register(ComplianceEvent)
class ComplianceEventAdmin(CompanyTrailAdmin):
    """The compliance log: security and compliance events with their HIPAA category
    (45 CFR 164.312) and severity; kept 6 years (45 CFR 164.316(b)(2)(i))."""

    list_display = [
        "timestamp",
        "kind",
        "category",
        "severity",
        "actor_email",
        "target_type",
        "target_id",
        "company",
    ]
    list_filter = [
        ("timestamp", admin.DateFieldListFilter),
        "kind",
        "category",
        "severity",
    ]
    search_fields = ["=target_id", "^actor_email"]
    list_select_related = ["target_type", "company"]


@admin.register(EmergencyAccess)
class EmergencyAccessAdmin(CompanyTrailAdmin):
    """ "Break the glass" grants, for the Auditor's review (45 CFR 164.312(a)(2)(ii))."""

    list_display = ["granted_at", "user", "patient_link", "reason", "expires_at", "in_force"]
    list_filter = [("granted_at", admin.DateFieldListFilter)]
    search_fields = ["=patient_id"]
    list_select_related = ["user"]

    @admin.display(description="patient")
    def patient_link(self, obj: EmergencyAccess) -> str:
        try:
            url = reverse("admin:clinical_patient_change", args=[obj.patient_id])
        except NoReverseMatch:
            return str(obj.patient_id)
        return format_html('<a href="{}">{}</a>', url, str(obj.patient_id)[:8])

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj: EmergencyAccess) -> bool:
        return obj.in_force


class PatientTrailAdminMixin(MixinAdminBase):
    """Two buttons on a patient's page: "Emergency access" (core.emergency) and the
    "Access report" as CSV or PDF (core.access_report). Both start from the admin's
    scoped queryset: another company's patient is a 404."""

    change_form_template = "admin/core/patient_trail_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/emergency-access/",
                self.admin_site.admin_view(self.emergency_access_view),
                name=f"{prefix}_emergency_access",
            ),
            path(
                "<path:object_id>/access-report/<str:fmt>/",
                self.admin_site.admin_view(self.access_report_view),
                name=f"{prefix}_access_report",
            ),
            *super().get_urls(),
        ]

    def _back_to(self, patient: Model) -> HttpResponseRedirect:
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", patient.pk)

    def _patient_or_404(self, request: HttpRequest, object_id: str) -> Any:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        return obj

    def emergency_access_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from .choices import AccessVia
        from .emergency import grant_emergency_access
        from .exceptions import ServiceError

        patient = self._patient_or_404(request, object_id)
        error = None
        if request.method == "POST":
            try:
                grant = grant_emergency_access(
                    request, patient, request.POST.get("reason", ""), via=AccessVia.ADMIN
                )
            except ServiceError as exc:
                error = exc.fields.get("reason", [exc.message])[0]
            else:
                self.message_user(
                    request,
                    f"Emergency access granted until {grant.expires_at:%H:%M} UTC. It is "
                    "logged and reviewed by your auditor.",
                    messages.WARNING,
                )
                return redirect(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change", patient.pk
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Emergency access",
            "opts": self.opts,
            "original": patient,
            "reason": request.POST.get("reason", ""),
            "error": error,
            "minutes": settings.EMERGENCY_ACCESS_MINUTES,
        }
        return TemplateResponse(request, "admin/core/emergency_access.html", context)

    def access_report_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponse:
        from .access_report import export_access_report
        from .choices import AccessVia
        from .exceptions import ServiceError

        patient = self._patient_or_404(request, object_id)
        if not request.user.has_perm("core.view_accesslog"):
            raise PermissionDenied
        try:
            content, content_type, name = export_access_report(
                request, patient, fmt, via=AccessVia.ADMIN
            )
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return redirect(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", patient.pk
            )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
