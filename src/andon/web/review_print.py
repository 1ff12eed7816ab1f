"""The weekly review pack as one printable HTML page, and that page as PDF.

Rendered with its own autoescaping environment (like ``documents.printing``) so the CLI can
print without the web app; each metric's control chart is inline SVG, and the PDF is made by
WeasyPrint from our own static files only, never the network.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import jinja2
from markupsafe import Markup

from andon.core.clock import to_local
from andon.documents.printing import TEMPLATES_DIR, pdf_bytes
from andon.reviews.schemas import PackMetric, ReviewPack
from andon.web.control_charts import Band, control_chart

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def chart_svg(metric: PackMetric) -> Markup | None:
    """The metric's control chart with its bands: the series with the most signals in the
    week, else the whole source (or its first line)."""
    if metric.chart_data is None:
        return None
    line, chart, bands = metric.chart_data
    on = f", line {line}" if line else ""
    svg = control_chart(
        chart,
        title=f"{metric.name} — control chart{on}",
        unit=metric.unit,
        bands=[Band(level, above, below) for level, above, below in bands],
        percent=metric.unit == "%",
        width=700,
        height=240,
    )
    return Markup(svg)  # noqa: S704 - control_chart escapes every text it draws


def number(value: float | None, unit: str = "") -> str:
    """A value as the pack prints it, with its unit; '—' for no data. A metric in ``%``
    stores fractions (0.92 is 92 %), as its definition's target and bands do."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f} %"
    text = f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit and unit not in ("count",) else text


def pack_context(pack: ReviewPack, zone: tzinfo) -> dict[str, Any]:
    return {
        "pack": pack,
        "generated": to_local(pack.generated_at, zone).strftime("%Y-%m-%d %H:%M %Z"),
        "chart_svg": chart_svg,
        "number": number,
        "screen_links": True,
    }


def pack_html(pack: ReviewPack, zone: tzinfo, *, screen_links: bool = True) -> str:
    """The pack as a standalone HTML page styled by ``/static/print.css`` and ``review.css``;
    ``screen_links`` adds the download links shown on screen (not in the printout)."""
    context = pack_context(pack, zone)
    context["screen_links"] = screen_links
    return _env.get_template("reviews/pack.html").render(**context)


def pack_pdf(pack: ReviewPack, zone: tzinfo) -> bytes:
    """The same page as PDF."""
    return pdf_bytes(pack_html(pack, zone, screen_links=False))
