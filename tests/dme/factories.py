"""factory_boy factories and helpers for the DME models. Every value is made up."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.choices import LocationKind
from dme import services
from dme.choices import (
    AssetStatus,
    BillingKind,
    EquipmentCategory,
    LineKind,
    MaintenanceKind,
    OrderStatus,
)
from dme.models import (
    Asset,
    Delivery,
    Equipment,
    MaintenanceRecord,
    Order,
    OrderLine,
    Rental,
    StockLevel,
)
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.factories import CompanyFactory, LocationFactory

SAME_COMPANY = factory.SelfAttribute("..company")


class EquipmentFactory(DjangoModelFactory):
    """A CPAP supply (not serialized), bought."""

    class Meta:
        model = Equipment

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Full face mask {n}")
    hcpcs_code = "A7030"
    category = EquipmentCategory.RESPIRATORY_SUPPLIES
    manufacturer = "ResMed"
    model_number = factory.Sequence(lambda n: f"AirFit F{n}")
    billing_kind = BillingKind.SUPPLY
    purchase_price = Decimal("150.00")
    monthly_rental_fee = Decimal("0.00")


class CPAPFactory(EquipmentFactory):
    """A serialized CPAP, capped rental."""

    name = factory.Sequence(lambda n: f"CPAP {n}")
    hcpcs_code = "E0601"
    category = EquipmentCategory.CPAP_BIPAP
    model_number = factory.Sequence(lambda n: f"AirSense {n}")
    billing_kind = BillingKind.CAPPED_RENTAL
    purchase_price = Decimal("850.00")
    monthly_rental_fee = Decimal("85.00")
    is_serialized = True


class ConcentratorFactory(CPAPFactory):
    name = factory.Sequence(lambda n: f"Oxygen concentrator {n}")
    hcpcs_code = "E1390"
    category = EquipmentCategory.OXYGEN
    manufacturer = "Inogen"
    billing_kind = BillingKind.OXYGEN_RENTAL
    purchase_price = Decimal("0.00")
    monthly_rental_fee = Decimal("175.00")


class WarehouseFactory(LocationFactory):
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    kind = LocationKind.WAREHOUSE


class StockLevelFactory(DjangoModelFactory):
    class Meta:
        model = StockLevel

    company = factory.SubFactory(CompanyFactory)
    equipment = factory.SubFactory(EquipmentFactory, company=SAME_COMPANY)
    location = factory.SubFactory(WarehouseFactory, company=SAME_COMPANY)
    on_hand = 10
    reorder_point = 2


class AssetFactory(DjangoModelFactory):
    """A unit in stock (the stock level is not touched: use ``units()`` for that)."""

    class Meta:
        model = Asset

    company = factory.SubFactory(CompanyFactory)
    equipment = factory.SubFactory(CPAPFactory, company=SAME_COMPANY)
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    status = AssetStatus.IN_STOCK
    location = factory.SubFactory(WarehouseFactory, company=SAME_COMPANY)
    purchase_date = datetime.date(2025, 6, 1)
    purchase_cost = Decimal("520.00")


class MaintenanceRecordFactory(DjangoModelFactory):
    class Meta:
        model = MaintenanceRecord

    company = factory.SubFactory(CompanyFactory)
    asset = factory.SubFactory(AssetFactory, company=SAME_COMPANY)
    performed_on = datetime.date(2026, 1, 15)
    kind = MaintenanceKind.INSPECTION
    work_done = "Pressure check, filter replaced."
    performed_by = "Sam Tech"


class OrderFactory(DjangoModelFactory):
    """A received order without lines (add them with OrderLineFactory)."""

    class Meta:
        model = Order

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=SAME_COMPANY)
    prescriber = factory.SubFactory(ProviderFactory, company=SAME_COMPANY)
    location = factory.SubFactory(WarehouseFactory, company=SAME_COMPANY)
    written_order_date = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=7)
    )
    prescriber_signed_on = factory.SelfAttribute("written_order_date")
    notes = "Patient prefers afternoon deliveries."


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    company = factory.SubFactory(CompanyFactory)
    order = factory.SubFactory(OrderFactory, company=SAME_COMPANY)
    equipment = factory.SubFactory(EquipmentFactory, company=SAME_COMPANY)
    quantity = 1
    kind = LineKind.PURCHASE
    modifiers = factory.LazyAttribute(
        lambda line: (
            []
            if line.equipment.billing_kind == BillingKind.SUPPLY
            else ["RR"]
            if line.kind == LineKind.RENTAL
            else ["NU"]
        )
    )


class DeliveryFactory(DjangoModelFactory):
    """A scheduled delivery row (no service run: for API/list tests)."""

    class Meta:
        model = Delivery

    company = factory.SubFactory(CompanyFactory)
    order = factory.SubFactory(OrderFactory, company=SAME_COMPANY, status=OrderStatus.SCHEDULED)
    scheduled_date = factory.LazyFunction(timezone.localdate)
    window_start = datetime.time(9, 0)
    window_end = datetime.time(12, 0)
    address = "742 Evergreen Terrace\nColumbus, OH 43215"


class RentalFactory(DjangoModelFactory):
    """An active rental of a non-serialized item (a row: no delivery behind it)."""

    class Meta:
        model = Rental

    company = factory.SubFactory(CompanyFactory)
    order_line = factory.SubFactory(
        OrderLineFactory,
        company=SAME_COMPANY,
        kind=LineKind.RENTAL,
        equipment=factory.SubFactory(
            CPAPFactory, company=factory.SelfAttribute("...company"), is_serialized=False
        ),
        order__status=OrderStatus.DELIVERED,
    )
    order = factory.SelfAttribute("order_line.order")
    patient = factory.SelfAttribute("order.patient")
    equipment = factory.SelfAttribute("order_line.equipment")
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    cap_months = 13
    monthly_fee = Decimal("85.00")


# Helpers that go through the services, so stock and units agree. ---------------------


def stock(equipment, location, on_hand, reorder_point=0):
    """A stock level of a non-serialized item with ``on_hand`` units."""
    return StockLevel.objects.create(
        company_id=equipment.company_id,
        equipment=equipment,
        location=location,
        on_hand=on_hand,
        reorder_point=reorder_point,
    )


def units(equipment, location, count, prefix="SN"):
    """Register ``count`` serialized units in stock at ``location``."""
    return [
        services.register_asset(
            Asset(
                company_id=equipment.company_id,
                equipment=equipment,
                location=location,
                serial_number=f"{prefix}{equipment.pk.hex[:6]}{index:04d}",
            )
        )
        for index in range(count)
    ]


def order_with_lines(company, location, *lines, status=OrderStatus.VERIFIED, **fields):
    """An order at ``location`` with ``lines`` as (equipment, quantity, kind) tuples,
    verified by default (ready to confirm)."""
    order = OrderFactory(company=company, location=location, status=status, **fields)
    for equipment, quantity, kind in lines:
        OrderLineFactory(
            company=company, order=order, equipment=equipment, quantity=quantity, kind=kind
        )
    return order


def proof_items(order):
    """The proof-of-delivery items of a confirmed order: every line, whole, with its
    reserved units."""
    return [
        {
            "order_line": line,
            "quantity": line.reserved_quantity,
            "serial_numbers": sorted(a.serial_number for a in line.reserved_assets.all()),
        }
        for line in order.lines.order_by("created_at", "id")
    ]
