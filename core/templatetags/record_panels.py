"""``{% record_panels %}``: the registered panels of the change page's record
(``core.admin_panels``)."""

from typing import Any

from django import template

from core.admin_panels import ShownPanel, panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def record_panels(context: template.Context) -> list[ShownPanel]:
    obj = context.get("original")
    request = context.get("request")
    if obj is None or request is None or getattr(obj, "pk", None) is None:
        return []
    return panels_for(request, obj)


@register.filter
def as_cell(value: Any) -> Any:
    return "-" if value is None or value == "" else value
