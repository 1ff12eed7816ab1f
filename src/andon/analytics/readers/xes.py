"""XES and .xes.gz: a streaming expat parse into DuckDB, in bounded batches of Arrow rows.

No DTD is accepted, so neither entity expansion ("billion laughs") nor external entities
can happen; expat reads the file in fixed-size blocks and each finished batch of events
goes straight into the staging table, so memory does not grow with the log.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from xml.parsers import expat

import pyarrow as pa

from andon.analytics.readers import ROW, StagedLog
from andon.core.errors import InvalidInput

CASE_KEY = "case:concept:name"
ACTIVITY_KEY = "concept:name"
TIMESTAMP_KEY = "time:timestamp"
RESOURCE_KEY = "org:resource"
LIFECYCLE_KEY = "lifecycle:transition"
START_KEY = "start_timestamp"

BLOCK_BYTES = 1024 * 1024
BATCH_EVENTS = 10_000

_SCALAR_TYPES = {"string", "id", "date", "int", "float", "boolean"}
_KNOWN_TAGS = _SCALAR_TYPES | {"log", "trace", "event", "list", "container", "values"}
_ARROW_TYPES = {
    "string": pa.string(),
    "id": pa.string(),
    "date": pa.string(),  # parsed later, with the timestamp, in DuckDB
    "int": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
}
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "id": "VARCHAR",
    "date": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
}


class _Refused(Exception):
    """Raised from an expat handler to stop the parse on a DTD or entity."""


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _merge_types(old: str, new: str) -> str:
    if old == new or (old, new) in {("id", "string"), ("string", "id")}:
        return old
    if {old, new} == {"int", "float"}:
        return "float"
    return "string"


class _Collector:
    """Expat handlers that turn traces and events into rows, flushed in batches."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.types = sink.types
        # A sentinel bottom entry, so the parent of the root element is "".
        self.stack: list[str] = [""]
        self.trace_attrs: dict[str, str] = {}
        self.trace_events: list[dict[str, str]] = []
        self.event: dict[str, str] | None = None
        self.in_trace = False

    # This handler runs once per XML element (about 12 per event), so it is kept flat.
    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag not in _KNOWN_TAGS:
            tag = _local(tag)
        parent = self.stack[-1]
        self.stack.append(tag)
        if tag in _SCALAR_TYPES:
            key = attrs.get("key")
            value = attrs.get("value")
            if key is None or value is None:
                return
            # Nested attributes (children of another attribute) carry no event column.
            if parent == "event":
                if self.event is not None:
                    self.event[key] = value
                    if self.types.get(key) != tag:
                        self.sink.declare(key, tag)
            elif parent == "trace" and self.in_trace:
                case_key = "case:" + key
                self.trace_attrs[case_key] = value
                if self.types.get(case_key) != tag:
                    self.sink.declare(case_key, tag)
        elif tag == "event" and parent in {"trace", "log"}:
            self.event = {}
        elif tag == "trace" and parent == "log":
            self.in_trace = True
            self.trace_attrs = {}
            self.trace_events = []

    def end(self, tag: str) -> None:
        name = self.stack.pop()
        if name == "event" and self.event is not None:
            if self.stack[-1] == "trace":
                self.trace_events.append(self.event)
            else:
                # An event outside any trace has no case; the quality report rejects it.
                self.sink.add([self.event], {})
            self.event = None
        elif name == "trace" and self.in_trace:
            # Trace attributes may follow the events in the file, so events wait here.
            self.sink.add(self.trace_events, self.trace_attrs)
            self.trace_events = []
            self.in_trace = False


class _Sink:
    """Rows in Arrow batches of bounded size, appended to one DuckDB table by name."""

    def __init__(self, con: Any, table: str) -> None:
        self.con = con
        self.table = table
        self.types: dict[str, str] = {}
        self.written: dict[str, str] = {}  # column -> XES type it has in the table
        self.rows: list[dict[str, Any]] = []
        self.count = 0
        self.created = False

    def declare(self, key: str, xes_type: str) -> None:
        """Record the XES type ``key`` was declared with, merging with earlier ones."""
        old = self.types.get(key)
        self.types[key] = xes_type if old is None else _merge_types(old, xes_type)

    def add(self, events: list[dict[str, str]], trace_attrs: dict[str, str]) -> None:
        for event in events:
            row: dict[str, Any] = {**trace_attrs, **event}
            row[ROW] = self.count
            self.count += 1
            self.rows.append(row)
        if len(self.rows) >= BATCH_EVENTS:
            self.flush()

    def flush(self) -> None:
        if not self.rows and self.created:
            return
        keys: dict[str, None] = {}
        for row in self.rows:
            keys.update(dict.fromkeys(row))
        keys.pop(ROW, None)
        columns: dict[str, pa.Array] = {ROW: pa.array([r[ROW] for r in self.rows], pa.int64())}
        for key in keys:
            xes_type = self.types.get(key, "string")
            raw = pa.array([r.get(key) for r in self.rows], pa.string())
            columns[key] = _cast(raw, key, xes_type)
        batch = pa.table(columns)
        self._ensure_columns(keys)
        self.con.register("__xes_batch", batch)
        try:
            self.con.execute(f'INSERT INTO "{self.table}" BY NAME SELECT * FROM __xes_batch')  # noqa: S608
        finally:
            self.con.unregister("__xes_batch")
        self.rows = []

    def _ensure_columns(self, keys: dict[str, None]) -> None:
        if not self.created:
            self.con.execute(f'CREATE TABLE "{self.table}" ("{ROW}" BIGINT)')
            self.created = True
        for key in keys:
            want = self.types.get(key, "string")
            have = self.written.get(key)
            quoted = key.replace('"', '""')
            if have is None:
                self.con.execute(
                    f'ALTER TABLE "{self.table}" ADD COLUMN "{quoted}" {_DUCKDB_TYPES[want]}'
                )
                self.written[key] = want
            elif _DUCKDB_TYPES[have] != _DUCKDB_TYPES[want]:
                # A key declared with two types: earlier rows are widened to the new type.
                self.con.execute(
                    f'ALTER TABLE "{self.table}" ALTER "{quoted}" TYPE {_DUCKDB_TYPES[want]}'
                )
                self.written[key] = want


def _cast(raw: pa.Array, key: str, xes_type: str) -> pa.Array:
    target = _ARROW_TYPES[xes_type]
    if target == pa.string():
        return raw
    try:
        return raw.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput.for_field(
            "log", f"attribute {key!r} is declared {xes_type} but holds a value that is not: {exc}"
        ) from None


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        block = stream.read(BLOCK_BYTES)
        if not block:
            return
        yield block


def _refuse(what: str) -> Any:
    def handler(*_args: Any) -> Any:
        raise _Refused(what)

    return handler


def stage_xes(path: Path, con: Any, table: str) -> StagedLog:
    """Stream ``path`` (XES, gzipped if it ends in .gz) into a new table ``table``.

    One row per event, in file order (``__row``), with trace attributes as ``case:<key>``
    columns and event attributes by key. ``int``/``float``/``boolean`` attributes are typed;
    ``date`` attributes stay text until the normaliser parses them. Raises InvalidInput on
    a DTD or entity, malformed XML (naming the line), a bad gzip stream, or no events.
    """
    sink = _Sink(con, table)
    collector = _Collector(sink)
    parser = expat.ParserCreate()
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.StartDoctypeDeclHandler = _refuse("a DTD (<!DOCTYPE>)")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            for block in _blocks(stream):  # type: ignore[arg-type]
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise InvalidInput.for_field(
            "log",
            f"{path.name} line {parser.CurrentLineNumber}: refused {exc}; "
            "event logs must not declare a DTD or entities",
        ) from None
    except expat.ExpatError as exc:
        raise InvalidInput.for_field(
            "log",
            f"{path.name} is not well-formed XML: {expat.ErrorString(exc.code)} "
            f"at line {exc.lineno}, column {exc.offset + 1}",
        ) from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise InvalidInput.for_field("log", f"{path.name}: broken gzip stream ({exc})") from None
    sink.flush()
    if sink.count == 0:
        raise InvalidInput.for_field("log", f"{path.name}: the log has no events")
    date_columns = tuple(
        k for k, t in sink.written.items() if t == "date" and k not in {TIMESTAMP_KEY, START_KEY}
    )
    return StagedLog(
        table=table,
        format="xes",
        defaults={
            "case": CASE_KEY,
            "activity": ACTIVITY_KEY,
            "timestamp": TIMESTAMP_KEY,
            "resource": RESOURCE_KEY,
            "lifecycle": LIFECYCLE_KEY,
            "start_timestamp": START_KEY,
        },
        date_columns=date_columns,
    )
