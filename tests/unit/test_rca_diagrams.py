"""Why-tree and fishbone SVG: structure, marks for verified and root causes, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import pairwise

from andon.improvement.diagrams import fishbone, why_tree, wrap

NS = {"s": "http://www.w3.org/2000/svg"}


@dataclass(frozen=True)
class Cause:
    id: int
    parent_id: int | None
    text: str
    category: str | None = None
    verified: bool = False
    root: bool = False


CAUSES = [
    Cause(1, None, "Seal seats badly", "method", verified=True),
    Cause(2, 1, "Press force drifts <over shift>", "machine", verified=True, root=True),
    Cause(3, 1, "Operators skip the check", "man"),
    Cause(4, None, "Bolt supplier changed & nobody said", "material"),
]


def test_the_why_tree_nests_whys_and_marks_verified_and_root_causes() -> None:
    raw = why_tree("Leaks at final test", CAUSES, title="Why-tree of RCA #7")
    svg = ET.fromstring(raw)  # noqa: S314 - our own output

    nodes = svg.findall("s:g", NS)
    kinds = {n.get("data-cause"): n.get("data-kind") for n in nodes}
    assert kinds == {
        None: "problem",
        "1": "cause verified",
        "2": "cause root cause",
        "3": "cause not verified",
        "4": "cause not verified",
    }
    assert len(svg.findall("s:path", NS)) == 4  # one edge per cause
    assert svg.find("s:title", NS).text == "Why-tree of RCA #7"  # type: ignore[union-attr]
    desc = svg.find("s:desc", NS).text or ""  # type: ignore[union-attr]
    assert "Why 1.1: Press force drifts <over shift> (root cause)." in desc
    assert "Why 2: Bolt supplier changed & nobody said." in desc


def test_a_branch_sits_right_of_its_parent_and_siblings_do_not_overlap() -> None:
    svg = ET.fromstring(why_tree("P", CAUSES))  # noqa: S314 - our own output
    boxes = {
        g.get("data-cause"): g.find("s:rect", NS).attrib  # type: ignore[union-attr]
        for g in svg.findall("s:g", NS)
    }
    x = {k: float(v["x"]) for k, v in boxes.items()}
    spans = sorted(
        (float(v["y"]), float(v["y"]) + float(v["height"]))
        for k, v in boxes.items()
        if x[k] == x["2"]
    )
    assert x["2"] == x["3"] > x["1"] == x["4"] > x[None]
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_the_fishbone_lists_causes_on_their_bone_and_highlights_roots() -> None:
    raw = fishbone("Leaks", [*CAUSES, Cause(5, None, "No category")])
    svg = ET.fromstring(raw)  # noqa: S314 - our own output

    bones = {g.get("data-bone"): g for g in svg.findall("s:g", NS) if g.get("data-bone")}
    assert list(bones) == ["man", "machine", "method", "material", "measurement", "environment"]
    machine = "".join(bones["machine"].itertext())
    assert "★ Press force drifts" in machine
    assert "Press force drifts <over shift> (root cause)" in machine
    assert bones["machine"].find("s:text[@data-root='true']", NS) is not None
    assert "1 cause(s) have no 6M category" in (svg.find("s:desc", NS).text or "")  # type: ignore[union-attr]
    assert "&lt;over shift&gt;" in raw


def test_wrap_breaks_long_text_and_cuts_with_an_ellipsis() -> None:
    lines = wrap("word " * 40, width=20, max_lines=3)

    assert len(lines) == 3
    assert all(len(line) <= 20 for line in lines)
    assert lines[-1].endswith("…")
    assert wrap("x" * 45, width=20) == ["x" * 20, "x" * 20, "x" * 5]
