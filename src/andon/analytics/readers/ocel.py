"""OCEL 2.0 (JSON and XML), flattened for one object type into a case-centric log.

As pm4py's ``ocel_flattening`` does: every event related to an object of the chosen type
becomes an event of the case named by that object's id; an event related to two such
objects appears in both cases. The XML form is parsed with defusedxml (no DTD, no
entities) and cleared element by element.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from andon.analytics.readers import ROW, StagedLog
from andon.core.errors import InvalidInput

CASE_COLUMN = "case:concept:name"
ACTIVITY_COLUMN = "concept:name"
TIMESTAMP_COLUMN = "time:timestamp"
EVENT_ID_COLUMN = "ocel:eid"

# (event position, event id, activity, time, attributes, related object ids)
_Event = tuple[int, str, str, str | None, dict[str, str], list[str]]


def stage_ocel(
    path: Path, con: Any, table: str, *, object_type: str | None, xml: bool
) -> StagedLog:
    """Flatten ``path`` for ``object_type`` into table ``table``.

    Columns: ``case:concept:name`` (object id), ``concept:name`` (event type),
    ``time:timestamp`` (text), ``ocel:eid``, the event's attributes by name, and ``__row``,
    the event's 0-based position among the file's events. Raises InvalidInput when the
    object type is missing or unknown (listing the known ones), on malformed input, or
    when no event relates to an object of that type.
    """
    types, events = _read_xml(path) if xml else _read_json(path)
    known = sorted(set(types.values()))
    if object_type is None or object_type not in known:
        problem = (
            "choose an object type" if object_type is None else f"no object type {object_type!r}"
        )
        raise InvalidInput.for_field(
            "object_type",
            f"{path.name}: {problem}; the log has: {', '.join(known) or '(none)'}",
        )
    rows: list[dict[str, Any]] = []
    for position, event_id, activity, time, attributes, related in events:
        for object_id in dict.fromkeys(related):
            if types.get(object_id) == object_type:
                rows.append(
                    {
                        **attributes,
                        ROW: position,
                        CASE_COLUMN: object_id,
                        ACTIVITY_COLUMN: activity,
                        TIMESTAMP_COLUMN: time,
                        EVENT_ID_COLUMN: event_id,
                    }
                )
    if not rows:
        raise InvalidInput.for_field(
            "log", f"{path.name}: no event relates to an object of type {object_type!r}"
        )
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    schema = pa.schema([(k, pa.int64() if k == ROW else pa.string()) for k in keys])
    con.register("__ocel_rows", pa.Table.from_pylist(rows, schema=schema))
    try:
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM __ocel_rows ORDER BY "{ROW}"')  # noqa: S608
    finally:
        con.unregister("__ocel_rows")
    return StagedLog(
        table=table,
        format="ocel-xml" if xml else "ocel-json",
        defaults={"case": CASE_COLUMN, "activity": ACTIVITY_COLUMN, "timestamp": TIMESTAMP_COLUMN},
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _read_json(path: Path) -> tuple[dict[str, str], list[_Event]]:
    try:
        with path.open("rb") as stream:
            document = json.load(stream)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput.for_field("log", f"{path.name}: not valid OCEL JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise InvalidInput.for_field(
            "log", f"{path.name}: not an OCEL 2.0 JSON log (no 'events' list)"
        )
    try:
        types = {str(o["id"]): str(o["type"]) for o in document.get("objects") or []}
        events: list[_Event] = [
            (
                position,
                str(e["id"]),
                str(e["type"]),
                None if e.get("time") is None else str(e["time"]),
                {str(a["name"]): _text(a.get("value")) for a in e.get("attributes") or []},
                [str(r["objectId"]) for r in e.get("relationships") or []],
            )
            for position, e in enumerate(document["events"])
        ]
    except (KeyError, TypeError) as exc:
        raise InvalidInput.for_field(
            "log", f"{path.name}: an OCEL object or event lacks a field: {exc}"
        ) from None
    return types, events


def _read_xml(path: Path) -> tuple[dict[str, str], list[_Event]]:
    from xml.etree.ElementTree import Element, ParseError

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import iterparse  # type: ignore[import-untyped]

    types: dict[str, str] = {}
    events: list[_Event] = []

    def attributes(element: Element) -> dict[str, str]:
        holder = element.find("attributes")
        items: Iterable[Element] = [] if holder is None else holder.findall("attribute")
        return {a.get("name", ""): (a.text or "") for a in items}

    def related(element: Element) -> list[str]:
        holder = element.find("objects")
        items: Iterable[Element] = [] if holder is None else holder.findall("relationship")
        return [r.get("object-id", "") for r in items]

    try:
        parents: list[str] = []
        for kind, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if kind == "start":
                parents.append(element.tag)
                continue
            parents.pop()
            container = parents[-1] if parents else None
            if element.tag == "object" and container == "objects" and len(parents) == 2:
                types[element.get("id", "")] = element.get("type", "")
                element.clear()
            elif element.tag == "event" and container == "events":
                events.append(
                    (
                        len(events),
                        element.get("id", ""),
                        element.get("type", ""),
                        element.get("time"),
                        attributes(element),
                        related(element),
                    )
                )
                element.clear()
    except DefusedXmlException as exc:
        raise InvalidInput.for_field(
            "log",
            f"{path.name}: refused {type(exc).__name__}; logs must not declare a DTD or entities",
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise InvalidInput.for_field(
            "log", f"{path.name} is not well-formed XML at line {line}, column {column + 1}"
        ) from None
    return types, events
