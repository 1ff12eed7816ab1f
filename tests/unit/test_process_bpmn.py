"""Drawings of a process definition: the shared layout, the BPMN 2.0 export and the SVG map."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.processes.bpmn import export_bpmn
from andon.processes.diagram import render_svg
from andon.processes.layout import Box, Edge, Layout, layout
from andon.processes.spec import ProcessSpec, parse_spec
from andon.processes.spec_yaml import load_spec_yaml

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
SVG = "{http://www.w3.org/2000/svg}"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

DEMO = load_spec_yaml(files("andon.demo").joinpath("assembly.yaml").read_text())


def stage(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, "name": key.title(), "owner_role": "operator", **fields}


def branching() -> ProcessSpec:
    """Forks, a join, an edge skipping columns, two rework loops and a routing-only entry."""
    return parse_spec(
        {
            "key": "branching",
            "name": "Branching",
            "start": "a",
            "end": ["z", "scrap"],
            "stages": [
                stage("a", sla="1h"),
                stage("b"),
                stage("c", checklist=[{"key": "x", "text": "X"}], on_fail="a"),
                stage("d"),
                stage("e"),
                stage("z"),
                stage("scrap"),
                stage("side"),
            ],
            "transitions": [
                {"from": "a", "to": "b"},
                {"from": "b", "to": "c"},
                {"from": "c", "to": "d"},
                {"from": "d", "to": "z"},
                {"from": "a", "to": "e"},
                {"from": "e", "to": "z"},
                {"from": "c", "to": "a", "rework": True},
                {"from": "d", "to": "b", "rework": True},
                {"from": "b", "to": "scrap"},
                {"from": "a", "to": "d"},
                {"from": "side", "to": "c"},
            ],
            "routing": [{"when": {"priority": "urgent"}, "stage": "side"}],
        }
    )


SPECS = [DEMO, branching()]


def named(name: str) -> ProcessSpec:
    return parse_spec(
        {
            "key": "named",
            "name": f"Process {name}",
            "start": "weld",
            "end": ["done"],
            "stages": [stage("weld", name=name, sla="4h"), stage("done")],
            "transitions": [{"from": "weld", "to": "done"}],
        }
    )


def bpmn_of(spec: ProcessSpec) -> Element:
    root: Element = ElementTree.fromstring(export_bpmn(spec))
    return root


def svg_of(spec: ProcessSpec, **counts: Any) -> Element:
    root: Element = ElementTree.fromstring(render_svg(spec, **counts))
    return root


def crosses(a: tuple[int, int], b: tuple[int, int], box: Box) -> bool:
    """Whether the axis-parallel segment a–b runs through the inside of ``box``."""
    (x1, y1), (x2, y2) = a, b
    left, right, top, bottom = box.x, box.right, box.y, box.bottom
    if y1 == y2:
        return top < y1 < bottom and min(x1, x2) < right and max(x1, x2) > left
    return left < x1 < right and min(y1, y2) < bottom and max(y1, y2) > top


def boxes_of(lay: Layout) -> list[Box]:
    return [lay.start, *lay.stages.values(), *lay.end_events.values()]


def every_edge(lay: Layout) -> list[Edge]:
    return [lay.start_edge, *lay.edges, *lay.end_edges.values()]


# --- layout


def test_demo_main_line_runs_left_to_right_on_the_first_row() -> None:
    lay = layout(DEMO)

    main = ["intake", "plan", "kit", "assemble", "inspect", "pack", "ship"]
    assert [lay.stages[k].column for k in main] == list(range(7))
    assert {lay.stages[k].row for k in main} == {0}
    assert (lay.stages["rework"].column, lay.stages["rework"].row) == (5, 1)


def test_loop_back_runs_below_every_box_as_a_u() -> None:
    lay = layout(DEMO)
    (back,) = [e for e in lay.edges if e.back]
    lowest = max(b.bottom for b in lay.stages.values())

    assert (back.source, back.target) == ("rework", "inspect")
    assert back.points[0].y == lay.stages["rework"].bottom
    assert back.points[-1].y == lay.stages["inspect"].bottom
    assert min(p.y for p in back.points[1:-1]) > lowest


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_edges_are_orthogonal_and_cross_no_box(spec: ProcessSpec) -> None:
    for end_events in (False, True):
        lay = layout(spec, end_events=end_events)
        for edge in every_edge(lay):
            for a, b in zip(edge.points, edge.points[1:], strict=False):
                assert a.x == b.x or a.y == b.y, edge
                assert not any(crosses(a, b, box) for box in boxes_of(lay)), edge


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_edges_start_and_end_on_their_boxes(spec: ProcessSpec) -> None:
    lay = layout(spec)
    for edge in lay.edges:
        for point, box in (
            (edge.points[0], lay.stages[edge.source]),
            (edge.points[-1], lay.stages[edge.target]),
        ):
            on_side = point.x in (box.x, box.right) and box.y <= point.y <= box.bottom
            on_top_or_bottom = point.y in (box.y, box.bottom) and box.x <= point.x <= box.right
            assert on_side or on_top_or_bottom, edge


def test_stages_never_share_a_cell_and_fit_the_canvas() -> None:
    lay = layout(branching(), end_events=True)
    cells = [(b.column, b.row) for b in [*lay.stages.values(), *lay.end_events.values()]]

    assert len(cells) == len(set(cells))
    assert all(b.right < lay.width and b.bottom < lay.height for b in boxes_of(lay))
    assert all(0 < p.x < lay.width and 0 < p.y < lay.height for e in lay.edges for p in e.points)


def test_single_stage_process_is_drawn_start_to_end() -> None:
    spec = parse_spec(
        {"key": "one", "name": "One", "start": "only", "end": ["only"], "stages": [stage("only")]}
    )
    lay = layout(spec, end_events=True)

    assert (
        lay.start.right < lay.stages["only"].x < lay.stages["only"].right < lay.end_events["only"].x
    )
    flows = bpmn_of(spec).findall("bpmn:process/bpmn:sequenceFlow", NS)
    assert [(f.get("sourceRef"), f.get("targetRef")) for f in flows] == [
        ("StartEvent_one", "Task_only"),
        ("Task_only", "EndEvent_only"),
    ]
    assert svg_of(spec).get("class") == "process-map"


def test_stage_routed_into_the_start_does_not_push_it_right() -> None:
    spec = parse_spec(
        {
            "key": "entry",
            "name": "Entry",
            "start": "a",
            "end": ["b"],
            "stages": [stage("a"), stage("b"), stage("walk_in")],
            "transitions": [{"from": "a", "to": "b"}, {"from": "walk_in", "to": "a"}],
            "routing": [{"when": {"line": "L2"}, "stage": "walk_in"}],
        }
    )
    lay = layout(spec)

    assert (lay.stages["a"].column, lay.stages["a"].row) == (0, 0)
    assert (lay.stages["walk_in"].column, lay.stages["walk_in"].row) == (0, 1)
    for edge in every_edge(lay):
        for a, b in zip(edge.points, edge.points[1:], strict=False):
            assert not any(crosses(a, b, box) for box in boxes_of(lay)), edge


def test_layout_is_deterministic() -> None:
    assert layout(branching(), end_events=True) == layout(branching(), end_events=True)


# --- BPMN


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_transition_is_a_sequence_flow_between_its_tasks(spec: ProcessSpec) -> None:
    process = bpmn_of(spec).find("bpmn:process", NS)
    assert process is not None
    flows = {
        (f.get("sourceRef"), f.get("targetRef")): f
        for f in process.findall("bpmn:sequenceFlow", NS)
    }

    for t in spec.transitions:
        flow = flows[(f"Task_{t.source}", f"Task_{t.target}")]
        assert flow.get("name") == ("rework" if t.rework else None)
    assert len(flows) == len(spec.transitions) + 1 + len(spec.end)  # + start and end flows


def test_process_is_one_non_executable_process_with_start_and_end_events() -> None:
    root = bpmn_of(DEMO)
    (process,) = root.findall("bpmn:process", NS)
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", NS)}

    assert process.get("id") == "Process_assembly"
    assert process.get("isExecutable") == "false"
    (start,) = process.findall("bpmn:startEvent", NS)
    (first,) = [flows[e.text or ""] for e in start.findall("bpmn:outgoing", NS)]
    assert first.get("targetRef") == "Task_intake"
    (end,) = process.findall("bpmn:endEvent", NS)
    (last,) = [flows[e.text or ""] for e in end.findall("bpmn:incoming", NS)]
    assert last.get("sourceRef") == "Task_ship"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_a_stage_with_several_ways_out_names_the_condition_of_each(spec: ProcessSpec) -> None:
    # Unconditioned flows out of a task are a parallel split in BPMN; an item takes one way.
    process = bpmn_of(spec).find("bpmn:process", NS)
    assert process is not None
    flows = process.findall("bpmn:sequenceFlow", NS)
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"

    for source in {f.get("sourceRef") for f in flows}:
        out = [f for f in flows if f.get("sourceRef") == source]
        conditions = [f.find("bpmn:conditionExpression", NS) for f in out]
        if len(out) == 1:
            assert conditions == [None]
            continue
        assert all(
            c is not None and c.get(xsi_type) == "bpmn:tFormalExpression" for c in conditions
        )
        texts = {c.text for c in conditions if c is not None}
        assert len(texts) == len(out)
        for flow in out:
            target = flow.get("targetRef", "").removeprefix("Task_")
            condition = flow.findtext("bpmn:conditionExpression", namespaces=NS)
            assert condition == f'next stage is "{target}"'


def test_task_documentation_gives_owner_role_and_sla() -> None:
    process = bpmn_of(DEMO).find("bpmn:process", NS)
    assert process is not None
    task = process.find("bpmn:task[@id='Task_assemble']", NS)
    assert task is not None

    assert task.get("name") == "Assemble"
    assert task.findtext("bpmn:documentation", namespaces=NS) == (
        "Owner role: operator\nSLA: 8h\nSOP: SOP-ASM-001"
    )


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_incoming_and_outgoing_match_the_flows(spec: ProcessSpec) -> None:
    process = bpmn_of(spec).find("bpmn:process", NS)
    assert process is not None
    flows = process.findall("bpmn:sequenceFlow", NS)

    for node in process:
        if node.tag.endswith(("}task", "}startEvent", "}endEvent")):
            node_id = node.get("id")
            incoming = {e.text for e in node.findall("bpmn:incoming", NS)}
            outgoing = {e.text for e in node.findall("bpmn:outgoing", NS)}
            assert incoming == {f.get("id") for f in flows if f.get("targetRef") == node_id}
            assert outgoing == {f.get("id") for f in flows if f.get("sourceRef") == node_id}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_node_has_a_shape_and_every_flow_an_edge(spec: ProcessSpec) -> None:
    root = bpmn_of(spec)
    process = root.find("bpmn:process", NS)
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert process is not None
    assert plane is not None
    shapes = {s.get("bpmnElement"): s for s in plane.findall("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.findall("bpmndi:BPMNEdge", NS)}

    assert plane.get("bpmnElement") == process.get("id")
    for node in process:
        if node.tag.endswith(("}task", "}startEvent", "}endEvent")):
            bounds = shapes[node.get("id")].find("dc:Bounds", NS)
            assert bounds is not None
            assert int(bounds.get("width", "0")) > 0
    for flow in process.findall("bpmn:sequenceFlow", NS):
        assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2
    assert len(shapes) == len(spec.stages) + 1 + len(spec.end)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_ids_are_unique_xml_names(spec: ProcessSpec) -> None:
    ids = [e.get("id") for e in bpmn_of(spec).iter() if e.get("id") is not None]

    assert len(ids) == len(set(ids))
    assert all(NCNAME.match(i or "") for i in ids)


def test_ids_stay_unique_when_keys_share_underscores() -> None:
    spec = parse_spec(
        {
            "key": "tricky",
            "name": "Tricky",
            "start": "a",
            "end": ["b_c", "c", "a_di"],
            "stages": [stage("a"), stage("a_b"), stage("b_c"), stage("c"), stage("a_di")],
            "transitions": [
                {"from": "a", "to": "b_c"},
                {"from": "a", "to": "a_b"},
                {"from": "a_b", "to": "c"},
                {"from": "a", "to": "a_di"},
            ],
        }
    )

    ids = [e.get("id") for e in bpmn_of(spec).iter() if e.get("id") is not None]

    assert len(ids) == len(set(ids))


def test_names_are_escaped_in_the_bpmn() -> None:
    text = export_bpmn(named('Weld <script>&amp; "grind"'))

    assert "<script>" not in text
    task = bpmn_of(named('Weld <script>&amp; "grind"')).find(".//bpmn:task", NS)
    assert task is not None
    assert task.get("name") == 'Weld <script>&amp; "grind"'


# --- SVG


def test_stage_names_are_escaped_in_the_svg() -> None:
    text = render_svg(named("<script>alert(1)</script>&"))
    root = ElementTree.fromstring(text)

    assert "<script" not in text
    assert "&lt;script&gt;" in text
    names = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "stage-name"]
    assert names[0] is not None
    assert names[0].startswith("<script>alert(1)")
    assert root.findtext(f"{SVG}title") == "Process map: Process <script>alert(1)</script>&"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_svg_is_self_contained(spec: ProcessSpec) -> None:
    root = svg_of(spec)

    tags = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert not tags & {"script", "foreignObject", "image", "use", "a", "style"}
    attributes = {name for e in root.iter() for name in e.attrib}
    assert not [a for a in attributes if a.startswith("on") or a.endswith("href")]
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == f"Process map: {spec.name}"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_one_arrow_per_transition(spec: ProcessSpec) -> None:
    root = svg_of(spec)
    flows = [p for p in root.iter(f"{SVG}path") if "flow" in (p.get("class") or "").split()]

    assert len(flows) == len(spec.transitions)
    assert all((p.get("marker-end") or "").startswith("url(#") for p in flows)
    assert sorted((p.get("data-from"), p.get("data-to")) for p in flows) == sorted(
        (t.source, t.target) for t in spec.transitions
    )


def test_rework_flows_are_dashed_and_labelled() -> None:
    root = svg_of(branching())
    rework = [p for p in root.iter(f"{SVG}path") if "rework" in (p.get("class") or "").split()]
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "flow-label"]

    assert len(rework) == 2
    assert all(p.get("stroke-dasharray") for p in rework)
    assert [t.text for t in labels] == ["rework", "rework"]


def test_every_stage_shows_name_owner_and_sla() -> None:
    root = svg_of(DEMO)
    groups = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("data-stage")}

    assert set(groups) == {s.key for s in DEMO.stages}
    texts = [t.text for t in groups["assemble"].iter(f"{SVG}text")]
    assert texts == ["Assemble", "operator · SLA 8h"]


def test_end_stage_has_a_double_border_and_qa_stage_a_badge() -> None:
    root = svg_of(DEMO)
    groups = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("data-stage")}

    assert groups["ship"].get("class") == "stage end"
    assert len(groups["ship"].findall(f"{SVG}rect")) == 2
    assert groups["inspect"].get("class") == "stage qa"
    badge = "".join(groups["inspect"].itertext())
    assert "✓ QA" in badge
    assert "✓ QA" not in "".join(groups["pack"].itertext())


def test_counts_show_items_and_late_items() -> None:
    root = svg_of(DEMO, stage_counts={"inspect": 12, "kit": 1}, breached={"inspect": 2})
    groups = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("data-stage")}

    def count_line(key: str) -> str:
        (line,) = [t for t in groups[key].iter(f"{SVG}text") if t.get("class") == "stage-count"]
        return "".join(line.itertext())

    assert count_line("inspect") == "12 items · 2 late"
    assert count_line("kit") == "1 item"
    assert count_line("pack") == "0 items"
    assert groups["inspect"].get("class") == "stage qa late"


def test_without_counts_there_is_no_count_line() -> None:
    root = svg_of(DEMO)

    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "stage-count"]


def test_long_stage_name_is_shortened_but_kept_in_the_tooltip() -> None:
    long_name = "Final functional test and calibration"
    root = svg_of(named(long_name))
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-stage") == "weld"]
    (name,) = [t for t in group.iter(f"{SVG}text") if t.get("class") == "stage-name"]

    assert name.text is not None
    assert name.text.endswith("…")
    assert len(name.text) < len(long_name)
    assert (group.findtext(f"{SVG}title") or "").startswith(long_name)


def test_characters_xml_cannot_carry_are_replaced() -> None:
    text = render_svg(named("Weld\x01bay"))

    assert ElementTree.fromstring(text) is not None
    assert "Weld\ufffdbay" in text
    assert ElementTree.fromstring(export_bpmn(named("Weld\x01bay"))) is not None


# --- any valid definition


@st.composite
def _definitions(draw: st.DrawFn) -> ProcessSpec:
    """A main line s0 → … → sN, plus extra forward, backward and rework transitions."""
    count = draw(st.integers(min_value=2, max_value=9))
    keys = [f"s{i}" for i in range(count)]
    pairs = {(keys[i], keys[i + 1]) for i in range(count - 1)}
    extra = draw(
        st.lists(
            st.tuples(st.integers(0, count - 2), st.integers(0, count - 1)).filter(
                lambda p: p[0] != p[1]
            ),
            max_size=8,
        )
    )
    transitions: list[dict[str, Any]] = [{"from": a, "to": b} for a, b in sorted(pairs)]
    for i, j in extra:
        if (keys[i], keys[j]) not in pairs:
            pairs.add((keys[i], keys[j]))
            transitions.append({"from": keys[i], "to": keys[j], "rework": draw(st.booleans())})
    stages = [stage(k) for k in keys]
    routing = []
    if draw(st.booleans()):  # a stage only routing enters, leading anywhere, even the start
        stages.append(stage("entry"))
        transitions.append({"from": "entry", "to": draw(st.sampled_from(keys))})
        routing.append({"when": {"priority": "urgent"}, "stage": "entry"})
    return parse_spec(
        {
            "key": "random",
            "name": "Random",
            "start": "s0",
            "end": [keys[-1]],
            "stages": stages,
            "transitions": transitions,
            "routing": routing,
        }
    )


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(_definitions())
def test_any_definition_draws_without_crossing_boxes(spec: ProcessSpec) -> None:
    lay = layout(spec, end_events=True)
    for edge in every_edge(lay):
        for a, b in zip(edge.points, edge.points[1:], strict=False):
            assert a.x == b.x or a.y == b.y
            assert not any(crosses(a, b, box) for box in boxes_of(lay))
    flows = bpmn_of(spec).findall("bpmn:process/bpmn:sequenceFlow", NS)
    assert len(flows) == len(spec.transitions) + 1 + len(spec.end)
    paths = [p for p in svg_of(spec).iter(f"{SVG}path") if p.get("data-from")]
    assert len(paths) == len(spec.transitions)
