"""Equipment catalogue, stock, serialized assets, orders, deliveries, rentals.

Split by topic; import models from here (``from dme.models import Order``).
"""

from .catalogue import Equipment
from .deliveries import Delivery, DeliveryItem
from .orders import Order, OrderLine, OrderNumberCounter
from .rentals import Rental, RentalMonth
from .stock import Asset, MaintenanceRecord, StockLevel

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
]
