"""A process definition as BPMN 2.0 XML with a diagram, for bpmn.io and Camunda Modeler."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds and writes XML only; nothing here parses
from dataclasses import dataclass

from andon.processes.layout import Edge, layout
from andon.processes.spec import ProcessSpec, Stage, format_duration

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TARGET_NAMESPACE = "urn:andon:processes"

for _prefix, _uri in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def export_bpmn(spec: ProcessSpec) -> str:
    """BPMN 2.0 XML of ``spec``: a start event, one task per stage, one sequence flow per
    transition (named "rework" for rework flows), an end event after each end stage, and a
    diagram drawn with the same layout as the SVG map.

    Ids are derived from keys (``Task_<key>``, ``Flow_<from>-<to>``, ``EndEvent_<key>``,
    diagram elements ``<id>-di``) so exporting the same definition twice gives the same
    document; keys never hold "-", so no two ids meet. The process is not executable. A
    stage with several ways out has a condition on each (``next stage is "<key>"``): BPMN
    reads unconditioned flows out of a task as all taken at once, and an item takes exactly
    one. Conditions on the flows themselves, not an exclusive gateway, keep the diagram the
    map's own.
    """
    lay = layout(spec, end_events=True)
    root = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"Definitions_{spec.key}",
            "targetNamespace": TARGET_NAMESPACE,
            "exporter": "Andon",
            "exporterVersion": "1",
        },
    )
    process = ET.SubElement(
        root,
        _q(BPMN, "process"),
        {"id": f"Process_{spec.key}", "name": _clean(spec.name), "isExecutable": "false"},
    )
    if spec.description:
        _documentation(process, spec.description)

    start_id = f"StartEvent_{spec.key}"
    start_flow = "Flow_start"
    flows = [_Flow(start_flow, start_id, _task_id(spec.start), lay.start_edge)]
    for t, edge in zip(spec.transitions, lay.edges, strict=True):
        roles = ", ".join(r.value for r in t.roles)
        flows.append(
            _Flow(
                f"Flow_{t.source}-{t.target}",  # "-" never occurs in a key: ids stay unique
                _task_id(t.source),
                _task_id(t.target),
                edge,
                name="rework" if t.rework else None,
                doc=f"Roles: {roles}" if roles else None,
                condition=f'next stage is "{t.target}"',
            )
        )
    for key, edge in lay.end_edges.items():
        # An end stage has no transition out, so its flow to the end event is its only one.
        flows.append(_Flow(f"Flow_end_{key}", _task_id(key), f"EndEvent_{key}", edge))

    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow in flows:
        outgoing.setdefault(flow.source, []).append(flow.id)
        incoming.setdefault(flow.target, []).append(flow.id)

    def node(tag: str, node_id: str, name: str | None = None, doc: str | None = None) -> None:
        attrs = {"id": node_id} | ({"name": _clean(name)} if name else {})
        element = ET.SubElement(process, _q(BPMN, tag), attrs)
        if doc:
            _documentation(element, doc)
        for flow_id in incoming.get(node_id, []):
            ET.SubElement(element, _q(BPMN, "incoming")).text = flow_id
        for flow_id in outgoing.get(node_id, []):
            ET.SubElement(element, _q(BPMN, "outgoing")).text = flow_id

    node("startEvent", start_id, "Start")
    for stage in spec.stages:
        node("task", _task_id(stage.key), stage.name, _stage_documentation(stage, spec))
    for key in lay.end_events:
        node("endEvent", f"EndEvent_{key}", "End")
    for flow in flows:
        attrs = {"id": flow.id, "sourceRef": flow.source, "targetRef": flow.target}
        if flow.name:
            attrs["name"] = flow.name
        element = ET.SubElement(process, _q(BPMN, "sequenceFlow"), attrs)
        if flow.doc:
            _documentation(element, flow.doc)
        if len(outgoing[flow.source]) > 1:
            condition = ET.SubElement(
                element,
                _q(BPMN, "conditionExpression"),
                {_q(XSI, "type"): "bpmn:tFormalExpression"},
            )
            condition.text = flow.condition

    diagram = ET.SubElement(root, _q(BPMNDI, "BPMNDiagram"), {"id": f"BPMNDiagram_{spec.key}"})
    plane = ET.SubElement(
        diagram,
        _q(BPMNDI, "BPMNPlane"),
        {"id": f"BPMNPlane_{spec.key}", "bpmnElement": f"Process_{spec.key}"},
    )
    shapes = [(start_id, lay.start)]
    shapes += [(_task_id(key), box) for key, box in lay.stages.items()]
    shapes += [(f"EndEvent_{key}", box) for key, box in lay.end_events.items()]
    for element_id, box in shapes:
        shape = ET.SubElement(
            plane, _q(BPMNDI, "BPMNShape"), {"id": f"{element_id}-di", "bpmnElement": element_id}
        )
        _bounds(shape, box.x, box.y, box.width, box.height)
        if not element_id.startswith("Task_"):  # events carry their name below the circle
            label = ET.SubElement(shape, _q(BPMNDI, "BPMNLabel"))
            _bounds(label, box.cx - 20, box.bottom + 4, 40, 14)
    for flow in flows:
        shape = ET.SubElement(
            plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{flow.id}-di", "bpmnElement": flow.id}
        )
        for point in flow.edge.points:
            ET.SubElement(shape, _q(DI, "waypoint"), {"x": str(point.x), "y": str(point.y)})
        if flow.name:
            label = ET.SubElement(shape, _q(BPMNDI, "BPMNLabel"))
            at = flow.edge.label_at
            _bounds(label, at.x - 20, at.y - 12, 40, 14)

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


@dataclass(frozen=True)
class _Flow:
    id: str
    source: str  # element ids
    target: str
    edge: Edge
    name: str | None = None
    doc: str | None = None
    condition: str | None = None  # written only when the source has several ways out


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _task_id(key: str) -> str:
    return f"Task_{key}"  # keys match [a-z][a-z0-9_]*, so every id is an XML NCName


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _documentation(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, _q(BPMN, "documentation")).text = _clean(text)


def _stage_documentation(stage: Stage, spec: ProcessSpec) -> str:
    lines = [f"Owner role: {stage.owner_role.value}"]
    lines.append(f"SLA: {format_duration(stage.sla)}" if stage.sla else "SLA: none")
    if stage.sop:
        lines.append(f"SOP: {stage.sop}")
    if stage.checklist:
        lines.append(f"QA checklist: {', '.join(c.text for c in stage.checklist)}")
    if stage.on_fail:
        lines.append(f"On a failed checklist: {spec.stage(stage.on_fail).name}")
    if stage.key in spec.end:
        lines.append("End stage")
    return "\n".join(lines)


def _bounds(parent: ET.Element, x: int, y: int, width: int, height: int) -> None:
    ET.SubElement(
        parent,
        _q(DC, "Bounds"),
        {"x": str(x), "y": str(y), "width": str(width), "height": str(height)},
    )
