"""Resupply: next eligible dates, the 14-day contact and 10-day ship windows on their
boundary days, confirmations, refusals, no-answers, and nothing ships unconfirmed."""

import datetime

import pytest
from django.core import mail

from core.exceptions import InvalidTransition, ServiceError
from core.notifications.models import Notification
from dme.choices import OrderStatus
from resupply import rules, services
from resupply.choices import ContactOutcome, RequestStatus
from resupply.models import ReplacementRule, ResupplyItem, ResupplyRequest
from tests.factories import member
from tests.hme.factories import CoverageFactory, PayerFactory

from .conftest import DELIVERED_ON, at_noon

MASK_DUE = datetime.date(2026, 12, 1)  # 1 mask per 3 months from 2026-09-01
FILTERS_DUE = datetime.date(2026, 10, 1)  # 2 filters per month


@pytest.fixture
def clerk(company):
    from accounts.choices import Role

    return member(company, Role.INTAKE, email="clerk@a.test")


def days_before(due, days):
    return due - datetime.timedelta(days=days)


def open_request(company, patient, as_of):
    services.refresh_company(company, as_of=as_of)
    return ResupplyRequest.objects.get(patient=patient, status=RequestStatus.OPEN)


def confirm(request, clerk, *, on, wanted=None):
    items = {
        item.pk: {"on_hand": 0, "wanted": True, "quantity": 0}
        for item in request.items.all()
        if wanted is None or item.hcpcs_code in wanted
    }
    return services.record_contact(
        request,
        user=clerk,
        channel="phone",
        outcome=ContactOutcome.CONFIRMED,
        items=items,
        contacted_at=at_noon(on),
    )


def test_supply_lasts_by_the_usual_maximum():
    day = datetime.date(2026, 1, 31)
    assert rules.supply_ends_on(day, 1, 1, 3) == datetime.date(2026, 4, 30)
    assert rules.supply_ends_on(day, 2, 2, 1) == datetime.date(2026, 2, 28)
    assert rules.supply_ends_on(day, 6, 2, 1) == datetime.date(2026, 4, 30)
    # One filter of "2 per month" lasts half a month.
    assert rules.supply_ends_on(day, 1, 2, 1) == day + datetime.timedelta(days=15)


@pytest.mark.django_db
def test_the_default_schedule_is_seeded_with_its_source():
    rule = ReplacementRule.objects.get(company=None, payer=None, hcpcs_code="A7030")
    assert (rule.quantity, rule.months) == (1, 3)
    assert "L33718" in rule.source
    assert "A52467" in rule.source
    expected = {
        "A7031": (1, 1),
        "A7034": (1, 3),
        "A7035": (1, 6),
        "A7037": (1, 3),
        "A7038": (2, 1),
        "A7039": (1, 6),
        "A7046": (1, 6),
    }
    found = {
        code: (quantity, months)
        for code, quantity, months in ReplacementRule.objects.filter(
            company=None, hcpcs_code__in=expected
        ).values_list("hcpcs_code", "quantity", "months")
    }
    assert found == expected


@pytest.mark.django_db
def test_next_eligible_dates_come_from_the_proof_of_delivery(company, patient):
    services.refresh_company(company, as_of=DELIVERED_ON)
    items = dict(
        ResupplyItem.objects.filter(patient=patient).values_list("hcpcs_code", "supply_ends_on")
    )
    assert items == {"A7030": MASK_DUE, "A7038": FILTERS_DUE}


@pytest.mark.django_db
def test_a_payer_override_changes_the_schedule(company, patient):
    payer = PayerFactory(company=company)
    CoverageFactory(company=company, patient=patient, payer=payer)
    ReplacementRule.objects.create(
        company=company, payer=payer, hcpcs_code="A7030", description="Mask", quantity=1, months=6
    )
    services.refresh_company(company, as_of=DELIVERED_ON)
    item = ResupplyItem.objects.get(patient=patient, hcpcs_code="A7030")
    assert item.supply_ends_on == datetime.date(2027, 3, 1)
    assert (item.quantity, item.months) == (1, 6)


@pytest.mark.django_db
def test_the_worklist_opens_14_days_before_not_15(company, patient):
    counts = services.refresh_company(company, as_of=days_before(FILTERS_DUE, 15))
    assert counts["opened"] == 0
    assert not ResupplyRequest.objects.filter(patient=patient).exists()

    counts = services.refresh_company(company, as_of=days_before(FILTERS_DUE, 14))
    assert counts["opened"] == 1
    request = ResupplyRequest.objects.get(patient=patient)
    assert (request.due_on, request.contact_from, request.ship_from) == (
        FILTERS_DUE,
        days_before(FILTERS_DUE, 14),
        days_before(FILTERS_DUE, 10),
    )
    # Only the filters are due; the mask's window opens later.
    assert [item.hcpcs_code for item in request.items.all()] == ["A7038"]
    # A second run the same day opens nothing more.
    assert services.refresh_company(company, as_of=days_before(FILTERS_DUE, 14))["opened"] == 0


@pytest.mark.django_db
def test_a_contact_15_days_before_is_refused_14_is_recorded(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    with pytest.raises(ServiceError) as refused:
        services.record_contact(
            request,
            user=clerk,
            channel="phone",
            outcome=ContactOutcome.NO_ANSWER,
            contacted_at=at_noon(days_before(FILTERS_DUE, 15)),
        )
    assert refused.value.code == "too_early_to_contact"
    assert request.contacts.count() == 0
    contact = services.record_contact(
        request,
        user=clerk,
        channel="phone",
        outcome=ContactOutcome.NO_ANSWER,
        contacted_at=at_noon(days_before(FILTERS_DUE, 14)),
    )
    request.refresh_from_db()
    assert contact.contacted_by == clerk
    assert (request.status, request.attempts) == (RequestStatus.OPEN, 1)


@pytest.mark.django_db
def test_shipping_11_days_before_is_refused_10_creates_the_order(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    confirm(request, clerk, on=days_before(FILTERS_DUE, 12))
    with pytest.raises(ServiceError) as refused:
        services.create_resupply_order(request, as_of=days_before(FILTERS_DUE, 11))
    assert refused.value.code == "too_early_to_ship"
    request.refresh_from_db()
    assert request.order is None

    order = services.create_resupply_order(request, as_of=days_before(FILTERS_DUE, 10))
    request.refresh_from_db()
    assert request.status == RequestStatus.ORDERED
    assert request.order == order
    assert order.status == OrderStatus.RECEIVED
    assert order.patient == patient
    # On the written order of the last delivery.
    source = ResupplyItem.objects.get(patient=patient, hcpcs_code="A7038").source_line.order
    assert (order.prescriber, order.written_order_date) == (
        source.prescriber,
        source.written_order_date,
    )
    assert [(line.equipment.hcpcs_code, line.quantity) for line in order.lines.all()] == [
        ("A7038", 2)
    ]


@pytest.mark.django_db
def test_nothing_ships_without_a_recorded_confirmation(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    with pytest.raises(InvalidTransition):
        services.create_resupply_order(request, as_of=FILTERS_DUE)
    services.record_contact(
        request,
        user=clerk,
        channel="phone",
        outcome=ContactOutcome.NO_ANSWER,
        contacted_at=at_noon(days_before(FILTERS_DUE, 12)),
    )
    with pytest.raises(InvalidTransition):
        services.create_resupply_order(request, as_of=FILTERS_DUE)
    # A confirmed status without a confirmation on file (forced) is still refused.
    ResupplyRequest.objects.filter(pk=request.pk).update(status=RequestStatus.CONFIRMED)
    request.refresh_from_db()
    with pytest.raises(ServiceError) as refused:
        services.create_resupply_order(request, as_of=FILTERS_DUE)
    assert refused.value.code == "no_confirmation"
    assert not patient.dme_orders.exclude(pk=request.items.first().source_line.order_id).exists()


@pytest.mark.django_db
def test_a_confirmation_records_what_the_patient_still_has(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    (item,) = request.items.all()
    with pytest.raises(ServiceError) as refused:
        services.record_contact(
            request,
            user=clerk,
            channel="phone",
            outcome=ContactOutcome.CONFIRMED,
            items={item.pk: {"on_hand": 1, "wanted": True, "quantity": 2}},
            contacted_at=at_noon(days_before(FILTERS_DUE, 13)),
        )
    assert refused.value.code == "invalid_contact"
    assert "A7038" in refused.value.fields
    contact = services.record_contact(
        request,
        user=clerk,
        channel="sms",
        outcome=ContactOutcome.CONFIRMED,
        items={str(item.pk): {"on_hand": 1, "wanted": True}},
        contacted_at=at_noon(days_before(FILTERS_DUE, 13)),
    )
    (line,) = contact.lines.all()
    assert (line.on_hand, line.wanted, line.quantity) == (1, True, 1)
    assert (contact.channel, contact.contacted_by) == ("sms", clerk)
    request.refresh_from_db()
    assert request.status == RequestStatus.CONFIRMED


@pytest.mark.django_db
def test_a_confirmation_needs_a_wanted_item(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    with pytest.raises(ServiceError):
        services.record_contact(
            request,
            user=clerk,
            channel="phone",
            outcome=ContactOutcome.CONFIRMED,
            items={},
            contacted_at=at_noon(days_before(FILTERS_DUE, 13)),
        )
    request.refresh_from_db()
    assert (request.status, request.attempts) == (RequestStatus.OPEN, 0)


@pytest.mark.django_db
def test_a_refusal_closes_the_cycle(company, patient, clerk):
    request = open_request(company, patient, days_before(FILTERS_DUE, 14))
    services.record_contact(
        request,
        user=clerk,
        channel="phone",
        outcome=ContactOutcome.REFUSED,
        contacted_at=at_noon(days_before(FILTERS_DUE, 13)),
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.REFUSED
    with pytest.raises(InvalidTransition):
        services.record_contact(
            request,
            user=clerk,
            channel="phone",
            outcome=ContactOutcome.CONFIRMED,
            contacted_at=at_noon(days_before(FILTERS_DUE, 12)),
        )
    # The daily refresh does not reopen the refused cycle.
    assert services.refresh_company(company, as_of=days_before(FILTERS_DUE, 12))["opened"] == 0


@pytest.mark.django_db
def test_a_new_request_sends_the_outreach_message(
    company, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.refresh_company(company, as_of=days_before(FILTERS_DUE, 14))
    request = ResupplyRequest.objects.get(patient=patient)
    assert request.outreach_sent_at is not None
    notification = Notification.objects.get(template="resupply.outreach")
    assert (notification.patient_id, notification.related_id) == (patient.pk, str(request.pk))
    assert notification.status == "sent"
    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert patient.last_name not in message.subject


@pytest.mark.django_db
def test_the_refresh_is_scoped_to_the_company(company, other_company, patient):
    services.refresh_company(other_company, as_of=days_before(FILTERS_DUE, 14))
    assert not ResupplyItem.objects.exists()
    totals = services.refresh_worklist(as_of=days_before(FILTERS_DUE, 14))
    assert totals["opened"] == 1
    assert ResupplyItem.objects.filter(company=company).count() == 2
