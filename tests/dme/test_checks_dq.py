"""The DME data-quality checks: silent on data the services wrote, loud on drift."""

import pytest
from django.utils import timezone

from core.quality import Outcome, get_checks
from dme import checks_dq, services
from dme.choices import AssetStatus, LineKind, OrderStatus
from dme.models import Asset, DeliveryItem, Order, OrderLine, StockLevel
from tests.dme.factories import order_with_lines, proof_items, stock, units

pytestmark = pytest.mark.django_db
CHECKS = [
    checks_dq.serialized_stock_matches_units,
    checks_dq.reserved_stock_matches_orders,
    checks_dq.open_orders_fully_reserved,
    checks_dq.delivered_orders_have_proof,
    checks_dq.active_rental_units_with_the_patient,
]


@pytest.fixture
def workflow(company, warehouse, mask, cpap):
    """One delivered rental order, one confirmed order, one cancelled order."""
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 3)
    delivered = order_with_lines(
        company, warehouse, (cpap, 1, LineKind.RENTAL), (mask, 2, LineKind.PURCHASE)
    )
    services.confirm_order(delivered)
    delivery = services.schedule_delivery(delivered, scheduled_date=timezone.localdate())
    services.complete_delivery(
        delivery,
        delivered_on=timezone.localdate(),
        items=proof_items(delivered),
        signer_name="Pat Doe",
        signer_relationship="patient",
    )
    confirmed = order_with_lines(
        company, warehouse, (cpap, 1, LineKind.RENTAL), (mask, 3, LineKind.PURCHASE)
    )
    services.confirm_order(confirmed)
    cancelled = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(cancelled)
    services.cancel_order(cancelled)
    return delivered, confirmed


def rows(check):
    """The rows a check finds, called outside a run (a full pass for the incremental ones)."""
    result = check()
    if isinstance(result, Outcome):
        model = next(c.model for c in get_checks() if c.function is check)
        return list(model._base_manager.filter(pk__in=result.sample_ids))
    return list(result)


def findings():
    found = {check.__name__: rows(check) for check in CHECKS}
    return {name: found_rows for name, found_rows in found.items() if found_rows}


def test_data_written_by_the_services_passes_every_check(workflow):
    assert findings() == {}


def test_they_find_drifted_stock_and_reservations(workflow, cpap, mask):
    _, confirmed = workflow
    StockLevel.objects.filter(equipment=cpap).update(on_hand=5)
    StockLevel.objects.filter(equipment=mask).update(reserved=2)
    OrderLine.objects.filter(order=confirmed, equipment=mask).update(reserved_quantity=1)
    found = findings()
    assert set(found) == {
        "serialized_stock_matches_units",
        "reserved_stock_matches_orders",
        "open_orders_fully_reserved",
    }
    assert found["open_orders_fully_reserved"] == [confirmed]


def test_they_find_deliveries_without_proof_and_strayed_units(workflow):
    delivered, _ = workflow
    DeliveryItem.objects.all().delete()
    Asset.objects.filter(status=AssetStatus.WITH_PATIENT).update(
        status=AssetStatus.IN_MAINTENANCE, patient=None, location=delivered.location
    )
    found = findings()
    assert found["delivered_orders_have_proof"] == [Order.objects.get(status=OrderStatus.DELIVERED)]
    assert len(found["active_rental_units_with_the_patient"]) == 1
