"""JSON list fields read as staff type them: comma-separated on read-only admin pages
(core.admin_widgets.ListFieldsMixin), never the raw JSON; editable ones go through the
typed comma-separated form fields, which validate each item."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from dme.choices import OrderStatus
from dme.models import DeliveryItem
from tests.dme.factories import OrderFactory, OrderLineFactory
from tests.hme.factories import DeliveredLineFactory, DeliveredOrderFactory

pytestmark = pytest.mark.django_db


def page(client, user, name, pk):
    client.force_login(user)
    response = client.get(reverse(name, args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_confirmed_orders_modifiers_read_comma_separated(client, personas, company):
    order = OrderFactory(company=company, status=OrderStatus.CONFIRMED)
    OrderLineFactory(company=company, order=order, modifiers=["RR", "KH"])
    shown = page(client, personas[Role.INTAKE], "admin:dme_order_change", order.pk)
    assert "RR, KH" in shown
    assert "[&quot;RR&quot;" not in shown
    assert '["RR"' not in shown


def test_an_editable_orders_modifiers_are_typed_comma_separated(client, personas, company):
    order = OrderFactory(company=company, status=OrderStatus.RECEIVED)
    OrderLineFactory(company=company, order=order, modifiers=["RR", "KH"])
    shown = page(client, personas[Role.INTAKE], "admin:dme_order_change", order.pk)
    assert 'value="RR, KH"' in shown


def test_delivered_serial_numbers_read_comma_separated(client, personas, company):
    order = DeliveredOrderFactory(company=company)
    DeliveredLineFactory(order=order)
    DeliveryItem.objects.filter(delivery__order=order).update(serial_numbers=["SN1", "SN2"])
    delivery = order.deliveries.get()
    shown = page(client, personas[Role.WAREHOUSE], "admin:dme_delivery_change", delivery.pk)
    assert "SN1, SN2" in shown
    assert "[&quot;SN1&quot;" not in shown


def test_another_companys_order_stays_a_404(client, outsider, company):
    order = OrderFactory(company=company, status=OrderStatus.CONFIRMED)
    client.force_login(outsider)
    assert client.get(reverse("admin:dme_order_change", args=[order.pk])).status_code == 404
