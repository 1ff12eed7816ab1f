"""The process map as a self-contained inline SVG: stages, transitions, SLAs, live counts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from andon.processes.layout import Box, Edge, Layout, layout
from andon.processes.spec import ProcessSpec, Stage, format_duration

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#4b5563"
LINE = "#374151"
REWORK = "#b45309"
LATE = "#b91c1c"
QA = "#15803d"
NAME_CHARS = 18  # what fits a 150 px box at 13 px, semibold
META_CHARS = 23  # at 12 px

# Characters XML 1.0 cannot carry at all; a label holding one would make the SVG unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_svg(
    spec: ProcessSpec,
    *,
    stage_counts: Mapping[str, int] | None = None,
    breached: Mapping[str, int] | None = None,
) -> str:
    """The map of ``spec`` as one ``<svg>`` element, ready to inline in a page.

    No scripts, styles or external references: colours are presentation attributes, so page
    CSS can restyle the classes ``stage``, ``stage end``, ``stage qa``, ``stage late``,
    ``flow``, ``flow rework``, ``flow back``, ``flow-label`` and ``start``. Every text is
    escaped. ``stage_counts`` (work items per stage key) adds an "12 items · 2 late" line,
    the late part from ``breached``; stages missing from either count as zero. The SVG is
    drawn at its natural size (``width``/``height`` in px) so 13 px text stays legible on a
    tablet; put it in a horizontally scrolling container rather than scaling it down.
    """
    lay = layout(spec)
    ids = f"process-map-{spec.key}"
    counted = stage_counts is not None or breached is not None
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" '
        f'viewBox="0 0 {lay.width} {lay.height}" width="{lay.width}" height="{lay.height}" '
        f'role="img" aria-labelledby="{ids}-title {ids}-desc" '
        f'font-family="{FONT}" font-size="13" fill="{INK}" data-process={_attr(spec.key)}>',
        f'<title id="{ids}-title">{_text("Process map: " + spec.name)}</title>',
        f'<desc id="{ids}-desc">{_text(_description(spec, stage_counts, breached))}</desc>',
        "<defs>",
        _marker(f"{ids}-arrow", LINE),
        _marker(f"{ids}-arrow-rework", REWORK),
        "</defs>",
        _start(lay, f"{ids}-arrow"),
    ]
    parts += [_flow(edge, ids) for edge in lay.edges]
    for stage in spec.stages:
        count = None if stage_counts is None else int(stage_counts.get(stage.key, 0))
        late = 0 if breached is None else int(breached.get(stage.key, 0))
        box = lay.stages[stage.key]
        parts.append(_stage(stage, box, spec, counted=counted, count=count, late=late))
    parts += [_flow_label(edge) for edge in lay.edges if edge.rework]
    parts.append("</svg>")
    return "\n".join(parts)


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _role(stage: Stage) -> str:
    return stage.owner_role.value.replace("_", " ")


def _meta(stage: Stage) -> str:
    sla = f" · SLA {format_duration(stage.sla)}" if stage.sla else ""
    return _role(stage) + sla


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def _description(
    spec: ProcessSpec, counts: Mapping[str, int] | None, breached: Mapping[str, int] | None
) -> str:
    stages = []
    for stage in spec.stages:
        line = f"{stage.name} ({_meta(stage)}"
        if counts is not None:
            line += ", " + _items(int(counts.get(stage.key, 0)))
        if breached is not None:
            line += f", {int(breached.get(stage.key, 0))} late"
        stages.append(line + ")")
    ends = ", ".join(spec.stage(k).name for k in spec.end)
    return f"Starts at {spec.stage(spec.start).name}; ends at {ends}. Stages: " + "; ".join(stages)


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _path(edge: Edge) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(edge.points))


def _start(lay: Layout, arrow: str) -> str:
    s = lay.start
    return (
        f'<g class="start"><circle cx="{s.cx}" cy="{s.cy}" r="{s.width // 2}" fill="#fff" '
        f'stroke="{QA}" stroke-width="2"/>'
        f'<text x="{s.cx}" y="{s.bottom + 14}" text-anchor="middle" font-size="11" '
        f'fill="{MUTED}">start</text>'
        f'<path class="start-link" d="{_path(lay.start_edge)}" fill="none" stroke="{LINE}" '
        f'stroke-width="1.5" marker-end="url(#{arrow})"/></g>'
    )


def _flow(edge: Edge, ids: str) -> str:
    classes = "flow" + (" rework" if edge.rework else "") + (" back" if edge.back else "")
    colour, arrow = (REWORK, f"{ids}-arrow-rework") if edge.rework else (LINE, f"{ids}-arrow")
    dash = ' stroke-dasharray="6 4"' if edge.rework else ""
    return (
        f'<path class="{classes}" data-from="{edge.source}" data-to="{edge.target}" '
        f'd="{_path(edge)}" fill="none" stroke="{colour}" stroke-width="1.5"{dash} '
        f'marker-end="url(#{arrow})"/>'
    )


def _flow_label(edge: Edge) -> str:
    at = edge.label_at
    return (
        f'<text class="flow-label" x="{at.x}" y="{at.y}" text-anchor="middle" font-size="12" '
        f'fill="{REWORK}" stroke="#fff" stroke-width="4" paint-order="stroke">rework</text>'
    )


def _stage(
    stage: Stage, box: Box, spec: ProcessSpec, *, counted: bool, count: int | None, late: int
) -> str:
    end = stage.key in spec.end
    classes = "stage" + (" end" if end else "") + (" qa" if stage.checklist else "")
    classes += " late" if late else ""
    border = LATE if late else LINE
    lines = [
        f'<g class="{classes}" data-stage="{stage.key}">',
        f"<title>{_text(stage.name + ' — ' + _meta(stage))}</title>",
        f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}" rx="6" '
        f'fill="#fff" stroke="{border}" stroke-width="1.5"/>',
    ]
    if end:
        lines.append(
            f'<rect class="end-border" x="{box.x + 4}" y="{box.y + 4}" width="{box.width - 8}" '
            f'height="{box.height - 8}" rx="3" fill="none" stroke="{border}" stroke-width="1.5"/>'
        )
    top = box.y + (20 if counted else 26)
    lines += [
        f'<text class="stage-name" x="{box.cx}" y="{top}" text-anchor="middle" '
        f'font-weight="600">{_text(_fit(stage.name, NAME_CHARS))}</text>',
        f'<text class="stage-meta" x="{box.cx}" y="{top + 18}" text-anchor="middle" '
        f'font-size="12" fill="{MUTED}">{_text(_fit(_meta(stage), META_CHARS))}</text>',
    ]
    if counted:
        pieces = [] if count is None else [_items(count)]
        if late:
            pieces.append(
                f'<tspan class="late" fill="{LATE}" font-weight="600">{late} late</tspan>'
            )
        lines.append(
            f'<text class="stage-count" x="{box.cx}" y="{top + 35}" text-anchor="middle" '
            f'font-size="12">{" · ".join(pieces)}</text>'
        )
    if stage.checklist:
        lines.append(
            f'<g class="qa-badge"><rect x="{box.right - 48}" y="{box.y - 9}" width="42" '
            f'height="18" rx="9" fill="#dcfce7" stroke="{QA}"/>'
            f'<text x="{box.right - 27}" y="{box.y + 4}" text-anchor="middle" font-size="11" '
            f'font-weight="600" fill="{QA}">✓ QA</text></g>'
        )
    lines.append("</g>")
    return "".join(lines)
