"""Every DME ModelAdmin through the generic admin tests (changelist, change and add
pages per role, another company's record a 404, constant changelist queries)."""

from dme.models import Asset, Delivery, Equipment, Order, Rental, StockLevel
from tests.admin_base import TenantAdminTests

from .factories import (
    AssetFactory,
    DeliveryFactory,
    EquipmentFactory,
    OrderLineFactory,
    RentalFactory,
    StockLevelFactory,
)


class TestEquipmentAdmin(TenantAdminTests):
    model = Equipment
    factory = EquipmentFactory


class TestStockLevelAdmin(TenantAdminTests):
    model = StockLevel
    factory = StockLevelFactory


class TestAssetAdmin(TenantAdminTests):
    model = Asset
    factory = AssetFactory


class TestOrderAdmin(TenantAdminTests):
    model = Order

    def make(self, company, **fields):
        return OrderLineFactory(company=company, **fields).order


class TestDeliveryAdmin(TenantAdminTests):
    model = Delivery
    add_roles = ()  # deliveries are scheduled from orders

    def make(self, company, **fields):
        return DeliveryFactory(company=company, driver=None, **fields)


class TestRentalAdmin(TenantAdminTests):
    model = Rental
    factory = RentalFactory
    add_roles = ()  # rentals start when a delivery is completed
