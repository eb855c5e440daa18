"""Site-wide views: the home redirect and error pages (JSON under /api/)."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views import defaults

from core.api.exceptions import json_error_view


def home(request: HttpRequest) -> HttpResponseRedirect:
    return redirect("admin:index")


_api_not_found = json_error_view(404, "not_found", "Not found.")
_api_server_error = json_error_view(500, "server_error", "A server error occurred.")
_api_bad_request = json_error_view(400, "bad_request", "The request is malformed.")
_api_too_large = json_error_view(413, "too_large", "The request body is too large.")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (a SuspiciousOperation outside DRF: too many fields, a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE read by a middleware): JSON under /api/, 413 for size."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return _api_too_large(request)
        return _api_bad_request(request)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_server_error(request)
    return defaults.server_error(request)
