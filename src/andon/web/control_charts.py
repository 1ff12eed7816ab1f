"""Control charts and sparklines as inline SVG, for the metric page, the SQDC board and the pack.

Pure functions from a ``spc.Chart`` (and the metric's bands and annotations) to one ``<svg>``
element, in the manner of ``analytics_charts``: every text escaped, colours as presentation
attributes (the Content-Security-Policy allows no inline style). A signal is told apart from
noise by shape and size as well as colour (a larger diamond against a small dot), and each
point carries its period, value and the rules it completes, so the chart reads without colour
and a test (or a screen reader, through the ``<title>``) can read it back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from andon.metrics.spc import Chart
from andon.web.analytics_charts import FONT, GRID, INK, MUTED

CENTER = "#1f2937"
LIMIT = "#b91c1c"
NOISE = "#2563eb"
SIGNAL = "#b91c1c"
ANNOTATION = "#6b7280"
BAND_FILL = {"warning": "#fef3c7", "critical": "#fee2e2"}
BAND_EDGE = {"warning": "#d97706", "critical": "#b91c1c"}


@dataclass(frozen=True)
class Band:
    """An action threshold drawn as a shaded zone: beyond ``above`` or below ``below``."""

    level: str
    above: float | None = None
    below: float | None = None


@dataclass(frozen=True)
class Annotation:
    """Something that happened at a period: a revision taking effect, a process version, a
    CAPA's change; with ``href``, its label links to its page."""

    period: str
    label: str
    href: str | None = None


def control_chart(
    chart: Chart,
    *,
    title: str,
    unit: str,
    bands: Sequence[Band] = (),
    annotations: Sequence[Annotation] = (),
    percent: bool = False,
    width: int = 880,
    height: int = 320,
) -> str:
    """The points in period order, the centre line, the control limits (a step line where they
    vary per point, as on p and u charts) and the threshold bands.

    Each point is a ``circle.point.noise`` or a ``path.point.signal`` with ``data-period``,
    ``data-value`` and ``data-signals``; its tooltip says why it is a signal. An annotation is
    a dotted vertical line at its period with its label (periods not on the chart are left
    out). No points draws an empty frame that says so.
    """
    left, right, top, bottom = 56, 52, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    points = chart.points
    parts = [_open(width, height, title)]
    if not points:
        parts.append(_text(width / 2, height / 2, "No values yet", "middle", MUTED))
        parts.append("</svg>")
        return "".join(parts)

    lo, hi = _range(chart, bands)
    step = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    def fmt(v: float) -> str:
        return _format(v, percent)

    for band in bands:
        parts.append(_band(band, y, lo, hi, left, plot_w))
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="{GRID}"/>'
    )
    for tick in _ticks(lo, hi):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" '
            f'y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        parts.append(_text(left + plot_w + 4, y(tick) + 4, fmt(tick), "start", MUTED))
    parts.append(_hline("center", y(chart.center), left, plot_w, CENTER, ""))
    parts.append(_text(left - 6, y(chart.center) + 4, fmt(chart.center), "end", CENTER))
    if chart.ucl is not None and chart.lcl is not None:
        parts.append(_hline("ucl", y(chart.ucl), left, plot_w, LIMIT, "6 4"))
        parts.append(_hline("lcl", y(chart.lcl), left, plot_w, LIMIT, "6 4"))
        parts.append(_text(left - 6, y(chart.ucl) + 4, fmt(chart.ucl), "end", LIMIT))
        parts.append(_text(left - 6, y(chart.lcl) + 4, fmt(chart.lcl), "end", LIMIT))
    else:
        for name, limits in (("ucl", [p.ucl for p in points]), ("lcl", [p.lcl for p in points])):
            corners = [(x(i), y(v)) for i, v in enumerate(limits)]
            parts.append(_steps(name, corners, step, left, left + plot_w))

    index = {p.period: i for i, p in enumerate(points)}
    stacked: dict[str, int] = {}
    for note in annotations:
        if note.period in index:
            # Notes at the same period stack their labels, one line each, instead of overlapping.
            row = stacked[note.period] = stacked.get(note.period, -1) + 1
            parts.append(_annotation(x(index[note.period]), top, plot_h, note, row))

    path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
    parts.append(f'<polyline class="series" points="{path}" fill="none" stroke="{MUTED}"/>')
    for i, p in enumerate(points):
        parts.append(_point(x(i), y(p.value), p.period, p.value, p.signals, p.reasons, fmt, unit))

    parts.append(_text(left, height - 18, points[0].period, "start", MUTED))
    if len(points) > 1:
        parts.append(_text(left + plot_w, height - 18, points[-1].period, "end", MUTED))
    parts.append(_legend(left, height - 4, chart.ucl is None))
    parts.append("</svg>")
    return "".join(parts)


def sparkline(
    values: Sequence[float | None],
    *,
    title: str,
    width: int = 140,
    height: int = 36,
    colour: str = NOISE,
) -> str:
    """The last values as a line (a gap where a period had no data), the latest one a dot."""
    parts = [_open(width, height, title, css="sparkline")]
    known = [v for v in values if v is not None]
    if not known:
        parts.append("</svg>")
        return "".join(parts)
    lo, hi = min(known), max(known)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = 3
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def at(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{pad + (height - 2 * pad) * (hi - v) / (hi - lo):.1f}"

    run: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            run.append(at(i, v))
        elif run:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                'stroke-width="1.5"/>'
            )
            run = []
    last = max(i for i, v in enumerate(values) if v is not None)
    cx, cy = at(last, values[last] or 0.0).split(",")
    parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round values between ``lo`` and ``hi`` for gridlines: a 1, 2 or 5 step of a power of
    ten giving about ``count`` lines."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(count + 2) if first + i * step <= hi]


def _range(chart: Chart, bands: Sequence[Band]) -> tuple[float, float]:
    figures = [chart.center]
    for p in chart.points:
        figures += [p.value, p.ucl, p.lcl]
    for band in bands:
        figures += [v for v in (band.above, band.below) if v is not None]
    lo, hi = min(figures), max(figures)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    return lo - pad, hi + pad


def _band(
    band: Band, ys: Callable[[float], float], lo: float, hi: float, left: float, plot_w: float
) -> str:
    fill, edge = BAND_FILL.get(band.level, "#f3f4f6"), BAND_EDGE.get(band.level, MUTED)
    out = []
    for side, value in (("above", band.above), ("below", band.below)):
        if value is None:
            continue
        a, b = (ys(hi), ys(value)) if side == "above" else (ys(value), ys(lo))
        a, b = min(a, b), max(a, b)
        label = f"{band.level} {side} {_format(value, False)}"
        out.append(
            f'<rect class="band {escape(band.level)}" x="{left}" y="{a:.1f}" width="{plot_w}" '
            f'height="{b - a:.1f}" fill="{fill}" stroke="{edge}" stroke-dasharray="2 3" '
            f"data-level={quoteattr(band.level)} data-{side}={quoteattr(str(value))}>"
            f"<title>{escape(label)}</title></rect>"
        )
    return "".join(out)


def _hline(name: str, y: float, left: float, plot_w: float, colour: str, dash: str) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line class="{name}" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
        f'stroke="{colour}"{dashed}/>'
    )


def _steps(
    name: str, corners: list[tuple[float, float]], step: float, first: float, last: float
) -> str:
    """Limits that change per point, as a step line centred on each point, kept inside the
    plot (``first``..``last``)."""
    half = step / 2 if len(corners) > 1 else 0
    path: list[str] = []
    for px, py in corners:
        a, b = max(px - half, first), min(px + half, last)
        path += [f"{a:.1f},{py:.1f}", f"{b:.1f},{py:.1f}"]
    return (
        f'<polyline class="{name}" points="{" ".join(path)}" fill="none" stroke="{LIMIT}" '
        'stroke-dasharray="6 4"/>'
    )


def _annotation(x: float, top: float, plot_h: float, note: Annotation, row: int = 0) -> str:
    underline = ' text-decoration="underline"' if note.href is not None else ""
    label = (
        f'<text x="{x + 3:.1f}" y="{top + 11 + 12 * row}" font-size="10" '
        f'fill="{ANNOTATION}"{underline}>{escape(_short(note.label))}</text>'
    )
    if note.href is not None:
        label = f"<a href={quoteattr(note.href)}>{label}</a>"
    return (
        f'<g class="annotation" data-period={quoteattr(note.period)}>'
        f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{ANNOTATION}" '
        f'stroke-dasharray="1 3"/>{label}'
        f"<title>{escape(note.period)}: {escape(note.label)}</title></g>"
    )


def _point(
    x: float,
    y: float,
    period: str,
    value: float,
    signals: Sequence[str],
    reasons: Sequence[str],
    fmt: Callable[[float], str],
    unit: str,
) -> str:
    attrs = (
        f"data-period={quoteattr(period)} data-value={quoteattr(repr(value))} "
        f"data-signals={quoteattr(' '.join(signals))}"
    )
    words = f"{period}: {fmt(value)} {unit}".strip()
    if signals:
        why = " ".join(reasons) or ", ".join(signals)
        return (
            f'<path class="point signal" d="M{x:.1f},{y - 6:.1f} l6,6 l-6,6 l-6,-6 z" '
            f'fill="{SIGNAL}" {attrs}><title>{escape(words)} — signal '
            f"({escape(', '.join(signals))}): {escape(why)}</title></path>"
        )
    return (
        f'<circle class="point noise" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{NOISE}" {attrs}>'
        f"<title>{escape(words)} — noise: inside the limits, no rule fires</title></circle>"
    )


def _legend(x: float, y: float, varying: bool) -> str:
    limits = "control limits (per point)" if varying else "control limits"
    items = [
        (f'<line x1="0" y1="-4" x2="18" y2="-4" stroke="{CENTER}"/>', "centre"),
        (f'<line x1="0" y1="-4" x2="18" y2="-4" stroke="{LIMIT}" stroke-dasharray="6 4"/>', limits),
        (f'<circle cx="9" cy="-4" r="3" fill="{NOISE}"/>', "noise"),
        (f'<path d="M9,-10 l6,6 l-6,6 l-6,-6 z" fill="{SIGNAL}"/>', "signal"),
    ]
    out, offset = [], 0.0
    for mark, label in items:
        out.append(
            f'<g transform="translate({x + offset:.0f},{y})">{mark}'
            f'<text x="22" y="0" font-size="11" fill="{MUTED}">{escape(label)}</text></g>'
        )
        offset += 30 + 6.5 * len(label)
    return "".join(out)


def _open(width: int, height: int, title: str, *, css: str = "chart control-chart") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="{FONT}" font-size="12" '
        f'fill="{INK}"><title>{escape(title)}</title>'
    )


def _text(x: float, y: float, text: str, anchor: str, colour: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11" '
        f'fill="{colour}">{escape(text)}</text>'
    )


def _format(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f} %"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
