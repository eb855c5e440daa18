from rest_framework.routers import SimpleRouter

from . import inventory_views, views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("equipment", views.EquipmentViewSet, basename="equipment")
router.register("stock-levels", views.StockLevelViewSet, basename="stocklevel")
router.register("assets", views.AssetViewSet, basename="asset")
router.register("orders", views.OrderViewSet, basename="order")
router.register("order-lines", views.OrderLineViewSet, basename="orderline")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("rentals", views.RentalViewSet, basename="rental")
# Purchasing, receiving, transfers, recalls, the ledger, counts (issue 20).
router.register("vendors", inventory_views.VendorViewSet, basename="vendor")
router.register("vendor-items", inventory_views.VendorItemViewSet, basename="vendoritem")
router.register("purchase-orders", inventory_views.PurchaseOrderViewSet, basename="purchaseorder")
router.register("receipts", inventory_views.ReceiptViewSet, basename="receipt")
router.register("transfers", inventory_views.TransferViewSet, basename="transfer")
router.register("recalls", inventory_views.RecallViewSet, basename="recall")
router.register("stock-movements", inventory_views.StockMovementViewSet, basename="stockmovement")
router.register("count-sheets", inventory_views.CountSheetViewSet, basename="countsheet")
