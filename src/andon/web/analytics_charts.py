"""Small inline SVG charts for the analytics page: columns over time and labelled bars.

Pure functions from figures to one ``<svg>`` element; every text is escaped, colours are
presentation attributes (the page's Content-Security-Policy allows no inline style).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#4b5563"
BAR = "#2563eb"
GRID = "#d1d5db"
LABEL_CHARS = 28


def column_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str,
    width: int = 640,
    height: int = 200,
) -> str:
    """One column per point (label, value), in the given order, scaled to the largest value.

    Each column is a ``rect.column`` with ``data-label`` and ``data-value`` and a tooltip; the
    first and last labels are written under the axis. No points draws an empty frame.
    """
    left, bottom, top = 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    largest = max([v for _, v in points] or [0.0]) or 1.0
    parts = [_open(width, height, title)]
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        f'stroke="{GRID}"/>'
    )
    parts.append(_axis_label(left - 6, top + 10, _number(largest), "end"))
    parts.append(_axis_label(left - 6, top + plot_h, "0", "end"))
    if points:
        step = plot_w / len(points)
        bar = max(1.0, step * 0.8)
        for i, (label, value) in enumerate(points):
            h = plot_h * value / largest
            x = left + i * step + (step - bar) / 2
            parts.append(
                f'<rect class="column" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{BAR}" data-label={quoteattr(label)} '
                f'data-value="{_number(value)}"><title>{escape(label)}: {_number(value)} '
                f"{escape(unit)}</title></rect>"
            )
        parts.append(_axis_label(left, height - 8, points[0][0], "start"))
        if len(points) > 1:
            parts.append(_axis_label(width - 8, height - 8, points[-1][0], "end"))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: Sequence[tuple[str, float, str]],
    *,
    title: str,
    width: int = 640,
) -> str:
    """One horizontal bar per (label, value, shown text), top to bottom, scaled to the largest.

    Each bar is a ``rect.bar`` with ``data-label`` and ``data-value``; the shown text is
    written after it.
    """
    row, label_w, text_w = 24, 200, 80
    height = max(row, row * len(bars)) + 8
    plot_w = width - label_w - text_w - 8
    largest = max([v for _, v, _ in bars] or [0.0]) or 1.0
    parts = [_open(width, height, title)]
    for i, (label, value, shown) in enumerate(bars):
        y = 4 + i * row
        w = plot_w * value / largest
        fitted = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12">'
            f"{escape(fitted)}<title>{escape(label)}</title></text>"
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{max(w, 1.0):.1f}" '
            f'height="{row - 8}" fill="{BAR}" data-label={quoteattr(label)} '
            f'data-value="{_number(value)}"/>'
            f'<text x="{label_w + max(w, 1.0) + 6:.1f}" y="{y + 16}" font-size="12" '
            f'fill="{MUTED}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="{FONT}" font-size="12" '
        f'fill="{INK}"><title>{escape(title)}</title>'
    )


def _axis_label(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="11" fill="{MUTED}">'
        f"{escape(text)}</text>"
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
