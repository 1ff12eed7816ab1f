"""Writing an event log out: Parquet, CSV (safe to open in a spreadsheet) and XES.

Every writer streams Arrow record batches from the backend and writes to a temporary file
beside the target, renamed into place at the end, so a failure leaves no partial file.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import quoteattr

import pyarrow as pa

from andon.analytics.log import (
    ACTIVITY,
    CASE,
    LIFECYCLE,
    ORDER,
    RESOURCE,
    START,
    TIMESTAMP,
    EventLog,
)
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

WriteFormat = Literal["parquet", "csv", "xes"]
BATCH_ROWS = 50_000

# Same rule as the audit CSV export (andon.core.audit.csv_safe); repeated here because
# that module loads the ORM, which file-based commands must not pay for.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Standard columns under their XES keys, for CSV/Parquet output that pm4py reads as is.
XES_KEYS = {
    CASE: "case:concept:name",
    ACTIVITY: "concept:name",
    TIMESTAMP: "time:timestamp",
    START: "start_timestamp",
    RESOURCE: "org:resource",
    LIFECYCLE: "lifecycle:transition",
}


def record_batches(table: ir.Table, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Stream ``table``'s rows as Arrow record batches of at most ``rows`` rows.

    On DuckDB the query runs on the connection itself: Ibis 12's ``to_pyarrow_batches``
    calls a method DuckDB 2.0 no longer has. Other backends use Ibis's own streaming.
    """
    import ibis

    backend: Any = ibis.get_backend(table)
    if backend.name == "duckdb":
        yield from backend.con.sql(backend.compile(table)).to_arrow_reader(rows)
        return
    yield from table.to_pyarrow_batches(chunk_size=rows)


def csv_safe(value: Any) -> str:
    """A cell as text; one that starts like a spreadsheet formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def write_format(path: Path) -> WriteFormat:
    """The output format from the suffix; InvalidInput for one we do not write."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith(".xes"):
        return "xes"
    raise InvalidInput.for_field(
        "out", f"{path.name}: can write .parquet, .csv or .xes (OCEL is read only)"
    )


@contextmanager
def _atomic(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file beside ``path`` that replaces it only when the block finishes."""
    if path.parent and not path.parent.exists():
        raise InvalidInput.for_field("out", f"{path.parent}: no such directory")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    os.close(handle)
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with open(temp, mode, **kwargs) as out:
            yield out
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_rows_csv(batches: pa.RecordBatchReader | Iterator[pa.RecordBatch], path: Path) -> int:
    """Write record batches as CSV with a header; returns the rows written.

    Every cell goes through :func:`csv_safe`. A RecordBatchReader with no rows still
    writes its header; a plain iterator of no batches writes an empty file.
    """
    rows = 0
    with _atomic(path) as out:
        writer = csv.writer(out)
        header_written = False
        if isinstance(batches, pa.RecordBatchReader):
            writer.writerow([csv_safe(n) for n in batches.schema.names])
            header_written = True
        for batch in batches:
            if not header_written:
                writer.writerow([csv_safe(n) for n in batch.schema.names])
                header_written = True
            for row in batch.to_pylist():
                writer.writerow([csv_safe(v) for v in row.values()])
            rows += batch.num_rows
    return rows


def _ordered(log: EventLog) -> ir.Table:
    table = log.table
    return table.order_by([table[CASE], table[TIMESTAMP], table[ORDER]])


def _renamed(table: ir.Table, xes_names: bool) -> ir.Table:
    """Standard columns under XES keys (``event_order`` dropped) when ``xes_names``."""
    if not xes_names:
        return table
    present = {c: XES_KEYS[c] for c in XES_KEYS if c in table.columns}
    kept = [
        c for c in table.columns if c != ORDER and not (c in XES_KEYS.values() and c not in present)
    ]
    return table.select(*[table[c].name(present.get(c, c)) for c in kept])


def write_log(log: EventLog, path: Path, *, xes_names: bool = True) -> int:
    """Write ``log`` to ``path`` in the format its suffix names; returns events written.

    Rows go out in source order (``event_order``) for Parquet and CSV, and trace by
    trace for XES. CSV and Parquet use the XES column names by default (as pm4py writes
    them), or Andon's standard names with ``xes_names=False``.
    """
    fmt = write_format(path)
    if fmt == "xes":
        return write_xes(log, path)
    table = _renamed(log.table.order_by(log.table[ORDER]), xes_names)
    batches = record_batches(table)
    if fmt == "csv":
        return write_rows_csv(batches, path)
    import pyarrow.parquet as pq

    rows = 0
    with _atomic(path, "wb") as out:
        writer: pq.ParquetWriter | None = None
        try:
            for batch in batches:
                if writer is None:
                    writer = pq.ParquetWriter(out, batch.schema)
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
    return rows


def _xes_value(value: Any) -> tuple[str, str] | None:
    """(XES element, value text) for one attribute value; None for a null."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return "date", moment.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return "date", datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    return "string", str(value)


def _xes_attribute(key: str, value: Any) -> str:
    typed = _xes_value(value)
    if typed is None:
        return ""
    element, text = typed
    return f"<{element} key={quoteattr(key)} value={quoteattr(_xml_text(text))}/>"


def _xml_text(text: str) -> str:
    # Characters XML 1.0 cannot carry at all are dropped; quoteattr escapes the rest.
    return (
        "".join(c for c in text if c in "\t\n\r" or c >= " ")
        if any(c < " " for c in text)
        else text
    )


def write_xes(log: EventLog, path: Path) -> int:
    """Write ``log`` as XES 1849-2016, one trace per case, events by timestamp then order.

    Columns named ``case:<key>`` become trace attributes (their value from the case's
    first event); the standard columns use the standard keys; every other non-null
    attribute becomes an event attribute typed by its value.
    """
    table = _ordered(log)
    columns = table.columns
    case_attrs = [c for c in columns if c.startswith("case:") and c != XES_KEYS[CASE]]
    event_cols = [c for c in columns if c not in case_attrs and c not in {CASE, ORDER}]
    rows = 0
    current: object = None
    with _atomic(path) as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            '<log xes.version="1849-2016" xes.features="" '
            'xmlns="http://www.xes-standard.org/">\n'
            '  <extension name="Concept" prefix="concept" '
            'uri="http://www.xes-standard.org/concept.xesext"/>\n'
            '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
            '  <extension name="Organizational" prefix="org" '
            'uri="http://www.xes-standard.org/org.xesext"/>\n'
            '  <extension name="Lifecycle" prefix="lifecycle" '
            'uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
        )
        for batch in record_batches(table):
            for row in batch.to_pylist():
                case = row[CASE]
                if case != current:
                    if current is not None:
                        out.write("  </trace>\n")
                    out.write("  <trace>\n")
                    out.write("    " + _xes_attribute("concept:name", case) + "\n")
                    for c in case_attrs:
                        attribute = _xes_attribute(c.removeprefix("case:"), row[c])
                        if attribute:
                            out.write("    " + attribute + "\n")
                    current = case
                out.write("    <event>\n")
                for c in event_cols:
                    attribute = _xes_attribute(XES_KEYS.get(c, c), row[c])
                    if attribute:
                        out.write("      " + attribute + "\n")
                out.write("    </event>\n")
                rows += 1
        if current is not None:
            out.write("  </trace>\n")
        out.write("</log>\n")
    return rows
