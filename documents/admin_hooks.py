"""The documents panel on the admin pages of lower floors (patient, order, claim).

clinical, dme and hme never import this app; at start-up (``DocumentsConfig.ready``,
after the admin has registered every ModelAdmin) this module adds to their admins:
- on the patient's page, a "Documents" panel (``core.admin_panels``: the latest rows,
  download links, an upload button, a link to all of them); on the order's page a
  read-only "Documents" inline with the same links (the upload form is the Document
  add page, pre-filled with the patient and the order);
- on orders, the action "Send for prescriber e-signature...";
- on claims, the action "Audit packet (PDF)".
"""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.admin import TenantInlineMixin
from core.admin_actions import FormAction
from core.admin_panels import Action, Column, Panel, change_link, filtered_list, register_panel
from core.choices import AccessVia
from core.exceptions import ServiceError

from . import services
from .admin import download_link
from .forms import SigningForm
from .models import Document


class DocumentInline(TenantInlineMixin, admin.TabularInline):
    model = Document
    extra = 0
    can_delete = False
    show_change_link = True
    template = "documents/admin/document_inline.html"
    fields = ("kind", "source", "received_at", "pages", "download")
    readonly_fields = fields
    ordering = ["-received_at"]
    verbose_name_plural = "documents"

    @admin.display(description="file")
    def download(self, obj: Document) -> str:
        return download_link(obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown on the page, never part of its form: a POST of the patient or order form
        # carries no documents formset (clients that post those forms stay unchanged).
        if request.method == "POST":
            return False
        return request.user.has_perm("documents.view_document")


class OrderDocumentInline(DocumentInline):
    fk_name = "order"


def _send_for_signature(order: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return services.send_signing_request(
        order, email=data["email"], base_url=request.build_absolute_uri("/")
    )


send_for_signature = FormAction(
    description="Send for prescriber e-signature...",
    form_class=SigningForm,
    service=_send_for_signature,
    done="signing request(s) sent",
    title="Send the written order for e-signature",
    intro=(
        "The prescriber gets a single-use link by e-mail (it expires after the configured "
        "hours). A newer link replaces an unused older one."
    ),
)


def audit_packet(modeladmin: Any, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    from .views import packet_response

    claims = list(queryset.select_related("order")[:2])
    if len(claims) != 1:
        modeladmin.message_user(request, "Choose one claim for its audit packet.", messages.ERROR)
        return None
    if not request.user.has_perm("documents.view_document"):
        modeladmin.message_user(request, "You may not read documents.", messages.ERROR)
        return None
    try:
        return packet_response(request, claims[0], via=AccessVia.ADMIN)
    except ServiceError as error:
        modeladmin.message_user(request, error.message, messages.ERROR)
        return None


audit_packet.short_description = "Audit packet (PDF)"  # type: ignore[attr-defined]
audit_packet.allowed_permissions = ("view",)  # type: ignore[attr-defined]


def _add_inline(model: Any, inline: type) -> None:
    model_admin = admin.site._registry.get(model)
    if model_admin is None or inline in model_admin.inlines:
        return
    # The instance's own list (the class's stays as its app declared it).
    model_admin.inlines = [*model_admin.inlines, inline]  # type: ignore[misc]


def _add_action(model: Any, name: str, action: Any) -> None:
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return
    setattr(type(model_admin), name, action)
    actions = list(model_admin.actions or [])
    if name not in actions:
        model_admin.actions = [*actions, name]


def patient_documents(request: HttpRequest, patient: Any) -> Any:
    """The patient's documents, newest first (their names and descriptions, encrypted,
    are read on the document's page)."""
    return (
        Document.objects.for_user(request.user)
        .filter(patient=patient)
        .defer("original_name", "description")
        .order_by("-received_at", "-id")
    )


DOCUMENTS_PANEL = Panel(
    model="clinical.patient",
    key="documents",
    title="Documents",
    order=90,
    rows=patient_documents,
    columns=[
        Column("Kind", lambda d: d.get_kind_display()),
        Column("Source", lambda d: d.get_source_display()),
        Column("Received at", lambda d: d.received_at),
        Column("Pages", lambda d: d.pages),
        Column("File", download_link),
    ],
    link=change_link("documents_document"),
    full_list=filtered_list("documents_document"),
    permission="documents.view_document",
    actions=[
        Action(
            "Upload a document for this patient",
            url=lambda patient: reverse("admin:documents_document_add") + f"?patient={patient.pk}",
            permission="documents.add_document",
        )
    ],
    empty="No documents yet.",
)


def install_admin_hooks() -> None:
    from dme.models import Order
    from hme.models import Claim

    register_panel(DOCUMENTS_PANEL)
    _add_inline(Order, OrderDocumentInline)
    _add_action(Order, "send_for_signature", send_for_signature)
    _add_action(Claim, "audit_packet", audit_packet)
