"""Admin pieces every app uses: tenant scoping, access logging, big-table pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse

from .access import record_access
from .admin_filters import TenantListFilterMixin
from .admin_types import InlineAdminBase, MixinAdminBase, ModelAdminBase
from .choices import AccessAction, AccessVia
from .exceptions import ServiceError
from .models import TenantModel
from .pagination import BoundedCountPaginator
from .phi import names_encrypted_field
from .tenancy import get_active_company

if TYPE_CHECKING:
    from django import forms
    from django.db.models import ForeignKey, ManyToManyField, QuerySet
    from django.db.models.fields.related import RelatedField


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


class TenantAdminMixin(TenantListFilterMixin, MixinAdminBase):
    """Scope a ModelAdmin to the user's company and fill the company on create.

    - relation filters of ``list_filter`` list only the company's records;
    - the changelist, change page, and every foreign-key/many-to-many choice (including
      autocomplete) start from ``for_user``: another company's record is a 404;
    - new records get the active company; only operators see the company field;
    - viewing a change page of an ``access_logged`` model writes an AccessLog row.
    """

    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if hasattr(queryset, "for_user"):
            queryset = queryset.for_user(request.user)
        return queryset

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # ?dob__gte=1950-01-01: a filter on an encrypted column compares ciphertext
        # (meaningless) and puts PHI in the URL; refuse it (docs/architecture.md, PHI).
        if names_encrypted_field(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        exclude = list(super().get_exclude(request, obj) or [])
        if issubclass(self.model, TenantModel) and not request.user.is_superuser:
            exclude.append("company")
        return exclude

    @staticmethod
    def _scope_field(
        db_field: RelatedField[Any, Any], request: HttpRequest, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if "queryset" not in kwargs:
            related = db_field.remote_field.model
            queryset = related._default_manager.all()
            if hasattr(queryset, "for_user"):
                kwargs["queryset"] = queryset.for_user(request.user)
        return kwargs

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def assign_company(self, request: HttpRequest, obj: Model) -> None:
        """Give a new company-owned object the company: see :func:`assign_company`."""
        assign_company(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.assign_company(request, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for instance in formset.save(commit=False):
            assign_company(request, instance, parent=form.instance)
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if getattr(self.model, "access_logged", False) and response.status_code == 200:
            obj = (
                response.context_data.get("original") if hasattr(response, "context_data") else None
            )
            if obj is not None:
                # The data elements the page showed: its fields' names, never values.
                fields = flatten_fieldsets(self.get_fieldsets(request, obj))
                record_access(
                    request, [obj], via=AccessVia.ADMIN, action=AccessAction.VIEW, fields=fields
                )
        return response

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        # Another company's record (or none): a 404 like the API, not Django's redirect
        # with "doesn't exist"; repeated ones on other companies' ids are a probe.
        from .probes import note_not_found

        note_not_found(request, self.model, object_id)
        raise Http404


class AuditHistoryMixin(AuditlogHistoryAdminMixin):
    """The django-auditlog history page of a row (``<id>/auditlog/``), for the
    company's rows only: another company's id is a 404, like its change page. Values
    of encrypted fields show as masked (core.audit). Set ``show_auditlog_history_link``
    to add an "Audit log" column to the list."""

    def auditlog_history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        response: HttpResponse = super().auditlog_history_view(request, object_id, extra_context)
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


class TenantAdmin(TenantAdminMixin, AuditHistoryMixin, ModelAdminBase):
    """ModelAdmin for a company-owned model."""


class TenantInlineMixin(InlineAdminBase):
    """Inlines: scope their foreign-key choices like the parent admin does."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if hasattr(queryset, "for_user"):
            queryset = queryset.for_user(request.user)
        return queryset

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        kwargs = TenantAdminMixin._scope_field(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        exclude = list(super().get_exclude(request, obj) or [])
        exclude.append("company")
        return exclude


class EditableWhileParentMixin(InlineAdminBase):
    """Inline rows that can be added, changed or deleted only while their parent says
    ``is_editable`` (an order before confirmation, a claim that can be corrected)."""

    def _editable(self, obj: Any) -> bool:
        return obj is None or bool(obj.is_editable)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ReadOnlyAdminMixin:
    """For trails: nobody adds, changes or deletes through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# The trails and the operators' pages (audit entries, access and compliance logs,
# backups, periodic tasks, data-quality runs) live in their own module.
from . import (  # noqa: E402, F401
    admin_audit,
    admin_events,
    admin_notifications,
    admin_operators,
)
