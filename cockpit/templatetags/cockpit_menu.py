"""``{% nav_sidebar_menu %}``: the admin side bar's menu (``admin/app_list.html`` of
the grouped menu), drawn once per process for each menu (``cockpit.site.menu_key``) and
each set of entries the current page marks as current."""

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any
from urllib.parse import quote

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from cockpit.site import remembered

register = template.Library()
_sidebars: OrderedDict[Hashable, SafeString] = OrderedDict()


def _render(app_list: Any, request: Any) -> SafeString:
    # The template reads the path only (no context processors: nothing else it needs).
    context = {"app_list": app_list, "show_changelinks": False, "request": request}
    return SafeString(render_to_string("admin/app_list.html", context))


@register.simple_tag(takes_context=True)
def nav_sidebar_menu(context: template.Context) -> SafeString:
    request = context.get("request")
    app_list = context.get("available_apps") or []
    key = getattr(request, "cockpit_menu_key", None)
    if request is None or key is None:
        return _render(app_list, request)
    # What app_list.html marks from the path ("current-app", "current-model"): the URLs
    # it finds in it, by the same test as the template's ``in request.path|urlencode``.
    path = quote(request.path, safe="/")
    current = tuple(
        url
        for app in app_list
        for url in (app.get("app_url"), *(model.get("admin_url") for model in app["models"]))
        if url and url in path
    )
    return remembered(_sidebars, (key, current), lambda: _render(app_list, request))
