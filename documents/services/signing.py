"""Prescriber e-signature of an order's standard written order.

``send_signing_request`` e-mails the prescriber a link with a random token (only its
SHA-256 is stored), valid ``SIGNING_LINK_HOURS``. The page shows the written order's
elements (42 CFR 410.38(d)(1): beneficiary name or MBI, order date, item description,
quantity, practitioner name or NPI, practitioner signature) and takes a drawn signature
and the signer's name. ``sign`` turns the order into a PDF carrying the signature, the
time, the signer's address and the SHA-256 of the elements shown, stores it as a
Document (source e-signature) and fills the order's ``prescriber_signed_on``. A link
works once; a used, cancelled or expired one is refused.

E-signatures on orders: CMS Medicare Program Integrity Manual, ch. 3, 3.3.2.4
(electronic signatures are acceptable when the system authenticates the signer).
"""

import datetime
import hashlib
import json
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.notifications import Channel, notify_address
from dme.choices import OrderStatus
from dme.models.deliveries import validate_signature_image
from dme.services.orders import lock_order

from .. import files
from ..choices import DocumentKind, DocumentSource, SigningStatus
from ..models import SigningRequest
from ..notifications import SIGNING_REQUEST
from .documents import add_document


class LinkRefused(ServiceError):
    """The signing link is unknown (404) or no longer works (410)."""

    code = "link_refused"
    status_code = 410


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signing_url(token: str, base_url: str = "") -> str:
    return (base_url or settings.SITE_URL).rstrip("/") + reverse("documents:sign", args=[token])


def send_signing_request(
    order: Any, *, email: str = "", base_url: str = ""
) -> tuple[SigningRequest, str]:
    """Create the request and e-mail the link; returns it and the token (shown once,
    only to the caller that sends it; never stored)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            "Give the prescriber's e-mail address.", fields={"email": ["A valid e-mail address."]}
        ) from None
    if order.status == OrderStatus.CANCELLED:
        raise InvalidTransition("A cancelled order cannot be sent for signature.")
    if not order.lines.exists():
        raise ServiceError("The order has no lines to sign.", code="no_lines")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        order = lock_order(order)
        # One open link per order: a new one replaces the old.
        SigningRequest.objects.filter(order=order, status=SigningStatus.SENT).update(
            status=SigningStatus.CANCELLED
        )
        request = SigningRequest.objects.create(
            company_id=order.company_id,
            order=order,
            prescriber=order.prescriber,
            email=email,
            token_hash=hash_token(token),
            sent_at=now,
            expires_at=now + datetime.timedelta(hours=settings.SIGNING_LINK_HOURS),
        )
        url = signing_url(token, base_url)
        # To the prescriber, by e-mail (core.notifications: sent after the commit,
        # retried, recorded). No PHI in the message: the patient is named only
        # behind the link.
        notify_address(
            company=order.company_id,
            channel=Channel.EMAIL,
            to=email,
            template_key=SIGNING_REQUEST,
            context={"order": order, "url": url, "expires_at": request.expires_at},
            patient_id=order.patient_id,
            related=request,
        )
    return request, token


def request_for_token(token: str) -> SigningRequest:
    """The open request of ``token``, or LinkRefused: 404 unknown, 410 used/expired."""
    request = (
        SigningRequest.objects.select_related("order__patient", "prescriber", "order__company")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if request is None:
        raise LinkRefused("This signing link is not valid.", code="link_unknown")
    if request.status == SigningStatus.SIGNED:
        raise LinkRefused(
            "This order has already been signed; the link works once.", code="link_used"
        )
    if request.status == SigningStatus.CANCELLED:
        raise LinkRefused(
            "This signing link was withdrawn; a newer one was sent.", code="link_cancelled"
        )
    if request.expires_at <= timezone.now():
        raise LinkRefused(
            "This signing link has expired; ask the supplier for a new one.", code="link_expired"
        )
    return request


def order_elements(order: Any) -> dict[str, Any]:
    """The standard written order's elements, as shown and as hashed."""
    patient, prescriber = order.patient, order.prescriber
    lines = order.lines.select_related("equipment").order_by("created_at", "id")
    return {
        "supplier": order.company.name,
        "order_number": order.number,
        "order_date": order.written_order_date.isoformat(),
        "patient_name": f"{patient.first_name} {patient.last_name}",
        "items": [
            {
                "hcpcs": line.equipment.hcpcs_code,
                "description": line.equipment.item_description,
                "quantity": line.quantity,
                "modifiers": list(line.modifiers or []),
            }
            for line in lines
        ],
        "practitioner_name": f"{prescriber.first_name} {prescriber.last_name}",
        "practitioner_npi": prescriber.npi,
    }


def content_hash(elements: dict[str, Any]) -> str:
    canonical = json.dumps(elements, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_signed_pdf(elements: dict[str, Any], facts: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    page = render_to_string("documents/signed_order.html", {"elements": elements, "facts": facts})
    pdf: bytes = HTML(string=page).write_pdf()
    return pdf


def sign(
    token: str,
    *,
    signer_name: str,
    signature: str,
    ip_address: str | None,
    user_agent: str = "",
) -> SigningRequest:
    """Sign the order behind ``token``: the PDF, its Document, the order's date."""
    signer_name = " ".join((signer_name or "").split())
    errors: dict[str, list[str]] = {}
    if not signer_name:
        errors["signer_name"] = ["Type your full name."]
    if not signature:
        errors["signature"] = ["Draw your signature in the box."]
    else:
        try:
            validate_signature_image(signature)
        except ValidationError as error:
            errors["signature"] = error.messages
    if errors:
        raise ServiceError("The signature is incomplete.", fields=errors)
    request = request_for_token(token)
    with transaction.atomic():
        order = lock_order(request.order)
        request = lock_row(request)
        request = request_for_token(token)  # re-checked under the lock: once only
        elements = order_elements(order)
        digest = content_hash(elements)
        signed_at = timezone.now()
        facts = {
            "signer_name": signer_name,
            "signed_at": signed_at,
            "ip_address": ip_address or "unknown",
            "content_sha256": digest,
            "signature": signature,
            "request_id": str(request.pk),
        }
        pdf = render_signed_pdf(elements, facts)
        document = add_document(
            patient=order.patient,
            kind=DocumentKind.STANDARD_WRITTEN_ORDER,
            data=pdf,
            content_type=files.PDF,
            pages=files.count_pages(pdf, files.PDF),
            source=DocumentSource.E_SIGNATURE,
            order=order,
            prescriber=order.prescriber,
            received_at=signed_at,
            description=f"Signed electronically by {signer_name}",
        )
        request.status = SigningStatus.SIGNED
        request.signed_at = signed_at
        request.signer_name = signer_name
        request.signer_ip = ip_address
        request.signer_user_agent = user_agent[:255]
        request.content_sha256 = digest
        request.document = document
        request.save()
        signed_on = timezone.localdate(signed_at)
        if order.prescriber_signed_on != signed_on and signed_on >= order.written_order_date:
            order.prescriber_signed_on = signed_on
            order.save(update_fields=["prescriber_signed_on"])
    return request
