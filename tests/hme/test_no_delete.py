"""Nothing billable is deleted: a delivered order, a delivery with its proof, a rental
with billed months, a submitted claim. No delete in the admin (any role) or the API;
the database refuses it too. Cancel or void through the services instead."""

import datetime

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from dme.choices import DeliveryStatus
from dme.models import Delivery, Order, Rental
from hme import services
from hme.models import Claim
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import RentalFactory
from tests.hme.factories import ClaimFactory, CoverageFactory, DeliveredOrderFactory

ROLES = (Role.ADMINISTRATOR, Role.WAREHOUSE, Role.BILLING)


@pytest.fixture
def delivered(company):
    order = DeliveredOrderFactory(company=company)  # with its signed proof of delivery
    delivery = Delivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.DELIVERED
    return order, delivery


@pytest.fixture
def billed_rental(company):
    rental = RentalFactory(
        company=company, start_date=timezone.localdate() - datetime.timedelta(days=3)
    )
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    assert services.bill_rental_months().claims
    return Rental.objects.get(pk=rental.pk)


@pytest.fixture
def submitted_claim(company):
    claim = ClaimFactory(company=company)
    return services.submit_claim(claim)


def admin_delete_refused(client, personas, url_name, obj):
    for role in ROLES:
        client.force_login(personas[role])
        response = client.post(reverse(url_name, args=[obj.pk]), {"post": "yes"})
        assert response.status_code == 403, role


def api_delete_refused(api_client_for, personas, url_name, obj):
    response = api_client_for(personas[Role.ADMINISTRATOR]).delete(reverse(url_name, args=[obj.pk]))
    assert response.status_code == 405


def test_a_delivered_order_is_not_deleted(client, api_client_for, personas, delivered):
    order, _delivery = delivered
    admin_delete_refused(client, personas, "admin:dme_order_delete", order)
    api_delete_refused(api_client_for, personas, "api:order-detail", order)
    with pytest.raises(ProtectedError), transaction.atomic():
        order.delete()
    assert Order.objects.filter(pk=order.pk).exists()


def test_a_delivery_with_its_proof_is_not_deleted(client, api_client_for, personas, delivered):
    _order, delivery = delivered
    admin_delete_refused(client, personas, "admin:dme_delivery_delete", delivery)
    api_delete_refused(api_client_for, personas, "api:delivery-detail", delivery)
    with pytest.raises(ProtectedError), transaction.atomic():
        delivery.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).delete()
    assert Delivery.objects.filter(pk=delivery.pk).exists()


def test_a_rental_with_billed_months_is_not_deleted(
    client, api_client_for, personas, billed_rental
):
    admin_delete_refused(client, personas, "admin:dme_rental_delete", billed_rental)
    api_delete_refused(api_client_for, personas, "api:rental-detail", billed_rental)
    with pytest.raises(ProtectedError), transaction.atomic():
        billed_rental.delete()
    assert Rental.objects.filter(pk=billed_rental.pk).exists()


def test_a_submitted_claim_is_not_deleted(client, api_client_for, personas, submitted_claim):
    admin_delete_refused(client, personas, "admin:hme_claim_delete", submitted_claim)
    api_delete_refused(api_client_for, personas, "api:claim-detail", submitted_claim)
    with pytest.raises(ProtectedError), transaction.atomic():
        submitted_claim.delete()
    assert Claim.objects.filter(pk=submitted_claim.pk).exists()
    # The way out: void it through the service.
    assert services.void_claim(submitted_claim, "Billed in error").status == "void"


def test_the_delete_action_is_not_offered_on_the_billable_lists(client, personas):
    client.force_login(personas[Role.ADMINISTRATOR])
    for url in ("admin:dme_order_changelist", "admin:dme_delivery_changelist"):
        page = client.get(reverse(url)).content.decode()
        assert "delete_selected" not in page, url
