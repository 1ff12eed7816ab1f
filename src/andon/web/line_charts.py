"""An inline SVG line chart of shares (0–100 %) over days, for the adoption curves.

Pure function from series to one ``<svg>`` element, in the manner of ``analytics_charts``:
every text escaped, colours as presentation attributes (the Content-Security-Policy allows no
inline style), and each series also told apart by its dash pattern and a legend, so it reads
without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from andon.web.analytics_charts import FONT, GRID, INK, MUTED


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    dash: str
    """An SVG ``stroke-dasharray`` ("" for a solid line)."""
    values: Sequence[float | None]
    """One share (0..1) per day; None where there is nothing to measure (a gap)."""


def share_chart(
    series: Sequence[Series], *, title: str, width: int = 640, height: int = 240
) -> str:
    """Days along x (0 … n-1), 0–100 % up y; each series a ``polyline.series`` per unbroken
    run, with a ``circle.point`` (``data-day``, ``data-value``) per measured day."""
    left, right, top, bottom, legend = 44, 12, 12, 28, 22
    plot_w, plot_h = width - left - right, height - top - bottom - legend
    days = max((len(s.values) for s in series), default=0)
    step = plot_w / max(days - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="{FONT}" font-size="12" '
        f'fill="{INK}"><title>{escape(title)}</title>'
    ]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{pct}%</text>'
        )
    base = top + plot_h + 16
    parts.append(_label(left, base, "day 0", "start"))
    if days > 1:
        parts.append(_label(width - right, base, f"day {days - 1}", "end"))
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        run: list[str] = []
        for day, value in enumerate([*s.values, None]):
            if value is None:
                if run:
                    parts.append(
                        f'<polyline class="series" points="{" ".join(run)}" fill="none" '
                        f'stroke="{s.colour}" stroke-width="2"{dash}/>'
                    )
                run = []
                continue
            x, y = left + day * step, top + plot_h * (1 - value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{s.colour}" '
                f'data-series={quoteattr(s.name)} data-day="{day}" data-value="{value:.4f}">'
                f"<title>{escape(s.name)}, day {day}: {value * 100:.0f}%</title></circle>"
            )
    x = left
    for s in series:
        y = height - 8
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" stroke="{s.colour}" '
            f'stroke-width="2"{dash}/><text x="{x + 30}" y="{y}" font-size="12">'
            f"{escape(s.name)}</text>"
        )
        x += 40 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def _label(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="11" fill="{MUTED}">'
        f"{escape(text)}</text>"
    )
