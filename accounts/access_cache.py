"""A user's access, cached: the active membership (role, company, locations) and the
permissions of the role and of the user (``core.caching``, kind ``access``).

Without it every API request and admin page asks the database for the membership, its
locations, the role's permissions and the user's own (four queries). The entries are
keyed by ids and role names only, and depend on two versions: the user's and the
global one. What changes them, and bumps the version at once (and again on commit):

- a membership saved or deleted, its locations changed, the user saved (deactivated):
  that user's version (``accounts/services.py`` saves through the ORM, so its role,
  location, expiry and removal changes all pass here);
- a company or a location saved or deleted, a role's permissions changed
  (``sync_roles``): the global version, one write for everyone.

A membership whose expiry date has passed is never served from the cache.
"""

import uuid
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from core.caching import cached, invalidate

KIND = "access"


def _company_part(company_id: Any) -> uuid.UUID | None:
    if not company_id:
        return None
    try:
        return uuid.UUID(str(company_id))
    except ValueError:
        return None


def resolve_membership(user_id: Any, requested: str | None) -> Any:
    """The database lookup (the requested company's membership, else the oldest)."""
    from .models import Membership

    memberships = Membership.objects.active().filter(user_id=user_id).select_related("company")
    if requested:
        memberships = memberships.filter(company_id=requested)
    return memberships.order_by("created_at").first()


def membership_location_ids(membership: Any) -> list[Any]:
    """The ids of the locations a membership is narrowed to (empty: all of them)."""
    return cached(
        KIND,
        (membership.user_id, None),
        ("locations", membership.pk),
        lambda: [location.pk for location in membership.locations.all()],
    )


def active_membership(user_id: Any, requested: str | None) -> Any:
    """:func:`resolve_membership` through the cache."""
    company = _company_part(requested)
    if requested and company is None:
        # Not an id: ask the database, which answers as it always did.
        return resolve_membership(user_id, requested)
    membership = cached(
        KIND,
        (user_id, None),
        ("membership", user_id, company or "-"),
        lambda: resolve_membership(user_id, requested),
    )
    if membership is not None and membership.is_expired:
        invalidate(KIND, user_id)
        return resolve_membership(user_id, requested)
    return membership


def _permission_names(queryset: Any) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in queryset.values_list("content_type__app_label", "codename")
    }


def role_permissions(role: str) -> set[str]:
    """``{"app.codename", ...}`` of a role's group."""
    from .roles import group_name

    return cached(
        KIND,
        None,
        ("role", role),
        lambda: _permission_names(Permission.objects.filter(group__name=group_name(role))),
    )


def user_permissions(user: Any) -> set[str]:
    """The permissions given to the user directly (rare: roles carry them)."""
    return cached(
        KIND,
        (user.pk, None),
        ("user-perms", user.pk),
        lambda: _permission_names(Permission.objects.filter(user=user)),
    )


# Invalidation -------------------------------------------------------------------
def invalidate_user(user_id: Any) -> None:
    invalidate(KIND, user_id)


def invalidate_everyone() -> None:
    invalidate(KIND, None)


@receiver([post_save, post_delete], sender="accounts.Membership", dispatch_uid="access.m")
def _membership_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate_user(instance.user_id)


@receiver([post_save, post_delete], sender="accounts.User", dispatch_uid="access.u")
def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate_user(instance.pk)


@receiver([post_save, post_delete], sender="accounts.Company", dispatch_uid="access.c")
@receiver([post_save, post_delete], sender="accounts.Location", dispatch_uid="access.l")
def _company_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate_everyone()


def _membership_locations_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_"):
        from .models import Membership

        if isinstance(instance, Membership):
            invalidate_user(instance.user_id)
        else:
            invalidate_everyone()


def _permissions_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_"):
        if isinstance(instance, Group | Permission):
            invalidate_everyone()
        else:
            invalidate_user(instance.pk)


def connect() -> None:
    """The m2m signals, whose senders exist once the models are loaded."""
    from .models import Membership, User

    m2m_changed.connect(
        _membership_locations_changed,
        sender=Membership.locations.through,
        dispatch_uid="access.locations",
    )
    m2m_changed.connect(
        _permissions_changed, sender=Group.permissions.through, dispatch_uid="access.groups"
    )
    m2m_changed.connect(
        _permissions_changed,
        sender=User.user_permissions.through,
        dispatch_uid="access.user_perms",
    )
    m2m_changed.connect(
        _permissions_changed, sender=User.groups.through, dispatch_uid="access.user_groups"
    )
