"""Bar charts drawn on the server as plain SVG: no JavaScript, the same drawing inline in a page
and in a PDF status report.

xhtml2pdf does not draw an inline <svg> element; it does draw an <img> whose src is an SVG data
URI (through svglib), so PDFs use `svg_data_uri(bar_chart_svg(...))`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape

FONT = "Helvetica, Arial, sans-serif"
BAR_COLOUR = "#2f6f8f"
AXIS_COLOUR = "#555555"
GRID_COLOUR = "#dddddd"


def plain_money(cents: int) -> str:
    """A short amount without a locale (whole euros, thousands with a thin separator)."""
    euros = round(cents / 100)
    if abs(euros) >= 10_000:
        return f"€{euros / 1000:.0f}k"
    return f"€{euros:,}".replace(",", ".")


def _nice_max(value: int) -> int:
    """The top of the scale: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart_svg(
    points: list[tuple[str, int]],
    *,
    width: int = 640,
    height: int = 220,
    money: bool = True,
    value_label: Callable[[int], str] | None = None,
    title: str = "",
) -> str:
    """One bar per (label, value), the value written above each bar, the label below it.

    `value_label` formats a value (the page passes the reader's money format); by default
    money as plain euros, or the number itself.
    """
    fmt = value_label or (plain_money if money else str)
    left, right, top, bottom = 8, 8, 20, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in points), default=0))
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    font = 11 if slot >= 40 else 9
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="{font}">',
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    base_y = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base_y}" x2="{width - right}" y2="{base_y}" '
                 f'stroke="{AXIS_COLOUR}" stroke-width="1"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{width - right}" y2="{top}" '
                 f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
    for i, (label, value) in enumerate(points):
        parts.extend(_bar(i, label, value, fmt, left=left, slot=slot, bar_w=bar_w,
                          base_y=base_y, plot_h=plot_h, top_value=top_value))
    parts.append("</svg>")
    return "".join(parts)


def _bar(i: int, label: str, value: int, fmt: Callable[[int], str], *, left: float,
         slot: float, bar_w: float, base_y: float, plot_h: float, top_value: int) -> list[str]:
    bar_h = plot_h * max(value, 0) / top_value
    x = left + i * slot + (slot - bar_w) / 2
    centre = x + bar_w / 2
    text = escape(fmt(value))
    return [
        f'<rect x="{x:.1f}" y="{base_y - bar_h:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
        f'fill="{BAR_COLOUR}"><title>{escape(label)}: {text}</title></rect>',
        f'<text x="{centre:.1f}" y="{base_y - bar_h - 4:.1f}" text-anchor="middle" '
        f'fill="#222222">{text}</text>',
        f'<text x="{centre:.1f}" y="{base_y + 16:.1f}" text-anchor="middle" '
        f'fill="{AXIS_COLOUR}">{escape(label)}</text>',
    ]


def svg_data_uri(svg: str) -> str:
    """The SVG as a data URI for <img src=...>: how xhtml2pdf draws it in a PDF."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
