from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from .tenancy import get_active_membership


class MembershipBackend(ModelBackend):
    """Email login; permissions come from the role of the active membership.

    A person may be Billing at one company and Auditor at another: their rights follow
    the company they act for, not a global group list.
    """

    def _get_group_permissions(self, user_obj):
        membership = get_active_membership(user_obj)
        if membership is None:
            return Permission.objects.none()
        from .roles import group_name

        return Permission.objects.filter(group__name=group_name(membership.role))
