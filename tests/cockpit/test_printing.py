"""Printable documents (cockpit.printing) and the signed proof of delivery: PDFs of
the company's records only, access-logged; the signature pad fills the encrypted image."""

import base64

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.choices import AccessAction
from core.models import AccessLog
from dme import services
from dme.choices import LineKind, OrderStatus
from dme.models import Delivery
from tests.dme.factories import EquipmentFactory, WarehouseFactory, order_with_lines, stock
from tests.hme.factories import ClaimFactory

pytestmark = pytest.mark.django_db
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 40).decode()


@pytest.fixture
def delivery(company):
    warehouse = WarehouseFactory(company=company)
    mask = EquipmentFactory(company=company)
    stock(mask, warehouse, 3)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    return services.schedule_delivery(order, scheduled_date=timezone.localdate())


def test_the_delivery_ticket_is_a_logged_pdf(client, personas, delivery):
    client.force_login(personas[Role.WAREHOUSE])
    response = client.get(reverse("admin:print_delivery_ticket", args=[delivery.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert delivery.order.number in response["Content-Disposition"]
    assert AccessLog.objects.filter(action=AccessAction.EXPORT).count() == 1


def test_the_claim_print_is_a_logged_pdf(client, personas, company):
    claim = ClaimFactory(company=company)
    client.force_login(personas[Role.BILLING])
    response = client.get(reverse("admin:print_claim", args=[claim.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert AccessLog.objects.filter(action=AccessAction.EXPORT).count() == 1


def test_another_companys_record_prints_a_404(client, outsider, delivery, company):
    claim = ClaimFactory(company=company)
    client.force_login(outsider)
    assert client.get(reverse("admin:print_delivery_ticket", args=[delivery.pk])).status_code == 404
    assert client.get(reverse("admin:print_claim", args=[claim.pk])).status_code == 404
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_a_role_without_the_view_permission_is_refused(client, personas, company):
    claim = ClaimFactory(company=company)
    client.force_login(personas[Role.WAREHOUSE])
    assert client.get(reverse("admin:print_claim", args=[claim.pk])).status_code == 403


def test_the_proof_page_has_the_pad_and_keeps_the_drawn_signature(client, admin_user, delivery):
    client.force_login(admin_user)
    url = reverse("admin:dme_delivery_proof", args=[delivery.pk])
    page = client.get(url)
    assert b"data-signature-pad" in page.content
    assert b"cockpit/signature_pad.js" in page.content
    response = client.post(
        url,
        {
            "delivered_on": str(timezone.localdate()),
            "signer_name": "Pat Doe",
            "signer_relationship": "patient",
            "tracking_number": "",
            "signature_image": PNG,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    delivery = Delivery.objects.get(pk=delivery.pk)
    assert delivery.order.status == OrderStatus.DELIVERED
    assert delivery.signature_image == PNG


def test_a_bad_signature_comes_back_beside_the_pad(client, admin_user, delivery):
    client.force_login(admin_user)
    url = reverse("admin:dme_delivery_proof", args=[delivery.pk])
    response = client.post(
        url,
        {
            "delivered_on": str(timezone.localdate()),
            "signer_name": "Pat Doe",
            "signer_relationship": "patient",
            "signature_image": "not an image",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["signature_image"]
    assert response.context["form"]["signer_name"].value() == "Pat Doe"
