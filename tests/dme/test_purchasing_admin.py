"""The inventory admin (issue 20): generic tests for every new ModelAdmin, and the new
pages (receive, unit history, serial look-up, valuation, CSV exports), each scoped to
the company (another company's record is a 404) with constant query counts."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core.models import AccessLog
from dme import services
from dme.choices import AssetStatus, PurchaseOrderStatus
from dme.models import (
    Asset,
    CountSheet,
    Lot,
    PurchaseOrder,
    Recall,
    Receipt,
    StockLevel,
    StockMovement,
    Transfer,
    Vendor,
)
from dme.services.purchasing import ReceiveItem
from tests.admin_base import TenantAdminTests

from .factories import (
    AssetFactory,
    CPAPFactory,
    EquipmentFactory,
    StockLevelFactory,
    WarehouseFactory,
)
from .inventory_factories import (
    LotFactory,
    PurchaseOrderFactory,
    RecallFactory,
    VanFactory,
    VendorFactory,
    VendorItemFactory,
)

pytestmark = pytest.mark.django_db


class TestVendorAdmin(TenantAdminTests):
    model = Vendor
    factory = VendorFactory


class TestPurchaseOrderAdmin(TenantAdminTests):
    model = PurchaseOrder
    factory = PurchaseOrderFactory


class TestReceiptAdmin(TenantAdminTests):
    model = Receipt
    add_roles = ()  # recorded by the receive page

    def make(self, company, **fields):
        equipment = EquipmentFactory(company=company)
        po = services.create_purchase_order(
            vendor=VendorFactory(company=company),
            location=WarehouseFactory(company=company),
            lines=[{"equipment": equipment, "quantity": 1}],
        )
        services.send_purchase_order(po)
        return services.receive_purchase_order(po, [ReceiveItem(po.lines.get().pk, 1)])


class TestTransferAdmin(TenantAdminTests):
    model = Transfer

    def make(self, company, **fields):
        return services.create_transfer(
            from_location=WarehouseFactory(company=company),
            to_location=VanFactory(company=company),
            lines=[{"equipment": EquipmentFactory(company=company), "quantity": 1}],
        )


class TestLotAdmin(TenantAdminTests):
    model = Lot
    factory = LotFactory


class TestRecallAdmin(TenantAdminTests):
    model = Recall
    factory = RecallFactory


class TestStockMovementAdmin(TenantAdminTests):
    model = StockMovement
    add_roles = ()
    change_roles = ()

    def make(self, company, **fields):
        level = StockLevelFactory(company=company)
        return services.stock.record_movement(
            company_id=company.pk,
            kind="count",
            equipment_id=level.equipment_id,
            location_id=level.location_id,
            quantity=1,
        )


class TestCountSheetAdmin(TenantAdminTests):
    model = CountSheet

    def make(self, company, **fields):
        level = StockLevelFactory(company=company)
        return services.open_count_sheet(level.location)


# The receive page ---------------------------------------------------------------------


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas[Role.ADMINISTRATOR])
    return client


@pytest.fixture
def sent_po(company, warehouse):
    cpap = CPAPFactory(company=company)
    strips = EquipmentFactory(company=company, name="Strips", is_lot_tracked=True)
    po = services.create_purchase_order(
        vendor=VendorFactory(company=company),
        location=warehouse,
        lines=[
            {"equipment": cpap, "quantity": 3, "unit_cost": Decimal("500")},
            {"equipment": strips, "quantity": 20, "unit_cost": Decimal("10")},
        ],
    )
    return services.send_purchase_order(po)


def receive_url(po):
    return reverse("admin:dme_purchaseorder_receive", args=[po.pk])


def test_the_receive_page_takes_one_scan_per_field_with_the_nonced_script(admin_client, sent_po):
    response = admin_client.get(receive_url(sent_po))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-scan="1"') == 3 + 1 + 1  # 3 serials, strips quantity and lot
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script src="/static/dme/scan.js" nonce="{nonce}">' in html
    assert "cdn" not in html.lower()


def test_the_receive_page_records_a_partial_receipt(admin_client, sent_po, warehouse):
    cpap_line, strip_line = sent_po.lines.order_by("created_at", "id")
    data = {
        "packing_slip": "PS-1",
        "line_0_serial_0": "sc001",
        "line_0_serial_1": "SC002",
        "line_0_serial_2": "",
        "line_0_cost": "510.00",
        "line_1_quantity": "20",
        "line_1_lot": "L9",
        "line_1_expiry": "2028-05-31",
        "line_1_cost": "10.00",
    }
    response = admin_client.post(receive_url(sent_po), data)
    assert response.status_code == 302, response.context["form"].errors
    sent_po.refresh_from_db()
    assert sent_po.status == PurchaseOrderStatus.PARTLY_RECEIVED
    assert set(Asset.objects.values_list("serial_number", flat=True)) == {"SC001", "SC002"}
    assert StockLevel.objects.get(equipment=strip_line.equipment).on_hand == 20
    assert StockLevel.objects.get(equipment=cpap_line.equipment).average_cost == Decimal("510.00")
    # The page now offers the one CPAP still due.
    page = admin_client.get(receive_url(sent_po)).content.decode()
    assert page.count('data-scan="1"') == 1


def test_the_receive_page_shows_refusals_beside_the_fields(admin_client, sent_po):
    data = {
        "line_0_serial_0": "",
        "line_1_quantity": "5",
        "line_1_lot": "",
        "line_1_cost": "10.00",
        "line_0_cost": "500",
    }
    response = admin_client.post(receive_url(sent_po), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "line_1_lot" in form.errors
    assert "line_1_expiry" in form.errors
    assert not Receipt.objects.exists()


def test_the_new_pages_are_404_for_another_company(client, outsider, sent_po, company, warehouse):
    asset = AssetFactory(company=company, location=warehouse)
    sheet = services.open_count_sheet(
        StockLevelFactory(company=company, location=warehouse).location
    )
    client.force_login(outsider)
    for url in (
        receive_url(sent_po),
        reverse("admin:dme_asset_life", args=[asset.pk]),
        reverse("admin:dme_countsheet_csv", args=[sheet.pk]),
        reverse("admin:dme_stock_valuation") + f"?location={warehouse.pk}",
    ):
        assert client.get(url).status_code == 404, url


def test_the_unit_history_runs_from_receipt_to_today(admin_client, sent_po, personas):
    line = sent_po.lines.order_by("created_at", "id").first()
    services.receive_purchase_order(sent_po, [ReceiveItem(line.pk, 1, serial_numbers=["H1"])])
    unit = Asset.objects.get(serial_number="H1")
    services.change_unit_life(unit, AssetStatus.LOST, reason="Not on the shelf")
    url = reverse("admin:dme_asset_life", args=[unit.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    texts = [(e.source, e.text) for e in response.context["events"]]
    assert texts[0][0] == "Received from a vendor"
    assert any("in_stock -> lost" in text or "In stock -> Lost" in text for _, text in texts), texts
    assert AccessLog.objects.filter(object_id=str(unit.pk)).exists()


def test_the_serial_lookup_finds_recalls_in_the_company_only(
    admin_client, company, other_company, warehouse
):
    cpap = CPAPFactory(company=company, manufacturer="ResMed", model_number="AirSense 10")
    AssetFactory(company=company, equipment=cpap, location=warehouse, serial_number="SN00000005")
    recall = RecallFactory(company=company)
    RecallFactory(company=other_company, reference="THEIRS")
    response = admin_client.get(reverse("admin:dme_recall_lookup") + "?serial=sn00000005")
    assert response.status_code == 200
    [hit] = response.context["found"]
    assert hit.recalls == [recall]
    assert "THEIRS" not in response.content.decode()


def test_the_valuation_report_and_its_csv(admin_client, company, other_company, warehouse):
    mask = EquipmentFactory(company=company, name="Mask", hcpcs_code="A7030")
    StockLevelFactory(
        company=company, equipment=mask, location=warehouse, on_hand=3, average_cost=Decimal("40")
    )
    StockLevelFactory(company=other_company, on_hand=9, average_cost=Decimal("99"))
    url = reverse("admin:dme_stock_valuation")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["grand_total"] == Decimal("120.00")
    csv = admin_client.get(url + "?format=csv").content.decode().splitlines()
    assert csv == [
        "location,hcpcs_code,item,on_hand,average_cost,value",
        "Groveport Warehouse,A7030,Mask,3,40.00,120.00",
    ]
    for _ in range(10):
        StockLevelFactory(company=company, location=warehouse)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(10):
        StockLevelFactory(company=company, location=warehouse)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)
    assert len(many) == len(few)


def test_a_count_sheet_is_counted_posted_and_exported(admin_client, company, warehouse, personas):
    mask = EquipmentFactory(company=company, name="Mask")
    StockLevelFactory(company=company, equipment=mask, location=warehouse, on_hand=10)
    response = admin_client.post(
        reverse("admin:dme_countsheet_add"), {"location": warehouse.pk, "notes": ""}
    )
    assert response.status_code == 302
    sheet = CountSheet.objects.get()
    line = sheet.lines.get()
    assert line.expected_quantity == 10
    services.record_count(line, 8, reason="Two damaged")
    response = admin_client.post(
        reverse("admin:dme_countsheet_changelist"),
        {"action": "post", "_selected_action": [sheet.pk]},
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(equipment=mask).on_hand == 8
    csv = admin_client.get(reverse("admin:dme_countsheet_csv", args=[sheet.pk])).content.decode()
    assert "Mask,10,8,-2,Two damaged" in csv


def test_the_vendor_action_suggests_purchase_orders(admin_client, company, warehouse):
    vendor = VendorFactory(company=company)
    mask = EquipmentFactory(company=company)
    VendorItemFactory(company=company, vendor=vendor, equipment=mask)
    StockLevelFactory(
        company=company, equipment=mask, location=warehouse, on_hand=0, reorder_point=4
    )
    response = admin_client.post(
        reverse("admin:dme_vendor_changelist"),
        {"action": "suggest", "_selected_action": [vendor.pk]},
    )
    assert response.status_code == 302
    po = PurchaseOrder.objects.get()
    assert (po.vendor, po.lines.get().quantity) == (vendor, 8)


def test_the_unit_life_action_lends_a_unit(admin_client, company, warehouse):
    from tests.clinical.factories import PatientFactory

    patient = PatientFactory(company=company)
    unit = AssetFactory(company=company, location=warehouse)
    StockLevelFactory(company=company, equipment=unit.equipment, location=warehouse, on_hand=1)
    response = admin_client.post(
        reverse("admin:dme_asset_changelist"),
        {
            "action": "change_life",
            "_selected_action": [unit.pk],
            "apply": "1",
            "status": AssetStatus.ON_LOAN,
            "reason": "Loaner while theirs is repaired",
            "patient_number": patient.number.lower(),
        },
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert (unit.status, unit.patient_id) == (AssetStatus.ON_LOAN, patient.pk)
