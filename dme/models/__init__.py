"""Equipment catalogue, stock, serialized assets, orders, deliveries, rentals.

Split by topic; import models from here (``from dme.models import Order``).
"""

from .catalogue import Equipment
from .deliveries import Delivery, DeliveryItem
from .orders import Order, OrderLine, OrderNumberCounter
from .rentals import Rental, RentalMonth
from .stock import Asset, MaintenanceRecord, StockLevel

# Purchasing, receiving, lots, recalls, transfers, counts (issue 20).
from .lots import Lot, Recall  # noqa: E402, I001
from .movements import (  # noqa: E402
    CountLine,
    CountSheet,
    CountSheetNumberCounter,
    StockMovement,
    Transfer,
    TransferLine,
    TransferNumberCounter,
)
from .purchasing import (  # noqa: E402
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderNumberCounter,
    Receipt,
    ReceiptLine,
    ReceiptNumberCounter,
    Vendor,
    VendorItem,
)

__all__ = [
    "Asset",
    "Delivery",
    "DeliveryItem",
    "Equipment",
    "MaintenanceRecord",
    "Order",
    "OrderLine",
    "OrderNumberCounter",
    "Rental",
    "RentalMonth",
    "StockLevel",
    # issue 20
    "CountLine",
    "CountSheet",
    "CountSheetNumberCounter",
    "Lot",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderNumberCounter",
    "Receipt",
    "ReceiptLine",
    "ReceiptNumberCounter",
    "Recall",
    "StockMovement",
    "Transfer",
    "TransferLine",
    "TransferNumberCounter",
    "Vendor",
    "VendorItem",
]
