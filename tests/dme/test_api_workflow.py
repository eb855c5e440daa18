"""The order -> confirm -> deliver (with proof) -> rental -> return path through the
API, Idempotency-Key replays on the stock-moving actions, and the API's refusals."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from dme import services
from dme.choices import AssetStatus, LineKind, OrderStatus, RentalStatus
from dme.models import Asset, Order, Rental, StockLevel
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.dme.factories import (
    EquipmentFactory,
    OrderLineFactory,
    StockLevelFactory,
    order_with_lines,
    stock,
    units,
)
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def url(name, *args):
    return reverse(f"api:{name}", args=args)


@pytest.fixture
def clients(personas, api_client_for):
    return {role: api_client_for(user) for role, user in personas.items()}


def test_the_full_path_through_the_api(company, clients, personas, warehouse, driver):
    admin, intake, warehouse_staff = (
        clients[Role.ADMINISTRATOR],
        clients[Role.INTAKE],
        clients[Role.WAREHOUSE],
    )
    # The catalogue and stock: a CPAP (serialized, capped rental) and a mask (supply).
    cpap = admin.post(
        url("equipment-list"),
        {
            "name": "AirSense 11",
            "hcpcs_code": "E0601",
            "category": "cpap_bipap",
            "manufacturer": "ResMed",
            "model_number": "AirSense 11 AutoSet",
            "billing_kind": "capped_rental",
            "purchase_price": "850.00",
            "monthly_rental_fee": "85.00",
            "is_serialized": True,
        },
        format="json",
    ).json()
    mask = admin.post(
        url("equipment-list"),
        {
            "name": "AirFit F20",
            "hcpcs_code": "A7030",
            "category": "respiratory_supplies",
            "manufacturer": "ResMed",
            "model_number": "F20 Medium",
            "billing_kind": "supply",
            "purchase_price": "165.00",
        },
        format="json",
    ).json()
    created = warehouse_staff.post(
        url("stocklevel-list"),
        {"equipment": mask["id"], "location": str(warehouse.pk), "on_hand": 10},
        format="json",
    )
    assert created.status_code == 201, created.content
    for serial in ("23154D44851", "23154D44852"):
        response = warehouse_staff.post(
            url("asset-list"),
            {"equipment": cpap["id"], "serial_number": serial, "location": str(warehouse.pk)},
            format="json",
        )
        assert response.status_code == 201, response.content
    cpap_stock = StockLevel.objects.get(equipment_id=cpap["id"])
    assert (cpap_stock.on_hand, cpap_stock.reserved) == (2, 0)

    # Intake enters the written order with its lines, verifies and confirms it.
    patient, prescriber = PatientFactory(company=company), ProviderFactory(company=company)
    response = intake.post(
        url("order-list"),
        {
            "patient": str(patient.pk),
            "prescriber": str(prescriber.pk),
            "location": str(warehouse.pk),
            "written_order_date": str(TODAY() - datetime.timedelta(days=2)),
            "prescriber_signed_on": str(TODAY() - datetime.timedelta(days=1)),
            "lines": [
                {"equipment": cpap["id"], "kind": "rental", "modifiers": ["RR", "KH"]},
                {"equipment": mask["id"], "quantity": 2},
            ],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-order-1",
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert intake.post(url("order-verify", order["id"])).json()["status"] == "verified"

    confirm = intake.post(url("order-confirm", order["id"]), HTTP_IDEMPOTENCY_KEY="confirm-1")
    assert confirm.status_code == 200, confirm.content
    assert confirm.json()["status"] == "confirmed"
    replay = intake.post(url("order-confirm", order["id"]), HTTP_IDEMPOTENCY_KEY="confirm-1")
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == confirm.json()
    # Without the key, a second confirmation is refused: the order is already confirmed.
    again = intake.post(url("order-confirm", order["id"]))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert StockLevel.objects.get(equipment_id=mask["id"]).reserved == 2
    cpap_stock.refresh_from_db()
    assert cpap_stock.reserved == 1

    # The warehouse schedules and completes the delivery with the proof.
    response = warehouse_staff.post(
        url("delivery-list"),
        {
            "order": order["id"],
            "scheduled_date": str(TODAY()),
            "window_start": "09:00",
            "window_end": "12:00",
            "driver": str(driver.pk),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    delivery = response.json()
    assert delivery["address"] == "742 Evergreen Terrace\nColumbus, OH 43215"
    lines = {str(line["equipment"]): str(line["id"]) for line in order["lines"]}
    serial = Asset.objects.get(status=AssetStatus.RESERVED).serial_number
    proof = {
        "delivered_on": str(TODAY()),
        "signer_name": "Maria Lopez",
        "signer_relationship": "spouse",
        "signature_image": "data:image/png;base64,iVBORw0KGgo=",
        "items": [
            {
                "order_line": lines[cpap["id"]],
                "quantity": 1,
                "serial_numbers": [serial],
            },
            {"order_line": lines[mask["id"]], "quantity": 2},
        ],
    }
    complete = warehouse_staff.post(
        url("delivery-complete", delivery["id"]),
        proof,
        format="json",
        HTTP_IDEMPOTENCY_KEY="pod-1",
    )
    assert complete.status_code == 200, complete.content
    body = complete.json()
    assert body["status"] == "delivered"
    assert body["patient_name"] == patient.full_name
    assert body["has_signature"] is True
    assert body["signature_image"] == "data:image/png;base64,iVBORw0KGgo="
    assert [item["serial_numbers"] for item in body["items"]] == [[serial], []]
    replay = warehouse_staff.post(
        url("delivery-complete", delivery["id"]), proof, format="json", HTTP_IDEMPOTENCY_KEY="pod-1"
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == body
    other_body = warehouse_staff.post(
        url("delivery-complete", delivery["id"]),
        {**proof, "signer_name": "Someone Else"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pod-1",
    )
    assert other_body.status_code == 422
    mask_stock = StockLevel.objects.get(equipment_id=mask["id"])
    assert (mask_stock.on_hand, mask_stock.reserved) == (8, 0)
    cpap_stock.refresh_from_db()
    assert (cpap_stock.on_hand, cpap_stock.reserved) == (1, 0)

    # The rental started on the delivery date; the pickup sends the unit to maintenance.
    rentals = warehouse_staff.get(url("rental-list"), {"patient": str(patient.pk)}).json()
    assert [(r["status"], r["start_date"], r["cap_months"]) for r in rentals["results"]] == [
        ("active", str(TODAY()), 13)
    ]
    rental_id = rentals["results"][0]["id"]
    returned = warehouse_staff.post(
        url("rental-return", rental_id),
        {"location": str(warehouse.pk), "notes": "Good condition"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="return-1",
    )
    assert returned.status_code == 200, returned.content
    assert returned.json()["status"] == "returned"
    assert returned.json()["picked_up_by"] == str(personas[Role.WAREHOUSE].pk)
    unit = Asset.objects.get(serial_number=serial)
    assert (unit.status, unit.location_id, unit.patient_id) == (
        AssetStatus.IN_MAINTENANCE,
        warehouse.pk,
        None,
    )
    log = warehouse_staff.get(url("asset-maintenance", unit.pk)).json()
    assert [entry["kind"] for entry in log] == ["return"]
    back = warehouse_staff.post(url("asset-return-to-stock", unit.pk), {}, format="json")
    assert back.json()["status"] == "in_stock"
    cpap_stock.refresh_from_db()
    assert (cpap_stock.on_hand, cpap_stock.reserved) == (2, 0)
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.DELIVERED


def test_nested_line_errors_point_at_the_line_and_field(company, clients, warehouse):
    cpap = EquipmentFactory(company=company, hcpcs_code="E0601", billing_kind="capped_rental")
    other = EquipmentFactory(company=CompanyFactory())
    response = clients[Role.INTAKE].post(
        url("order-list"),
        {
            "patient": str(PatientFactory(company=company).pk),
            "prescriber": str(ProviderFactory(company=company).pk),
            "location": str(warehouse.pk),
            "written_order_date": str(TODAY()),
            "lines": [
                {"equipment": str(cpap.pk), "kind": "rental", "modifiers": ["RR"]},
                {"equipment": str(cpap.pk), "quantity": 0, "modifiers": ["NU", "KX", "GA"]},
                {"equipment": str(other.pk)},
                {"equipment": str(cpap.pk), "kind": "rental"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    # Errors are keyed by the index of the failing line: lines[1].quantity...
    lines = response.json()["error"]["fields"]["lines"]
    assert set(lines) == {"1", "2", "3"}
    assert lines["1"]["quantity"] == ["The quantity must be at least 1."]
    assert "KX cannot be combined with GA" in lines["1"]["modifiers"][0]
    assert "does not exist" in lines["2"]["equipment"][0]
    assert lines["3"]["modifiers"] == ["A rental line needs the RR modifier."]
    assert not Order.objects.exists()


def test_an_order_needs_lines(company, clients, warehouse):
    response = clients[Role.INTAKE].post(
        url("order-list"),
        {
            "patient": str(PatientFactory(company=company).pk),
            "prescriber": str(ProviderFactory(company=company).pk),
            "location": str(warehouse.pk),
            "written_order_date": str(TODAY()),
            "lines": [],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["lines"] == ["An order needs at least one line."]


def test_a_short_confirmation_is_a_400_naming_the_line(company, clients, warehouse, mask):
    stock(mask, warehouse, 1)
    order = order_with_lines(company, warehouse, (mask, 3, LineKind.PURCHASE))
    response = clients[Role.INTAKE].post(url("order-confirm", order.pk), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["message"] == (
        "Not enough Full face mask A7030 at Groveport Warehouse: 3 requested, 1 available."
    )
    # A refusal stores nothing: the same key may be retried once stock arrives.
    services.adjust_stock(StockLevel.objects.get(), 2, reason="Delivery from vendor")
    retried = clients[Role.INTAKE].post(url("order-confirm", order.pk), HTTP_IDEMPOTENCY_KEY="k")
    assert retried.status_code == 200


def test_supplier_staff_cannot_sign_through_the_api(company, clients, warehouse, mask, driver):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY(), driver=driver)
    line = order.lines.get()
    response = clients[Role.WAREHOUSE].post(
        url("delivery-complete", delivery.pk),
        {
            "signer_name": "Dana Driver",
            "signer_relationship": "supplier_staff",
            "items": [{"order_line": str(line.pk), "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["signer_relationship"][0].startswith("Supplier staff may never sign")
    assert "member of our staff" in fields["signer_name"][0]
    delivery.refresh_from_db()
    assert delivery.status == "scheduled"


def test_deliveries_of_unconfirmed_orders_are_refused(company, clients, warehouse, mask):
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    response = clients[Role.WAREHOUSE].post(
        url("delivery-list"), {"order": str(order.pk), "scheduled_date": str(TODAY())}
    )
    assert response.status_code == 409
    assert "confirm it first" in response.json()["error"]["message"]


def test_lines_of_confirmed_orders_cannot_change(company, clients, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    line = order.lines.get()
    client = clients[Role.INTAKE]
    changed = client.patch(url("orderline-detail", line.pk), {"quantity": 5}, format="json")
    assert changed.status_code == 400
    assert changed.json()["error"]["code"] == "order_locked"
    added = client.post(
        url("orderline-list"), {"order": str(order.pk), "equipment": str(mask.pk)}, format="json"
    )
    assert added.status_code == 400
    assert client.delete(url("orderline-detail", line.pk)).status_code == 400
    line.refresh_from_db()
    assert line.quantity == 1


def test_low_stock_filter(company, clients, warehouse):
    low = StockLevelFactory(company=company, location=warehouse, on_hand=3, reorder_point=4)
    StockLevelFactory(company=company, location=warehouse, on_hand=10, reorder_point=4)
    response = clients[Role.WAREHOUSE].get(url("stocklevel-list"), {"low": "true"})
    assert [row["id"] for row in response.json()["results"]] == [str(low.pk)]
    assert response.json()["results"][0]["is_low"] is True


def test_stock_adjustments(company, clients, warehouse, mask):
    level = stock(mask, warehouse, 5)
    client = clients[Role.WAREHOUSE]
    response = client.post(
        url("stocklevel-adjust", level.pk),
        {"delta": -7, "reason": "Cycle count"},
        format="json",
    )
    assert response.status_code == 400
    assert "only 5 are free" in response.json()["error"]["message"]
    response = client.post(
        url("stocklevel-adjust", level.pk),
        {"delta": 4, "reason": "Received PO 1182"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="po-1182",
    )
    assert response.json()["on_hand"] == 9
    client.post(
        url("stocklevel-adjust", level.pk),
        {"delta": 4, "reason": "Received PO 1182"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="po-1182",
    )
    level.refresh_from_db()
    assert level.on_hand == 9
    # on_hand is not writable after creation: only adjustments move it.
    client.patch(url("stocklevel-detail", level.pk), {"on_hand": 100}, format="json")
    level.refresh_from_db()
    assert level.on_hand == 9


def test_orders_filter_by_status_equipment_and_hcpcs(company, clients, warehouse, mask, cpap):
    with_mask = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    with_cpap = order_with_lines(company, warehouse, (cpap, 1, LineKind.RENTAL), status="received")
    OrderLineFactory(company=company, order=with_cpap, equipment=cpap, kind=LineKind.RENTAL)
    client = clients[Role.INTAKE]

    def ids(**params):
        response = client.get(url("order-list"), params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(status="verified") == {str(with_mask.pk)}
    assert ids(equipment=str(cpap.pk)) == {str(with_cpap.pk)}
    assert ids(hcpcs="e0601") == {str(with_cpap.pk)}
    assert ids(written_order_date_after=str(TODAY())) == set()
    assert ids(search=with_mask.number) == {str(with_mask.pk)}


def test_capped_and_returned_rentals_filter(company, clients, warehouse, cpap):
    units(cpap, warehouse, 1)
    order = order_with_lines(company, warehouse, (cpap, 1, LineKind.RENTAL))
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY())
    services.complete_delivery(
        delivery,
        delivered_on=TODAY(),
        signer_name="Pat Doe",
        signer_relationship="patient",
        items=[
            {
                "order_line": order.lines.get(),
                "quantity": 1,
                "serial_numbers": [Asset.objects.get().serial_number],
            }
        ],
    )
    services.cap_rental(Rental.objects.get())
    client = clients[Role.BILLING]
    response = client.get(url("rental-list"), {"status": RentalStatus.CAPPED})
    assert len(response.json()["results"]) == 1
    assert client.get(url("rental-list"), {"status": "active"}).json()["results"] == []


def test_a_delivered_order_keeps_its_written_order(company, clients, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY())
    services.complete_delivery(
        delivery,
        delivered_on=TODAY(),
        signer_name="Pat Doe",
        signer_relationship="patient",
        items=[{"order_line": order.lines.get(), "quantity": 1}],
    )
    written = order.written_order_date
    response = clients[Role.INTAKE].patch(
        url("order-detail", order.pk),
        {"written_order_date": str(TODAY()), "notes": "Called to check the fit."},
        format="json",
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.written_order_date, order.notes) == (written, "Called to check the fit.")
