"""Small hand-made event logs on DuckDB for the discovery, KPI and filter tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from andon.analytics.engines import connect
from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.analytics.ordering import CaseOrderedLog
from andon.analytics.report import prepare

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # a Monday
_backend: Any = None


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def event_log(
    rows: list[tuple[Any, ...]], *, extra: dict[str, list[Any]] | None = None
) -> EventLog:
    """Rows of (case, activity, hours after T0) or (case, activity, start hours, end hours);
    ``event_order`` is the row's position. Four-tuples make an interval log."""
    global _backend
    if _backend is None:
        _backend = connect("duckdb")
    interval = any(len(row) == 4 for row in rows)
    columns: dict[str, Any] = {
        CASE: [row[0] for row in rows],
        ACTIVITY: [row[1] for row in rows],
        TIMESTAMP: pa.array([at(row[-1]) for row in rows], pa.timestamp("us", tz="UTC")),
        ORDER: pa.array(range(len(rows)), pa.int64()),
    }
    if interval:
        columns[START] = pa.array(
            [at(row[2]) if len(row) == 4 else None for row in rows], pa.timestamp("us", tz="UTC")
        )
    columns |= extra or {}
    name = f"log_{uuid.uuid4().hex}"
    _backend.con.register(name, pa.table(columns))
    return EventLog(_backend.table(name), source=name, interval=interval)


def ordered_log(rows: list[tuple[Any, ...]], **kwargs: Any) -> CaseOrderedLog:
    extra = kwargs.pop("extra", None)
    return prepare(event_log(rows, extra=extra), **kwargs)
