"""The process map of an event log (its directly-follows graph) as a self-contained inline SVG.

The geometry is the process map's (``andon.processes.layout``): activities become boxes in
layered columns, with a start node before every start activity and an end node after every
end activity, and edges are routed orthogonally around the boxes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from andon.analytics.units import human_seconds as _human_seconds
from andon.core.permissions import Role
from andon.processes.layout import Box, Edge, layout
from andon.processes.spec import ProcessSpec, Stage, Transition

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#4b5563"
LINE = "#374151"
TERMINAL = "#15803d"
DEVIATION = "#b91c1c"
NAME_CHARS = 18
START_NODE = "n_start"
END_NODE = "n_end"
MIN_STROKE = 1.5
MAX_STROKE = 7.0

# Characters XML 1.0 cannot carry; an activity name holding one would break the SVG.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

View = Literal["frequency", "performance"]


@dataclass(frozen=True)
class Marks:
    """What a conformance check found wrong, in the log's own activity names.

    ``edges``: directly-follows pairs that are moves the process does not allow; ``activities``:
    activities that are no stage of the process, or mandatory stages some case skipped;
    ``starts``/``ends``: activities cases wrongly started at or stopped at.
    """

    edges: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    activities: frozenset[str] = field(default_factory=frozenset)
    starts: frozenset[str] = field(default_factory=frozenset)
    ends: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.edges or self.activities or self.starts or self.ends)


def human_seconds(seconds: float | None) -> str:
    """A duration as the CLI prints it, with an em dash for none."""
    return _human_seconds(seconds, missing="—")


def render_dfg_svg(
    dfg: Mapping[str, Any],
    *,
    view: View = "frequency",
    min_frequency: int = 1,
    marks: Marks | None = None,
) -> str:
    """The map of a ``mine dfg --performance`` document as one ``<svg>`` element.

    Edges seen fewer than ``min_frequency`` times are left out (every activity stays). The
    ``frequency`` view labels each edge with its count, the ``performance`` view with its mean
    time; line width grows with the labelled figure. Edges, activities and start/end links in
    ``marks`` are drawn in red with the class ``deviation``. Each edge is a ``path.flow`` with
    ``data-source``, ``data-target``, ``data-frequency`` and (with times) ``data-mean``. Every
    text is escaped; no script, style or external reference.
    """
    marks = marks or Marks()
    activities = _activities(dfg)
    keys = {name: f"a{i}" for i, name in enumerate(activities)}
    kept = [e for e in dfg["edges"] if int(e["frequency"]) >= min_frequency]
    starts = dict(dfg["start_activities"])
    ends = dict(dfg["end_activities"])
    spec = _spec(keys, kept, starts, ends)
    lay = layout(spec)
    figures = [_figure(e, view) for e in kept]
    largest = max([f for f in figures if f is not None] or [1.0]) or 1.0
    names = {key: name for name, key in keys.items()}

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map dfg-map" '
        f'viewBox="0 0 {lay.width} {lay.height}" width="{lay.width}" height="{lay.height}" '
        f'role="img" aria-labelledby="dfg-title dfg-desc" data-view="{view}" '
        f'data-min-frequency="{min_frequency}" '
        f'font-family="{FONT}" font-size="13" fill="{INK}">',
        f'<title id="dfg-title">Process map ({view})</title>',
        f'<desc id="dfg-desc">{_text(_description(activities, kept, len(dfg["edges"])))}</desc>',
        "<defs>",
        _marker("dfg-arrow", LINE),
        _marker("dfg-arrow-deviation", DEVIATION),
        "</defs>",
    ]
    # Layout edges come in transition order: start links, then kept edges, then end links.
    routed = list(lay.edges)
    start_routes = routed[: len(starts)]
    edge_routes = routed[len(starts) : len(starts) + len(kept)]
    end_routes = routed[len(starts) + len(kept) :]
    for route, (activity, count) in zip(start_routes, starts.items(), strict=True):
        parts.append(_link(route, "start-link", activity, count, activity in marks.starts))
    for route, (activity, count) in zip(end_routes, ends.items(), strict=True):
        parts.append(_link(route, "end-link", activity, count, activity in marks.ends))
    for route, edge, figure in zip(edge_routes, kept, figures, strict=True):
        flagged = (edge["source"], edge["target"]) in marks.edges
        parts.append(_flow(route, edge, figure, largest, view, flagged))
    parts.append(_terminal(lay.stages[START_NODE], "start"))
    parts.append(_terminal(lay.stages[END_NODE], "end"))
    for key, box in lay.stages.items():
        if key in (START_NODE, END_NODE):
            continue
        name = names[key]
        parts.append(_activity(box, name, activity_count(dfg, name), name in marks.activities))
    parts += [
        _label(route, edge, figure, view)
        for route, edge, figure in zip(edge_routes, kept, figures, strict=True)
    ]
    parts.append("</svg>")
    return "\n".join(parts)


def activity_count(dfg: Mapping[str, Any], activity: str) -> int:
    """How often ``activity`` occurs: the edges into it plus the cases that start with it."""
    into = sum(int(e["frequency"]) for e in dfg["edges"] if e["target"] == activity)
    return into + int(dfg["start_activities"].get(activity, 0))


def max_frequency(dfg: Mapping[str, Any]) -> int:
    return max([int(e["frequency"]) for e in dfg["edges"]] or [1])


def _activities(dfg: Mapping[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for name in dfg["start_activities"]:
        seen.setdefault(name)
    for edge in dfg["edges"]:
        seen.setdefault(edge["source"])
        seen.setdefault(edge["target"])
    for name in dfg["end_activities"]:
        seen.setdefault(name)
    return list(seen)


def _spec(
    keys: Mapping[str, str],
    edges: list[Mapping[str, Any]],
    starts: Mapping[str, int],
    ends: Mapping[str, int],
) -> ProcessSpec:
    """The graph as a process definition, only for the layout: stage keys stand for names."""
    stages = [Stage(key=k, name=k, owner_role=Role.OPERATOR) for k in (START_NODE, END_NODE)]
    stages += [Stage(key=k, name=k, owner_role=Role.OPERATOR) for k in keys.values()]
    transitions = [Transition(source=START_NODE, target=keys[a]) for a in starts]
    transitions += [Transition(source=keys[e["source"]], target=keys[e["target"]]) for e in edges]
    transitions += [Transition(source=keys[a], target=END_NODE) for a in ends]
    return ProcessSpec(
        key="dfg",
        name="dfg",
        stages=tuple(stages),
        start=START_NODE,
        end=(END_NODE,),
        transitions=tuple(transitions),
    )


def _figure(edge: Mapping[str, Any], view: View) -> float | None:
    if view == "frequency":
        return float(edge["frequency"])
    performance = edge.get("performance")
    return None if performance is None else float(performance["mean"])


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _description(activities: Collection[str], kept: list[Mapping[str, Any]], total: int) -> str:
    shown = f"{len(kept)} of {total} edges shown" if len(kept) != total else f"{total} edges"
    return f"{len(activities)} activities, {shown}: " + "; ".join(
        f"{e['source']} → {e['target']} ({e['frequency']})" for e in kept
    )


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _path(edge: Edge) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(edge.points))


def _link(route: Edge, kind: str, activity: str, count: int, flagged: bool) -> str:
    colour, arrow = (DEVIATION, "dfg-arrow-deviation") if flagged else (MUTED, "dfg-arrow")
    classes = kind + (" deviation" if flagged else "")
    tip = "cases start at" if kind == "start-link" else "cases end at"
    return (
        f'<path class="{classes}" data-activity={_attr(activity)} data-cases="{count}" '
        f'd="{_path(route)}" fill="none" stroke="{colour}" stroke-width="1.2" '
        f'stroke-dasharray="4 3" marker-end="url(#{arrow})"><title>'
        f"{_text(f'{tip}: {activity} ({count} cases)')}</title></path>"
    )


def _flow(
    route: Edge,
    edge: Mapping[str, Any],
    figure: float | None,
    largest: float,
    view: View,
    flagged: bool,
) -> str:
    width = MIN_STROKE
    if figure is not None and largest > 0:
        width += (MAX_STROKE - MIN_STROKE) * figure / largest
    colour, arrow = (DEVIATION, "dfg-arrow-deviation") if flagged else (LINE, "dfg-arrow")
    performance = edge.get("performance")
    mean = "" if performance is None else f' data-mean="{performance["mean"]}"'
    tip = f"{edge['source']} → {edge['target']}: {edge['frequency']} times"
    if performance is not None:
        tip += f", mean {human_seconds(performance['mean'])}"
        tip += f", median {human_seconds(performance['median'])}"
    if flagged:
        tip += " (not allowed by the process)"
    return (
        f'<path class="flow{" deviation" if flagged else ""}" data-source={_attr(edge["source"])} '
        f'data-target={_attr(edge["target"])} data-frequency="{edge["frequency"]}"{mean} '
        f'd="{_path(route)}" fill="none" stroke="{colour}" stroke-width="{width:.1f}" '
        f'marker-end="url(#{arrow})"><title>{_text(tip)}</title></path>'
    )


def _label(route: Edge, edge: Mapping[str, Any], figure: float | None, view: View) -> str:
    at = route.label_at
    text = str(edge["frequency"]) if view == "frequency" else human_seconds(figure)
    return (
        f'<text class="flow-label" x="{at.x}" y="{at.y}" text-anchor="middle" font-size="12" '
        f'fill="{MUTED}" stroke="#fff" stroke-width="4" paint-order="stroke">{_text(text)}</text>'
    )


def _terminal(box: Box, kind: str) -> str:
    return (
        f'<g class="terminal {kind}"><rect x="{box.x}" y="{box.y + 12}" '
        f'width="{box.width}" height="{box.height - 24}" rx="20" fill="#f0fdf4" '
        f'stroke="{TERMINAL}" stroke-width="2"/>'
        f'<text x="{box.cx}" y="{box.cy + 5}" text-anchor="middle" font-weight="600" '
        f'fill="{TERMINAL}">{kind}</text></g>'
    )


def _activity(box: Box, name: str, count: int, flagged: bool) -> str:
    border = DEVIATION if flagged else LINE
    classes = "activity" + (" deviation" if flagged else "")
    return (
        f'<g class="{classes}" data-activity={_attr(name)}>'
        f"<title>{_text(f'{name}: {count} events')}</title>"
        f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}" rx="6" '
        f'fill="#fff" stroke="{border}" stroke-width="{2.5 if flagged else 1.5}"/>'
        f'<text class="activity-name" x="{box.cx}" y="{box.y + 26}" text-anchor="middle" '
        f'font-weight="600">{_text(_fit(name, NAME_CHARS))}</text>'
        f'<text class="activity-count" x="{box.cx}" y="{box.y + 44}" text-anchor="middle" '
        f'font-size="12" fill="{MUTED}">{count} events</text></g>'
    )


def conformance_marks(
    report: Mapping[str, Any], stage_of: Mapping[str, str], dfg: Mapping[str, Any]
) -> Marks:
    """The deviations of a conformance report placed on the map of ``dfg``.

    ``stage_of`` maps an activity label to its stage key (``process_model(spec).stage_of``).
    Deviations name stage keys; an activity is drawn for a stage when its label maps to it.
    """
    activities = _activities(dfg)
    by_stage: dict[str, set[str]] = {}
    for activity in activities:
        stage = stage_of.get(activity)
        if stage is not None:
            by_stage.setdefault(stage, set()).add(activity)
    moves: set[tuple[str, str]] = set()
    flagged: set[str] = set()
    starts: set[str] = set()
    ends: set[str] = set()
    for deviation in report["deviations"]:
        kind, source, target = deviation["kind"], deviation["source"], deviation["target"]
        if kind == "illegal_move":
            moves.add((source, target))
        elif kind == "unknown_activity" and target is not None:
            flagged.add(target)
        elif kind == "missing_stage" and target is not None:
            flagged |= by_stage.get(target, set())
        elif kind == "wrong_start" and target is not None:
            starts |= by_stage.get(target, set())
        elif kind == "incomplete" and source is not None:
            ends |= by_stage.get(source, set())
    edges = {
        (e["source"], e["target"])
        for e in dfg["edges"]
        if (stage_of.get(e["source"]), stage_of.get(e["target"])) in moves
    }
    return Marks(frozenset(edges), frozenset(flagged), frozenset(starts), frozenset(ends))
