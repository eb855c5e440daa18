from django.urls import include, path

from config.urls import handler400, handler404, handler500  # noqa: F401  (same error pages as the site)
from config.urls import urlpatterns as site_urlpatterns

from . import api

urlpatterns = [
    path("api/test/", include((api.router.urls, "testapi"), namespace="testapi")),
    *site_urlpatterns,
]
