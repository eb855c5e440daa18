"""Change-page buttons that apps on a higher floor add to DME's admin pages.

DME cannot import billing (``hme`` sits above it), so "Bill this delivery" and "Bill
this rental month" are added by ``hme.admin.billing``: it appends a provider to
``object_tools`` of the registered ModelAdmin. A provider returns ``(label, url)``
pairs for the object shown; each is a small POST form in the page's object tools
(``admin/dme/object_tools_change_form.html``), posting to a view of that app.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django.contrib import admin

    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

ToolProvider = Callable[[HttpRequest, Model], list[tuple[str, str]]]


class ObjectToolsMixin(_Base):
    change_form_template = "admin/dme/object_tools_change_form.html"
    # Set per registered instance by the apps that add buttons (see the module doc).
    object_tools: list[ToolProvider] = []

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        tools: list[tuple[str, str]] = []
        if obj is not None and obj.pk is not None:
            for provider in self.object_tools:
                tools.extend(provider(request, obj))
        context["post_tools"] = tools
        return super().render_change_form(request, context, add, change, form_url, obj)
