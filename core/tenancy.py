"""Which company a user acts for, without core importing accounts.

accounts registers its resolver in ``AccountsConfig.ready()``; core (the audit trail,
the admin, the API base) asks through :func:`get_active_company`. Core is the ground
floor: it never imports a domain app, so the dependency points the other way.
"""

_resolver = None


def set_membership_resolver(func):
    """``func(user)`` returns the membership the user acts under (or None)."""
    global _resolver
    _resolver = func


def get_active_membership(user):
    if _resolver is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    return _resolver(user)


def get_active_company(user):
    membership = get_active_membership(user)
    return membership.company if membership is not None else None


def get_active_company_id(user):
    membership = get_active_membership(user)
    return membership.company_id if membership is not None else None
