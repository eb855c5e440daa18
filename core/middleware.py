"""Request middleware: attribute browser (session) requests to their user."""

from .context import acting_as, client_ip


class ActorMiddleware:
    """Make the session user the actor of every save during the request.

    API requests authenticate inside the view (JWT), after middleware has run:
    ``core.api.views.TenantViewSetMixin.initial`` sets the actor for those.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(request.user, remote_addr=client_ip(request)):
            return self.get_response(request)
