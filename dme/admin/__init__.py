"""DME admin, one module per topic; importing them registers their ModelAdmins. Every
state change is an action (or the proof-of-delivery page) that calls ``dme.services``."""

from . import assets, catalogue, deliveries, inventory, orders, purchasing, rentals  # issue 20

__all__ = ["assets", "catalogue", "deliveries", "inventory", "orders", "purchasing", "rentals"]
