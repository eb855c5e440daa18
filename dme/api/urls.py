from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("equipment", views.EquipmentViewSet, basename="equipment")
router.register("stock-levels", views.StockLevelViewSet, basename="stocklevel")
router.register("assets", views.AssetViewSet, basename="asset")
router.register("orders", views.OrderViewSet, basename="order")
router.register("order-lines", views.OrderLineViewSet, basename="orderline")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("rentals", views.RentalViewSet, basename="rental")
