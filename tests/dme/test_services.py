"""The DME services: order workflow, stock, proof of delivery, rentals, assets."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from core.exceptions import InvalidTransition, ServiceError
from core.models import AuditEntry
from dme import services
from dme.choices import (
    AssetStatus,
    DeliveryMethod,
    DeliveryStatus,
    LineKind,
    MaintenanceKind,
    OrderStatus,
    RentalStatus,
    SignerRelationship,
)
from dme.models import Asset, DeliveryItem, Order, Rental, StockLevel
from tests.dme.factories import (
    ConcentratorFactory,
    OrderFactory,
    OrderLineFactory,
    order_with_lines,
    proof_items,
    stock,
    units,
)
from tests.factories import member

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def level(equipment, location):
    return StockLevel.objects.get(equipment=equipment, location=location)


def snapshot(order):
    """Everything a refused operation must leave as it was."""
    order.refresh_from_db()
    return (
        order.status,
        sorted(StockLevel.objects.values_list("on_hand", "reserved")),
        sorted(Asset.objects.values_list("serial_number", "status", "reserved_for_id")),
        sorted(order.lines.values_list("reserved_quantity", "delivered_quantity")),
        order.deliveries.filter(status=DeliveryStatus.DELIVERED).count(),
        Rental.objects.count(),
    )


def deliver(order, driver=None, **proof):
    delivery = services.schedule_delivery(order, scheduled_date=TODAY(), driver=driver)
    order.refresh_from_db()
    defaults = {
        "delivered_on": TODAY(),
        "items": proof_items(order),
        "signer_name": "Maria Lopez",
        "signer_relationship": SignerRelationship.SPOUSE,
    }
    return services.complete_delivery(delivery, **{**defaults, **proof})


# Order numbers and verification ------------------------------------------------------


def test_it_numbers_orders_per_company(company, other_company):
    first, second = OrderFactory(company=company), OrderFactory(company=company)
    elsewhere = OrderFactory(company=other_company)
    assert (first.number, second.number, elsewhere.number) == ("O-000001", "O-000002", "O-000001")


def test_it_verifies_a_complete_written_order(company, warehouse, mask):
    order = order_with_lines(company, warehouse, (mask, 2, LineKind.PURCHASE), status="received")
    services.verify_order(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.VERIFIED
    assert order.verified_at is not None


def test_it_refuses_to_verify_an_incomplete_written_order(company, warehouse, cpap):
    order = OrderFactory(
        company=company, location=warehouse, prescriber_signed_on=None, status="received"
    )
    OrderLineFactory(company=company, order=order, equipment=cpap, kind="rental", modifiers=["KX"])
    with pytest.raises(ServiceError) as refused:
        services.verify_order(order)
    message = refused.value.message
    assert "signature date is missing" in message
    assert "line 1 (E0601): A rental line needs the RR modifier" in message
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


def test_it_sends_a_verified_order_back_to_received_when_a_line_changes(company, warehouse, mask):
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    line = order.lines.get()
    line.quantity = 3
    services.save_line(line)
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


# confirm_order -----------------------------------------------------------------------


def test_it_confirms_by_reserving_stock_and_units(company, warehouse, mask, cpap):
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 3)
    order = order_with_lines(
        company, warehouse, (mask, 4, LineKind.PURCHASE), (cpap, 2, LineKind.RENTAL)
    )
    services.confirm_order(order)

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert order.confirmed_at is not None
    assert (level(mask, warehouse).on_hand, level(mask, warehouse).reserved) == (10, 4)
    assert (level(cpap, warehouse).on_hand, level(cpap, warehouse).reserved) == (3, 2)
    cpap_line = order.lines.get(equipment=cpap)
    assert cpap_line.reserved_quantity == 2
    reserved = Asset.objects.filter(status=AssetStatus.RESERVED)
    assert set(reserved.values_list("reserved_for", flat=True)) == {cpap_line.pk}
    assert reserved.count() == 2
    assert order.lines.get(equipment=mask).reserved_quantity == 4


def test_it_confirms_all_lines_or_none_naming_the_short_line(company, warehouse, mask, cpap):
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 1)
    order = order_with_lines(
        company, warehouse, (mask, 4, LineKind.PURCHASE), (cpap, 2, LineKind.RENTAL)
    )
    before = snapshot(order)
    with pytest.raises(ServiceError) as refused:
        services.confirm_order(order)
    assert refused.value.message == (
        "Not enough CPAP E0601 at Groveport Warehouse: 2 requested, 1 available."
    )
    assert refused.value.code == "insufficient_stock"
    assert snapshot(order) == before
    assert level(mask, warehouse).reserved == 0


def test_it_refuses_units_in_maintenance_even_when_counted(company, warehouse, cpap):
    _, second = units(cpap, warehouse, 2)
    services.send_to_maintenance(second, work_done="Motor noise")
    order = order_with_lines(company, warehouse, (cpap, 2, LineKind.RENTAL))
    with pytest.raises(ServiceError, match="2 requested, 1 available"):
        services.confirm_order(order)
    assert level(cpap, warehouse).on_hand == 1


def test_it_refuses_to_confirm_twice_or_before_verifying(company, warehouse, mask):
    stock(mask, warehouse, 10)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    before = snapshot(order)
    with pytest.raises(InvalidTransition, match="Cannot confirm order O-000001: it is confirmed"):
        services.confirm_order(order)
    assert snapshot(order) == before

    received = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE), status="received")
    with pytest.raises(InvalidTransition, match="verify it first"):
        services.confirm_order(received)
    assert level(mask, warehouse).reserved == 1


def test_it_refuses_to_confirm_without_a_stock_level(company, warehouse, mask):
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    with pytest.raises(ServiceError, match="1 requested, 0 available"):
        services.confirm_order(order)


# cancel_order ------------------------------------------------------------------------


def test_it_cancels_by_releasing_exactly_what_was_reserved(company, warehouse, mask, cpap):
    stock(mask, warehouse, 5)
    units(cpap, warehouse, 2)
    order = order_with_lines(
        company, warehouse, (mask, 3, LineKind.PURCHASE), (cpap, 1, LineKind.RENTAL)
    )
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY())
    services.cancel_order(order, reason="Patient moved to hospice")

    order.refresh_from_db()
    delivery.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancellation_reason == "Patient moved to hospice"
    assert delivery.status == DeliveryStatus.CANCELLED
    assert (level(mask, warehouse).on_hand, level(mask, warehouse).reserved) == (5, 0)
    assert level(cpap, warehouse).reserved == 0
    assert set(Asset.objects.values_list("status", flat=True)) == {AssetStatus.IN_STOCK}
    assert not order.lines.filter(reserved_quantity__gt=0).exists()


def test_it_refuses_to_cancel_a_delivered_order(company, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    deliver(order)
    before = snapshot(order)
    with pytest.raises(InvalidTransition, match="it is delivered; nothing more can change"):
        services.cancel_order(order)
    assert snapshot(order) == before


# schedule_delivery -------------------------------------------------------------------


def test_it_schedules_at_the_patients_address(company, warehouse, mask, driver):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    with pytest.raises(InvalidTransition, match="confirm it first"):
        services.schedule_delivery(order, scheduled_date=TODAY())
    services.confirm_order(order)
    delivery = services.schedule_delivery(
        order,
        scheduled_date=TODAY(),
        window_start=datetime.time(9),
        window_end=datetime.time(12),
        driver=driver,
    )
    assert delivery.address == "742 Evergreen Terrace\nColumbus, OH 43215"
    order.refresh_from_db()
    assert order.status == OrderStatus.SCHEDULED
    with pytest.raises(InvalidTransition, match="already has a delivery"):
        services.schedule_delivery(order, scheduled_date=TODAY())


def test_it_refuses_a_window_ending_before_it_starts(company, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    with pytest.raises(ServiceError, match="window must end after it starts"):
        services.schedule_delivery(
            order,
            scheduled_date=TODAY(),
            window_start=datetime.time(12),
            window_end=datetime.time(9),
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_cancelling_a_delivery_keeps_the_reservation(company, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 2, LineKind.PURCHASE))
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY())
    services.cancel_delivery(delivery)
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert level(mask, warehouse).reserved == 2
    again = services.schedule_delivery(order, scheduled_date=TODAY())
    assert again.pk != delivery.pk


# complete_delivery -------------------------------------------------------------------


def test_it_completes_a_delivery_with_proof(company, warehouse, mask, cpap, driver):
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 3)
    oxygen = ConcentratorFactory(company=company)
    units(oxygen, warehouse, 1, prefix="OX")
    order = order_with_lines(
        company,
        warehouse,
        (mask, 2, LineKind.PURCHASE),
        (cpap, 1, LineKind.RENTAL),
        (oxygen, 1, LineKind.RENTAL),
    )
    services.confirm_order(order)
    cpap_serial = order.lines.get(equipment=cpap).reserved_assets.get().serial_number
    delivery = deliver(order, driver=driver, signature_image="data:image/png;base64,iVBORw0KGgo=")

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_on == TODAY()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.patient_name == order.patient.full_name
    assert (delivery.signer_name, delivery.signer_relationship) == ("Maria Lopez", "spouse")
    assert delivery.signed_at is not None
    # The stock left the warehouse: on hand and reserved both went down.
    assert (level(mask, warehouse).on_hand, level(mask, warehouse).reserved) == (8, 0)
    assert (level(cpap, warehouse).on_hand, level(cpap, warehouse).reserved) == (2, 0)
    unit = Asset.objects.get(serial_number=cpap_serial)
    assert (unit.status, unit.patient_id, unit.location_id) == (
        AssetStatus.WITH_PATIENT,
        order.patient_id,
        None,
    )
    items = DeliveryItem.objects.filter(delivery=delivery).order_by("created_at", "id")
    assert [(i.quantity, i.serial_numbers) for i in items] == [
        (2, []),
        (1, [cpap_serial]),
        (1, [Asset.objects.get(equipment=oxygen).serial_number]),
    ]
    assert items[1].description.startswith("E0601 CPAP, ResMed AirSense")
    assert items[1].description.endswith("[RR]")
    rentals = {r.equipment_id: r for r in Rental.objects.all()}
    assert set(rentals) == {cpap.pk, oxygen.pk}
    assert (rentals[cpap.pk].cap_months, rentals[oxygen.pk].cap_months) == (13, 36)
    assert rentals[cpap.pk].start_date == TODAY()
    assert rentals[cpap.pk].asset.serial_number == cpap_serial
    assert rentals[cpap.pk].monthly_fee == Decimal("85.00")
    assert rentals[cpap.pk].months_billed == 0
    assert set(order.lines.values_list("delivered_quantity", "reserved_quantity")) == {
        (2, 0),
        (1, 0),
    }


@pytest.fixture
def ready(company, warehouse, mask, cpap, driver):
    """A scheduled order (2 masks, 1 CPAP rental) and its delivery."""
    stock(mask, warehouse, 10)
    units(cpap, warehouse, 2)
    order = order_with_lines(
        company, warehouse, (mask, 2, LineKind.PURCHASE), (cpap, 1, LineKind.RENTAL)
    )
    services.confirm_order(order)
    delivery = services.schedule_delivery(order, scheduled_date=TODAY(), driver=driver)
    order.refresh_from_db()
    return order, delivery


def complete(delivery, order, **changes):
    proof = {
        "delivered_on": TODAY(),
        "items": proof_items(order),
        "signer_name": "Maria Lopez",
        "signer_relationship": SignerRelationship.SPOUSE,
        **changes,
    }
    return services.complete_delivery(delivery, **proof)


@pytest.mark.parametrize("relationship", ["supplier_staff", "employee", "Driver"])
def test_supplier_staff_never_sign_as_designee(ready, relationship):
    order, delivery = ready
    before = snapshot(order)
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, signer_relationship=relationship)
    message = refused.value.fields["signer_relationship"][0]
    assert message.startswith("Supplier staff may never sign a proof of delivery")
    assert snapshot(order) == before


def test_the_driver_cannot_sign_for_the_patient(ready):
    order, delivery = ready
    before = snapshot(order)
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, signer_name="  dana DRIVER ", signer_relationship="caregiver")
    assert "is a member of our staff" in refused.value.fields["signer_name"][0]
    assert snapshot(order) == before


def test_no_staff_member_can_sign_as_designee(ready, company):
    order, delivery = ready
    member(company, Role.INTAKE, first_name="Olga", last_name="Intake")
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, signer_name="Olga Intake", signer_relationship="friend")
    assert "signer_name" in refused.value.fields


def test_the_proof_lists_every_line_with_its_reserved_units(ready, company, cpap):
    order, delivery = ready
    before = snapshot(order)
    items = proof_items(order)
    wrong_serial = [{**items[0]}, {**items[1], "serial_numbers": ["NOT-THE-ONE"]}]
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, items=wrong_serial)
    assert refused.value.fields["items"][0] == {}
    assert "units reserved for this line" in refused.value.fields["items"][1]["serial_numbers"][0]

    partial = [{**items[0], "quantity": 1}, items[1]]
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, items=partial)
    assert "Deliver the whole line: 2" in refused.value.fields["items"][0]["quantity"][0]

    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, items=items[:1])
    assert "missing CPAP (E0601)" in refused.value.fields["non_field_errors"][0]
    assert snapshot(order) == before


def test_the_proof_needs_a_signer_and_a_real_date(ready):
    order, delivery = ready
    with pytest.raises(ServiceError) as refused:
        complete(
            delivery,
            order,
            signer_name="",
            signer_relationship="",
            delivered_on=TODAY() + datetime.timedelta(days=1),
            signature_image="not an image",
        )
    assert set(refused.value.fields) == {
        "signer_name",
        "signer_relationship",
        "delivered_on",
        "signature_image",
    }


def test_a_shipped_delivery_needs_a_tracking_number(company, warehouse, mask):
    stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
    services.confirm_order(order)
    delivery = services.schedule_delivery(
        order, scheduled_date=TODAY(), method=DeliveryMethod.SHIPPED, carrier="UPS"
    )
    order.refresh_from_db()
    with pytest.raises(ServiceError) as refused:
        complete(delivery, order, signer_name="", signer_relationship="")
    assert list(refused.value.fields) == ["tracking_number"]
    delivery = complete(
        delivery,
        order,
        signer_name="",
        signer_relationship="",
        tracking_number="1Z999AA10123456784",
    )
    assert delivery.tracking_number == "1Z999AA10123456784"
    assert delivery.signed_at is None


def test_it_refuses_to_deliver_a_cancelled_order(ready):
    order, delivery = ready
    services.cancel_order(order)
    before = snapshot(order)
    with pytest.raises(InvalidTransition, match="This delivery is cancelled"):
        complete(delivery, order)
    assert snapshot(order) == before


def test_it_refuses_to_deliver_twice(ready):
    order, delivery = ready
    complete(delivery, order)
    before = snapshot(order)
    with pytest.raises(InvalidTransition, match="delivered"):
        complete(delivery, order)
    assert snapshot(order) == before


# Rentals -----------------------------------------------------------------------------


@pytest.fixture
def rental(ready):
    order, delivery = ready
    complete(delivery, order)
    return Rental.objects.get()


def test_it_returns_a_rental_to_maintenance(rental, warehouse, driver, cpap):
    on_hand = level(cpap, warehouse).on_hand
    services.return_rental(
        rental, returned_on=TODAY(), location=warehouse, picked_up_by=driver, notes="Scuffed"
    )
    rental.refresh_from_db()
    assert rental.status == RentalStatus.RETURNED
    assert rental.end_date == rental.returned_on == TODAY()
    assert (rental.picked_up_by, rental.return_location) == (driver, warehouse)
    unit = rental.asset
    unit.refresh_from_db()
    assert (unit.status, unit.location, unit.patient) == (
        AssetStatus.IN_MAINTENANCE,
        warehouse,
        None,
    )
    entry = unit.maintenance_records.get()
    assert (entry.kind, entry.performed_by) == (MaintenanceKind.RETURN, "Dana Driver")
    # Not counted until cleaned; then free again for the next order.
    assert level(cpap, warehouse).on_hand == on_hand
    services.return_to_stock(unit, user=driver)
    unit.refresh_from_db()
    assert unit.status == AssetStatus.IN_STOCK
    assert level(cpap, warehouse).on_hand == on_hand + 1

    with pytest.raises(InvalidTransition, match="is returned"):
        services.return_rental(rental, returned_on=TODAY(), location=warehouse)


def test_it_refuses_a_pickup_in_the_future_or_before_the_start(rental, warehouse):
    for day in (TODAY() + datetime.timedelta(days=1), TODAY() - datetime.timedelta(days=1)):
        with pytest.raises(ServiceError) as refused:
            services.return_rental(rental, returned_on=day, location=warehouse)
        assert "returned_on" in refused.value.fields
    rental.refresh_from_db()
    assert rental.status == RentalStatus.ACTIVE


def test_billing_caps_a_rental_at_13_months(rental):
    for _ in range(12):
        services.record_billed_month(rental)
    rental.refresh_from_db()
    assert (rental.months_billed, rental.status) == (12, RentalStatus.ACTIVE)
    services.record_billed_month(rental)
    rental.refresh_from_db()
    assert (rental.months_billed, rental.status) == (13, RentalStatus.CAPPED)
    assert rental.capped_on == TODAY()
    with pytest.raises(InvalidTransition, match="no more months are billed"):
        services.record_billed_month(rental)
    with pytest.raises(InvalidTransition, match="the patient owns the equipment now"):
        services.return_rental(rental, returned_on=TODAY(), location=rental.return_location)


def test_capped_oxygen_is_still_picked_up(company, warehouse):
    oxygen = ConcentratorFactory(company=company)
    units(oxygen, warehouse, 1)
    order = order_with_lines(company, warehouse, (oxygen, 1, LineKind.RENTAL))
    services.confirm_order(order)
    deliver(order)
    rental = Rental.objects.get()
    services.cap_rental(rental)
    services.return_rental(rental, returned_on=TODAY(), location=warehouse)
    rental.refresh_from_db()
    assert rental.status == RentalStatus.RETURNED


def test_a_non_serialized_rental_goes_straight_back_on_hand(company, warehouse):
    walker = ConcentratorFactory(
        company=company, name="Walker", hcpcs_code="E0143", is_serialized=False
    )
    stock(walker, warehouse, 3)
    order = order_with_lines(company, warehouse, (walker, 2, LineKind.RENTAL))
    services.confirm_order(order)
    deliver(order)
    rental = Rental.objects.get()
    assert (rental.quantity, rental.asset) == (2, None)
    assert level(walker, warehouse).on_hand == 1
    services.return_rental(rental, returned_on=TODAY(), location=warehouse)
    assert level(walker, warehouse).on_hand == 3


# Stock and assets --------------------------------------------------------------------


def test_it_adjusts_stock_only_within_free_units(company, warehouse, mask, admin_user):
    from core.context import acting_as

    current = stock(mask, warehouse, 5)
    order = order_with_lines(company, warehouse, (mask, 3, LineKind.PURCHASE))
    services.confirm_order(order)
    with pytest.raises(ServiceError, match=r"Cannot remove 3 Full face mask .* only 2 are free"):
        services.adjust_stock(current, -3, reason="Cycle count")
    with acting_as(admin_user):
        services.adjust_stock(current, -2, reason="Two damaged in transit")
    assert (level(mask, warehouse).on_hand, level(mask, warehouse).reserved) == (3, 3)
    entry = AuditEntry.objects.get_for_object(current).filter(changes__has_key="on_hand").first()
    assert entry.additional_data == {"reason": "Two damaged in transit"}
    assert entry.changes_dict["on_hand"] == ["5", "3"]
    assert entry.actor == admin_user


def test_it_counts_serialized_stock_by_units(company, warehouse, cpap):
    first, *_ = units(cpap, warehouse, 3)
    assert level(cpap, warehouse).on_hand == 3
    with pytest.raises(ServiceError, match="is serialized"):
        services.adjust_stock(level(cpap, warehouse), 1, reason="Found one")
    services.retire_asset(first, reason="Water damage")
    first.refresh_from_db()
    assert first.status == AssetStatus.RETIRED
    assert level(cpap, warehouse).on_hand == 2
    with pytest.raises(InvalidTransition, match="is retired"):
        services.return_to_stock(first)


def test_a_reserved_unit_cannot_be_retired(company, warehouse, cpap):
    units(cpap, warehouse, 1)
    order = order_with_lines(company, warehouse, (cpap, 1, LineKind.RENTAL))
    services.confirm_order(order)
    unit = Asset.objects.get()
    with pytest.raises(InvalidTransition, match="reserved for an order: it cannot become retired"):
        services.retire_asset(unit, reason="Recall")
    assert Order.objects.get().status == OrderStatus.CONFIRMED
