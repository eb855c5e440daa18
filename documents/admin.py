"""Admin of documents, the fax intake worklist, signing requests, legal holds and
purge records. Every change goes through ``documents.services``."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.tenancy import signed_in_user
from clinical.admin_search import PatientLinkedSearchMixin
from core.admin import ReadOnlyAdminMixin, TenantAdmin, run_service
from core.admin_actions import FormAction, ServiceErrorsInFormMixin
from core.tenancy import get_active_company

from . import services
from .choices import IntakeStatus
from .forms import (
    AttachmentSentForm,
    DocumentAddForm,
    DocumentChangeForm,
    FaxUploadForm,
    FileIntakeForm,
    LegalHoldForm,
)
from .models import Document, FaxIntake, LegalHold, PurgeRecord, SigningRequest


def download_link(document: Any) -> str:
    if document is None or not document.pk or not document.storage_name:
        return "-"
    return format_html(
        '<a href="{}">Download ({} page(s), {} KB)</a>',
        reverse("documents:download", args=[document.pk]),
        document.pages,
        max(1, document.size // 1024),
    )


def _adopt(target: Any, created: Any) -> None:
    """Make the admin's unsaved ``target`` the row a service created (for the admin's
    log entry and redirect)."""
    target.__dict__.update(
        {k: v for k, v in created.__dict__.items() if not k.startswith("_state")}
    )
    target._state.adding = False
    target._state.db = created._state.db


@admin.register(Document)
class DocumentAdmin(PatientLinkedSearchMixin, ServiceErrorsInFormMixin, TenantAdmin):
    list_display = ["patient", "kind", "source", "received_at", "pages", "order", "claim"]
    list_filter = ["kind", "source", "received_at"]
    list_select_related = ["patient", "order", "claim"]
    autocomplete_fields = ["patient", "prescriber", "order"]
    raw_id_fields = ["delivery", "claim"]
    readonly_fields = [
        "file",
        "source",
        "received_at",
        "content_type",
        "pages",
        "size",
        "sha256",
        "attachment_transmission",
        "attachment_control_number",
        "attachment_sent_at",
    ]
    actions = ["mark_sent"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        kwargs["form"] = DocumentChangeForm if obj is not None else DocumentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            fields = ["upload", "patient", "kind", "order", "delivery", "claim", "prescriber"]
            return [(None, {"fields": [*fields, "description"]})]
        return [
            (None, {"fields": ["file", "patient", "kind", "source", "received_at", "description"]}),
            ("About", {"fields": ["order", "delivery", "claim", "prescriber"]}),
            ("File", {"fields": ["content_type", "pages", "size", "sha256"]}),
            (
                "Claim attachment (837P PWK)",
                {
                    "fields": [
                        "attachment_transmission",
                        "attachment_control_number",
                        "attachment_sent_at",
                    ]
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "patient"] if obj is not None else []

    @admin.display(description="file")
    def file(self, obj: Document) -> str:
        return download_link(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # documents leave only through retention (purge_expired)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        checked = form.checked
        data = form.cleaned_data
        created = services.add_document(
            patient=data["patient"],
            kind=data["kind"],
            data=checked.data,
            content_type=checked.content_type,
            pages=checked.pages,
            order=data.get("order"),
            delivery=data.get("delivery"),
            claim=data.get("claim"),
            prescriber=data.get("prescriber"),
            original_name=getattr(data["upload"], "name", ""),
            description=data.get("description", ""),
        )
        _adopt(obj, created)

    mark_sent = FormAction(
        description="Mark sent to the payer (fax or mail)...",
        form_class=AttachmentSentForm,
        service=lambda document, data, request: services.mark_attachment_sent(
            document, transmission=data["transmission"], control_number=data["control_number"]
        ),
        done="document(s) marked as sent",
        title="Claim attachments sent to the payer",
        intro="The 837P of each document's claim will carry its attachment control number.",
    )


@admin.register(FaxIntake)
class FaxIntakeAdmin(TenantAdmin):
    """The intake worklist: what arrived, what OCR suggests, a clerk decides."""

    list_display = [
        "__str__",
        "received_at",
        "status",
        "pages",
        "suggested_patient",
        "suggested_prescriber",
        "suggested_kind",
        "notes",
    ]
    list_filter = ["status", "origin", "received_at"]
    list_select_related = ["suggested_patient", "suggested_prescriber"]
    readonly_fields = [
        "file",
        "origin",
        "status",
        "received_at",
        "pages",
        "suggested_patient",
        "suggested_prescriber",
        "suggested_kind",
        "notes",
        "filed_pages",
        "ocr_text",
        "ocr_error",
    ]
    actions = ["file_pages", "discard", "recognise_again"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = FaxUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None):
        return ["upload"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="suggestions")
    def notes(self, obj: FaxIntake) -> str:
        return " ".join(obj.suggestion_notes or [])

    @admin.display(description="fax")
    def file(self, obj: FaxIntake) -> str:
        return f"{obj.pages} page(s), {max(1, obj.size // 1024)} KB, {obj.content_type}"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        checked = form.checked
        intake = services.receive_fax(company=get_active_company(request.user), data=checked.data)
        intake = services.recognise_intake(intake)
        _adopt(obj, intake)

    file_pages = FormAction(
        description="File pages as a document...",
        form_class=FileIntakeForm,
        form_kwargs=lambda request, rows: {
            "user": request.user,
            "initial_from": rows[0] if len(rows) == 1 else None,
        },
        service=lambda intake, data, request: services.file_intake(
            intake,
            patient=data["patient"],
            kind=data["kind"],
            pages=data["pages"],
            prescriber=data["prescriber"],
            order=data["order"],
        ),
        done="fax page(s) filed",
        title="File fax pages",
        intro=(
            "The suggestions are only suggestions: check the patient and the kind against "
            "the fax before filing. Filed pages become the patient's document."
        ),
        permissions=("view",),
    )

    @admin.action(description="Discard (not ours, duplicate, cover sheet)", permissions=["view"])
    def discard(self, request, queryset):
        run_service(self, request, queryset, services.discard_intake, "fax(es) discarded")

    @admin.action(description="Run OCR again", permissions=["view"])
    def recognise_again(self, request, queryset):
        failed = queryset.filter(status__in=[IntakeStatus.RECEIVED, IntakeStatus.FAILED])
        count = sum(1 for intake in failed if services.recognise_intake(intake))
        self.message_user(request, f"{count} fax(es) recognised again.", messages.SUCCESS)


@admin.register(SigningRequest)
class SigningRequestAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = [
        "__str__",
        "order",
        "prescriber",
        "status",
        "sent_at",
        "expires_at",
        "signed_at",
    ]
    list_filter = ["status", "sent_at"]
    list_select_related = ["order", "prescriber"]
    readonly_fields = [
        "order",
        "prescriber",
        "email",
        "status",
        "sent_at",
        "expires_at",
        "signed_at",
        "signer_name",
        "signer_ip",
        "content_sha256",
        "signed_document",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description="signed document")
    def signed_document(self, obj: SigningRequest) -> str:
        return download_link(obj.document) if obj.document_id else "-"


@admin.register(LegalHold)
class LegalHoldAdmin(ServiceErrorsInFormMixin, TenantAdmin):
    form = LegalHoldForm
    list_display = ["__str__", "patient", "claim", "created_at", "released_at"]
    list_filter = ["released_at", "created_at"]
    list_select_related = ["patient", "claim"]
    raw_id_fields = ["patient", "claim"]
    actions = ["release"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return ["patient", "claim", "reason", "released_at"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        hold = services.place_hold(
            company=get_active_company(request.user),
            patient=data.get("patient"),
            claim=data.get("claim"),
            reason=data.get("reason", ""),
        )
        _adopt(obj, hold)

    @admin.action(description="Release the hold", permissions=["change"])
    def release(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda hold: services.release_hold(hold, user=user),
            "hold(s) released",
        )


@admin.register(PurgeRecord)
class PurgeRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Operators only: a purge spans every company (ids and counts, no PHI)."""

    list_display = ["ran_at", "as_of", "counts", "held_skipped"]
    readonly_fields = ["ran_at", "as_of", "counts", "removed_ids", "held_skipped"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser
