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

# Purchasing, receiving, lots, recalls, transfers, counts (issue 20). The stock ledger
# (StockMovement) is itself a history: written once, never changed.
from .models import (  # noqa: E402
    CountLine,
    CountSheet,
    Lot,
    PurchaseOrder,
    PurchaseOrderLine,
    Recall,
    Receipt,
    ReceiptLine,
    Transfer,
    TransferLine,
    Vendor,
    VendorItem,
)

for inventory_model in (
    Vendor,
    VendorItem,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Lot,
    Recall,
    Transfer,
    TransferLine,
    CountSheet,
    CountLine,
):
    audit.register(inventory_model)
