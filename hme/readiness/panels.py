"""The read-only "Ready to bill / On hold" panel of the admin change pages (order,
delivery, claim): each reason in words, with a link to the record and field to fix."""

from collections.abc import Iterable
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .base import Reason
from .compute import claim_reasons, order_reasons, summarize


def fix_link(reason: Reason) -> SafeString | str:
    """A link to the change page of the record to fix (its field as the anchor)."""
    fix = reason.fix
    if fix is None or fix.pk is None:
        return ""
    try:
        url = reverse(f"admin:{fix.app_label}_{fix.model_name}_change", args=[fix.pk])
    except NoReverseMatch:
        return ""
    label = f"fix {fix.model_name}" + (f" > {fix.field.replace('_', ' ')}" if fix.field else "")
    anchor = f"#id_{fix.field}" if fix.field else ""
    return format_html('<a href="{}{}">{}</a>', url, anchor, label)


def render_reasons(reasons: Iterable[Reason], title: str = "") -> SafeString:
    reasons = list(reasons)
    summary = summarize(reasons)
    if not reasons:
        return format_html('<p class="readiness ready">{}Ready to bill.</p>', title)
    head = "On hold" if summary["status"] == "on_hold" else "Ready to bill, with warnings"
    rows = format_html_join(
        "",
        '<li class="readiness-{}"><strong>{}</strong> {} <code>{}</code> {}</li>',
        (
            (r.severity, "Error:" if r.is_error else "Warning:", r.message, r.code, fix_link(r))
            for r in reasons
        ),
    )
    return format_html('<div class="readiness"><p>{}{}</p><ul>{}</ul></div>', title, head, rows)


def order_panel(order: Any) -> str:
    by_line = order_reasons([order])[order.pk]
    if not by_line:
        return "No lines."
    lines = {line.pk: line for line in order.lines.select_related("equipment")}

    def title(line_id: Any) -> str:
        line = lines.get(line_id)
        if line is None:
            return ""
        return f"{line.equipment.hcpcs_code} ({line.get_kind_display().lower()}): "

    parts = [render_reasons(reasons, title=title(line_id)) for line_id, reasons in by_line.items()]
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 - each part escaped


def delivery_panel(delivery: Any) -> str:
    return order_panel(delivery.order)


def claim_panel(claim: Any) -> str:
    return render_reasons(claim_reasons([claim])[claim.pk])
