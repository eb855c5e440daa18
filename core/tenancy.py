"""The active membership and company of a user, as core sees them.

core sits below accounts (see ``tests/core/test_layering.py``), so it cannot ask
accounts directly. accounts registers its resolver here from
``AccountsConfig.ready()``; core's tenant QuerySet, admin and API base (and any
other app) call :func:`get_active_membership` / :func:`get_active_company`.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The membership is accounts' model, which core cannot name (see the docstring).
MembershipResolver = Callable[[Any], Any]

_resolver: MembershipResolver | None = None


def set_membership_resolver(resolver: MembershipResolver) -> None:
    """Register ``resolver(user) -> membership or None``.

    The membership it returns has ``company``, ``company_id`` and ``location_ids``.
    """
    global _resolver
    _resolver = resolver


def get_active_membership(user: Any) -> Any:
    """The membership ``user`` acts under in this request, or None."""
    if _resolver is None:
        raise ImproperlyConfigured(
            "No membership resolver registered: is the accounts app in INSTALLED_APPS?"
        )
    return _resolver(user)


def get_active_company(user: Any) -> Any:
    """The company ``user`` acts for in this request, or None (anonymous, no membership)."""
    if user is None or not user.is_authenticated:
        return None
    membership = get_active_membership(user)
    return membership.company if membership else None


def get_active_company_id(user: Any) -> Any:
    """The id of the company ``user`` acts for, or None."""
    if user is None or not user.is_authenticated:
        return None
    membership = get_active_membership(user)
    return membership.company_id if membership else None
