from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

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

    def _get_group_permissions(self, user_obj):
        membership = get_active_membership(user_obj)
        if membership is None:
            return Permission.objects.none()
        from .roles import group_name

        return Permission.objects.filter(group__name=group_name(membership.role))
