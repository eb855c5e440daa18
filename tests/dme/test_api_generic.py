"""The generic API tests (tests/api_base.py) for every DME endpoint, with a constant
query count from 1 to 50 rows."""

import datetime

from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from dme import services
from dme.choices import BillingKind, EquipmentCategory, LineKind
from tests.api_base import TenantAPITests
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.dme.factories import (
    AssetFactory,
    CPAPFactory,
    DeliveryFactory,
    EquipmentFactory,
    OrderFactory,
    OrderLineFactory,
    RentalFactory,
    StockLevelFactory,
    WarehouseFactory,
    order_with_lines,
    stock,
)

TODAY = timezone.localdate


class DMEAPITests(TenantAPITests):
    rows_for_query_check = 50


class TestEquipmentAPI(DMEAPITests):
    basename = "equipment"
    factory = EquipmentFactory

    def create_data(self, company):
        return {
            "name": "AirSense 11 CPAP",
            "hcpcs_code": "e0601",
            "category": EquipmentCategory.CPAP_BIPAP,
            "manufacturer": "ResMed",
            "model_number": "AirSense 11",
            "billing_kind": BillingKind.CAPPED_RENTAL,
            "purchase_price": "850.00",
            "monthly_rental_fee": "85.00",
            "is_serialized": True,
        }

    def update_data(self, obj):
        return {"is_active": False}


class TestStockLevelAPI(DMEAPITests):
    basename = "stocklevel"
    factory = StockLevelFactory

    def make(self, company, **fields):
        return StockLevelFactory(company=company, on_hand=0, **fields)

    def create_data(self, company):
        return {
            "equipment": str(EquipmentFactory(company=company).pk),
            "location": str(WarehouseFactory(company=company).pk),
            "on_hand": 12,
            "reorder_point": 4,
        }

    def update_data(self, obj):
        return {"reorder_point": 6}


class TestAssetAPI(DMEAPITests):
    basename = "asset"
    factory = AssetFactory
    deletable = False

    def create_data(self, company):
        return {
            "equipment": str(CPAPFactory(company=company).pk),
            "serial_number": "23154D44851",
            "location": str(WarehouseFactory(company=company).pk),
            "purchase_date": "2025-11-02",
            "purchase_cost": "512.00",
        }

    def update_data(self, obj):
        return {"notes": "Humidifier chamber replaced."}


class TestOrderAPI(DMEAPITests):
    basename = "order"
    factory = OrderFactory  # make(): an order with one line
    deletable = False

    def make(self, company, **fields):
        return OrderLineFactory(company=company, order__company=company).order

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "prescriber": str(ProviderFactory(company=company).pk),
            "location": str(WarehouseFactory(company=company).pk),
            "written_order_date": str(TODAY() - datetime.timedelta(days=3)),
            "prescriber_signed_on": str(TODAY() - datetime.timedelta(days=3)),
            "lines": [
                {
                    "equipment": str(CPAPFactory(company=company).pk),
                    "kind": LineKind.RENTAL,
                    "modifiers": ["rr", "kx"],
                },
                {"equipment": str(EquipmentFactory(company=company).pk), "quantity": 2},
            ],
        }

    def update_data(self, obj):
        return {"notes": "Call the daughter before delivering."}

    def test_it_creates(self, company, writer, api_client_for):
        response = api_client_for(writer).post(
            self.list_url(), self.create_data(company), format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["number"] == "O-000001"
        assert body["status"] == "received"
        lines = body["lines"]
        assert [(line["kind"], line["modifiers"]) for line in lines] == [
            ("rental", ["RR", "KX"]),
            ("purchase", []),
        ]
        # Prices come from the catalogue: the CPAP's monthly fee, the mask's price.
        assert [(line["unit_price"], line["amount"]) for line in lines] == [
            ("85.00", "85.00"),
            ("150.00", "300.00"),
        ]
        from dme.models import Order

        assert Order.objects.get(pk=body["id"]).created_by_id == writer.pk


class TestOrderLineAPI(DMEAPITests):
    basename = "orderline"
    factory = OrderLineFactory

    def create_data(self, company):
        order = OrderLineFactory(company=company).order
        return {
            "order": str(order.pk),
            "equipment": str(EquipmentFactory(company=company).pk),
            "quantity": 3,
        }

    def update_data(self, obj):
        return {"quantity": 4}


class TestDeliveryAPI(DMEAPITests):
    basename = "delivery"
    factory = DeliveryFactory
    deletable = False
    write_role = Role.WAREHOUSE

    def create_data(self, company):
        warehouse = WarehouseFactory(company=company)
        mask = EquipmentFactory(company=company)
        stock(mask, warehouse, 5)
        order = order_with_lines(company, warehouse, (mask, 1, LineKind.PURCHASE))
        services.confirm_order(order)
        return {
            "order": str(order.pk),
            "scheduled_date": str(TODAY()),
            "window_start": "09:00:00",
            "window_end": "12:00:00",
        }

    def update_data(self, obj):
        return {"window_end": "13:00:00", "instructions": "Gate code 1234."}


class TestRentalAPI(DMEAPITests):
    basename = "rental"
    factory = RentalFactory
    deletable = False

    def create_data(self, company):
        return {"start_date": str(TODAY())}

    def update_data(self, obj):
        return {"months_billed": 12}

    # Rentals are started by completed deliveries, never posted or edited.
    def test_it_creates(self, company, writer, api_client_for):
        response = api_client_for(writer).post(
            self.list_url(), self.create_data(company), format="json"
        )
        assert response.status_code == 405

    def test_it_updates(self, company, writer, api_client_for):
        rental = self.make(company)
        response = api_client_for(writer).patch(
            reverse("api:rental-detail", args=[rental.pk]), self.update_data(rental), format="json"
        )
        assert response.status_code == 405
        rental.refresh_from_db()
        assert rental.months_billed == 0
