"""The DME data-quality checks of tenancy, context, formats and business rules: each
finds the row it is about (sample id) and passes clean rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.quality import get_checks
from core.quality.runner import run_checks
from dme import services
from dme.choices import LineKind, OrderStatus
from dme.models import Asset, DeliveryItem, Equipment, Order, OrderLine, Rental, StockLevel
from tests.clinical.factories import PatientFactory
from tests.dme.factories import (
    EquipmentFactory,
    OrderFactory,
    OrderLineFactory,
    RentalFactory,
    StockLevelFactory,
    order_with_lines,
    units,
)

pytestmark = pytest.mark.django_db


def found(name):
    """``(count, sample ids)`` of one check, run and stored by the runner."""
    finding = run_checks([name]).findings.get()
    assert finding.passed == (finding.count == 0), finding.detail
    return finding.count, finding.sample_ids


def test_it_registers_a_company_check_for_every_dme_foreign_key():
    names = {c.name for c in get_checks() if c.name.startswith("dme.")}
    assert {
        "dme.order_patient_company",
        "dme.order_prescriber_company",
        "dme.order_location_company",
        "dme.orderline_equipment_company",
        "dme.stocklevel_location_company",
        "dme.asset_reserved_for_company",
        "dme.rental_asset_company",
        "dme.rental_return_location_company",
        "dme.deliveryitem_order_line_company",
        "dme.maintenancerecord_asset_company",
    } <= names


def test_it_finds_an_order_for_another_companys_patient(company, other_company):
    OrderFactory(company=company)
    crossed = OrderFactory(company=company)
    assert found("dme.order_patient_company") == (0, [])
    Order.objects.filter(pk=crossed.pk).update(patient=PatientFactory(company=other_company))
    assert found("dme.order_patient_company") == (1, [str(crossed.pk)])
    assert found("dme.order_prescriber_company") == (0, [])


def test_it_finds_a_rental_that_left_its_order(company):
    RentalFactory(company=company)
    moved, strayed = RentalFactory(company=company), RentalFactory(company=company)
    assert found("dme.rental_matches_its_order") == (0, [])
    Rental.objects.filter(pk=moved.pk).update(patient=PatientFactory(company=company))
    Rental.objects.filter(pk=strayed.pk).update(order=OrderFactory(company=company))
    count, samples = found("dme.rental_matches_its_order")
    assert (count, sorted(samples)) == (2, sorted([str(moved.pk), str(strayed.pk)]))


def test_it_finds_a_proof_item_of_another_order(company, warehouse, mask):
    order = OrderFactory(company=company, location=warehouse, status=OrderStatus.DELIVERED)
    line = OrderLineFactory(company=company, order=order, equipment=mask)
    other_line = OrderLineFactory(company=company, equipment=mask)
    delivery = order.deliveries.create(
        company=company, scheduled_date=timezone.localdate(), address="1 Main St"
    )
    item = DeliveryItem.objects.create(
        company=company, delivery=delivery, order_line=line, description="Mask", quantity=1
    )
    assert found("dme.delivery_item_line_on_the_order") == (0, [])
    DeliveryItem.objects.filter(pk=item.pk).update(order_line=other_line)
    assert found("dme.delivery_item_line_on_the_order") == (1, [str(item.pk)])


def test_it_finds_a_unit_reserved_for_a_line_of_another_item(company, warehouse, cpap, mask):
    units(cpap, warehouse, 1)
    order = order_with_lines(company, warehouse, (cpap, 1, LineKind.RENTAL))
    services.confirm_order(order)
    unit = Asset.objects.get(reserved_for__isnull=False)
    assert found("dme.asset_reserved_for_its_item") == (0, [])
    OrderLine.objects.filter(pk=unit.reserved_for_id).update(
        equipment=EquipmentFactory(company=company, billing_kind="capped_rental")
    )
    assert found("dme.asset_reserved_for_its_item") == (1, [str(unit.pk)])


def test_it_finds_malformed_hcpcs_codes_in_the_catalogue(company):
    EquipmentFactory(company=company)
    bad = EquipmentFactory(company=company)
    assert found("dme.equipment_hcpcs_format") == (0, [])
    Equipment.objects.filter(pk=bad.pk).update(hcpcs_code="E601")
    assert found("dme.equipment_hcpcs_format") == (1, [str(bad.pk)])


@pytest.mark.parametrize(
    "modifiers",
    [
        ["NU", "KX", "GA"],  # KX says the policy is met, GA that it is not
        ["NU", "RT", "LT", "KX", "59"],  # five
        ["NU", "NU"],  # repeated
        ["nu"],  # not upper case
        "NU",  # not a list
    ],
)
def test_it_finds_order_lines_with_malformed_modifiers(company, modifiers):
    OrderLineFactory(company=company, modifiers=[])  # a supply: none needed
    OrderLineFactory(
        company=company,
        kind=LineKind.PURCHASE,
        modifiers=["NU", "KX", "RT", "59"],
        equipment=EquipmentFactory(company=company, billing_kind="purchase"),
    )
    bad = OrderLineFactory(company=company)
    assert found("dme.orderline_modifiers_format") == (0, [])
    OrderLine.objects.filter(pk=bad.pk).update(modifiers=modifiers)
    assert found("dme.orderline_modifiers_format") == (1, [str(bad.pk)])


def test_it_finds_lines_without_their_pricing_modifier(company):
    purchase_kind = EquipmentFactory(company=company, billing_kind="purchase")
    OrderLineFactory(company=company, modifiers=[])  # a supply
    bought = OrderLineFactory(company=company, equipment=purchase_kind, modifiers=["UE", "KX"])
    rented = RentalFactory(company=company).order_line
    assert rented.modifiers == ["RR"]
    assert found("dme.orderline_pricing_modifier") == (0, [])
    OrderLine.objects.filter(pk=bought.pk).update(modifiers=["KX"])
    OrderLine.objects.filter(pk=rented.pk).update(modifiers=["RR", "NU"])
    count, samples = found("dme.orderline_pricing_modifier")
    assert (count, sorted(samples)) == (2, sorted([str(bought.pk), str(rented.pk)]))


def _drop_constraint(table, name):
    """Let a test write what the database refuses (rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks pending in the test's transaction block ALTER.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")


def test_it_finds_more_stock_reserved_than_on_hand(company):
    StockLevelFactory(company=company, on_hand=3)
    level = StockLevelFactory(company=company, on_hand=3)
    assert found("dme.stock_reserved_within_on_hand") == (0, [])
    _drop_constraint("dme_stocklevel", "stocklevel_reserved_within_on_hand")
    try:
        StockLevel.objects.filter(pk=level.pk).update(reserved=4)
        assert found("dme.stock_reserved_within_on_hand") == (1, [str(level.pk)])
    finally:
        # Put it back: the app's fixture checks every stock level after each test.
        StockLevel.objects.filter(pk=level.pk).update(reserved=0)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def test_it_finds_verified_orders_without_the_prescribers_signature(company):
    OrderFactory(company=company, status=OrderStatus.CONFIRMED)
    OrderFactory(company=company, prescriber_signed_on=None)  # received: not yet needed
    bad = OrderFactory(company=company, status=OrderStatus.DELIVERED)
    assert found("dme.orders_written_order_signed") == (0, [])
    Order.objects.filter(pk=bad.pk).update(prescriber_signed_on=None)
    assert found("dme.orders_written_order_signed") == (1, [str(bad.pk)])


def test_it_finds_active_rentals_that_reached_their_cap(company):
    RentalFactory(company=company, months_billed=12)
    RentalFactory(company=company, cap_months=None, months_billed=40)  # never caps
    RentalFactory(company=company, months_billed=13, status="capped")
    capped_but_active = RentalFactory(company=company, months_billed=12)
    assert found("dme.rentals_active_past_cap") == (0, [])
    Rental.objects.filter(pk=capped_but_active.pk).update(months_billed=13)
    assert found("dme.rentals_active_past_cap") == (1, [str(capped_but_active.pk)])


def test_orders_freshness_warns_when_no_order_moved_for_four_days(company):
    assert found("dme.orders_freshness") == (0, [])
    OrderFactory(company=company)
    assert found("dme.orders_freshness") == (0, [])
    Order.objects.update(updated_at=timezone.now() - timedelta(hours=97))
    assert found("dme.orders_freshness") == (1, [])
