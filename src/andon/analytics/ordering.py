"""The case-ordered event table: every discovery, KPI and filter reads this one table.

Ordering events within a case is the expensive step of every analysis (a sort of the whole
log), so it is done once: :func:`order_events` numbers each case's events, attaches each
event's successor and the waiting time to it, and :func:`materialise` stores the result (a
temporary table on DuckDB and PostgreSQL, a persisted frame on Spark) so that the DFG,
variants and KPIs of one report share a single sort.

Definitions (docs/analytics.md has them with their edge cases):

- Events of a case are ordered by completion time, ties broken by ``event_order`` (the
  position in the source), as pm4py does. Interval logs order by start, then completion,
  then ``event_order``; an event without a start is taken to start when it completes.
- An event's *wait* is the time from its completion to the next event of the case: the next
  event's completion, or for interval logs the next event's start (negative when the two
  overlap, as in pm4py). The last event of a case has no successor and no wait.
- A case's duration is its last completion minus its first completion; for interval logs,
  its last completion minus its earliest start.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from andon.analytics.engines import bind_table
from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

# Columns of the ordered events table. ``case_key`` stands in for the string case id in
# every sort and join (integer keys compare far faster than strings); ``cases`` maps it back.
CASE_KEY = "case_key"
POSITION = "position"  # 0-based rank of the event within its case
AT_US = "at_us"  # completion, microseconds since the Unix epoch (UTC)
START_US = "start_us"  # start (interval logs; equal to at_us otherwise)
NEXT_ACTIVITY = "next_activity"  # null for the last event of a case
WAIT_SECONDS = "wait_seconds"  # time to the next event; null for the last event
STAGE_SECONDS = "stage_seconds"  # time in stage; see stage_seconds in docs/analytics.md

# Columns of the cases table.
EVENTS = "events"
FIRST_US = "first_us"
LAST_US = "last_us"
DURATION_SECONDS = "duration_seconds"
START_ACTIVITY = "start_activity"
END_ACTIVITY = "end_activity"
VARIANT = "variant"  # the case's activities in order, as an array of strings

MICROSECONDS = 1_000_000


@dataclass(frozen=True)
class CaseOrderedLog:
    """A log with its events ordered within each case, and one row per case.

    ``events`` has :data:`CASE_KEY`, :data:`ACTIVITY`, :data:`AT_US`, :data:`POSITION`,
    :data:`NEXT_ACTIVITY`, :data:`WAIT_SECONDS`, for interval logs :data:`START_US` and
    :data:`STAGE_SECONDS` too, and any attribute columns asked for; ``cases`` has
    :data:`CASE_KEY`, ``case_id``, :data:`EVENTS`, :data:`FIRST_US`, :data:`LAST_US`,
    :data:`DURATION_SECONDS`, :data:`START_ACTIVITY`, :data:`END_ACTIVITY` and :data:`VARIANT`.

    Filters keep or drop whole cases, so the successor columns stay valid after filtering.
    """

    events: ir.Table
    cases: ir.Table
    case_ids: ir.Table  # case_key -> case_id, for every case of the unfiltered log
    source: str
    interval: bool
    engine: str  # the Ibis backend name: "duckdb", "postgres" or "pyspark"


def order_events(
    log: EventLog, *, attributes: tuple[str, ...] = (), case_ids: ir.Table | None = None
) -> CaseOrderedLog:
    """Order ``log`` within each case and derive the cases table, as unexecuted expressions.

    ``attributes`` are source columns to carry beside the standard ones (for attribute
    filters and the exception Pareto); a name the log lacks is refused. ``case_ids`` is
    :func:`case_ids_expr` of the same log when the caller has already stored it.
    """
    import ibis

    table = log.table
    missing = [name for name in attributes if name not in table.columns]
    if missing:
        raise InvalidInput.for_field(
            "attribute", f"the log has no column {', '.join(repr(m) for m in missing)}"
        )
    engine = backend_name(table)

    case_keys = case_ids_expr(log) if case_ids is None else case_ids
    at_us = epoch_us(table[TIMESTAMP], engine)
    times = {AT_US: at_us}
    if log.interval:
        times[START_US] = epoch_us(table[START], engine).coalesce(at_us)
    # The activity is carried anyway: asked for as an attribute ("cases through a stage"),
    # it must not come twice.
    extra = [name for name in dict.fromkeys(attributes) if name != ACTIVITY]
    keyed = table.join(case_keys, CASE).select(CASE_KEY, ACTIVITY, ORDER, *extra, **times)

    if log.interval:
        sort_keys = [keyed[START_US], keyed[AT_US], keyed[ORDER]]
        next_at = keyed[START_US]
    else:
        sort_keys = [keyed[AT_US], keyed[ORDER]]
        next_at = keyed[AT_US]
    window = ibis.window(group_by=keyed[CASE_KEY], order_by=sort_keys)
    # pm4py measures an edge from the source's completion to the target's start (its
    # completion when the log has no starts), without clipping overlaps to zero.
    wait_us = next_at.lead().over(window) - keyed[AT_US]
    events = keyed.mutate(
        **{
            # 32 bits hold any case's length and keep 4 bytes an event off the stored table.
            POSITION: ibis.row_number().over(window).cast("int32"),
            NEXT_ACTIVITY: keyed[ACTIVITY].lead().over(window),
            WAIT_SECONDS: wait_us / MICROSECONDS,
        }
    )
    if log.interval:
        events = events.mutate(**{STAGE_SECONDS: (events[AT_US] - events[START_US]) / MICROSECONDS})
    events = events.drop(ORDER)
    cases = _cases(events, case_keys, engine, interval=log.interval)
    return CaseOrderedLog(events, cases, case_keys, log.source, log.interval, engine)


def case_ids_expr(log: EventLog) -> ir.Table:
    """Each case id with its integer key, which numbers the cases in the order of their
    first source row.

    On DuckDB the key is the case's rank, 32 bits (4 bytes less an event in the window
    pass's sort and the stored tables, about 10 MB at 1M events); elsewhere it is the
    ``event_order`` of that row itself, which needs no sort over all cases (Spark would
    gather them in one partition).
    """
    import ibis

    table = log.table
    firsts = table.group_by(CASE).agg(**{CASE_KEY: table[ORDER].min()})
    if backend_name(table) != "duckdb":
        return firsts
    rank = ibis.row_number().over(order_by=firsts[CASE_KEY])
    return firsts.mutate(**{CASE_KEY: rank.cast("int32")})


def order_and_store(log: EventLog, *, attributes: tuple[str, ...] = ()) -> CaseOrderedLog:
    """:func:`order_events` then :func:`materialise`, grouping the case ids only once."""
    engine = backend_name(log.table)
    case_ids = store(case_ids_expr(log), engine)
    ordered = order_events(log, attributes=attributes, case_ids=case_ids)
    events = store(ordered.events, engine)
    cases = store(_cases(events, case_ids, engine, interval=log.interval), engine)
    return replace(ordered, events=events, cases=cases)


def stage_seconds(ordered: CaseOrderedLog) -> ir.NumericColumn:
    """Time in stage per event: completion minus start for interval logs, else the wait
    until the case's next event (null for the last event)."""
    column: ir.NumericColumn = ordered.events[STAGE_SECONDS if ordered.interval else WAIT_SECONDS]
    return column


def epoch_us(column: ir.TimestampColumn, engine: str) -> ir.IntegerColumn:
    """Microseconds since the Unix epoch, exactly, on every backend (``engine``: the
    backend's name, as ``ibis.get_backend(expr).name`` gives it)."""
    import ibis

    if engine == "duckdb":
        # DuckDB's own function is several times cheaper than the generic date_diff.
        return _duckdb_epoch_us(column)
    epoch = ibis.timestamp(datetime(1970, 1, 1, tzinfo=UTC))
    micros: ir.IntegerColumn = column.delta(epoch, unit="microsecond")
    return micros


def _duckdb_epoch_us(column: ir.TimestampColumn) -> ir.IntegerColumn:
    import ibis
    import ibis.expr.datatypes as dt

    @ibis.udf.scalar.builtin(name="epoch_us", signature=((dt.timestamp,), dt.int64))
    def epoch_us(value):  # type: ignore[no-untyped-def]
        """DuckDB's epoch_us."""

    micros: ir.IntegerColumn = epoch_us(column)
    return micros


def _cases(events: ir.Table, case_ids: ir.Table, engine: str, *, interval: bool) -> ir.Table:
    first_us = events[START_US].min() if interval else events[AT_US].min()
    per_case = events.group_by(CASE_KEY).agg(
        **{
            FIRST_US: first_us,
            LAST_US: events[AT_US].max(),
            VARIANT: _ordered_activities(events, engine),
        }
    )
    # Count, first and last activity come from the trace: fewer aggregate states per case.
    trace = per_case[VARIANT]
    per_case = per_case.mutate(
        **{
            EVENTS: trace.length(),
            START_ACTIVITY: trace[0],
            # Not trace[-1]: Ibis renders that as index 0 on Spark.
            END_ACTIVITY: trace[trace.length() - 1],
            DURATION_SECONDS: (per_case[LAST_US] - per_case[FIRST_US]) / MICROSECONDS,
        }
    )
    return per_case.join(case_ids, CASE_KEY).select(
        CASE_KEY,
        CASE,
        EVENTS,
        FIRST_US,
        LAST_US,
        DURATION_SECONDS,
        START_ACTIVITY,
        END_ACTIVITY,
        VARIANT,
    )


def _ordered_activities(events: ir.Table, engine: str) -> ir.ArrayValue:
    import ibis

    if engine in ("pyspark", "duckdb"):
        # Collect (position, activity) pairs and sort each case's short list, which orders
        # by position first: Spark's collect_list takes no ORDER BY, and on DuckDB a plain
        # list aggregate needs less memory than an ordered one (which buffers every case's
        # rows for a sort of its own).
        pairs = ibis.struct({"p": events[POSITION], "a": events[ACTIVITY]}).collect()
        return pairs.sort().map(lambda pair: pair["a"])
    return events[ACTIVITY].collect(order_by=events[POSITION])


def materialise(ordered: CaseOrderedLog) -> CaseOrderedLog:
    """Execute the ordering once and keep both tables on the backend for reuse.

    On DuckDB and PostgreSQL the tables are temporary (gone with the connection, or at
    :func:`release`); on Spark they are persisted frames.
    """
    events = store(ordered.events, ordered.engine)
    case_ids = store(ordered.case_ids, ordered.engine)
    cases = store(
        _cases(events, case_ids, ordered.engine, interval=ordered.interval), ordered.engine
    )
    return replace(ordered, events=events, cases=cases, case_ids=case_ids)


def release(ordered: CaseOrderedLog) -> None:
    """Drop what :func:`materialise` stored; the log must not be used afterwards."""
    for table in (ordered.events, ordered.cases, ordered.case_ids):
        drop_stored(table, ordered.engine)


def drop_stored(table: ir.Table, engine: str) -> None:
    """Drop a table :func:`store` made (nothing for any other); it must not be used after."""
    name = _forget_stored(table)
    if name is not None:
        backend = table._find_backend()
        # Ibis' own drop_table renders an empty name with this sqlglot; plain SQL is safe
        # here because the name is ours (a fixed prefix and a uuid).
        cursor = backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        if engine == "postgres":
            # DuckDB hands back its connection here; only PostgreSQL's is a cursor.
            cursor.close()
    elif engine == "pyspark" and hasattr(table, "release"):
        table.release()


# Stored table names by the id of the Ibis table that reads them. An id is only unique
# while its object lives, so each entry keeps a weak reference that removes it when the
# table is collected: a stale entry once matched a new Spark frame at the same address and
# sent Spark a DuckDB DROP TABLE.
_stored_tables: dict[int, tuple[weakref.ref[ir.Table], str]] = {}


def _remember_stored(stored: ir.Table, name: str) -> None:
    key = id(stored)

    def forget(ref: weakref.ref[ir.Table]) -> None:
        if _stored_tables.get(key, (None, ""))[0] is ref:
            del _stored_tables[key]

    _stored_tables[key] = (weakref.ref(stored, forget), name)


def _forget_stored(table: ir.Table) -> str | None:
    """The name ``table`` was stored under by :func:`store` (None if it was not), forgotten."""
    ref, name = _stored_tables.get(id(table), (None, ""))
    if ref is None or ref() is not table:
        return None
    del _stored_tables[id(table)]
    return name


_recorded: ContextVar[list[str] | None] = ContextVar("andon_recorded_stores", default=None)


@contextmanager
def recording_stores() -> Iterator[list[str]]:
    """The statements :func:`store` runs on DuckDB inside the block, in order.

    Run again on the same connection (each ``CREATE TEMPORARY TABLE`` as ``CREATE OR
    REPLACE``) after new rows replace those of the input tables, they recompute every stored
    table without building and compiling the Ibis expressions again, which costs far more
    than the queries on a few rows (the plant's prepared form, refreshed for one item).
    """
    statements: list[str] = []
    token = _recorded.set(statements)
    try:
        yield statements
    finally:
        _recorded.reset(token)


def store(expr: ir.Table, engine: str) -> ir.Table:
    """Execute ``expr`` into a temporary table (a persisted frame on Spark) and return it.

    Tables stored here are dropped by :func:`release` when part of a CaseOrderedLog, or
    with the connection.
    """
    if engine == "pyspark":
        # Spark has no temporary tables through Ibis; a cached (persisted) frame serves.
        return expr.cache()
    backend: Any = expr._find_backend(use_default=True)
    name = f"andon_ordered_{uuid.uuid4().hex}"
    if engine == "duckdb":
        # What Ibis's create_table runs, without its Arrow read of the new table's schema.
        statement = f'CREATE TEMPORARY TABLE "{name}" AS {backend.compile(expr)}'
        backend.con.execute(statement)
        recorded = _recorded.get()
        if recorded is not None:
            recorded.append(statement)
        stored = bind_table(backend, name, database=("temp", "main"))
    else:
        stored = backend.create_table(name, expr, temp=True)
    _remember_stored(stored, name)
    return stored


def restrict_to_cases(ordered: CaseOrderedLog, cases: ir.Table) -> CaseOrderedLog:
    """Keep only the cases whose ``case_key`` is in ``cases`` (events and cases alike)."""
    keys = cases.select(CASE_KEY)
    return replace(
        ordered,
        events=ordered.events.semi_join(keys, CASE_KEY),
        cases=ordered.cases.semi_join(keys, CASE_KEY),
    )


def backend_name(table: ir.Table) -> str:
    """The name of the backend ``table`` lives on; unbound tables count as DuckDB's."""
    try:
        return str(table._find_backend(use_default=True).name)
    except Exception:  # an expression over several backends fails later, with its own error
        return "duckdb"
