"""Races on PostgreSQL: confirmations competing for the same stock and units.

Each thread has its own database connection (closed at the end) and waits at a
barrier so all confirmations hit the database together.
"""

import pytest

from core.exceptions import InvalidTransition, ServiceError
from dme import services
from dme.choices import AssetStatus, LineKind, OrderStatus
from dme.models import Asset, Order, StockLevel
from tests.concurrency import race
from tests.dme.factories import order_with_lines, stock, units

THREADS = 20


def outcome(results):
    confirmed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    unexpected = [r for r in results if not isinstance(r, Order | ServiceError)]
    return confirmed, refused, unexpected


@pytest.mark.django_db(transaction=True)
def test_twenty_confirmations_against_five_units_confirm_exactly_five(
    postgres_only, company, warehouse, mask
):
    stock(mask, warehouse, 5)
    orders = [
        order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE)) for _ in range(THREADS)
    ]

    results = race([lambda order=order: services.confirm_order(order) for order in orders])

    confirmed, refused, unexpected = outcome(results)
    assert unexpected == []
    assert (len(confirmed), len(refused)) == (5, 15)
    assert {error.code for error in refused} == {"insufficient_stock"}
    assert all(
        error.message.startswith(
            "Not enough Full face mask A7030 at Groveport Warehouse: 1 requested"
        )
        for error in refused
    )
    level = StockLevel.objects.get()
    assert (level.on_hand, level.reserved) == (5, 5)
    assert Order.objects.filter(status=OrderStatus.CONFIRMED).count() == 5
    assert Order.objects.filter(status=OrderStatus.VERIFIED).count() == 15


@pytest.mark.django_db(transaction=True)
def test_orders_of_several_units_never_overbook(postgres_only, company, warehouse, mask):
    stock(mask, warehouse, 5)
    sizes = [1, 2, 3] * 6 + [1, 2]
    orders = [order_with_lines(company, warehouse, (mask, n, LineKind.PURCHASE)) for n in sizes]

    results = race([lambda order=order: services.confirm_order(order) for order in orders])

    confirmed, _, unexpected = outcome(results)
    assert unexpected == []
    reserved = sum(order.lines.get().quantity for order in confirmed)
    level = StockLevel.objects.get()
    assert level.reserved == reserved <= level.on_hand == 5
    # Whatever the interleaving, no refused order could still have fitted at the end.
    assert all(
        order.lines.get().quantity > 5 - reserved
        for order in orders
        if order.pk not in {c.pk for c in confirmed}
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_confirmations_against_five_serialized_units(
    postgres_only, company, warehouse, cpap
):
    units(cpap, warehouse, 5)
    orders = [
        order_with_lines(company, warehouse, (cpap, 1, LineKind.RENTAL)) for _ in range(THREADS)
    ]

    results = race([lambda order=order: services.confirm_order(order) for order in orders])

    confirmed, refused, unexpected = outcome(results)
    assert unexpected == []
    assert (len(confirmed), len(refused)) == (5, 15)
    reserved = Asset.objects.filter(status=AssetStatus.RESERVED)
    assert reserved.count() == 5
    # Each confirmed order got its own unit.
    lines = {order.lines.get().pk for order in confirmed}
    assert set(reserved.values_list("reserved_for", flat=True)) == lines
    level = StockLevel.objects.get()
    assert (level.on_hand, level.reserved) == (5, 5)


@pytest.mark.django_db(transaction=True)
def test_one_order_confirmed_twice_at_once_is_confirmed_once(
    postgres_only, company, warehouse, mask
):
    stock(mask, warehouse, 10)
    order = order_with_lines(company, warehouse, (mask, 3, LineKind.PURCHASE))

    results = race([lambda: services.confirm_order(order) for _ in range(2)])

    assert sum(isinstance(r, Order) for r in results) == 1
    assert sum(isinstance(r, InvalidTransition) for r in results) == 1
    level = StockLevel.objects.get()
    assert (level.on_hand, level.reserved) == (10, 3)
