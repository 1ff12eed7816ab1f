"""The normalised event log that every analytics computation takes.

Readers turn a file (or Andon's own ``work_events``) into an :class:`EventLog`; discovery,
KPIs and conformance are Ibis expressions over its ``table``, so the same code runs on
DuckDB, PostgreSQL and PySpark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir

# Column names of the normalised table. Attributes keep their source names beside these.
CASE = "case_id"  # string, never null
ACTIVITY = "activity"  # string, never null
TIMESTAMP = "timestamp"  # timestamp (UTC), never null: the completion time of the event
START = "start_timestamp"  # timestamp (UTC) or null: the start, for interval logs
RESOURCE = "resource"  # string or null
LIFECYCLE = "lifecycle"  # string or null (XES lifecycle:transition)
ORDER = "event_order"  # int64, the event's position in the source; breaks timestamp ties

STANDARD_COLUMNS = (CASE, ACTIVITY, TIMESTAMP, START, RESOURCE, LIFECYCLE, ORDER)


@dataclass(frozen=True)
class EventLog:
    """An event table on some Ibis backend, with the standard columns above.

    ``interval`` says whether events carry a start as well as a completion time; then
    events within a case are ordered by start, then completion, then source order.
    """

    table: ir.Table
    source: str
    interval: bool = False
