"""A refill of a PAP supply bills only with the patient's recorded confirmation
(hme readiness reason ``resupply_unconfirmed``, registered by resupply)."""

import datetime

import pytest
from django.utils import timezone

from core.exceptions import ServiceError
from dme.choices import DeliveryStatus, OrderStatus, SignerRelationship
from dme.models import Delivery, DeliveryItem
from hme import readiness
from resupply import services
from resupply.choices import ContactOutcome
from resupply.models import ResupplyRequest
from resupply.readiness import resupply_confirmation
from tests.hme.factories import DeliveredLineFactory, DeliveredOrderFactory

from .conftest import at_noon

FILTERS_DUE = datetime.date(2026, 10, 1)


def codes(line, on=None):
    return {reason.code for reason in readiness.line_reasons([line], on=on)[line.pk]}


def deliver(order, day):
    """Hand a resupply order over (as complete_delivery records it)."""
    delivery = Delivery.objects.create(
        company=order.company,
        order=order,
        status=DeliveryStatus.DELIVERED,
        scheduled_date=day,
        address="742 Evergreen Terrace\nColumbus, OH 43215",
        patient_name=order.patient.full_name,
        delivered_on=day,
        signer_name="Pat Example",
        signer_relationship=SignerRelationship.PATIENT,
    )
    for line in order.lines.all():
        line.delivered_quantity = line.quantity
        line.save(update_fields=["delivered_quantity"])
        DeliveryItem.objects.create(
            company=order.company,
            delivery=delivery,
            order_line=line,
            description=line.equipment.item_description,
            quantity=line.quantity,
        )
    order.status = OrderStatus.DELIVERED
    order.delivered_on = day
    order.save(update_fields=["status", "delivered_on"])


def test_the_check_is_registered():
    assert resupply_confirmation in readiness.registered_checks()


@pytest.mark.django_db
def test_a_refill_outside_the_worklist_is_held(company, patient, filters):
    refill = DeliveredOrderFactory(
        company=company,
        patient=patient,
        delivered_on=FILTERS_DUE,
        written_order_date=FILTERS_DUE - datetime.timedelta(days=40),
    )
    line = DeliveredLineFactory(order=refill, equipment=filters, quantity=2)
    assert "resupply_unconfirmed" in codes(line, on=FILTERS_DUE)
    with pytest.raises(ServiceError) as held:
        readiness.assert_billable([line], on=FILTERS_DUE)
    assert held.value.code == "on_hold"
    assert "confirmation of need" in held.value.message


@pytest.mark.django_db
def test_the_first_delivery_is_not_a_refill(delivered):
    line = delivered.lines.get(equipment__hcpcs_code="A7038")
    assert "resupply_unconfirmed" not in codes(line)


@pytest.mark.django_db
def test_a_confirmed_resupply_order_is_not_held_for_confirmation(company, patient, personas):
    services.refresh_company(company, as_of=FILTERS_DUE - datetime.timedelta(days=14))
    request = ResupplyRequest.objects.get(patient=patient)
    (item,) = request.items.all()
    services.record_contact(
        request,
        user=personas["intake"],
        channel="phone",
        outcome=ContactOutcome.CONFIRMED,
        items={item.pk: {"on_hand": 0, "wanted": True}},
        contacted_at=at_noon(FILTERS_DUE - datetime.timedelta(days=12)),
    )
    order = services.create_resupply_order(request, as_of=FILTERS_DUE - datetime.timedelta(days=10))
    deliver(order, min(FILTERS_DUE, timezone.localdate()))
    (line,) = order.lines.all()
    assert "resupply_unconfirmed" not in codes(line, on=FILTERS_DUE)
    # The same order with its confirmation gone (deleted by hand) is held.
    request.contacts.all().delete()
    assert "resupply_unconfirmed" in codes(line, on=FILTERS_DUE)


@pytest.mark.django_db
def test_the_check_costs_the_same_for_many_lines(
    company, patient, filters, django_assert_max_num_queries
):
    lines = []
    for offset in range(5):
        refill = DeliveredOrderFactory(
            company=company, patient=patient, delivered_on=FILTERS_DUE + datetime.timedelta(offset)
        )
        lines.append(DeliveredLineFactory(order=refill, equipment=filters, quantity=2))
    batch = readiness.load_batch(lines[:1])
    with django_assert_max_num_queries(1):
        one = list(resupply_confirmation(batch))
    batch = readiness.load_batch(lines)
    with django_assert_max_num_queries(1):
        many = list(resupply_confirmation(batch))
    assert len(one) == 1
    assert len(many) == 5
