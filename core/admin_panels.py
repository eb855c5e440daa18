"""Panels on an admin change page: the record's related history, bounded, from any app.

A lower floor cannot import a higher one (clinical never imports dme or hme), yet the
patient's page must show orders, deliveries, rentals, coverage and claims. So the page
shows whatever panels are registered for its model, and each app above registers its
own, in its ``AppConfig.ready()`` (the cockpit registers those of the apps that exist
today: ``cockpit/patient_panels.py``; a later app, documents or holds, registers its
panel the same way and it appears on the page)::

    register_panel(Panel(
        model="clinical.patient",
        key="orders",
        title="Orders",
        rows=lambda request, patient: Order.objects.for_user(request.user).filter(patient=patient),
        columns=[Column("Order", lambda o: o.number), Column("Status", str)],
        link=change_link("dme_order"),
        full_list=filtered_list("dme_order"),
        permission="dme.view_order",
    ))

Each panel is one query of at most ``limit + 1`` rows (the extra row only says that
there are more: the "All ..." link lists them), so the page costs the same number of
queries however long the history. ``rows`` must start from ``for_user`` (tenant scope)
and select what its columns read. ``link=change_link("app_model")`` opens each row's
change page (the URL is reversed once per page, not once per row),
``full_list=filtered_list("app_model")`` the list filtered on the page's record;
``actions`` are the
panel's buttons ("Upload a document"), each with the permission it needs.

Read-only context is a panel, not an inline: an inline formset builds a form, renders
its widgets and asks the permissions again for every row, and is posted back with the
page's form; a panel is a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

DEFAULT_LIMIT = 10
# Reversed in place of a row's id, then replaced by it (ids are UUIDs or integers, which
# a URL carries as they are).
_ID = "00000000-0000-0000-0000-000000000000"
_change_urls: dict[tuple[str, str], str] = {}


def change_link(name: str) -> Callable[[Any], str]:
    """The row's admin change page, ``name`` as in ``admin:<name>_change``
    (``"hme_claim"``): reversed once per script prefix, then filled with each id."""

    def link(row: Any) -> str:
        key = (name, get_script_prefix())
        pattern = _change_urls.get(key)
        if pattern is None:
            pattern = _change_urls[key] = reverse(f"admin:{name}_change", args=[_ID])
        return pattern.replace(_ID, str(row.pk), 1)

    return link


def filtered_list(name: str, lookup: str = "patient") -> Callable[[Any], str]:
    """The admin list ``admin:<name>_changelist`` filtered on the page's record
    (``?patient=<id>``; ``lookup`` names another filter)."""
    return lambda record: reverse(f"admin:{name}_changelist") + f"?{lookup}={record.pk}"


@dataclass(frozen=True)
class Column:
    heading: str
    value: Callable[[Any], object]


@dataclass(frozen=True)
class Action:
    """A button under a panel (a link: the page it opens does the work)."""

    label: str
    url: Callable[[Any], str]  # the page's record -> URL
    permission: str = ""


@dataclass(frozen=True)
class Panel:
    model: str  # the page's model, "app_label.model_name"
    key: str
    title: str
    rows: Callable[[HttpRequest, Any], QuerySet[Any]]
    columns: Sequence[Column]
    link: Callable[[Any], str] | None = None
    full_list: Callable[[Any], str] | None = None
    permission: str = ""  # "app_label.codename": who may see the panel
    order: int = 100
    limit: int = DEFAULT_LIMIT
    empty: str = "None."
    note: str = ""
    full_label: str = ""  # the full list's link text, when it is not this panel's list
    actions: Sequence[Action] = ()


@dataclass
class ShownPanel:
    key: str
    title: str
    headings: list[str]
    rows: list[tuple[str, list[object]]]
    more: bool
    full_url: str
    empty: str
    note: str = ""
    count: int = field(default=0)
    full_label: str = ""
    actions: list[tuple[str, str]] = field(default_factory=list)


_PANELS: dict[str, dict[str, Panel]] = {}


def register_panel(panel: Panel) -> Panel:
    """Add (or replace, by ``key``) a panel on the change page of ``panel.model``."""
    _PANELS.setdefault(panel.model, {})[panel.key] = panel
    return panel


def registered_panels(model_label: str) -> list[Panel]:
    return sorted(_PANELS.get(model_label, {}).values(), key=lambda p: (p.order, p.key))


def may(user: Any, permission: str) -> bool:
    """``user.has_perm``, where the change permission also lets one view (as the
    admin's ``has_view_permission`` has it)."""
    if not permission or user.has_perm(permission):
        return True
    app_label, _, codename = permission.partition(".")
    if codename.startswith("view_"):
        return bool(user.has_perm(f"{app_label}.change_{codename[5:]}"))
    return False


def panels_for(request: HttpRequest, obj: Any) -> list[ShownPanel]:
    """The panels of ``obj``'s page this user may see, each with its first rows."""
    user = request.user
    shown = []
    for panel in registered_panels(obj._meta.label_lower):
        if not may(user, panel.permission):
            continue
        rows = list(panel.rows(request, obj)[: panel.limit + 1])
        more = len(rows) > panel.limit
        rows = rows[: panel.limit]
        shown.append(
            ShownPanel(
                key=panel.key,
                title=panel.title,
                headings=[column.heading for column in panel.columns],
                rows=[
                    (
                        panel.link(row) if panel.link else "",
                        [column.value(row) for column in panel.columns],
                    )
                    for row in rows
                ],
                more=more,
                full_url=panel.full_list(obj) if panel.full_list else "",
                empty=panel.empty,
                note=panel.note,
                count=len(rows),
                full_label=panel.full_label,
                actions=[
                    (action.label, action.url(obj))
                    for action in panel.actions
                    if may(user, action.permission)
                ],
            )
        )
    return shown
