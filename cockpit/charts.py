"""Small bar charts drawn on the server as SVG: no chart library, no script, no CDN
(the Content-Security-Policy allows neither inline scripts nor other origins)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 320
BAR = 18
GAP = 6
LABEL = 110


def bar_chart(
    bars: Sequence[tuple[str, float | Decimal | int]], *, unit: str = "", title: str = ""
) -> SafeString:
    """Horizontal bars, one per ``(label, value)``, each with its value written out
    (the numbers are the content; the bars only compare them)."""
    if not bars:
        return SafeString("")
    top = max(float(value) for _, value in bars) or 1.0
    height = len(bars) * (BAR + GAP) + GAP
    room = WIDTH - LABEL - 70
    rows = []
    for index, (label, value) in enumerate(bars):
        y = GAP + index * (BAR + GAP)
        width = max(1, round(room * float(value) / top)) if float(value) > 0 else 0
        rows.append(
            (
                y + BAR - 5,
                label[:18],
                LABEL,
                y,
                width,
                BAR,
                LABEL + width + 4,
                y + BAR - 5,
                _number(value, unit),
            )
        )
    body = format_html_join(
        "",
        '<text x="0" y="{}" class="chart-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
        '<text x="{}" y="{}" class="chart-value">{}</text>',
        rows,
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        title,
        WIDTH,
        height,
        WIDTH,
        height,
        title,
        body,
    )


def _number(value: float | Decimal | int, unit: str) -> str:
    if unit == "$":
        return f"${float(value):,.0f}"
    if unit == "%":
        return f"{float(value):.0f}%"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{float(value):,.1f}{unit}"
