"""Equipment catalogue, stock, serialized assets, orders, deliveries, rentals.

Split by topic; import models from here (``from dme.models import Order``).
"""

from .catalogue import Equipment
from .deliveries import Delivery, DeliveryItem

# Purchasing, receiving, lots, recalls, transfers, counts (issue 20).
from .lots import Lot, Recall
from .movements import (
    CountLine,
    CountSheet,
    CountSheetNumberCounter,
    StockMovement,
    Transfer,
    TransferLine,
    TransferNumberCounter,
)
from .orders import Order, OrderLine, OrderNumberCounter
from .purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderNumberCounter,
    Receipt,
    ReceiptLine,
    ReceiptNumberCounter,
    Vendor,
    VendorItem,
)
from .rentals import Rental, RentalMonth
from .stock import Asset, MaintenanceRecord, StockLevel

__all__ = [
    "Asset",
    # issue 20
    "CountLine",
    "CountSheet",
    "CountSheetNumberCounter",
    "Delivery",
    "DeliveryItem",
    "Equipment",
    "Lot",
    "MaintenanceRecord",
    "Order",
    "OrderLine",
    "OrderNumberCounter",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderNumberCounter",
    "Recall",
    "Receipt",
    "ReceiptLine",
    "ReceiptNumberCounter",
    "Rental",
    "RentalMonth",
    "StockLevel",
    "StockMovement",
    "Transfer",
    "TransferLine",
    "TransferNumberCounter",
    "Vendor",
    "VendorItem",
]
