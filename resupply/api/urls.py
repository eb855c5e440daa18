from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("replacement-rules", views.ReplacementRuleViewSet, basename="replacementrule")
router.register("resupply-requests", views.ResupplyRequestViewSet, basename="resupplyrequest")
