"""URL map: admin, the /api/v1/ API, its schema and docs, health probes."""

from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission
from rest_framework.routers import DefaultRouter

from core import health, metrics, views


def build_api_urls():
    """One /api/v1/ router from every project app's ``api/urls.py``: its ``router``
    (registered here) and any extra ``urlpatterns``."""
    router = DefaultRouter()
    extra = []
    for app_config in apps.get_app_configs():
        if not Path(app_config.path, "api", "urls.py").is_file():
            continue
        module = import_module(f"{app_config.name}.api.urls")
        router.registry.extend(module.router.registry)
        extra.extend(getattr(module, "urlpatterns", []))
    return [*extra, *router.urls]


class DocsReader(BasePermission):
    """The schema and docs: anyone when ``API_DOCS_PUBLIC`` (DEBUG), else signed-in
    users (an API client gets a 401)."""

    def has_permission(self, request, view):
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


_swagger_view = SpectacularSwaggerSplitView.as_view(url_name="schema")


def api_docs(request, *args, **kwargs):
    """Swagger UI (its page and its script, ``?script=``, both from this site): a
    browser that is not signed in is sent to the sign-in page."""
    if not (settings.API_DOCS_PUBLIC or request.user.is_authenticated):
        return redirect_to_login(request.path)
    return _swagger_view(request, *args, **kwargs)


admin.site.site_header = "AriesOne"
admin.site.site_title = "AriesOne staff"
admin.site.index_title = "Operations"

urlpatterns = [
    # The admin's sign-in page shows "Forgotten your password?" when this name exists.
    path(
        "admin/password-reset/",
        RedirectView.as_view(pattern_name="accounts:password-reset"),
        name="admin_password_reset",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("documents/", include("documents.urls")),
    path("api/v1/", include((build_api_urls(), "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[DocsReader]), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("health/", health.health, name="health"),
    path("health/ready/", health.ready, name="health-ready"),
    # Prometheus scrape (allowed addresses or METRICS_TOKEN only; docs/operations.md).
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", views.home, name="home"),
]

handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
