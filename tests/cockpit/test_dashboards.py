"""The role dashboards on the admin index: each panel's count, its link to the filtered
list, its tenant scope, the providers' cards, and a query count that does not grow."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from cockpit import providers
from cockpit.charts import bar_chart
from dme.choices import AssetStatus, OrderStatus
from hme import services as billing
from hme.choices import AuthorizationStatus
from tests.clinical.factories import PatientFactory
from tests.dme.factories import (
    AssetFactory,
    DeliveryFactory,
    EquipmentFactory,
    OrderFactory,
    WarehouseFactory,
    stock,
)
from tests.factories import member
from tests.hme.factories import AuthorizationFactory, ClaimFactory, CoverageFactory, claim_line

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def index(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response


def cards(response):
    return {
        card.key: card for dashboard in response.context["dashboards"] for card in dashboard.cards
    }


def items(card):
    return {item.label: item for item in card.items}


def seed(company):
    """One of everything each queue counts."""
    OrderFactory(company=company, status=OrderStatus.RECEIVED)
    OrderFactory(company=company, status=OrderStatus.DELIVERED, delivered_on=TODAY())
    driver = member(company, Role.WAREHOUSE, email=f"driver-{uuid.uuid4().hex[:8]}@x.test")
    DeliveryFactory(company=company, driver=driver)
    DeliveryFactory(company=company, scheduled_date=TODAY() + datetime.timedelta(days=1))
    warehouse = WarehouseFactory(company=company)
    stock(EquipmentFactory(company=company), warehouse, 1, reorder_point=5)
    AssetFactory(company=company, location=warehouse, status=AssetStatus.IN_MAINTENANCE)
    coverage = CoverageFactory(company=company)
    AuthorizationFactory(
        company=company,
        coverage=coverage,
        status=AuthorizationStatus.APPROVED,
        number="A-1",
        valid_from=TODAY(),
        valid_to=TODAY() + datetime.timedelta(days=10),
    )

    # Each claim bills its own delivered line (ClaimFactory), on its own date of service:
    # the same service twice would be refused as an exact duplicate (CO-18).
    def claim(days_ago):
        dos = TODAY() - datetime.timedelta(days=days_ago)
        return ClaimFactory(
            company=company, coverage=coverage, lines=[claim_line(date_of_service=dos)]
        )

    claim(10)  # to submit
    denied = claim(11)
    billing.mark_processing(billing.submit_claim(denied, None))
    billing.deny_claim(denied, "CO", "50", "")
    old = claim(12)
    billing.submit_claim(old, None)
    type(old).objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=120)
    )
    same = {"last_name": "Twin", "dob": datetime.date(1950, 1, 2)}
    PatientFactory(company=company, first_name="Ann", **same)
    PatientFactory(company=company, first_name="Anne", **same)
    return driver


def test_the_intake_dashboard_counts_and_links(client, personas, company):
    seed(company)
    shown = cards(index(client, personas[Role.INTAKE]))
    assert set(shown) == {"intake-orders", "intake-holds", "intake-duplicates"}
    to_verify = items(shown["intake-orders"])["To verify (received)"]
    assert to_verify.count == 1
    listed = client.get(to_verify.url)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    twins = shown["intake-duplicates"].items
    assert [item.count for item in twins] == [2]
    assert client.get(twins[0].url).context["cl"].result_count == 2


def test_the_warehouse_dashboard_counts_and_links(client, personas, company):
    driver = seed(company)
    shown = cards(index(client, personas[Role.WAREHOUSE]))
    by_driver = items(shown["warehouse-deliveries"])
    assert by_driver[f"Today: {driver.get_full_name()}"].count == 1
    assert by_driver["Tomorrow: no driver yet"].count == 1
    for item in [*by_driver.values(), *shown["warehouse-stock"].items]:
        assert item.count == 1, item.label
        listed = client.get(item.url)
        assert listed.status_code == 200, item.url
        assert listed.context["cl"].result_count == 1, item.url


def test_the_billing_dashboard_counts_and_links(client, personas, company):
    seed(company)
    shown = cards(index(client, personas[Role.BILLING]))
    queue = items(shown["billing-queue"])
    expected = {
        "Delivered, not billed yet": 1,
        "To submit": 1,
        "Unpaid over 90 days": 1,
        "Authorizations expiring within 14 days": 1,
    }
    assert {label: item.count for label, item in queue.items()} == expected
    for item in [*queue.values(), *shown["billing-denied"].items]:
        listed = client.get(item.url)
        assert listed.status_code == 200, item.url
        assert listed.context["cl"].result_count == item.count, item.url
    assert [item.count for item in shown["billing-denied"].items] == [1]
    assert shown["billing-denied"].items[0].label.startswith("CO-50")


def test_the_administrators_kpis(client, admin_user, company):
    seed(company)
    response = index(client, admin_user)
    assert [d.key for d in response.context["dashboards"]] == [
        "kpis",
        "intake",
        "warehouse",
        "billing",
    ]
    shown = cards(response)
    assert shown["kpi-first-pass"].value == "0%"  # one adjudicated claim, denied
    assert "CO-50" in shown["kpi-denials"].chart
    assert shown["kpi-cash"].value == "$0.00"
    assert shown["kpi-dso"].value.endswith("days")
    assert b"<svg" in response.content


def test_the_dashboards_show_only_the_companys_records(client, personas, company, other_company):
    seed(other_company)
    shown = cards(index(client, personas[Role.BILLING]))
    assert all(item.count == 0 for item in shown["billing-queue"].items)
    assert shown["billing-denied"].items == []
    intake = cards(index(client, personas[Role.INTAKE]))
    assert intake["intake-duplicates"].items == []


def test_the_query_count_does_not_grow(client, admin_user, company):
    seed(company)
    index(client, admin_user)
    with CaptureQueriesContext(connection) as few:
        index(client, admin_user)
    for _ in range(3):
        seed(company)
    with CaptureQueriesContext(connection) as many:
        index(client, admin_user)
    assert len(many) == len(few)


def test_a_provider_lights_its_card_up(client, personas, company):
    """A queue's card is there only while an app provides it (hme provides the holds)."""
    registered = providers.provider_of("billing.holds")
    providers.withdraw("billing.holds")
    try:
        assert "billing-holds" not in cards(index(client, personas[Role.BILLING]))
        providers.provide(
            "billing.holds", lambda request: [providers.QueueItem("Missing SWO", 3, "/x/")]
        )
        shown = cards(index(client, personas[Role.BILLING]))
        assert [(i.label, i.count) for i in shown["billing-holds"].items] == [("Missing SWO", 3)]
    finally:
        providers.provide("billing.holds", registered)
    with pytest.raises(ValueError, match="Unknown queue"):
        providers.provide("nope", lambda request: [])


def test_operators_get_the_menu_only(client):
    from tests.factories import UserFactory

    response = index(client, UserFactory(is_superuser=True, is_staff=True))
    assert response.context["dashboards"] == []


def test_the_chart_is_svg_with_its_numbers():
    svg = bar_chart([("CO-50", 50.0), ("<b>", 25.0)], unit="%", title="Denials")
    assert svg.startswith("<svg")
    assert "50%" in svg
    assert "&lt;b&gt;" in svg
    assert bar_chart([]) == ""
    assert "$1,234" in bar_chart([("Dec", Decimal("1234.00"))], unit="$")
