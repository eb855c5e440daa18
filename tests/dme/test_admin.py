"""The DME admin: the full path through its actions and the proof-of-delivery page,
per-row action results, the low-stock filter, asset history, and changelists whose
query count does not grow with the rows."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.models import AccessLog
from dme import services
from dme.choices import AssetStatus, DeliveryStatus, LineKind, OrderStatus, RentalStatus
from dme.models import Asset, Delivery, Order, Rental, StockLevel
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.dme.factories import (
    AssetFactory,
    DeliveryFactory,
    EquipmentFactory,
    OrderLineFactory,
    RentalFactory,
    StockLevelFactory,
    order_with_lines,
    stock,
    units,
)
from tests.factories import member

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def changelist(model):
    return reverse(f"admin:dme_{model}_changelist")


def run_action(client, model, action, objects, **data):
    return client.post(
        changelist(model),
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **data},
    )


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# The full path -----------------------------------------------------------------------


def test_the_full_path_through_the_admin(company, staff_client, warehouse, mask, cpap, driver):
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 2)
    patient, prescriber = PatientFactory(company=company), ProviderFactory(company=company)

    # Order entry: the order and its lines on one page.
    response = staff_client.post(
        reverse("admin:dme_order_add"),
        {
            "patient": str(patient.pk),
            "prescriber": str(prescriber.pk),
            "location": str(warehouse.pk),
            "written_order_date": str(TODAY() - datetime.timedelta(days=1)),
            "prescriber_signed_on": str(TODAY() - datetime.timedelta(days=1)),
            "notes": "",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-equipment": str(cpap.pk),
            "lines-0-quantity": "1",
            "lines-0-kind": LineKind.RENTAL,
            "lines-0-modifiers": "rr, kx",
            "lines-1-equipment": str(mask.pk),
            "lines-1-quantity": "2",
            "lines-1-kind": LineKind.PURCHASE,
            "lines-1-modifiers": "",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    order = Order.objects.get()
    assert order.number == "O-000001"
    assert sorted(order.lines.values_list("modifiers", flat=True), key=len) == [[], ["RR", "KX"]]

    for action, status in (("verify", OrderStatus.VERIFIED), ("confirm", OrderStatus.CONFIRMED)):
        response = run_action(staff_client, "order", action, [order])
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.status == status, texts(response)
    assert StockLevel.objects.get(equipment=mask).reserved == 2

    # Scheduling asks for the date, window and driver first.
    intermediate = run_action(staff_client, "order", "schedule", [order])
    assert intermediate.status_code == 200
    assert b"Schedule deliveries" in intermediate.content
    response = run_action(
        staff_client,
        "order",
        "schedule",
        [order],
        apply="1",
        scheduled_date=str(TODAY()),
        window_start="09:00",
        window_end="12:00",
        method="driver",
        driver=str(driver.pk),
    )
    assert response.status_code == 302
    assert texts(response) == ["1 delivery(ies) scheduled."]
    delivery = Delivery.objects.get()
    assert delivery.driver == driver

    # The proof of delivery page, prefilled with the reserved serial numbers.
    proof_url = reverse("admin:dme_delivery_proof", args=[delivery.pk])
    page = staff_client.get(proof_url)
    assert page.status_code == 200
    serial = Asset.objects.get(status=AssetStatus.RESERVED).serial_number
    cpap_line = order.lines.get(equipment=cpap)
    field = f"serials_{cpap_line.pk.hex}"
    assert page.context["form"][field].value() == serial
    response = staff_client.post(
        proof_url,
        {
            "delivered_on": str(TODAY()),
            "signer_name": "Maria Lopez",
            "signer_relationship": "spouse",
            "tracking_number": "",
            field: serial,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    delivery.refresh_from_db()
    order.refresh_from_db()
    assert (delivery.status, order.status) == (DeliveryStatus.DELIVERED, OrderStatus.DELIVERED)
    assert delivery.items.count() == 2
    assert (
        staff_client.get(reverse("admin:dme_delivery_change", args=[delivery.pk])).status_code
        == 200
    )

    # The rental, and its return through the action's form.
    rental = Rental.objects.get()
    assert (rental.status, rental.asset.serial_number) == (RentalStatus.ACTIVE, serial)
    response = run_action(
        staff_client,
        "rental",
        "record_return",
        [rental],
        apply="1",
        returned_on=str(TODAY()),
        location=str(warehouse.pk),
        picked_up_by=str(driver.pk),
        notes="Good condition",
    )
    assert texts(response) == ["1 rental(s) returned."]
    rental.refresh_from_db()
    assert (rental.status, rental.picked_up_by) == (RentalStatus.RETURNED, driver)
    unit = Asset.objects.get(serial_number=serial)
    assert unit.status == AssetStatus.IN_MAINTENANCE
    response = run_action(staff_client, "asset", "return_to_stock", [unit])
    unit.refresh_from_db()
    assert unit.status == AssetStatus.IN_STOCK
    assert StockLevel.objects.get(equipment=cpap).on_hand == 2
    # The unit's page shows its maintenance log and rental history; its audit history
    # lists every status it went through.
    assert staff_client.get(reverse("admin:dme_asset_change", args=[unit.pk])).status_code == 200
    history = staff_client.get(reverse("admin:dme_asset_auditlog", args=[unit.pk]))
    assert history.status_code == 200
    statuses = [
        entry.changes_dict["status"][1]
        for entry in history.context["log_entries"]
        if "status" in entry.changes_dict
    ]
    assert statuses == ["in_stock", "in_maintenance", "with_patient", "reserved", "in_stock"]


def test_actions_report_each_refused_row(company, staff_client, warehouse, mask):
    stock(mask, warehouse, 2)
    first = order_with_lines(company, warehouse, (mask, 2, LineKind.PURCHASE))
    second = order_with_lines(company, warehouse, (mask, 2, LineKind.PURCHASE))
    received = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE), status="received")
    response = run_action(staff_client, "order", "confirm", [first, second, received])
    messages = texts(response)
    # Whichever of the two came first got the stock; the other is named with the reason.
    confirmed = Order.objects.get(status=OrderStatus.CONFIRMED)
    short = second if confirmed == first else first
    assert messages[0] == "1 order(s) confirmed."
    assert sorted(messages[1:]) == sorted(
        [
            f"{short.number}: Not enough Full face mask A7030 at Groveport Warehouse: "
            "2 requested, 0 available.",
            f"{received.number}: Cannot confirm order {received.number}: it is received; "
            "verify it first.",
        ]
    )
    assert StockLevel.objects.get().reserved == 2


def test_the_proof_page_refuses_supplier_staff(company, staff_client, warehouse, mask, driver):
    stock(mask, warehouse, 2)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY(), driver=driver)
    response = staff_client.post(
        reverse("admin:dme_delivery_proof", args=[delivery.pk]),
        {
            "delivered_on": str(TODAY()),
            "signer_name": "Dana Driver",
            "signer_relationship": "caregiver",
        },
    )
    assert response.status_code == 200
    assert "is a member of our staff" in str(response.context["form"].errors["signer_name"])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert StockLevel.objects.get().on_hand == 2


def test_other_companies_pages_are_404(company, other_company, staff_client):
    theirs = AssetFactory(company=other_company)
    delivery = DeliveryFactory(company=other_company)
    for url in (
        reverse("admin:dme_asset_change", args=[theirs.pk]),
        reverse("admin:dme_asset_auditlog", args=[theirs.pk]),
        reverse("admin:dme_delivery_proof", args=[delivery.pk]),
    ):
        assert staff_client.get(url).status_code == 404, url


def test_viewing_an_order_is_access_logged(company, staff_client, admin_user, warehouse, mask):
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    assert staff_client.get(reverse("admin:dme_order_change", args=[order.pk])).status_code == 200
    assert AccessLog.objects.filter(object_id=str(order.pk), user=admin_user, via="admin").exists()


def test_the_low_stock_filter(company, staff_client, warehouse):
    low = StockLevelFactory(company=company, location=warehouse, on_hand=1, reorder_point=3)
    StockLevelFactory(company=company, location=warehouse, on_hand=9, reorder_point=3)
    response = staff_client.get(changelist("stocklevel"), {"low": "yes"})
    assert list(response.context["cl"].result_list) == [low]


def test_stock_adjustment_action(company, staff_client, warehouse, mask):
    level = stock(mask, warehouse, 5)
    response = run_action(
        staff_client, "stocklevel", "adjust", [level], apply="1", delta="-2", reason="Damaged"
    )
    assert texts(response) == ["1 stock level(s) adjusted."]
    level.refresh_from_db()
    assert level.on_hand == 3


def test_an_auditor_runs_no_actions(company, client):
    auditor = member(company, Role.AUDITOR, email="auditor-dme@a.test")
    client.force_login(auditor)
    order = OrderLineFactory(company=company).order
    assert client.get(changelist("order")).status_code == 200
    run_action(client, "order", "cancel", [order], apply="1", reason="")
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


@pytest.mark.parametrize(
    "model", ["equipment", "stocklevel", "asset", "order", "delivery", "rental"]
)
def test_every_page_renders(model, company, staff_client):
    obj = make_rows(model, company, 1)[0]
    assert staff_client.get(reverse(f"admin:dme_{model}_change", args=[obj.pk])).status_code == 200
    add = staff_client.get(reverse(f"admin:dme_{model}_add"))
    assert add.status_code == (403 if model in ("delivery", "rental") else 200)


# Query counts ------------------------------------------------------------------------


def make_rows(model, company, count):
    if model == "equipment":
        return [EquipmentFactory(company=company) for _ in range(count)]
    if model == "stocklevel":
        return [StockLevelFactory(company=company) for _ in range(count)]
    if model == "asset":
        return [AssetFactory(company=company) for _ in range(count)]
    if model == "order":
        return [OrderLineFactory(company=company).order for _ in range(count)]
    if model == "delivery":
        return [DeliveryFactory(company=company, driver=None) for _ in range(count)]
    if model == "rental":
        return [RentalFactory(company=company) for _ in range(count)]
    raise AssertionError(model)


@pytest.mark.parametrize(
    "model", ["equipment", "stocklevel", "asset", "order", "delivery", "rental"]
)
def test_changelist_query_count_is_constant(model, company, staff_client):
    make_rows(model, company, 1)
    with CaptureQueriesContext(connection) as one_row:
        assert staff_client.get(changelist(model)).status_code == 200
    make_rows(model, company, 49)
    with CaptureQueriesContext(connection) as many_rows:
        response = staff_client.get(changelist(model))
    assert len(response.context["cl"].result_list) == 50
    assert len(many_rows) == len(one_row), [q["sql"] for q in many_rows.captured_queries]


# The maintenance log inline goes through services.log_maintenance --------------------


def asset_change_data(response, **rows):
    """The POST of a unit's change page as shown, plus new maintenance rows."""
    form = response.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(formset.initial_form_count())
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(formset.initial_form_count())
        if formset.model.__name__ == "MaintenanceRecord":
            data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(rows["maintenance"]))
            for index, row in enumerate(rows["maintenance"]):
                data.update({f"{formset.prefix}-{index}-{k}": v for k, v in row.items()})
    return data


def maintenance_row(**fields):
    return {
        "performed_on": str(TODAY()),
        "kind": "cleaning",
        "work_done": "Cleaned and tested",
        "performed_by": "Sam Tech",
        **fields,
    }


def test_the_maintenance_inline_logs_through_the_service(company, staff_client, admin_user):
    asset = AssetFactory(company=company)
    url = reverse("admin:dme_asset_change", args=[asset.pk])
    data = asset_change_data(staff_client.get(url), maintenance=[maintenance_row()])
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    record = asset.maintenance_records.get()
    assert (record.company, record.technician, record.performed_by) == (
        company,
        admin_user,
        "Sam Tech",
    )


def test_a_future_maintenance_date_is_refused_beside_the_field(company, staff_client):
    asset = AssetFactory(company=company)
    url = reverse("admin:dme_asset_change", args=[asset.pk])
    tomorrow = str(TODAY() + datetime.timedelta(days=1))
    data = asset_change_data(
        staff_client.get(url), maintenance=[maintenance_row(performed_on=tomorrow)]
    )
    data["notes"] = "Typed before the refusal"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    row = next(
        inline.formset.forms[0]
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model.__name__ == "MaintenanceRecord"
    )
    assert row.errors["performed_on"] == ["Not in the future."]
    assert "The work date is in the future." in row.non_field_errors()
    assert row["work_done"].value() == "Cleaned and tested"
    assert response.context["adminform"].form["notes"].value() == "Typed before the refusal"
    asset.refresh_from_db()
    assert not asset.maintenance_records.exists()
    assert asset.notes != "Typed before the refusal"


def test_a_retired_unit_takes_no_maintenance_row(company, staff_client, cpap, warehouse):
    (asset,) = units(cpap, warehouse, 1)
    url = reverse("admin:dme_asset_change", args=[asset.pk])
    page = staff_client.get(url)
    services.retire_asset(asset, reason="Cracked housing")
    response = staff_client.post(url, asset_change_data(page, maintenance=[maintenance_row()]))
    assert response.status_code == 200
    row = next(
        inline.formset.forms[0]
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model.__name__ == "MaintenanceRecord"
    )
    assert f"Unit {asset.serial_number} is retired." in row.non_field_errors()
    # Only the retirement's own entry.
    assert asset.maintenance_records.count() == 1


# Actions with an input form (core.admin_actions.FormAction) ----------------------------


def test_a_bad_action_input_keeps_what_was_typed(company, staff_client, warehouse, mask):
    level = stock(mask, warehouse, 5)
    response = run_action(
        staff_client, "stocklevel", "adjust", [level], apply="1", delta="two", reason="Count"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["delta"] == ["Enter a whole number."]
    assert form["reason"].value() == "Count"
    assert 'value="Count"' in response.content.decode()
    level.refresh_from_db()
    assert level.on_hand == 5


def test_an_action_refused_for_every_row_shows_the_form_again(
    company, staff_client, warehouse, mask
):
    level = stock(mask, warehouse, 1)
    response = run_action(
        staff_client, "stocklevel", "adjust", [level], apply="1", delta="-3", reason="Damaged"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form["delta"].value() == "-3"
    assert form["reason"].value() == "Damaged"
    assert any(error.startswith(f"{level}: ") for error in form.non_field_errors())
    assert texts(response) == []
    level.refresh_from_db()
    assert level.on_hand == 1


def test_the_action_page_lists_the_selected_rows(company, staff_client, warehouse, mask):
    asset = AssetFactory(company=company)
    page = run_action(staff_client, "asset", "retire", [asset])
    assert page.status_code == 200
    assert page.context["rows"] == [(asset.pk, [str(asset)])]
    assert page.context["title"] == "Retire units"
    assert f'value="{asset.pk}"' in page.content.decode()


def test_a_new_item_and_its_inline_rows_get_the_active_company(company, staff_client, warehouse):
    page = staff_client.get(reverse("admin:dme_equipment_add"))
    formset = next(inline.formset for inline in page.context["inline_admin_formsets"])
    data = {
        "name": "Heated humidifier",
        "hcpcs_code": "E0562",
        "category": "cpap_bipap",
        "billing_kind": "supply",
        "manufacturer": "ResMed",
        "model_number": "H5i",
        "purchase_price": "120.00",
        "monthly_rental_fee": "0.00",
        "is_active": "on",
        f"{formset.prefix}-TOTAL_FORMS": "1",
        f"{formset.prefix}-INITIAL_FORMS": "0",
        f"{formset.prefix}-0-location": str(warehouse.pk),
        f"{formset.prefix}-0-reorder_point": "4",
    }
    response = staff_client.post(reverse("admin:dme_equipment_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    level = StockLevel.objects.get(equipment__name="Heated humidifier")
    assert (level.company, level.equipment.company, level.reorder_point) == (company, company, 4)
