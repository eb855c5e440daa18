"""The only ways a document's bytes leave the server, and the prescriber's signing page.

- ``download``: staff session; the document through ``for_user`` and the
  ``documents.view_document`` permission, else 404; every download is an access-log
  row. No public URL exists: the storage is never routed.
- ``audit_packet``: one claim's packet (PDF), logged as an export.
- ``sign``: no login; the token is the credential. A used or expired link is a 410
  page, an unknown one a 404 page.
"""

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.access import record_access
from core.choices import AccessAction, AccessVia, ComplianceKind
from core.compliance import record_event
from core.context import client_ip
from core.exceptions import ServiceError
from core.probes import note_not_found

from . import files, services
from .models import Document

EXTENSIONS = files.EXTENSIONS


def stream_document(
    request: HttpRequest, document: Document, *, via: str
) -> StreamingHttpResponse | HttpResponse:
    """Log the download, then stream the authenticated plaintext. The first chunk is
    opened before answering, so a damaged file or a missing key is a clear 409, not a
    cut-off download."""
    chunks = files.open_plaintext(document.storage_name)
    try:
        first = next(chunks, b"")
    except ServiceError as error:
        return HttpResponse(error.message, status=409, content_type="text/plain")
    record_access(request, [document], via=via, action=AccessAction.EXPORT, fields=["file"])

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    response = StreamingHttpResponse(body(), content_type=document.content_type)
    name = f"document-{document.pk}.{EXTENSIONS.get(document.content_type, 'bin')}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Content-Length"] = str(document.size)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def scoped_document(request: HttpRequest, pk: Any) -> Document:
    user = request.user
    document = Document.objects.for_user(user).filter(pk=pk).first()
    if document is None or not user.has_perm("documents.view_document"):
        note_not_found(request, Document, pk)
        raise Http404("No such document.")
    return document


@login_required
@require_GET
def download(request: HttpRequest, pk: Any) -> HttpResponseBase:
    return stream_document(request, scoped_document(request, pk), via=AccessVia.ADMIN)


def packet_response(request: HttpRequest, claim: Any, *, via: str) -> HttpResponse:
    """Build the claim's audit packet, log it (access log: the claim and each document;
    compliance log: a PHI export) and answer the PDF."""
    content, name = services.build_audit_packet(claim)
    documents = services.packet.packet_documents(claim)
    with transaction.atomic():
        record_access(
            request,
            [claim, *documents],
            via=via,
            action=AccessAction.EXPORT,
            purpose="audit packet",
        )
        record_event(
            ComplianceKind.PHI_EXPORT,
            company=claim.company_id,
            request=request,
            target=claim,
            detail={"report": "audit packet", "documents": len(documents)},
        )
    response = HttpResponse(content, content_type=files.PDF)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def scoped_claim(request: HttpRequest, pk: Any) -> Any:
    from hme.models import Claim

    user = request.user
    claim = Claim.objects.for_user(user).select_related("order").filter(pk=pk).first()
    allowed = user.has_perm("hme.view_claim") and user.has_perm("documents.view_document")
    if claim is None or not allowed:
        note_not_found(request, Claim, pk)
        raise Http404("No such claim.")
    return claim


@login_required
@require_GET
def audit_packet(request: HttpRequest, pk: Any) -> HttpResponse:
    claim = scoped_claim(request, pk)
    try:
        return packet_response(request, claim, via=AccessVia.ADMIN)
    except ServiceError as error:
        return HttpResponse(error.message, status=409, content_type="text/plain")


# The prescriber's signing page ------------------------------------------------------


def _refused(request: HttpRequest, error: services.LinkRefused) -> HttpResponse:
    status = 404 if error.code == "link_unknown" else 410
    return render(request, "documents/sign_refused.html", {"message": error.message}, status=status)


@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, token: str) -> HttpResponse:
    from core import rls

    # The link's token is the signer's credential and names one signing request: found
    # across companies (row-level security bypass for that look-up only), then the page
    # acts for that request's company (docs/security/rls.md).
    with rls.operator():
        try:
            signing = services.request_for_token(token)
        except services.LinkRefused as error:
            return _refused(request, error)
    with rls.for_company(signing.company_id):
        return _sign(request, token, signing)


def _sign(request: HttpRequest, token: str, signing: Any) -> HttpResponse:
    errors: dict[str, Any] = {}
    if request.method == "POST":
        if request.POST.get("attest") != "on":
            errors["attest"] = ["Confirm that you are the ordering practitioner."]
        else:
            try:
                signed = services.sign(
                    token,
                    signer_name=request.POST.get("signer_name", ""),
                    signature=request.POST.get("signature", ""),
                    ip_address=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except services.LinkRefused as error:
                return _refused(request, error)
            except ServiceError as error:
                errors = dict(error.fields) or {"general": [error.message]}
            else:
                return render(request, "documents/sign_done.html", {"signing": signed})
    elements = services.signing.order_elements(signing.order)
    record_access(
        request,
        [signing.order],
        via=AccessVia.PAGE,
        action=AccessAction.VIEW,
        fields=["patient_name", "order_date", "items", "practitioner"],
        purpose="prescriber e-signature",
    )
    return render(
        request,
        "documents/sign.html",
        {
            "signing": signing,
            "elements": elements,
            "errors": errors,
            "signer_name": request.POST.get("signer_name", ""),
        },
        status=400 if errors else 200,
    )
