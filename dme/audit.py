"""Audit history for every DME model; core.audit masks each encrypted column."""

from core import audit

from .models import (
    Asset,
    Delivery,
    DeliveryItem,
    Equipment,
    MaintenanceRecord,
    Order,
    OrderLine,
    OrderNumberCounter,
    Rental,
    StockLevel,
)

for model in (
    Equipment,
    StockLevel,
    Asset,
    MaintenanceRecord,
    Order,
    OrderLine,
    Delivery,
    DeliveryItem,
    Rental,
    # Only its creation is ever logged: numbers are drawn with UPDATE ... + 1.
    OrderNumberCounter,
):
    audit.register(model)
