"""Transfers between locations: ship then receive (in transit in between), or both at
once; a transfer interrupted half-way leaves both locations as they were."""

from decimal import Decimal

import pytest

from core.exceptions import InvalidTransition, ServiceError
from dme import services
from dme.choices import AssetStatus, MovementKind, TransferStatus
from dme.models import Asset, StockLevel, StockMovement
from dme.services import transfers

from .factories import AssetFactory, StockLevelFactory, WarehouseFactory
from .inventory_factories import VanFactory

pytestmark = pytest.mark.django_db


def on_hand(equipment, location):
    row = StockLevel.objects.filter(equipment=equipment, location=location).first()
    return row.on_hand if row else 0


@pytest.fixture
def van(company):
    return VanFactory(company=company, name="Van 7")


@pytest.fixture
def masks_in_stock(company, mask, warehouse):
    return StockLevelFactory(
        company=company, equipment=mask, location=warehouse, on_hand=10, average_cost=Decimal("40")
    )


@pytest.fixture
def unit(company, cpap, warehouse):
    asset = AssetFactory(
        company=company, equipment=cpap, location=warehouse, purchase_cost=Decimal("500")
    )
    StockLevelFactory(company=company, equipment=cpap, location=warehouse, on_hand=1)
    return asset


def test_it_ships_then_receives_with_in_transit_between(
    company, mask, warehouse, van, masks_in_stock, unit, cpap
):
    transfer = services.create_transfer(
        from_location=warehouse,
        to_location=van,
        lines=[{"equipment": mask, "quantity": 4}, {"asset": unit}],
    )
    assert transfer.status == TransferStatus.DRAFT
    services.ship_transfer(transfer)
    transfer.refresh_from_db()
    unit.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT
    # Counted at neither end, shown as in transit.
    assert (on_hand(mask, warehouse), on_hand(mask, van)) == (6, 0)
    assert (on_hand(cpap, warehouse), on_hand(cpap, van)) == (0, 0)
    assert (unit.status, unit.location_id) == (AssetStatus.IN_TRANSIT, None)
    assert transfers.in_transit(company.pk) == {(mask.pk, van.pk): 4, (cpap.pk, van.pk): 1}

    services.receive_transfer(transfer)
    unit.refresh_from_db()
    assert (on_hand(mask, warehouse), on_hand(mask, van)) == (6, 4)
    assert on_hand(cpap, van) == 1
    assert (unit.status, unit.location_id) == (AssetStatus.IN_STOCK, van.pk)
    # The cost travels with the stock.
    assert StockLevel.objects.get(equipment=mask, location=van).average_cost == Decimal("40.00")
    assert StockLevel.objects.get(equipment=cpap, location=van).average_cost == Decimal("500.00")
    assert transfers.in_transit(company.pk) == {}
    kinds = list(
        StockMovement.objects.filter(asset=unit)
        .order_by("moved_at")
        .values_list("kind", "quantity")
    )
    assert kinds == [(MovementKind.TRANSFER_OUT, -1), (MovementKind.TRANSFER_IN, 1)]
    with pytest.raises(InvalidTransition):
        services.receive_transfer(transfer)


def test_it_transfers_at_once_between_warehouses(company, mask, warehouse, masks_in_stock):
    other = WarehouseFactory(company=company)
    transfer = services.create_transfer(
        from_location=warehouse, to_location=other, lines=[{"equipment": mask, "quantity": 10}]
    )
    services.transfer_now(transfer)
    assert (on_hand(mask, warehouse), on_hand(mask, other)) == (0, 10)


@pytest.mark.parametrize("step", ["transfer_now", "ship_transfer"])
def test_an_interrupted_transfer_leaves_both_locations_as_they_were(
    monkeypatch, company, mask, warehouse, van, masks_in_stock, unit, cpap, step
):
    transfer = services.create_transfer(
        from_location=warehouse,
        to_location=van,
        lines=[{"equipment": mask, "quantity": 4}, {"asset": unit}],
    )
    calls = {"n": 0}
    real = transfers.record_movement

    def crash_after_first(**kwargs):
        # The first movement is written; the failure strikes before the second.
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("power cut between the movements")
        return real(**kwargs)

    monkeypatch.setattr(transfers, "record_movement", crash_after_first)
    with pytest.raises(RuntimeError):
        getattr(services, step)(transfer)
    transfer.refresh_from_db()
    unit.refresh_from_db()
    assert transfer.status == TransferStatus.DRAFT
    assert (on_hand(mask, warehouse), on_hand(mask, van)) == (10, 0)
    assert (on_hand(cpap, warehouse), on_hand(cpap, van)) == (1, 0)
    assert (unit.status, unit.location_id) == (AssetStatus.IN_STOCK, warehouse.pk)
    assert not StockMovement.objects.exists()


def test_an_interrupted_receipt_leaves_the_transfer_in_transit(
    monkeypatch, company, mask, warehouse, van, masks_in_stock
):
    transfer = services.create_transfer(
        from_location=warehouse, to_location=van, lines=[{"equipment": mask, "quantity": 4}]
    )
    services.ship_transfer(transfer)

    def crash(*args, **kwargs):
        raise RuntimeError("scanner crashed")

    monkeypatch.setattr(transfers, "record_movement", crash)
    with pytest.raises(RuntimeError):
        services.receive_transfer(transfer)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT
    assert (on_hand(mask, warehouse), on_hand(mask, van)) == (6, 0)


def test_it_refuses_what_cannot_move(company, other_company, mask, cpap, warehouse, van, unit):
    StockLevelFactory(company=company, equipment=mask, location=warehouse, on_hand=2)
    with pytest.raises(ServiceError, match="another location"):
        services.create_transfer(
            from_location=warehouse, to_location=warehouse, lines=[{"equipment": mask}]
        )
    with pytest.raises(ServiceError, match="one company"):
        services.create_transfer(
            from_location=warehouse,
            to_location=WarehouseFactory(company=other_company),
            lines=[{"equipment": mask}],
        )
    with pytest.raises(ServiceError, match="serialized"):
        services.create_transfer(
            from_location=warehouse, to_location=van, lines=[{"equipment": cpap}]
        )
    too_many = services.create_transfer(
        from_location=warehouse, to_location=van, lines=[{"equipment": mask, "quantity": 3}]
    )
    with pytest.raises(ServiceError, match="Only 2"):
        services.ship_transfer(too_many)
    services.cancel_transfer(too_many)
    Asset.objects.filter(pk=unit.pk).update(status=AssetStatus.IN_MAINTENANCE)
    elsewhere = services.create_transfer(
        from_location=warehouse, to_location=van, lines=[{"asset": unit}]
    )
    with pytest.raises(ServiceError, match="not in stock"):
        services.ship_transfer(elsewhere)
    assert on_hand(mask, warehouse) == 2
