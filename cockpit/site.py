"""The admin site of AriesOne: Django's, with the menu grouped by the work
(``cockpit.menu``) and the role dashboards as its index page (``cockpit.dashboards``).

``cockpit.apps.CockpitAdminConfig`` makes it ``admin.site``, so every ``@admin.register``
of every app lands here unchanged.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .menu import MENU, group_of


class CockpitAdminSite(admin.AdminSite):
    """The staff's admin: grouped menu, dashboards on the index."""

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        """The menu (index page and side bar): the models the user may see, grouped
        by the work. One app's page (``/admin/<app>/``) stays Django's."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        return grouped_app_list(self._build_app_dict(request), request)

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
