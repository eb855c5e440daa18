"""The audit packet of one claim: what a CERT, RAC or UPIC reviewer asks for, in one PDF.

First pages (WeasyPrint): the claim and its lines, the order and its lines, the
signed written order's facts, the proof of delivery, the prior authorizations, and an
index of the documents. Then every document of the claim, its order and its
deliveries, in that index's order (pypdf merges PDFs; images become pages through
Pillow). Generating it is written to the access log by the caller (view or API).
Medical review documentation requests: Medicare Program Integrity Manual ch. 3, 3.2.3.
"""

import io
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.exceptions import ServiceError

from .. import files, ocr
from ..models import Document, SigningRequest


def packet_documents(claim: Any) -> list[Document]:
    """The claim's documents and those of its order and the order's deliveries."""
    condition = Q(claim_id=claim.pk)
    if claim.order_id:
        condition |= Q(order_id=claim.order_id) | Q(delivery__order_id=claim.order_id)
    return list(
        Document.objects.filter(condition, company_id=claim.company_id)
        .order_by("kind", "received_at", "id")
        .distinct()
    )


def _summary_pdf(claim: Any, documents: list[Document]) -> bytes:
    from weasyprint import HTML

    order = claim.order
    lines = list(claim.lines.order_by("line_number"))
    authorizations = {line.authorization for line in lines if line.authorization_id}
    context: dict[str, Any] = {
        "claim": claim,
        "lines": lines,
        "order": order,
        "order_lines": (
            list(order.lines.select_related("equipment").order_by("created_at", "id"))
            if order
            else []
        ),
        "deliveries": list(order.deliveries.order_by("scheduled_date")) if order else [],
        "authorizations": sorted(authorizations, key=lambda a: str(a.pk)),
        "signing": (
            SigningRequest.objects.filter(order=order, document__isnull=False)
            .order_by("-signed_at")
            .first()
            if order
            else None
        ),
        "documents": documents,
        "generated": timezone.now(),
    }
    pdf: bytes = HTML(string=render_to_string("documents/audit_packet.html", context)).write_pdf()
    return pdf


def build_audit_packet(claim: Any) -> tuple[bytes, str]:
    """``(pdf bytes, file name)``; the name carries the claim's id only."""
    from pypdf import PdfReader, PdfWriter

    documents = packet_documents(claim)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(_summary_pdf(claim, documents))))
    for document in documents:
        data = files.read_plaintext(document.storage_name)
        try:
            pdf = ocr.as_pdf(data, document.content_type)
            writer.append(PdfReader(io.BytesIO(pdf)))
        except Exception:
            raise ServiceError(
                f"Document {document.pk} cannot be added to the packet: it cannot be read.",
                code="document_unreadable",
            ) from None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), f"audit-packet-{claim.pk}-{timezone.now():%Y%m%d}.pdf"
