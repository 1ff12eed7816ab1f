"""Where each stage of a process map sits: layered columns, rows and orthogonal edge routes.

Pure geometry shared by the SVG map (``diagram.py``) and the BPMN export (``bpmn.py``), so
both draw the same picture. Coordinates are whole pixels, origin top left.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from andon.processes.spec import ProcessSpec

BOX_WIDTH = 150
BOX_HEIGHT = 64
EVENT_SIZE = 36
MARGIN = 24
START_GAP = 40
COLUMN_GAP = 64
ROW_GAP = 40
LANE_OFFSET = 24  # first lane for back edges, below the lowest box
LANE_STEP = 20
PORT_OFFSET = 16  # back edges leave and enter this far off a box's centre line


class Point(NamedTuple):
    x: int
    y: int


@dataclass(frozen=True)
class Box:
    """The rectangle of a stage, or the bounding square of an event circle."""

    key: str
    column: int
    row: int
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def cx(self) -> int:
        return self.x + self.width // 2

    @property
    def cy(self) -> int:
        return self.y + self.height // 2


@dataclass(frozen=True)
class Edge:
    """A polyline of horizontal and vertical segments; the last point touches the target."""

    source: str
    target: str
    points: tuple[Point, ...]
    rework: bool = False
    back: bool = False  # runs against the columns, routed through a lane below every box

    @property
    def label_at(self) -> Point:
        """Anchor for a centred label: above the longest horizontal run, or on a vertical one."""
        pairs = list(zip(self.points, self.points[1:], strict=False))
        a, b = max(pairs, key=lambda p: abs(p[1].x - p[0].x) + abs(p[1].y - p[0].y))
        if a.y == b.y:
            return Point((a.x + b.x) // 2, a.y - 6)
        return Point(a.x, (a.y + b.y) // 2 + 4)


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    start: Box  # the start event, left of the start stage
    start_edge: Edge
    stages: Mapping[str, Box]  # in the order of ``spec.stages``
    edges: tuple[Edge, ...]  # ``edges[i]`` draws ``spec.transitions[i]``
    end_events: Mapping[str, Box]  # by end stage key; empty unless asked for
    end_edges: Mapping[str, Edge]  # end stage → its end event, by end stage key


@dataclass(frozen=True)
class _Gap:
    """A vertical run in the gap left of ``column``. Runs with the same ``share`` (a fork out
    of one port) share an x; the others are spread across the gap once all are known."""

    column: int
    share: tuple[str, str, int]


@dataclass(frozen=True)
class _Lane:
    """A horizontal run in a lane above (forward edges skipping blocked columns) or below
    (back edges) every box."""

    top: bool


_X = int | _Gap
_Y = int | _Lane


@dataclass
class _Route:
    steps: list[tuple[_X, _Y]]
    lane: int = 0  # which lane, when a step runs in one


def layout(spec: ProcessSpec, *, end_events: bool = False) -> Layout:
    """Lay out a validated spec; the same spec always gives the same layout.

    Columns are longest-path layers from the start stage after dropping the edges that close
    a cycle (found by depth-first search preferring non-rework transitions, so the main line
    runs straight and rework loops run back). The main line — from the start, each stage's
    first listed non-rework transition — holds the first row; other stages sharing a column
    sit by the mean row of their predecessors. Edges are orthogonal and never cross a box:
    they turn in the gaps between columns; back edges run in lanes below every box (a
    U-shape), forward edges whose rows are blocked run in lanes above. With ``end_events``
    each end stage gets an end-event circle to its right (BPMN needs one; the SVG does not).
    """
    keys = [s.key for s in spec.stages]
    known = set(keys)
    for t in spec.transitions:
        if t.source not in known or t.target not in known:
            raise ValueError(f"transition {t.source} → {t.target} names an unknown stage")
    if spec.start not in known:
        raise ValueError(f"start stage {spec.start!r} is unknown")

    back = _back_edges(spec, keys)
    # Node ids: stage keys, plus "end:<key>" for end events (a colon is never in a key).
    nodes = list(keys)
    forward: list[tuple[str, str, bool]] = [
        (t.source, t.target, t.rework) for i, t in enumerate(spec.transitions) if i not in back
    ]
    end_nodes = {k: f"end:{k}" for k in spec.end if k in known} if end_events else {}
    for stage_key, node in end_nodes.items():
        nodes.append(node)
        forward.append((stage_key, node, False))

    columns = _columns(nodes, forward)
    rows = _rows(spec.start, nodes, forward, columns)

    def box(node: str, key: str, size: int | None = None) -> Box:
        x, y = _column_x(columns[node]), _row_y(rows[node])
        if size is None:
            return Box(key, columns[node], rows[node], x, y, BOX_WIDTH, BOX_HEIGHT)
        return Box(key, columns[node], rows[node], x, y + (BOX_HEIGHT - size) // 2, size, size)

    stage_boxes = {k: box(k, k) for k in keys}
    event_boxes = {k: box(n, k, EVENT_SIZE) for k, n in end_nodes.items()}
    router = _Router({**stage_boxes, **{end_nodes[k]: b for k, b in event_boxes.items()}})
    routes = [
        router.plan(t.source, t.target, back=i in back) for i, t in enumerate(spec.transitions)
    ]
    end_routes = {k: router.plan(k, n, back=False) for k, n in end_nodes.items()}

    # Lanes above the boxes push the whole drawing down.
    shift = router.top_space()
    stage_boxes = {k: _moved(b, shift) for k, b in stage_boxes.items()}
    event_boxes = {k: _moved(b, shift) for k, b in event_boxes.items()}
    edges = tuple(
        Edge(t.source, t.target, router.resolve(route, shift), t.rework, i in back)
        for i, (t, route) in enumerate(zip(spec.transitions, routes, strict=True))
    )
    end_edges = {k: Edge(k, k, router.resolve(route, shift)) for k, route in end_routes.items()}
    first = stage_boxes[spec.start]
    start = Box(
        spec.start, -1, first.row, MARGIN, first.cy - EVENT_SIZE // 2, EVENT_SIZE, EVENT_SIZE
    )
    start_edge = Edge(
        spec.start, spec.start, (Point(start.right, start.cy), Point(first.x, first.cy))
    )

    every_point = [p for e in (*edges, *end_edges.values()) for p in e.points]
    every_box = [start, *stage_boxes.values(), *event_boxes.values()]
    width = max([b.right for b in every_box] + [p.x for p in every_point]) + MARGIN
    height = max([b.bottom for b in every_box] + [p.y for p in every_point]) + MARGIN
    return Layout(width, height, start, start_edge, stage_boxes, edges, event_boxes, end_edges)


def _moved(box: Box, shift: int) -> Box:
    return replace(box, y=box.y + shift)


def _column_x(column: int) -> int:
    return MARGIN + EVENT_SIZE + START_GAP + column * (BOX_WIDTH + COLUMN_GAP)


def _row_y(row: int) -> int:
    return MARGIN + row * (BOX_HEIGHT + ROW_GAP)


def _back_edges(spec: ProcessSpec, keys: list[str]) -> set[int]:
    """Indexes of transitions that close a cycle, by an iterative depth-first search.

    Every transition into the start stage counts as one, so the start keeps the first column
    even when a stage entered by routing leads to it.
    """
    back = {i for i, t in enumerate(spec.transitions) if t.target == spec.start}
    out: dict[str, list[int]] = {k: [] for k in keys}
    for i, t in enumerate(spec.transitions):
        if i not in back:
            out[t.source].append(i)
    for indexes in out.values():
        indexes.sort(key=lambda i: spec.transitions[i].rework)  # stable: main line first
    on_path: set[str] = set()
    done: set[str] = set()
    for root in [spec.start, *keys]:
        if root in on_path or root in done:
            continue
        on_path.add(root)
        stack = [(root, iter(out[root]))]
        while stack:
            node, pending = stack[-1]
            for i in pending:
                target = spec.transitions[i].target
                if target in on_path:
                    back.add(i)
                elif target not in done:
                    on_path.add(target)
                    stack.append((target, iter(out[target])))
                    break
            else:
                on_path.discard(node)
                done.add(node)
                stack.pop()
    return back


def _columns(nodes: list[str], edges: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Longest-path layering of an acyclic graph: each node one column right of its latest
    predecessor."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    waiting = dict.fromkeys(nodes, 0)
    for source, target, _ in edges:
        successors[source].append(target)
        waiting[target] += 1
    column = dict.fromkeys(nodes, 0)
    ready = deque(n for n in nodes if waiting[n] == 0)
    while ready:
        node = ready.popleft()
        for nxt in successors[node]:
            column[nxt] = max(column[nxt], column[node] + 1)
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    return column


def _rows(
    start: str, nodes: list[str], edges: list[tuple[str, str, bool]], columns: dict[str, int]
) -> dict[str, int]:
    """Rows within each column. The main line holds row 0; the other nodes follow the mean
    row of their predecessors, level with it when that row is free."""
    order = {n: i for i, n in enumerate(nodes)}
    main_line = _main_line(start, edges)
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    main_in: set[str] = set()
    for source, target, rework in edges:
        predecessors[target].append(source)
        if not rework:
            main_in.add(target)
    by_column: dict[int, list[str]] = {}
    for n in nodes:
        by_column.setdefault(columns[n], []).append(n)

    rows: dict[str, int] = {}
    for column in sorted(by_column):
        centre: dict[str, float | None] = {}
        for n in by_column[column]:
            above = [rows[p] for p in predecessors[n]]  # predecessors sit in earlier columns
            centre[n] = sum(above) / len(above) if above else None
        previous = -1
        for n in by_column[column]:
            if n in main_line:  # edges go strictly rightwards: one main-line node per column
                rows[n] = previous = 0
        others = sorted(
            (n for n in by_column[column] if n not in main_line),
            key=lambda n: (centre[n] is None, centre[n] or 0.0, n not in main_in, order[n]),
        )
        for n in others:
            c = centre[n]
            wanted = math.ceil(c - 0.5) if c is not None else 0
            rows[n] = previous = max(previous + 1, wanted)
    return rows


def _main_line(start: str, edges: list[tuple[str, str, bool]]) -> set[str]:
    """From the start, each node's first listed non-rework way forward: the happy path."""
    line = {start}
    node: str | None = start
    while node is not None:
        node = next(
            (t for s, t, rework in edges if s == node and not rework and t not in line), None
        )
        if node is not None:
            line.add(node)
    return line


class _Router:
    """Plans each edge as runs through column gaps and lanes, then settles their coordinates:
    runs sharing a gap are spread across it, and edges whose lane runs overlap get separate
    lanes."""

    def __init__(self, boxes: Mapping[str, Box]) -> None:
        self.boxes = boxes
        self.taken = {(b.column, b.row) for b in boxes.values()}
        self.highest: dict[int, int] = {}
        self.lowest: dict[int, int] = {}
        for b in boxes.values():
            self.highest[b.column] = min(self.highest.get(b.column, b.row), b.row)
            self.lowest[b.column] = max(self.lowest.get(b.column, b.row), b.row)
        self.ceiling = min(b.y for b in boxes.values())
        self.floor = max(b.bottom for b in boxes.values())
        self.gap_runs: dict[int, list[tuple[str, str, int]]] = {}
        # Per lane side: the column spans of the edges in each lane.
        self.lanes: dict[bool, list[list[tuple[int, int]]]] = {True: [], False: []}

    def plan(self, source: str, target: str, *, back: bool) -> _Route:
        s, t = self.boxes[source], self.boxes[target]
        route = _Route(self._back(s, t) if back else self._forward(s, t))
        for x, _ in route.steps:
            if isinstance(x, _Gap) and x.share not in self.gap_runs.setdefault(x.column, []):
                self.gap_runs[x.column].append(x.share)
        lanes = {y.top for _, y in route.steps if isinstance(y, _Lane)}
        for top in lanes:
            route.lane = self._lane(top, s.column, t.column)
        return route

    def _lane(self, top: bool, a: int, b: int) -> int:
        span = (min(a, b), max(a, b))
        lanes = self.lanes[top]
        for number, spans in enumerate(lanes):
            if all(span[1] < lo or hi < span[0] for lo, hi in spans):
                spans.append(span)
                return number
        lanes.append([span])
        return len(lanes) - 1

    def _free(self, row: int, first: int, last: int) -> bool:
        return all((c, row) not in self.taken for c in range(first, last + 1))

    def _forward(self, s: Box, t: Box) -> list[tuple[_X, _Y]]:
        exit_: tuple[_X, _Y] = (s.right, s.cy)
        entry: tuple[_X, _Y] = (t.x, t.cy)
        between = (s.column + 1, t.column - 1)
        if s.row == t.row and self._free(s.row, *between):
            return [exit_, entry]
        if self._free(s.row, *between):  # along the source row, turn in the last gap
            g = _Gap(t.column, ("in", t.key, t.cy))
            return [exit_, (g, s.cy), (g, t.cy), entry]
        if self._free(t.row, *between):  # turn in the first gap, along the target row
            g = _Gap(s.column + 1, ("out", s.key, s.cy))
            return [exit_, (g, s.cy), (g, t.cy), entry]
        lane = _Lane(top=True)
        route: list[tuple[_X, _Y]]
        if s.row == self.highest[s.column]:  # nothing above: straight up from the box
            route = [(s.cx + PORT_OFFSET, s.y), (s.cx + PORT_OFFSET, lane)]
        else:
            out = _Gap(s.column + 1, ("out", s.key, s.cy - PORT_OFFSET))
            route = [(s.right, s.cy - PORT_OFFSET), (out, s.cy - PORT_OFFSET), (out, lane)]
        if t.row == self.highest[t.column]:
            return [*route, (t.cx - PORT_OFFSET, lane), (t.cx - PORT_OFFSET, t.y)]
        into = _Gap(t.column, ("in", t.key, t.cy - PORT_OFFSET))
        return [*route, (into, lane), (into, t.cy - PORT_OFFSET), (t.x, t.cy - PORT_OFFSET)]

    def _back(self, s: Box, t: Box) -> list[tuple[_X, _Y]]:
        lane = _Lane(top=False)
        route: list[tuple[_X, _Y]]
        if s.row == self.lowest[s.column]:  # nothing below: straight down from the box
            route = [(s.cx + PORT_OFFSET, s.bottom), (s.cx + PORT_OFFSET, lane)]
        else:
            out = _Gap(s.column + 1, ("out", s.key, s.cy + PORT_OFFSET))
            route = [(s.right, s.cy + PORT_OFFSET), (out, s.cy + PORT_OFFSET), (out, lane)]
        if t.row == self.lowest[t.column]:
            return [*route, (t.cx - PORT_OFFSET, lane), (t.cx - PORT_OFFSET, t.bottom)]
        into = _Gap(t.column, ("in", t.key, t.cy + PORT_OFFSET))
        return [*route, (into, lane), (into, t.cy + PORT_OFFSET), (t.x, t.cy + PORT_OFFSET)]

    def top_space(self) -> int:
        """How far the boxes move down to make room for the lanes above them."""
        count = len(self.lanes[True])
        return LANE_OFFSET + count * LANE_STEP if count else 0

    def resolve(self, route: _Route, shift: int) -> tuple[Point, ...]:
        points: list[Point] = []
        for x, y in route.steps:
            px = self._gap_x(x) if isinstance(x, _Gap) else x
            if isinstance(y, _Lane):
                step = route.lane * LANE_STEP + LANE_OFFSET
                py = self.ceiling - step if y.top else self.floor + step
            else:
                py = y
            point = Point(px, py + shift)
            if not points or points[-1] != point:
                points.append(point)
        return tuple(points)

    def _gap_x(self, gap: _Gap) -> int:
        runs = self.gap_runs[gap.column]
        width = START_GAP if gap.column == 0 else COLUMN_GAP
        left = _column_x(gap.column) - width
        return left + (runs.index(gap.share) + 1) * width // (len(runs) + 1)
