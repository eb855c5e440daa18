"""The queues the apps below the cockpit fill (core.queues): billing and intake holds by
reason and clearinghouse rejections (hme.queues); and pickups due (dme.queues, a stored
figure of the cockpit's snapshot). Each card's count, its link (the filtered list shows
as many rows) and its tenant scope."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from clinical.choices import PatientStatus
from cockpit import services
from core.queues import KNOWN, provider_of
from dme.choices import OrderStatus
from hme.models import BillingHold
from hme.readiness.holds import refresh_holds
from hme.services import submission
from tests.dme.factories import OrderFactory, OrderLineFactory, RentalFactory
from tests.hme.edi_helpers import edi_claim
from tests.hme.factories import DeliveredLineFactory, DeliveredOrderFactory, PayerFactory

pytestmark = pytest.mark.django_db


def cards(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {card.key: card for board in response.context["dashboards"] for card in board.cards}


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


def test_every_known_queue_has_its_provider():
    assert all(provider_of(name) is not None for name in KNOWN)


def held(company):
    """A delivered order without coverage or diagnosis (billing holds it) and an order
    not delivered yet (no proof of delivery either)."""
    delivered = DeliveredOrderFactory(company=company)
    DeliveredLineFactory(order=delivered)
    DeliveredLineFactory(order=delivered)
    waiting = OrderFactory(company=company, status=OrderStatus.CONFIRMED)
    OrderLineFactory(company=company, order=waiting)
    refresh_holds()
    return delivered, waiting


def expected_holds(company, statuses):
    holds = BillingHold.objects.filter(
        company=company, severity="error", order__status__in=statuses
    )
    return {
        code: holds.filter(code=code).values("order_line").distinct().count()
        for code in holds.values_list("code", flat=True).distinct()
    }


def test_billing_holds_count_lines_by_reason_and_link_to_the_worklist(client, personas, company):
    held(company)
    card = cards(client, personas[Role.BILLING])["billing-holds"]
    expected = expected_holds(company, [OrderStatus.DELIVERED])
    assert expected
    assert max(expected.values()) == 2
    shown = {item.label.lower().replace(" ", "_"): item for item in card.items}
    assert {code: item.count for code, item in shown.items()} == expected
    for item in card.items:
        assert listed(client, item.url) == item.count, item.url


def test_intake_holds_are_the_orders_not_delivered_yet(client, personas, company):
    held(company)
    card = cards(client, personas[Role.INTAKE])["intake-holds"]
    expected = expected_holds(company, [OrderStatus.CONFIRMED])
    assert expected
    assert set(expected.values()) == {1}
    assert sum(item.count for item in card.items) == sum(expected.values())
    for item in card.items:
        assert listed(client, item.url) == item.count, item.url


def test_holds_count_only_the_companys_lines(client, personas, company, other_company):
    held(other_company)
    board = cards(client, personas[Role.BILLING])
    assert board["billing-holds"].items == []
    assert cards(client, personas[Role.INTAKE])["intake-holds"].items == []


@pytest.fixture
def rejected(settings, tmp_path):
    settings.EDI_STORE_DIR = tmp_path / "store"
    settings.EDI_OUTBOX_DIR = tmp_path / "out"

    def make(company, count):
        payer = PayerFactory(company=company)
        claims = [edi_claim(company, payer) for _ in range(count)]
        batch = submission.create_batch(company, claims)
        batch = submission.send_batch(batch)
        submission.settle_batch(batch, accepted=False, reason="999: rejected (IK5 R).")
        return claims

    return make


def test_clearinghouse_rejections_count_and_link(client, personas, company, rejected):
    rejected(company, 2)
    items = {i.label: i for i in cards(client, personas[Role.BILLING])["billing-rejected"].items}
    to_correct = items["Claims to correct (999/277CA)"]
    files = items["837P files rejected (999)"]
    assert (to_correct.count, files.count) == (2, 1)
    assert listed(client, to_correct.url) == 2
    assert listed(client, files.url) == 1


def test_clearinghouse_rejections_of_another_company_are_not_counted(
    client, personas, company, other_company, rejected
):
    rejected(other_company, 1)
    items = cards(client, personas[Role.BILLING])["billing-rejected"].items
    assert [item.count for item in items] == [0, 0]


def test_pickups_due_count_and_link(client, personas, company):
    for status in (PatientStatus.DECEASED, PatientStatus.INACTIVE, PatientStatus.INACTIVE):
        RentalFactory(company=company, order_line__order__patient__status=status)
    RentalFactory(company=company)  # an active patient: nothing to pick up
    RentalFactory(
        company=company, status="capped", order_line__order__patient__status="deceased"
    )  # capped: the patient owns it
    items = {i.label: i for i in cards(client, personas[Role.WAREHOUSE])["warehouse-pickups"].items}
    assert {label: item.count for label, item in items.items()} == {
        "Patient deceased": 1,
        "Patient inactive": 2,
    }
    for item in items.values():
        assert listed(client, item.url) == item.count, item.url


def test_pickups_of_another_company_are_not_counted(client, personas, company, other_company):
    RentalFactory(company=other_company, order_line__order__patient__status="deceased")
    items = cards(client, personas[Role.WAREHOUSE])["warehouse-pickups"].items
    assert [item.count for item in items] == [0, 0]


def test_pickups_due_is_the_stored_figure_and_its_lines_list_live(client, personas, company):
    """The count joins every active rental to every patient who left: it is read from
    the company's snapshot (one query whatever the tables hold), says when it was
    computed, and moves at the next refresh; the linked list is live."""
    RentalFactory(company=company, order_line__order__patient__status=PatientStatus.DECEASED)
    warehouse = personas[Role.WAREHOUSE]
    first = cards(client, warehouse)["warehouse-pickups"]
    assert [item.count for item in first.items] == [1, 0]
    assert first.as_of.startswith("As of ")
    RentalFactory(company=company, order_line__order__patient__status=PatientStatus.DECEASED)
    stale = cards(client, warehouse)["warehouse-pickups"].items
    assert [item.count for item in stale] == [1, 0]
    assert listed(client, stale[0].url) == 2  # the list is live
    services.refresh_snapshot(company)
    assert [item.count for item in cards(client, warehouse)["warehouse-pickups"].items] == [2, 0]


def test_the_warehouse_dashboard_runs_no_pickup_join(client, personas, company):
    RentalFactory(company=company, order_line__order__patient__status=PatientStatus.INACTIVE)
    services.refresh_snapshot(company)
    with CaptureQueriesContext(connection) as queries:
        cards(client, personas[Role.WAREHOUSE])
    rental_reads = [q["sql"] for q in queries.captured_queries if '"dme_rental"' in q["sql"]]
    assert rental_reads == []
