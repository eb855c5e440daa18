"""Change-page buttons (core.admin_buttons): one per step the record's status and the
user allow, each running the list action's service on that one record; an input page
that fails keeps what was typed."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from dme.choices import LineKind, OrderStatus
from dme.models import Delivery
from tests.dme.factories import EquipmentFactory, WarehouseFactory, order_with_lines, stock
from tests.factories import member

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def labels(response):
    return [b.label for b in response.context["change_buttons"]]


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def warehouse(company):
    return WarehouseFactory(company=company)


@pytest.fixture
def order(company, warehouse):
    mask = EquipmentFactory(company=company)
    stock(mask, warehouse, 5)
    return order_with_lines(
        company, warehouse, (mask, 1, LineKind.PURCHASE), status=OrderStatus.RECEIVED
    )


def change(order):
    return reverse("admin:dme_order_change", args=[order.pk])


def step(order, action):
    return reverse("admin:dme_order_step", args=[order.pk, action])


def test_it_shows_the_steps_the_status_allows(client, admin_user, order):
    client.force_login(admin_user)
    response = client.get(change(order))
    assert labels(response) == ["Verify (written order checked)", "Cancel (release reserved stock)"]
    assert b'class="change-buttons"' in response.content


def test_it_walks_the_order_with_buttons(client, admin_user, order, company):
    driver = member(company, Role.WAREHOUSE, email="driver@a.test")
    client.force_login(admin_user)
    for action, status in (("verify", OrderStatus.VERIFIED), ("confirm", OrderStatus.CONFIRMED)):
        response = client.post(step(order, action))
        assert response.status_code == 302
        assert response.url == change(order)
        order.refresh_from_db()
        assert order.status == status, texts(response)
    page = client.get(change(order))
    assert "Schedule delivery" in labels(page)
    # The input page of this one order, posting back to the step's URL.
    form_page = client.get(step(order, "schedule"))
    assert form_page.status_code == 200
    assert form_page.context["cancel_url"] == change(order)
    response = client.post(
        step(order, "schedule"),
        {
            "apply": "1",
            "scheduled_date": str(TODAY()),
            "method": "driver",
            "driver": str(driver.pk),
        },
    )
    assert response.status_code == 302
    assert response.url == change(order)
    assert texts(response) == ["1 delivery(ies) scheduled."]
    assert Delivery.objects.get(order=order).driver == driver


def test_a_failed_input_keeps_what_was_typed(client, admin_user, order):
    order.status = OrderStatus.CONFIRMED
    order.save()
    client.force_login(admin_user)
    before = order.written_order_date - datetime.timedelta(days=3)
    response = client.post(
        step(order, "schedule"),
        {
            "apply": "1",
            "scheduled_date": str(before),
            "window_start": "09:00",
            "window_end": "11:00",
            "method": "driver",
            "carrier": "typed carrier",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["scheduled_date"] == ["Before the written order date."]
    assert form["carrier"].value() == "typed carrier"
    assert form["window_start"].value() == "09:00"
    assert not Delivery.objects.exists()


def test_a_plain_step_runs_only_on_post(client, admin_user, order):
    client.force_login(admin_user)
    response = client.get(step(order, "verify"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


def test_a_stale_step_is_refused_by_the_service(client, admin_user, order):
    client.force_login(admin_user)
    response = client.post(step(order, "confirm"))  # not verified yet
    assert response.status_code == 302
    assert any("verify it first" in text for text in texts(response))
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


def test_a_user_without_the_permission_sees_no_button_and_is_refused(client, personas, order):
    auditor = personas[Role.AUDITOR]
    client.force_login(auditor)
    response = client.get(change(order))
    assert response.status_code == 200
    assert labels(response) == []
    assert client.post(step(order, "verify")).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


def test_another_companys_record_is_a_404(client, outsider, order):
    client.force_login(outsider)
    assert client.post(step(order, "verify")).status_code == 404
    assert client.get(step(order, "schedule")).status_code == 404


def test_an_undeclared_action_is_a_404(client, admin_user, order):
    client.force_login(admin_user)
    assert client.post(step(order, "delete_selected")).status_code == 404


def test_the_list_action_keeps_what_was_typed_too(client, admin_user, order):
    order.status = OrderStatus.CONFIRMED
    order.save()
    client.force_login(admin_user)
    before = order.written_order_date - datetime.timedelta(days=3)
    response = client.post(
        reverse("admin:dme_order_changelist"),
        {
            "action": "schedule",
            "_selected_action": [str(order.pk)],
            "apply": "1",
            "scheduled_date": str(before),
            "method": "shipped",
            "carrier": "UPS",
            "tracking_number": "1Z999",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form["carrier"].value() == "UPS"
    assert form["method"].value() == "shipped"
    assert form["tracking_number"].value() == "1Z999"


def test_a_patient_without_an_address_gets_it_typed_beside_the_error(client, admin_user, order):
    # Failed before: the form had no address field, so the refusal "give the delivery
    # address" could not be answered on it and what was typed had to be typed again.
    patient = order.patient
    patient.address_line1 = patient.address_line2 = patient.city = patient.postal_code = ""
    patient.state = ""
    patient.save()
    order.status = OrderStatus.CONFIRMED
    order.save()
    client.force_login(admin_user)
    data = {"apply": "1", "scheduled_date": str(TODAY()), "method": "driver", "carrier": ""}
    response = client.post(step(order, "schedule"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["address"] == ["Required: no address on file."]
    response = client.post(step(order, "schedule"), {**data, "address": "1 Main St, Town"})
    assert response.status_code == 302
    assert Delivery.objects.get(order=order).address == "1 Main St, Town"


# The steps declared on the other admins ------------------------------------------------


PRINT = "Print CMS-1500 data"


def claim_page_labels(client, claim):
    return labels(client.get(reverse("admin:hme_claim_change", args=[claim.pk])))


def test_the_claim_page_shows_its_steps_by_status(client, personas, company):
    from hme.choices import ClaimStatus
    from tests.hme.factories import ClaimFactory

    client.force_login(personas[Role.BILLING])
    claim = ClaimFactory(company=company)
    assert claim_page_labels(client, claim) == ["Submit to the payer", PRINT, "Void"]
    response = client.post(reverse("admin:hme_claim_step", args=[claim.pk, "submit"]))
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.submitted_at is not None
    assert claim_page_labels(client, claim) == [
        "Mark acknowledged by the payer (processing)",
        PRINT,
        "Void",
    ]
    for status, expected in (
        (
            ClaimStatus.PROCESSING,
            ["Record approval (allowed amounts)", "Record denial (CARC reason)", PRINT, "Void"],
        ),
        (ClaimStatus.APPROVED, ["Post a payment", PRINT, "Void"]),
        (ClaimStatus.DENIED, ["Resubmit corrected denied claims", PRINT, "Void"]),
        (ClaimStatus.PAID, [PRINT]),
    ):
        extra = {"denial_group": "CO", "denial_code": "50"} if status == ClaimStatus.DENIED else {}
        type(claim).objects.filter(pk=claim.pk).update(status=status, **extra)
        assert claim_page_labels(client, claim) == expected, status


def test_the_deny_input_page_shows_its_errors_beside_the_fields(client, personas, company):
    from hme.choices import ClaimStatus
    from tests.hme.factories import ClaimFactory

    client.force_login(personas[Role.BILLING])
    from hme import services as billing

    claim = ClaimFactory(company=company)
    billing.mark_processing(billing.submit_claim(claim, personas[Role.BILLING]))
    url = reverse("admin:hme_claim_step", args=[claim.pk, "deny"])
    response = client.post(url, {"apply": "1", "group": "CO", "code": "", "text": "typed"})
    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert response.context["form"]["text"].value() == "typed"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING


def test_the_delivery_page_links_the_proof_while_scheduled(client, admin_user, company):
    from tests.dme.factories import DeliveryFactory

    delivery = DeliveryFactory(company=company)
    client.force_login(admin_user)
    response = client.get(reverse("admin:dme_delivery_change", args=[delivery.pk]))
    assert labels(response) == [
        "Record proof of delivery",
        "Print delivery ticket",
        "Cancel delivery (order keeps its stock)",
    ]
