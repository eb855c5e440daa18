"""Purchasing and receiving: reorder point -> suggested purchase order -> sent ->
partial receipt with serials -> backorder -> final receipt, exact at each step."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.exceptions import InvalidTransition, ServiceError
from dme import services
from dme.choices import AssetStatus, MovementKind, PurchaseOrderStatus
from dme.models import (
    Asset,
    Lot,
    PurchaseOrder,
    Receipt,
    StockLevel,
    StockMovement,
    Vendor,
)
from dme.services.purchasing import ReceiveItem, parse_serials
from dme.services.stock import moving_average
from tests.concurrency import race

from .factories import CPAPFactory, EquipmentFactory, StockLevelFactory, WarehouseFactory
from .inventory_factories import PurchaseOrderFactory, VendorFactory, VendorItemFactory

pytestmark = pytest.mark.django_db


def level(equipment, location):
    return StockLevel.objects.get(equipment=equipment, location=location)


@pytest.fixture
def vendor(company):
    return VendorFactory(company=company, name="Medline", lead_time_days=5)


@pytest.fixture
def cpap_par(company, cpap, warehouse, vendor):
    """A serialized CPAP at its reorder point (2 free, reorder at 2, order 5)."""
    VendorItemFactory(company=company, vendor=vendor, equipment=cpap, unit_cost=Decimal("500"))
    for serial in ("OLD1", "OLD2"):
        services.register_asset(
            Asset(
                company=company,
                equipment=cpap,
                serial_number=serial,
                location=warehouse,
                purchase_cost=Decimal("480"),
            )
        )
    StockLevel.objects.filter(equipment=cpap, location=warehouse).update(
        reorder_point=2, reorder_quantity=5, average_cost=Decimal("480")
    )
    return level(cpap, warehouse)


def test_it_walks_reorder_point_to_final_receipt(company, cpap_par, cpap, warehouse, vendor):
    # Reorder point -> suggested purchase order.
    run = services.suggest_purchase_orders(company)
    assert len(run.created) == 1
    assert run.lines == 1
    po = run.created[0]
    assert po.status == PurchaseOrderStatus.DRAFT
    assert po.suggested
    assert (po.vendor, po.location) == (vendor, warehouse)
    line = po.lines.get()
    assert (line.equipment, line.quantity, line.unit_cost) == (cpap, 5, Decimal("500.00"))
    assert line.expected_date == timezone.localdate() + datetime.timedelta(days=5)
    # A second run proposes nothing: the draft is on order.
    assert services.suggest_purchase_orders(company).created == []

    # Sent.
    po = services.send_purchase_order(po)
    assert po.status == PurchaseOrderStatus.SENT
    assert po.sent_at

    # Partial receipt with serials: 2 of 5, the rest backordered.
    receipt = services.receive_purchase_order(
        po, [ReceiveItem(line.pk, 2, serial_numbers=["NEW1", "NEW2"])]
    )
    po.refresh_from_db()
    line.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTLY_RECEIVED
    assert (line.received_quantity, line.backordered) == (2, 3)
    stock = level(cpap, warehouse)
    assert stock.on_hand == 4
    assert stock.average_cost == Decimal("490.00")  # (2*480 + 2*500) / 4
    new = Asset.objects.filter(serial_number__in=["NEW1", "NEW2"])
    assert {a.status for a in new} == {AssetStatus.IN_STOCK}
    assert {a.location_id for a in new} == {warehouse.pk}
    assert {a.purchase_cost for a in new} == {Decimal("500.00")}
    assert receipt.lines.get().serial_numbers == ["NEW1", "NEW2"]
    assert StockMovement.objects.filter(kind=MovementKind.RECEIPT, asset__in=new).count() == 2
    # Still waiting for 3: the suggestion run counts them as coming.
    assert services.suggest_purchase_orders(company).created == []

    # Final receipt of the backorder, at another cost.
    services.receive_purchase_order(
        po,
        [
            ReceiveItem(
                line.pk,
                3,
                unit_cost=Decimal("530"),
                serial_numbers=parse_serials("new3\nNEW4\n new5 \n"),
            )
        ],
    )
    po.refresh_from_db()
    line.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert (line.received_quantity, line.backordered) == (5, 0)
    stock = level(cpap, warehouse)
    assert stock.on_hand == 7
    assert stock.average_cost == moving_average(4, Decimal("490.00"), 3, Decimal("530"))
    assert stock.average_cost == Decimal("507.14")  # (4*490 + 3*530) / 7
    assert Asset.objects.filter(equipment=cpap, status=AssetStatus.IN_STOCK).count() == 7
    assert Receipt.objects.filter(purchase_order=po).count() == 2
    # Nothing more can come in.
    with pytest.raises(ServiceError):
        services.receive_purchase_order(po, [ReceiveItem(line.pk, 1, serial_numbers=["X"])])


def test_it_refuses_bad_receipts_and_changes_nothing(company, cpap_par, cpap, warehouse, vendor):
    po = services.create_purchase_order(
        vendor=vendor, location=warehouse, lines=[{"equipment": cpap, "quantity": 2}]
    )
    line = po.lines.get()
    with pytest.raises(ServiceError, match="sent"):
        services.receive_purchase_order(po, [ReceiveItem(line.pk, 1, serial_numbers=["A"])])
    services.send_purchase_order(po)
    cases = [
        (ReceiveItem(line.pk, 3, serial_numbers=["A", "B", "C"]), "lines.0.quantity"),
        (ReceiveItem(line.pk, 2, serial_numbers=["A"]), "lines.0.serial_numbers"),
        (ReceiveItem(line.pk, 2, serial_numbers=["A", "A"]), "lines.0.serial_numbers"),
        (ReceiveItem(line.pk, 1, serial_numbers=["OLD1"]), "lines.0.serial_numbers"),
    ]
    for item, field in cases:
        with pytest.raises(ServiceError) as refused:
            services.receive_purchase_order(po, [item])
        assert field in refused.value.fields
    assert level(cpap, warehouse).on_hand == 2
    assert not Receipt.objects.exists()
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT


def test_it_receives_lots_with_expiry(company, warehouse, vendor):
    strips = EquipmentFactory(company=company, name="Test strips", is_lot_tracked=True)
    po = services.create_purchase_order(
        vendor=vendor,
        location=warehouse,
        lines=[{"equipment": strips, "quantity": 10, "unit_cost": Decimal("12.50")}],
    )
    services.send_purchase_order(po)
    line = po.lines.get()
    with pytest.raises(ServiceError) as refused:
        services.receive_purchase_order(po, [ReceiveItem(line.pk, 4)])
    assert {"lines.0.lot_number", "lines.0.expiry_date"} <= set(refused.value.fields)
    expiry = datetime.date(2028, 3, 31)
    services.receive_purchase_order(
        po, [ReceiveItem(line.pk, 4, lot_number="l123", expiry_date=expiry)]
    )
    lot = Lot.objects.get()
    assert (lot.lot_number, lot.expiry_date) == ("L123", expiry)
    assert StockMovement.objects.get(lot=lot).quantity == 4
    assert level(strips, warehouse).on_hand == 4
    # The same lot with another expiry is refused.
    with pytest.raises(ServiceError) as refused:
        services.receive_purchase_order(
            po, [ReceiveItem(line.pk, 1, lot_number="L123", expiry_date=datetime.date(2029, 1, 1))]
        )
    assert "lines.0.expiry_date" in refused.value.fields
    assert level(strips, warehouse).on_hand == 4


def test_purchase_order_transitions(company, vendor, warehouse, mask):
    po = services.create_purchase_order(vendor=vendor, location=warehouse)
    with pytest.raises(ServiceError, match="no lines"):
        services.send_purchase_order(po)
    services.save_po_line(po, po.lines.model(equipment=mask, quantity=3))
    assert po.lines.get().unit_cost == Decimal("0")  # no vendor item: no cost known
    services.send_purchase_order(po)
    with pytest.raises(InvalidTransition):
        services.send_purchase_order(po)
    with pytest.raises(ServiceError, match="draft"):
        services.save_po_line(po, po.lines.model(equipment=mask, quantity=1))
    services.cancel_purchase_order(po)
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        services.cancel_purchase_order(po)


def test_cancelling_a_partly_received_order_closes_the_backorder(company, vendor, warehouse, mask):
    po = services.create_purchase_order(
        vendor=vendor, location=warehouse, lines=[{"equipment": mask, "quantity": 5}]
    )
    services.send_purchase_order(po)
    services.receive_purchase_order(po, [ReceiveItem(po.lines.get().pk, 2)])
    services.cancel_purchase_order(po)
    assert level(mask, warehouse).on_hand == 2
    assert services.purchasing.on_order(company.pk) == {}


def test_suggestions_group_by_preferred_vendor_and_location(company, vendor):
    north, south = WarehouseFactory(company=company), WarehouseFactory(company=company)
    other = VendorFactory(company=company, name="McKesson")
    masks, tubes, beds = (EquipmentFactory(company=company) for _ in range(3))
    VendorItemFactory(company=company, vendor=vendor, equipment=masks)
    VendorItemFactory(company=company, vendor=vendor, equipment=tubes)
    VendorItemFactory(company=company, vendor=other, equipment=beds)
    unsourced = EquipmentFactory(company=company, name="No vendor")
    for item in (masks, tubes, beds, unsourced):
        StockLevelFactory(
            company=company, equipment=item, location=north, on_hand=1, reorder_point=3
        )
    StockLevelFactory(company=company, equipment=masks, location=south, on_hand=3, reorder_point=3)
    # Above its reorder point: not ordered.
    StockLevelFactory(company=company, equipment=tubes, location=south, on_hand=4, reorder_point=3)
    run = services.suggest_purchase_orders(company)
    groups = {
        (po.vendor.name, po.location_id): sorted(line.quantity for line in po.lines.all())
        for po in run.created
    }
    assert groups == {
        ("Medline", north.pk): [5, 5],  # 2 x 3 - 1 each
        ("Medline", south.pk): [3],  # at the reorder point: 2 x 3 - 3
        ("McKesson", north.pk): [5],
    }
    assert run.without_vendor == [str(unsourced)]
    assert "3 purchase order(s) suggested with 4 line(s)" in run.summary()


def test_the_command_suggests_and_reports(company, other_company, vendor, mask, warehouse, capsys):
    VendorItemFactory(company=company, vendor=vendor, equipment=mask)
    StockLevelFactory(
        company=company, equipment=mask, location=warehouse, on_hand=0, reorder_point=2
    )
    call_command("suggest_purchase_orders", "--company", str(company.pk))
    out = capsys.readouterr().out
    assert "1 purchase order(s) suggested with 1 line(s)." in out
    assert PurchaseOrder.objects.filter(company=company).count() == 1
    assert not PurchaseOrder.objects.filter(company=other_company).exists()
    with pytest.raises(CommandError, match="No company"):
        call_command("suggest_purchase_orders", "--company", "00000000-0000-0000-0000-000000000000")


def test_purchase_order_factory_makes_a_draft(company):
    assert PurchaseOrderFactory(company=company).status == PurchaseOrderStatus.DRAFT


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_receipts_stay_exact(postgres_only, company, vendor, warehouse):
    cpap = CPAPFactory(company=company)
    po = services.create_purchase_order(
        vendor=vendor,
        location=warehouse,
        lines=[{"equipment": cpap, "quantity": 4, "unit_cost": Decimal("500")}],
    )
    services.send_purchase_order(po)
    line = po.lines.get()

    def receive(serials):
        return lambda: services.receive_purchase_order(
            PurchaseOrder.objects.get(pk=po.pk), [ReceiveItem(line.pk, 3, serial_numbers=serials)]
        )

    # Two receipts of 3 against 4 due: one goes through, the other is refused whole.
    results = race([receive(["A1", "A2", "A3"]), receive(["B1", "B2", "B3"])])
    assert sorted(type(r).__name__ for r in results) == ["Receipt", "ServiceError"]
    assert level(cpap, warehouse).on_hand == 3
    assert Asset.objects.filter(equipment=cpap).count() == 3
    line.refresh_from_db()
    assert line.received_quantity == 3
    # Then two receipts of 1 and 1... only 1 is due, and each takes a distinct serial.
    results = race(
        [
            lambda: services.receive_purchase_order(
                PurchaseOrder.objects.get(pk=po.pk),
                [ReceiveItem(line.pk, 1, serial_numbers=["C1"])],
            ),
            lambda: services.receive_purchase_order(
                PurchaseOrder.objects.get(pk=po.pk),
                [ReceiveItem(line.pk, 1, serial_numbers=["D1"])],
            ),
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["Receipt", "ServiceError"]
    assert level(cpap, warehouse).on_hand == 4
    assert Asset.objects.filter(equipment=cpap).count() == 4
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED


def test_the_demo_seeds_vendors_and_purchase_orders_once(capsys):
    call_command("seed_demo", allow_production=True)
    call_command("seed_demo", allow_production=True)
    pos = PurchaseOrder.objects.all()
    assert Vendor.objects.count() == 2
    statuses = set(pos.values_list("status", flat=True))
    assert {PurchaseOrderStatus.PARTLY_RECEIVED, PurchaseOrderStatus.DRAFT} <= statuses
    assert Asset.objects.filter(serial_number="AS11P90001", status=AssetStatus.IN_STOCK).exists()
