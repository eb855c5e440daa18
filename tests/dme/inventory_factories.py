"""Factories for purchasing, lots, recalls, transfers and counts (issue 20)."""

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.choices import LocationKind
from dme.models import Lot, Recall, Vendor, VendorItem
from dme.models.purchasing import PurchaseOrder
from tests.factories import CompanyFactory, LocationFactory

from .factories import SAME_COMPANY, EquipmentFactory, WarehouseFactory


class VendorFactory(DjangoModelFactory):
    class Meta:
        model = Vendor

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Medline {n}")
    account_number = factory.Sequence(lambda n: f"ACC{n:05d}")
    contact_name = "Pat Vendor"
    contact_email = "orders@vendor.test"
    terms = "Net 30"
    lead_time_days = 5


class VendorItemFactory(DjangoModelFactory):
    class Meta:
        model = VendorItem

    company = factory.SubFactory(CompanyFactory)
    vendor = factory.SubFactory(VendorFactory, company=SAME_COMPANY)
    equipment = factory.SubFactory(EquipmentFactory, company=SAME_COMPANY)
    unit_cost = Decimal("40.00")
    is_preferred = True


class PurchaseOrderFactory(DjangoModelFactory):
    """A draft purchase order without lines."""

    class Meta:
        model = PurchaseOrder

    company = factory.SubFactory(CompanyFactory)
    vendor = factory.SubFactory(VendorFactory, company=SAME_COMPANY)
    location = factory.SubFactory(WarehouseFactory, company=SAME_COMPANY)
    number = factory.Sequence(lambda n: f"PO-9{n:05d}")


class VanFactory(LocationFactory):
    name = factory.Sequence(lambda n: f"Van {n}")
    kind = LocationKind.VAN


class LotFactory(DjangoModelFactory):
    class Meta:
        model = Lot

    company = factory.SubFactory(CompanyFactory)
    equipment = factory.SubFactory(EquipmentFactory, company=SAME_COMPANY)
    lot_number = factory.Sequence(lambda n: f"LOT{n:04d}")
    expiry_date = datetime.date(2028, 1, 31)


class RecallFactory(DjangoModelFactory):
    class Meta:
        model = Recall

    company = factory.SubFactory(CompanyFactory)
    manufacturer = "ResMed"
    model_number = "AirSense 10"
    reference = "Z-1234-2026"
    issued_on = datetime.date(2026, 6, 1)
    serial_from = "SN00000000"
    serial_to = "SN00000099"
    notice = "Replace the humidifier tub seal."
