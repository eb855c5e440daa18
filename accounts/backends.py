from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from .access_cache import role_permissions, user_permissions
from .tenancy import get_active_membership
from .validators import PUBLISHED_PASSWORDS


class MembershipBackend(ModelBackend):
    """Email login; permissions come from the role of the active membership.

    A person may be Billing at one company and Auditor at another: their rights follow
    the company they act for, not a global group list.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        # With DEBUG off the published demo password never signs anyone in, even on an
        # account that was given it while DEBUG was on (NIST SP 800-63B 5.1.1.2).
        if not settings.DEBUG and (password or "").strip().lower() in PUBLISHED_PASSWORDS:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user_permissions(self, user_obj, obj=None):
        # ModelBackend's own, read from the cache (accounts.access_cache).
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)
        if not hasattr(user_obj, "_user_perm_cache"):
            user_obj._user_perm_cache = user_permissions(user_obj)
        return user_obj._user_perm_cache

    def get_group_permissions(self, user_obj, obj=None):
        # The active role's permissions, read from the cache (accounts.access_cache).
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        if not hasattr(user_obj, "_group_perm_cache"):
            membership = get_active_membership(user_obj)
            user_obj._group_perm_cache = role_permissions(membership.role) if membership else set()
        return user_obj._group_perm_cache

    def _get_group_permissions(self, user_obj):
        membership = get_active_membership(user_obj)
        if membership is None:
            return Permission.objects.none()
        from .roles import group_name

        return Permission.objects.filter(group__name=group_name(membership.role))
