"""A button for every step on an admin change page, made from the admin's actions.

A ModelAdmin lists its steps once, by the names of the actions it already has::

    change_buttons = [
        Button("verify", when=can_become(ORDER_TRANSITIONS, OrderStatus.VERIFIED)),
        Button("schedule", when=can_become(ORDER_TRANSITIONS, OrderStatus.SCHEDULED)),
        Button("cancel", when=can_become(ORDER_TRANSITIONS, OrderStatus.CANCELLED),
               style="danger"),
        LinkButton("Post a payment", url=..., permission="hme.add_payment"),
    ]

and mixes in :class:`ChangeButtonsMixin`. The change page then shows, above the form,
one button per step that the record's status allows (``when``, read from the app's
transition table) and that the user may run (the action's ``permissions``, as the
changelist's Action menu checks them: ``ModelAdmin.get_actions``). Pressing it runs the
*same* action on that one record, so it calls the same service as the list action and
the API: a plain action is a POST from the button; an action that asks for input
(``core.admin_actions.FormAction``) opens its input page for this record, which posts
back to the step's URL, keeps what was typed and shows the errors beside the fields
when the input or the service refuses, and returns to the change page when done.

The services stay the judges: a step pressed on a stale page (another clerk moved the
record on) is refused by the service with its message, shown on the change page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .admin_actions import FormAction
from .admin_types import MixinAdminBase

Predicate = Callable[[Any], bool]


def always(obj: Any) -> bool:
    return True


def can_become(
    table: Mapping[Any, Any], target: Any, *, field: str = "status", also: Predicate | None = None
) -> Predicate:
    """Whether the record's ``field`` may become ``target`` by the transition
    ``table`` (``{status: {allowed next statuses}}``, as in each app's
    ``transitions.py``), and ``also`` holds when given."""
    choices = type(next(iter(table)))

    def allowed(obj: Any) -> bool:
        try:
            current = choices(getattr(obj, field))
        except ValueError:
            return False
        return target in table.get(current, ()) and (also is None or also(obj))

    return allowed


@dataclass(frozen=True)
class Button:
    """A step: the admin action ``action`` run on this record, shown when ``when``
    holds. ``label`` defaults to the action's description (without a trailing "...")."""

    action: str
    when: Predicate = always
    label: str = ""
    style: str = ""  # "danger": cancel, void, deny

    def __post_init__(self) -> None:
        if self.style not in ("", "danger"):
            raise ValueError(f"Unknown button style {self.style!r}.")


@dataclass(frozen=True)
class LinkButton:
    """A link to another page about this record (print, post a payment, the
    proof of delivery), shown when ``when`` holds and the user has ``permission``
    (``"app_label.codename"``, empty: anyone who sees the page)."""

    label: str
    url: Callable[[Any], str]
    when: Predicate = always
    permission: str = ""
    style: str = ""


@dataclass(frozen=True)
class ShownButton:
    """What the change page renders."""

    label: str
    url: str
    method: str  # "post": pressing runs the step; "get": opens its page
    style: str = ""


def step_url_name(opts: Any) -> str:
    return f"{opts.app_label}_{opts.model_name}_step"


def _label(description: object) -> str:
    text = str(description).strip()
    return text[:-3].rstrip() if text.endswith("...") else text


class ChangeButtonsMixin(MixinAdminBase):
    """Change-page buttons from ``change_buttons`` (see the module's docstring)."""

    change_buttons: ClassVar[Sequence[Button | LinkButton]] = ()

    def buttons_for(self, request: HttpRequest, obj: Any) -> list[ShownButton]:
        """The steps this user may take on ``obj`` now, in declaration order."""
        actions = self.get_actions(request) or {}
        shown: list[ShownButton] = []
        for button in self.change_buttons:
            if not button.when(obj):
                continue
            if isinstance(button, LinkButton):
                if button.permission and not request.user.has_perm(button.permission):
                    continue
                shown.append(ShownButton(button.label, button.url(obj), "get", button.style))
                continue
            entry = actions.get(button.action)
            if entry is None:
                continue
            func, _name, description = entry
            shown.append(
                ShownButton(
                    button.label or _label(description),
                    reverse(
                        f"{self.admin_site.name}:{step_url_name(self.model._meta)}",
                        args=[obj.pk, button.action],
                    ),
                    "get" if isinstance(func, FormAction) else "post",
                    button.style,
                )
            )
        return shown

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and change:
            context["change_buttons"] = self.buttons_for(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/step/<str:action>/",
                self.admin_site.admin_view(self.step_view),
                name=step_url_name(opts),
            ),
            *super().get_urls(),
        ]

    def step_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponseBase:
        """Run the action ``action`` on this one record (see the module docstring)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not any(isinstance(b, Button) and b.action == action for b in self.change_buttons):
            raise Http404
        actions = self.get_actions(request) or {}
        entry = actions.get(action)
        if entry is None:
            raise PermissionDenied
        func = entry[0]
        opts = self.model._meta
        change_url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]
        )
        if not isinstance(func, FormAction) and request.method != "POST":
            # A plain step changes data: only a POST (the button's form) runs it.
            return HttpResponseRedirect(change_url)
        queryset = self.get_queryset(request).filter(pk=obj.pk)
        response = func(self, request, queryset)
        if isinstance(response, TemplateResponse) and isinstance(func, FormAction):
            # The input page of this record: back to its change page, not the list.
            response.context_data = {
                **(response.context_data or {}),
                "cancel_url": change_url,
                "original": obj,
            }
            return response
        if isinstance(response, HttpResponseBase):
            return response
        return HttpResponseRedirect(change_url)
