"""The active company of a user: from the session (browser) or the token (API).

``AccountsConfig.ready()`` registers :func:`get_active_membership` with
``core.tenancy``, through which core and the other apps ask for it.
"""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.tenancy import get_active_company  # noqa: F401  (one definition, in core)

if TYPE_CHECKING:
    from .models import User

_MISSING = object()
SESSION_KEY = "active_company_id"


def request_company(user, company_id):
    """Ask for ``company_id`` as the active company of this request's ``user``."""
    user._requested_company_id = str(company_id) if company_id else None
    user.__dict__.pop("_active_membership", None)


def get_active_membership(user):
    """The membership the user acts under in this request, or None.

    The requested company (session or token) when the user is an active member of it;
    otherwise their oldest active membership. Kept on the user object for the rest of
    the request, and in the cache between requests (``accounts.access_cache``: a change
    of role, locations or activity invalidates it at once).
    """
    cached = user.__dict__.get("_active_membership", _MISSING)
    if cached is not _MISSING:
        return cached
    from core import rls

    from .access_cache import active_membership

    # Row-level security (core.rls): the user's own memberships, before any company.
    with rls.user_lookup(user.pk):
        membership = active_membership(user.pk, getattr(user, "_requested_company_id", None))
    user.__dict__["_active_membership"] = membership
    return membership


def signed_in_user(request: HttpRequest) -> "User":
    """The user behind a request that the admin site (or an authenticated view) let in:
    the staff member acting, for services that record who did something."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user
