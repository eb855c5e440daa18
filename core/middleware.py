"""Request middleware: attribute browser (session) requests to their user; keep
responses out of caches."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from . import rls
from .context import acting_as, client_ip


class ActorMiddleware:
    """Make the session user the actor of every save during the request.

    API requests authenticate inside the view (JWT), after middleware has run:
    ``core.api.views.TenantViewSetMixin.initial`` sets the actor for those.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Row-level security (core.rls): an anonymous request sees no company's rows; a
        # signed-in one its active company's (acting_as); an API call's token user as
        # soon as DRF has authenticated it (rls.RequestScope follows request.user).
        with rls.for_request(request), acting_as(request.user, remote_addr=client_ip(request)):
            return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (with Django's never-cache set) on every response.

    Admin pages and API responses carry PHI, and a browser's or proxy's cache is a copy
    nobody controls (45 CFR 164.312(a)(1), access control; 164.312(e)(1), transmission).
    Every dynamic response here is a staff page, an API answer or a probe, none meant
    to be cached; static files are served before this middleware (whitenoise) and keep
    their long cache lifetime.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class CorrelationIdMiddleware:
    """One correlation id per request: the client's ``X-Request-ID`` when it is a
    well-formed id, else a new UUID. Set on ``request.correlation_id``, echoed in the
    response's ``X-Request-ID`` and carried in the metadata of every event the request
    causes (``core.events``), with the client address and user agent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .events.context import HEADER, correlation_id_from, request_info, within_request

        request.correlation_id = correlation_id_from(request)  # type: ignore[attr-defined]
        with within_request(request_info(request)):
            response = self.get_response(request)
        response[HEADER] = request.correlation_id  # type: ignore[attr-defined]
        return response
