"""The admin site of AriesOne: Django's, with the menu grouped by the work
(``cockpit.menu``) and the role dashboards as its index page (``cockpit.dashboards``).

``cockpit.apps.CockpitAdminConfig`` makes it ``admin.site``, so every ``@admin.register``
of every app lands here unchanged.

The menu is the same for every request of users who hold the same rights, and building
it asks each of the ~70 registered admins four permission questions and reverses two
URLs each (about a tenth of a page's CPU, again for the side bar's HTML). So each
process keeps the menu, and the side bar drawn from it, per **what it depends on**: the
user's flags (active, staff, superuser), the role of the active membership and the set
of permissions, the script prefix, the language and the admins registered
(:func:`menu_key`). A change of role,
membership or permission changes the key, so it shows on the next page with nothing to
invalidate; there is no PHI in it (model names and admin URLs). A ModelAdmin whose
``has_*_permission`` (with no object) read anything else would have to be added to the
key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest
from django.urls import get_script_prefix
from django.utils.translation import get_language

from .menu import MENU, group_of

T = TypeVar("T")
# Distinct keys a process meets: a handful of roles, times the languages; the bound only
# stops a pathological spread of per-user permission sets from growing the memory.
KEPT_MENUS = 256
_menus: OrderedDict[Hashable, Any] = OrderedDict()


def remembered(store: OrderedDict[Hashable, Any], key: Hashable, compute: Callable[[], T]) -> T:
    """``store[key]``, computed on the first use (least recently used out past the
    bound)."""
    try:
        store.move_to_end(key)
        value: T = store[key]
        return value
    except KeyError:
        value = store[key] = compute()
        while len(store) > KEPT_MENUS:
            store.popitem(last=False)
        return value


def menu_key(request: HttpRequest) -> Hashable:
    """What the menu of ``request``'s user depends on (see the module's docstring)."""
    from core.tenancy import get_active_membership

    user = request.user
    # The registered admins (an admin registered later, as tests do, is a new menu).
    site = (id(admin.site), len(admin.site._registry))
    flags = (user.is_active, user.is_staff, user.is_superuser)
    if user.is_superuser or not (user.is_authenticated and user.is_active):
        # A superuser holds every permission (ModelBackend), a visitor (the sign-in page)
        # or an inactive user none: the flags say it all, and no membership is looked up
        # (under row-level security a visitor has no user to scope the lookup by).
        return (site, flags, None, None, get_script_prefix(), get_language())
    membership = get_active_membership(user)
    role = membership.role if membership is not None else None
    permissions = frozenset(user.get_all_permissions())
    return (site, flags, role, permissions, get_script_prefix(), get_language())


def _copy(app_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The kept menu is shared by requests: each gets its own dictionaries.
    return [{**app, "models": [dict(model) for model in app["models"]]} for app in app_list]


class CockpitAdminSite(admin.AdminSite):
    """The staff's admin: grouped menu, dashboards on the index."""

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        """The menu (index page and side bar): the models the user may see, grouped
        by the work. One app's page (``/admin/<app>/``) stays Django's."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        key = menu_key(request)
        request.cockpit_menu_key = key  # type: ignore[attr-defined]  # the side bar's
        return _copy(
            remembered(
                _menus, key, lambda: grouped_app_list(self._build_app_dict(request), request)
            )
        )

    def get_urls(self) -> list[Any]:
        """Django's, and the printable documents (``cockpit.printing``)."""
        from django.urls import path

        from . import printing

        return [
            path(
                "print/delivery/<uuid:pk>/",
                self.admin_view(printing.delivery_ticket),
                name="print_delivery_ticket",
            ),
            path(
                "print/claim/<uuid:pk>/",
                self.admin_view(printing.claim_print),
                name="print_claim",
            ),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The menu, with the user's role dashboards above it (``cockpit.dashboards``)."""
        from .dashboards import dashboards_for

        context = {"dashboards": dashboards_for(request), **(extra_context or {})}
        return super().index(request, context)


def grouped_app_list(app_dict: dict[str, Any], request: HttpRequest) -> list[dict[str, Any]]:
    """Django's per-app dictionaries regrouped as ``MENU`` says, in its order, then
    the apps no group names (alphabetically); empty groups are left out."""
    groups: dict[str, dict[str, Any]] = {
        group.slug: {
            "name": group.name,
            "app_label": group.slug,
            "app_url": f"{admin_index_url()}#group-{group.slug}",
            "has_module_perms": True,
            "models": [],
            "_order": list(group.models),
        }
        for group in MENU
        if not group.operators_only or request.user.is_superuser
    }
    own: dict[str, dict[str, Any]] = {}
    for app in app_dict.values():
        for model in app["models"]:
            label = model["model"]._meta.label_lower
            group = group_of(label)
            if group is not None:
                if group.slug in groups:
                    groups[group.slug]["models"].append(model)
                continue
            target = own.setdefault(app["app_label"], {**app, "models": []})
            target["models"].append(model)
    result = []
    for entry in groups.values():
        order = entry.pop("_order")
        entry["models"].sort(
            key=lambda m: (
                order.index(m["model"]._meta.label_lower)
                if m["model"]._meta.label_lower in order
                else len(order),
                str(m["name"]),
            )
        )
        if entry["models"]:
            result.append(entry)
    for entry in sorted(own.values(), key=lambda app: str(app["name"]).lower()):
        entry["models"].sort(key=lambda m: str(m["name"]))
        result.append(entry)
    return result


def admin_index_url() -> str:
    from django.urls import reverse

    return reverse("admin:index")
