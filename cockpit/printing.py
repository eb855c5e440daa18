"""Printable documents, drawn on the server as PDF with WeasyPrint (as the access report,
``core/access_report.py``): the delivery ticket (items, serial numbers, the patient's
copy of the proof of delivery) and a claim's CMS-1500 data print (the form's items as
data, for the file or the payer's portal; not a red-ink form for scanning).

Each print is a view of a patient's record: it is scoped through ``for_user`` (another
company's id is a 404), needs the model's view permission, and is written to the access
log as an export (45 CFR 164.312(b)). File names carry the record's number, never a name.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone

from core.access import record_access
from core.choices import AccessAction, AccessVia
from dme.models import Delivery
from hme.models import Claim
from hme.services import filing_deadline


def _pdf(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=render_to_string(template, context)).write_pdf()
    return pdf


def _response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _check(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def delivery_ticket(request: HttpRequest, pk: Any) -> HttpResponse:
    _check(request, "dme.view_delivery")
    delivery = get_object_or_404(
        Delivery.objects.for_user(request.user).select_related(
            "order__patient", "order__prescriber", "driver", "company"
        ),
        pk=pk,
    )
    order = delivery.order
    lines = list(order.lines.select_related("equipment").order_by("created_at", "id"))
    items = list(delivery.items.order_by("created_at", "id"))
    context = {
        "delivery": delivery,
        "order": order,
        "patient": order.patient,
        "lines": lines,
        "items": items,
        "printed": timezone.localtime(),
    }
    content = _pdf("cockpit/delivery_ticket.html", context)
    record_access(
        request,
        [delivery],
        via=AccessVia.ADMIN,
        action=AccessAction.EXPORT,
        fields=["patient", "address", "items", "signer_name", "signature_image"],
    )
    return _response(content, f"delivery-ticket-{order.number}.pdf")


def claim_print(request: HttpRequest, pk: Any) -> HttpResponse:
    _check(request, "hme.view_claim")
    claim = get_object_or_404(
        Claim.objects.for_user(request.user).select_related(
            "patient", "coverage", "payer", "billing_location", "referring_provider", "company"
        ),
        pk=pk,
    )
    lines = list(claim.lines.select_related("authorization").order_by("line_number"))
    context = {
        "claim": claim,
        "patient": claim.patient,
        "coverage": claim.coverage,
        "lines": lines,
        "deadline": filing_deadline(claim),
        "printed": timezone.localtime(),
    }
    content = _pdf("cockpit/claim_cms1500.html", context)
    record_access(
        request,
        [claim],
        via=AccessVia.ADMIN,
        action=AccessAction.EXPORT,
        fields=["patient", "coverage", "diagnosis_codes", "lines"],
    )
    return _response(content, f"cms1500-{claim.number}.pdf")
