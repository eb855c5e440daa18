"""Prescriber e-signature: a link that works once, expires, and a PDF whose hash verifies."""

import datetime
import hashlib
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import AccessLog
from documents.choices import DocumentKind, DocumentSource, SigningStatus
from documents.models import SigningRequest
from documents.services import document_bytes, send_signing_request
from documents.services.signing import content_hash, hash_token, order_elements
from tests.dme.factories import OrderFactory, OrderLineFactory

SIGNATURE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def order(company):
    order = OrderFactory(company=company, prescriber_signed_on=None)
    OrderLineFactory(company=company, order=order)
    return order


def token_from_mail():
    (message,) = mail.outbox
    return re.search(r"/documents/sign/([^/\s]+)/", message.body).group(1)


@pytest.mark.django_db
def test_a_link_signs_once_and_the_pdf_hash_verifies(
    client, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signing, token = send_signing_request(order, email="dr.brook@clinic.test")
    assert token_from_mail() == token
    (message,) = mail.outbox
    assert message.to == ["dr.brook@clinic.test"]
    # No PHI in the e-mail; only the token's hash is stored.
    assert order.patient.last_name not in message.body
    assert signing.token_hash == hash_token(token)
    assert token not in signing.token_hash
    url = reverse("documents:sign", args=[token])

    page = client.get(url)
    assert page.status_code == 200
    assert order.patient.last_name in page.content.decode()
    nonce = re.search(r'<script nonce="([^"]+)"', page.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
    assert AccessLog.objects.filter(object_id=str(order.pk), via="page").exists()

    done = client.post(
        url,
        {"signer_name": "Lena Brook MD", "signature": SIGNATURE, "attest": "on"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert done.status_code == 200, done.content
    signing.refresh_from_db()
    assert signing.status == SigningStatus.SIGNED
    assert signing.signer_ip == "203.0.113.9"
    assert signing.content_sha256 == content_hash(order_elements(order))
    document = signing.document
    assert (document.kind, document.source) == (
        DocumentKind.STANDARD_WRITTEN_ORDER,
        DocumentSource.E_SIGNATURE,
    )
    assert document.order == order
    assert document.prescriber == order.prescriber
    pdf = document_bytes(document)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    order.refresh_from_db()
    assert order.prescriber_signed_on == timezone.localdate()

    again = client.get(url)
    assert again.status_code == 410
    assert "already been signed" in again.content.decode()
    assert (
        client.post(url, {"signer_name": "X", "signature": SIGNATURE, "attest": "on"}).status_code
        == 410
    )


@pytest.mark.django_db
def test_an_expired_link_is_refused(client, order):
    signing, token = send_signing_request(order, email="dr@clinic.test")
    SigningRequest.objects.filter(pk=signing.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = client.get(reverse("documents:sign", args=[token]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_or_replaced_link_is_refused(client, order):
    _, first = send_signing_request(order, email="dr@clinic.test")
    _, second = send_signing_request(order, email="dr@clinic.test")
    assert client.get(reverse("documents:sign", args=["nope"])).status_code == 404
    assert client.get(reverse("documents:sign", args=[first])).status_code == 410
    assert client.get(reverse("documents:sign", args=[second])).status_code == 200


@pytest.mark.django_db
def test_an_incomplete_signature_is_a_form_error(client, order):
    _, token = send_signing_request(order, email="dr@clinic.test")
    url = reverse("documents:sign", args=[token])
    response = client.post(url, {"signer_name": "", "signature": "", "attest": "on"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Type your full name." in body
    assert "Draw your signature" in body
    response = client.post(url, {"signer_name": "Lena", "signature": SIGNATURE})
    assert response.status_code == 400
    assert "ordering practitioner" in response.content.decode()
    assert SigningRequest.objects.get().status == SigningStatus.SENT


@pytest.mark.django_db
def test_a_bad_address_or_cancelled_order_is_refused(order):
    with pytest.raises(Exception, match="e-mail"):
        send_signing_request(order, email="not-an-address")
    order.status = "cancelled"
    with pytest.raises(Exception, match="cancelled"):
        send_signing_request(order, email="dr@clinic.test")
