"""The inventory API (issue 20): the generic endpoint tests for every new resource
(another company's record a 404 on every verb, constant query counts), and the
workflow actions: suggest, send, receive with serials, transfer, count, unit life."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from accounts.choices import Role
from dme import services
from dme.choices import AssetStatus, PurchaseOrderStatus, TransferStatus
from dme.models import (
    Asset,
    CountSheet,
    PurchaseOrder,
    Receipt,
    StockLevel,
    StockMovement,
    Transfer,
)
from dme.services.purchasing import ReceiveItem
from tests.api_base import TenantAPITests
from tests.factories import member

from .factories import (
    AssetFactory,
    CPAPFactory,
    EquipmentFactory,
    StockLevelFactory,
    WarehouseFactory,
)
from .inventory_factories import (
    PurchaseOrderFactory,
    RecallFactory,
    VanFactory,
    VendorFactory,
    VendorItemFactory,
)

pytestmark = pytest.mark.django_db


def made_by_services(model):
    """What the generic base reads of a factory (``factory._meta.model``), for rows the
    tests create through the services (``make``) rather than a factory."""
    return SimpleNamespace(_meta=SimpleNamespace(model=model))


class ReadOnlyAPITests(TenantAPITests):
    deletable = False

    def create_data(self, company):
        return {}

    def update_data(self, obj):
        return {}

    def test_it_creates(self, company, writer, api_client_for):
        assert api_client_for(writer).post(self.list_url(), {}, format="json").status_code == 405

    def test_it_updates(self, company, writer, api_client_for):
        obj = self.make(company)
        response = api_client_for(writer).patch(self.detail_url(obj), {}, format="json")
        assert response.status_code == 405


class TestVendorAPI(TenantAPITests):
    basename = "vendor"
    factory = VendorFactory

    def create_data(self, company):
        return {"name": "Drive Medical", "terms": "Net 45", "lead_time_days": 10}

    def update_data(self, obj):
        return {"lead_time_days": 3}


class TestVendorItemAPI(TenantAPITests):
    basename = "vendoritem"
    factory = VendorItemFactory

    def create_data(self, company):
        return {
            "vendor": str(VendorFactory(company=company).pk),
            "equipment": str(EquipmentFactory(company=company).pk),
            "unit_cost": "12.00",
        }

    def update_data(self, obj):
        return {"unit_cost": "13.00"}


class TestPurchaseOrderAPI(TenantAPITests):
    basename = "purchaseorder"
    factory = PurchaseOrderFactory
    deletable = False

    def create_data(self, company):
        return {
            "vendor": str(VendorFactory(company=company).pk),
            "location": str(WarehouseFactory(company=company).pk),
            "new_lines": [{"equipment": str(EquipmentFactory(company=company).pk), "quantity": 4}],
        }

    def update_data(self, obj):
        return {"notes": "Deliver to dock 2."}


def received_receipt(company):
    po = services.create_purchase_order(
        vendor=VendorFactory(company=company),
        location=WarehouseFactory(company=company),
        lines=[{"equipment": EquipmentFactory(company=company), "quantity": 1}],
    )
    services.send_purchase_order(po)
    return services.receive_purchase_order(po, [ReceiveItem(po.lines.get().pk, 1)])


class TestReceiptAPI(ReadOnlyAPITests):
    basename = "receipt"

    factory = made_by_services(Receipt)

    def make(self, company, **fields):
        return received_receipt(company)


class TestTransferAPI(TenantAPITests):
    basename = "transfer"
    deletable = False

    factory = made_by_services(Transfer)

    def make(self, company, **fields):
        return services.create_transfer(
            from_location=WarehouseFactory(company=company),
            to_location=VanFactory(company=company),
            lines=[{"equipment": EquipmentFactory(company=company), "quantity": 1}],
        )

    def create_data(self, company):
        return {
            "from_location": str(WarehouseFactory(company=company).pk),
            "to_location": str(VanFactory(company=company).pk),
            "new_lines": [{"equipment": str(EquipmentFactory(company=company).pk), "quantity": 2}],
        }

    def update_data(self, obj):
        return {"notes": "Van 7 for Tuesday"}


class TestRecallAPI(TenantAPITests):
    basename = "recall"
    factory = RecallFactory

    def create_data(self, company):
        return {
            "manufacturer": "Philips",
            "model_number": "DreamStation",
            "serial_numbers": ["P1", "P2"],
            "notice": "Foam degradation: stop using.",
        }

    def update_data(self, obj):
        return {"reference": "Z-9"}


class TestStockMovementAPI(ReadOnlyAPITests):
    basename = "stockmovement"

    factory = made_by_services(StockMovement)

    def make(self, company, **fields):
        level = StockLevelFactory(company=company)
        return services.stock.record_movement(
            company_id=company.pk,
            kind="count",
            equipment_id=level.equipment_id,
            location_id=level.location_id,
            quantity=1,
        )


class TestCountSheetAPI(TenantAPITests):
    basename = "countsheet"
    deletable = False

    factory = made_by_services(CountSheet)

    def make(self, company, **fields):
        return services.open_count_sheet(StockLevelFactory(company=company).location)

    def create_data(self, company):
        return {"location": str(StockLevelFactory(company=company).location_id)}

    def update_data(self, obj):
        return {"notes": "Aisle 3 first"}


# Workflow --------------------------------------------------------------------------------


@pytest.fixture
def writer(company):
    return member(company, Role.WAREHOUSE, email="wh@a.test")


def test_it_walks_suggest_send_receive_over_the_api(company, writer, api_client_for, warehouse):
    client = api_client_for(writer)
    cpap = CPAPFactory(company=company)
    vendor = VendorFactory(company=company)
    VendorItemFactory(company=company, vendor=vendor, equipment=cpap, unit_cost=Decimal("450"))
    StockLevelFactory(
        company=company, equipment=cpap, location=warehouse, on_hand=0, reorder_point=1
    )
    response = client.post(reverse("api:vendor-suggest"), format="json")
    assert response.status_code == 201, response.content
    [po_id] = response.json()["created"]
    po = PurchaseOrder.objects.get(pk=po_id)
    line = po.lines.get()
    assert line.quantity == 2
    assert client.post(reverse("api:purchaseorder-send", args=[po.pk])).json()["status"] == "sent"
    url = reverse("api:purchaseorder-receive", args=[po.pk])
    bad = client.post(url, {"lines": [{"line": str(line.pk), "quantity": 2}]}, format="json")
    assert bad.status_code == 400
    assert "lines.0.serial_numbers" in bad.json()["error"]["fields"]
    ok = client.post(
        url, {"lines": [{"line": str(line.pk), "serial_numbers": ["a1"]}]}, format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["lines"][0]["serial_numbers"] == ["A1"]
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTLY_RECEIVED
    assert StockLevel.objects.get(equipment=cpap).on_hand == 1
    level = client.get(reverse("api:stocklevel-list"), {"equipment": str(cpap.pk)}).json()
    assert level["results"][0]["value"] == "450.00"


def test_the_actions_are_404_for_another_company(company, outsider, api_client_for, warehouse):
    po = PurchaseOrderFactory(company=company)
    transfer = services.create_transfer(
        from_location=warehouse,
        to_location=VanFactory(company=company),
        lines=[{"equipment": EquipmentFactory(company=company), "quantity": 1}],
    )
    sheet = services.open_count_sheet(
        StockLevelFactory(company=company, location=warehouse).location
    )
    asset = AssetFactory(company=company, location=warehouse)
    client = api_client_for(outsider)
    for name, pk in [
        ("purchaseorder-send", po.pk),
        ("purchaseorder-receive", po.pk),
        ("purchaseorder-cancel", po.pk),
        ("transfer-ship", transfer.pk),
        ("transfer-receive", transfer.pk),
        ("transfer-transfer-now", transfer.pk),
        ("transfer-cancel", transfer.pk),
        ("countsheet-count", sheet.pk),
        ("countsheet-post", sheet.pk),
        ("countsheet-cancel", sheet.pk),
        ("asset-life", asset.pk),
    ]:
        assert client.post(reverse(f"api:{name}", args=[pk]), {}, format="json").status_code == 404
    assert client.get(reverse("api:asset-history", args=[asset.pk])).status_code == 404
    # The look-up and the suggestion run see only the outsider's company.
    assert client.get(reverse("api:recall-lookup"), {"serial": asset.serial_number}).json() == []


def test_transfer_ship_and_receive_over_the_api(company, writer, api_client_for, warehouse):
    client = api_client_for(writer)
    mask = EquipmentFactory(company=company)
    StockLevelFactory(company=company, equipment=mask, location=warehouse, on_hand=5)
    van = VanFactory(company=company)
    created = client.post(
        reverse("api:transfer-list"),
        {
            "from_location": str(warehouse.pk),
            "to_location": str(van.pk),
            "new_lines": [{"equipment": str(mask.pk), "quantity": 2}],
        },
        format="json",
    ).json()
    shipped = client.post(reverse("api:transfer-ship", args=[created["id"]])).json()
    assert shipped["status"] == TransferStatus.IN_TRANSIT
    listed = client.get(reverse("api:transfer-list"), {"status": "in_transit"}).json()
    assert [row["id"] for row in listed["results"]] == [created["id"]]
    client.post(reverse("api:transfer-receive", args=[created["id"]]))
    assert StockLevel.objects.get(equipment=mask, location=van).on_hand == 2
    too_many = client.post(
        reverse("api:transfer-list"),
        {
            "from_location": str(warehouse.pk),
            "to_location": str(van.pk),
            "new_lines": [{"equipment": str(mask.pk), "quantity": 9}],
        },
        format="json",
    ).json()
    response = client.post(reverse("api:transfer-transfer-now", args=[too_many["id"]]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_stock"


def test_count_and_post_over_the_api(company, writer, api_client_for, warehouse):
    client = api_client_for(writer)
    mask = EquipmentFactory(company=company)
    StockLevelFactory(company=company, equipment=mask, location=warehouse, on_hand=5)
    sheet = client.post(
        reverse("api:countsheet-list"), {"location": str(warehouse.pk)}, format="json"
    ).json()
    line = sheet["lines"][0]
    assert line["expected_quantity"] == 5
    url = reverse("api:countsheet-post", args=[sheet["id"]])
    assert client.post(url).status_code == 400  # not counted yet
    client.post(
        reverse("api:countsheet-count", args=[sheet["id"]]),
        {"lines": [{"line": line["id"], "counted_quantity": 7, "reason": "Found a case"}]},
        format="json",
    )
    assert client.post(url).json()["status"] == "posted"
    assert StockLevel.objects.get(equipment=mask).on_hand == 7


def test_unit_life_and_history_over_the_api(company, writer, api_client_for, warehouse):
    client = api_client_for(writer)
    unit = AssetFactory(company=company, location=warehouse, serial_number="SN00000001")
    StockLevelFactory(company=company, equipment=unit.equipment, location=warehouse, on_hand=1)
    RecallFactory(company=company, model_number=unit.equipment.model_number)
    response = client.post(
        reverse("api:asset-life", args=[unit.pk]),
        {"status": "junked", "reason": "Cracked housing"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Asset.objects.get(pk=unit.pk).status == AssetStatus.JUNKED
    history = client.get(reverse("api:asset-history", args=[unit.pk])).json()
    assert any("junked" in event["text"] for event in history), history
    found = client.get(reverse("api:recall-lookup"), {"serial": "sn00000001"}).json()
    assert len(found) == 1
    assert len(found[0]["recalls"]) == 1
    assert client.get(reverse("api:recall-lookup")).status_code == 400
