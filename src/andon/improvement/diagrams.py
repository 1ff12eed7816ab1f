"""An RCA's why-tree and fishbone as inline SVG: pure functions of the causes, no I/O.

In the house style of ``web/control_charts``: every text escaped, colours as presentation
attributes (the Content-Security-Policy allows no inline style), a ``<title>`` and ``<desc>``
that say in words what the picture shows. A verified cause is told apart by a solid border and
a tick, a root cause by a thick border, a fill and the words "Root cause", so neither needs
colour to be read.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#4b5563"
LINE = "#9ca3af"
VERIFIED = "#047857"
ROOT = "#b91c1c"
ROOT_FILL = "#fee2e2"
PROBLEM_FILL = "#1f2933"
# The fishbone's bones, in drawing order: three above the spine, three below.
BONES = ("man", "machine", "method", "material", "measurement", "environment")
BONE_NAMES = {
    "man": "Man (people)",
    "machine": "Machine",
    "method": "Method",
    "material": "Material",
    "measurement": "Measurement",
    "environment": "Environment",
}

NODE_W = 210
NODE_GAP_X = 40
LINE_H = 15
NODE_PAD = 8
WRAP = 30
MAX_LINES = 4
ROW_GAP = 14


class Cause(Protocol):
    """What a diagram needs of a cause (``rca_schemas.CauseOut`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def text(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def verified(self) -> bool: ...
    @property
    def root(self) -> bool: ...


def wrap(text: str, width: int = WRAP, max_lines: int = MAX_LINES) -> list[str]:
    """``text`` in lines of at most ``width`` characters, at most ``max_lines`` of them (the
    last ending in an ellipsis when cut); long words are broken."""
    lines = textwrap.wrap(" ".join(text.split()), width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


@dataclass(frozen=True)
class _Placed:
    key: int  # 0: the problem; otherwise the cause id
    label: str
    lines: tuple[str, ...]
    depth: int
    y: float
    height: float
    verified: bool
    root: bool


def why_tree(problem: str, causes: Sequence[Cause], *, title: str = "Why-tree") -> str:
    """The problem at the left, each why to the right of what it answers, branches stacked.

    A cause whose parent is not in ``causes`` hangs under the problem. Children keep the
    order given (oldest first when given by id).
    """
    known = {c.id for c in causes}
    children: dict[int, list[Cause]] = {}
    for cause in causes:
        parent = cause.parent_id if cause.parent_id in known else 0
        children.setdefault(parent or 0, []).append(cause)

    placed: list[_Placed] = []
    edges: list[tuple[int, int]] = []
    next_y = [16.0]

    def height_of(lines: Sequence[str], extra: int) -> float:
        # The heading ("Why 1.2"), the wrapped text, and the verified or root mark.
        return (1 + len(lines) + extra) * LINE_H + 2 * NODE_PAD

    def place(
        key: int, label: str, text: str, depth: int, cause: Cause | None, seen: set[int]
    ) -> float:
        lines = tuple(wrap(text))
        extra = 1 if cause is not None and (cause.verified or cause.root) else 0
        h = height_of(lines, extra)
        kids = [c for c in children.get(key, []) if c.id not in seen]
        if kids:
            first_top = next_y[0]
            centres = []
            for n, kid in enumerate(kids, start=1):
                edges.append((key, kid.id))
                name = f"{label}.{n}" if key else str(n)
                centres.append(place(kid.id, name, kid.text, depth + 1, kid, seen | {kid.id}))
            # Centred on its whys, but never above the rows they took, nor into the next.
            y = max((centres[0] + centres[-1]) / 2 - h / 2, first_top)
            next_y[0] = max(next_y[0], y + h + ROW_GAP)
        else:
            y = next_y[0]
            next_y[0] += h + ROW_GAP
        placed.append(
            _Placed(
                key,
                label,
                lines,
                depth,
                y,
                h,
                cause is not None and cause.verified,
                cause is not None and cause.root,
            )
        )
        return y + h / 2

    place(0, "Problem", problem, 0, None, set())
    depth = max(p.depth for p in placed)
    width = int(16 + (depth + 1) * (NODE_W + NODE_GAP_X))
    height = int(max(p.y + p.height for p in placed) + 16)
    at = {p.key: p for p in placed}

    def x_of(p: _Placed) -> float:
        return 16 + p.depth * (NODE_W + NODE_GAP_X)

    parts = [
        _open(width, height, "why-tree"),
        f'<title id="why-tree-title">{escape(title)}</title>',
        f'<desc id="why-tree-desc">{escape(_tree_words(problem, causes, children))}</desc>',
    ]
    for parent, child in edges:
        a, b = at[parent], at[child]
        x1, y1 = x_of(a) + NODE_W, a.y + a.height / 2
        x2, y2 = x_of(b), b.y + b.height / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} H{mid:.1f} V{y2:.1f} H{x2:.1f}" fill="none" '
            f'stroke="{LINE}" stroke-width="1.5"/>'
        )
    for p in sorted(placed, key=lambda p: (p.depth, p.y)):
        parts.append(_node(p, x_of(p), p.y))
    parts.append("</svg>")
    return "".join(parts)


def _node(p: _Placed, x: float, y: float) -> str:
    if p.key == 0:
        fill, stroke, ink, dash, weight = PROBLEM_FILL, PROBLEM_FILL, "#ffffff", "", 1
    elif p.root:
        fill, stroke, ink, dash, weight = ROOT_FILL, ROOT, INK, "", 3
    elif p.verified:
        fill, stroke, ink, dash, weight = "#ffffff", VERIFIED, INK, "", 2
    else:
        fill, stroke, ink, dash, weight = "#ffffff", LINE, INK, ' stroke-dasharray="5 3"', 1
    state = "root cause" if p.root else "verified" if p.verified else "not verified"
    kind = "problem" if p.key == 0 else f"cause {state}"
    heading = "Problem" if p.key == 0 else f"Why {p.label}"
    parts = [
        f'<g class="rca-node" data-kind={quoteattr(kind)}'
        + (f' data-cause="{p.key}"' if p.key else "")
        + ">",
        f"<title>{escape(heading)}: {escape(' '.join(p.lines))}"
        f" ({escape(state if p.key else 'the problem statement')})</title>",
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{p.height:.1f}" rx="4" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{weight}"{dash}/>',
    ]
    ty = y + NODE_PAD + LINE_H - 3
    parts.append(
        f'<text x="{x + NODE_PAD:.1f}" y="{ty:.1f}" font-size="11" font-weight="600" '
        f'fill="{ink}">{escape(heading)}</text>'
    )
    for line in p.lines:
        ty += LINE_H
        parts.append(
            f'<text x="{x + NODE_PAD:.1f}" y="{ty:.1f}" fill="{ink}">{escape(line)}</text>'
        )
    if p.key and (p.root or p.verified):
        ty += LINE_H
        mark, colour = ("★ Root cause (verified)", ROOT) if p.root else ("✓ Verified", VERIFIED)
        parts.append(
            f'<text x="{x + NODE_PAD:.1f}" y="{ty:.1f}" font-size="11" font-weight="600" '
            f'fill="{colour}">{escape(mark)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _tree_words(problem: str, causes: Sequence[Cause], children: dict[int, list[Cause]]) -> str:
    words = [f"Problem: {problem}."]

    def walk(key: int, label: str, seen: set[int]) -> None:
        for n, kid in enumerate(children.get(key, []), start=1):
            if kid.id in seen:
                continue
            name = f"{label}.{n}" if key else str(n)
            state = " (root cause)" if kid.root else " (verified)" if kid.verified else ""
            words.append(f"Why {name}: {kid.text}{state}.")
            walk(kid.id, name, seen | {kid.id})

    walk(0, "", set())
    if not causes:
        words.append("No whys yet.")
    return " ".join(words)


def fishbone(problem: str, causes: Sequence[Cause], *, title: str = "Fishbone") -> str:
    """Six bones (the 6M) into a spine that ends at the problem; each cause with a category
    listed on its bone, root causes bold, marked ★ and red. Causes without a category are
    left off (the ``<desc>`` counts them)."""
    on_bone: dict[str, list[Cause]] = {bone: [] for bone in BONES}
    for cause in causes:
        if cause.category in on_bone:
            on_bone[cause.category].append(cause)
    rows = max([len(v) for v in on_bone.values()] + [1])
    # Each column: room for a cause's 30 characters left of its bone, then the bone.
    bone_w, head_w = 290, 200
    half = 46 + rows * LINE_H * 1.2
    width = 24 + 3 * bone_w + head_w
    height = int(2 * half + 40)
    spine_y = height / 2
    head_x = 24 + 3 * bone_w
    parts = [
        _open(width, height, "fishbone"),
        f'<title id="fishbone-title">{escape(title)}</title>',
        f'<desc id="fishbone-desc">{escape(_bone_words(problem, on_bone, causes))}</desc>',
        f'<line x1="24" y1="{spine_y:.1f}" x2="{head_x:.1f}" y2="{spine_y:.1f}" '
        f'stroke="{INK}" stroke-width="3"/>',
        f'<polygon points="{head_x:.1f},{spine_y - 10:.1f} {head_x + 14:.1f},{spine_y:.1f} '
        f'{head_x:.1f},{spine_y + 10:.1f}" fill="{INK}"/>',
    ]
    problem_lines = wrap(problem, 24, 5)
    py = spine_y - (len(problem_lines) * LINE_H) / 2 + 11
    parts.append(f'<g class="fishbone-head"><title>Problem: {escape(problem)}</title>')
    for line in problem_lines:
        parts.append(
            f'<text x="{head_x + 20:.1f}" y="{py:.1f}" font-weight="600">{escape(line)}</text>'
        )
        py += LINE_H
    parts.append("</g>")
    for n, bone in enumerate(BONES):
        above = n < 3
        column = n % 3
        x_start = 24 + column * bone_w + 210
        x_end = x_start + 60
        y_edge = 24 if above else height - 24
        parts.append(f'<g class="fishbone-bone" data-bone="{bone}">')
        parts.append(
            f'<line x1="{x_start:.1f}" y1="{y_edge:.1f}" x2="{x_end:.1f}" y2="{spine_y:.1f}" '
            f'stroke="{MUTED}" stroke-width="2"/>'
        )
        label_y = y_edge - 8 if above else y_edge + 16
        parts.append(
            f'<text x="{x_start:.1f}" y="{label_y:.1f}" font-weight="700" '
            f'text-anchor="middle">{escape(BONE_NAMES[bone])}</text>'
        )
        listed = on_bone[bone]
        for i, cause in enumerate(listed):
            step = (i + 1) / (len(listed) + 1)
            ty = y_edge + (spine_y - y_edge) * step
            tx = x_start + (x_end - x_start) * step - 8
            text = wrap(cause.text, 30, 1)[0]
            if cause.root:
                parts.append(
                    f'<text x="{tx:.1f}" y="{ty + 4:.1f}" text-anchor="end" font-weight="700" '
                    f'fill="{ROOT}" data-root="true"><title>{escape(cause.text)} (root cause)'
                    f"</title>★ {escape(text)}</text>"
                )
            else:
                colour = VERIFIED if cause.verified else INK
                mark = "✓ " if cause.verified else ""
                parts.append(
                    f'<text x="{tx:.1f}" y="{ty + 4:.1f}" text-anchor="end" fill="{colour}">'
                    f"<title>{escape(cause.text)}</title>{escape(mark + text)}</text>"
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _bone_words(problem: str, on_bone: dict[str, list[Cause]], causes: Sequence[Cause]) -> str:
    words = [f"Problem: {problem}."]
    for bone in BONES:
        listed = on_bone[bone]
        if listed:
            named = "; ".join(c.text + (" (root cause)" if c.root else "") for c in listed)
            words.append(f"{BONE_NAMES[bone]}: {named}.")
        else:
            words.append(f"{BONE_NAMES[bone]}: none.")
    loose = sum(1 for c in causes if c.category not in on_bone)
    if loose:
        words.append(f"{loose} cause(s) have no 6M category and are not drawn.")
    return " ".join(words)


def _open(width: int, height: int, css: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{css}-title {css}-desc" '
        f'font-family="{FONT}" font-size="12" fill="{INK}">'
    )
