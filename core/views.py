"""Site-wide views: the home redirect and error pages (JSON under /api/)."""

from django.shortcuts import redirect
from django.views import defaults

from core.api.exceptions import json_error_view


def home(request):
    return redirect("admin:index")


_api_not_found = json_error_view(404, "not_found", "Not found.")
_api_server_error = json_error_view(500, "server_error", "A server error occurred.")


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return _api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return _api_server_error(request)
    return defaults.server_error(request)
