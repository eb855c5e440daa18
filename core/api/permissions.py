from typing import Any

from rest_framework.permissions import DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Reading needs the model's ``view`` permission too (an Auditor reads, Intake
    may not read claims); writing needs add/change/delete. Permissions come from
    the role of the user's active membership (``accounts.backends``)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class ActionPermission(RoleModelPermissions):
    """For workflow actions (``POST /orders/{id}/confirm/``): the view's
    ``action_permissions`` maps an action name to the permissions it needs."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        needed = getattr(view, "action_permissions", {}).get(view.action)
        return needed is None or request.user.has_perms(needed)
