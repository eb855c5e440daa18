from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("device-usage-imports", views.UsageImportViewSet, basename="usageimport")
router.register("usage-nights", views.UsageNightViewSet, basename="usagenight")
router.register("adherence-statuses", views.AdherenceStatusViewSet, basename="adherencestatus")
