"""Andon's own ``work_events`` as an event log: one case per work item, one event per stage entry.

What a process miner expects from a work-item history is the sequence of stages each item went
through, so the default log has one event per stage *entry* (the item's ``created`` event and
each ``moved`` event): activity = the stage's name, timestamp = when the item entered it (UTC),
resource = who made the move, lifecycle = ``start``. The time between two consecutive events of
a case is therefore the time the item spent in the first stage. ``events="all"`` keeps every row
(completions, pauses, checks, comments, breaches, ...) with its ``kind`` and lifecycle, for
analyses that need them (SLA attainment on business time reads the ``stage_breached`` rows).

Columns beside the standard ones: ``kind`` (created, moved, ...), ``process_key``,
``process_version`` (the version the item runs on), ``line`` (line code), ``priority`` and
``product``, ``item_status`` (open, paused, done), ``item_breached`` (the item's end-to-end
business-time SLA was breached) and ``category`` (an ``exception`` event's category, else
null). Item columns hold the item's values now, not at each event.
``event_order`` is the event's id, which breaks timestamp ties in the order Andon wrote them.

On ``engine="postgres"`` with Andon on PostgreSQL the log is an Ibis expression over the
``work_events`` table itself (nothing is copied). Otherwise the rows are streamed from SQLite or
PostgreSQL in bounded batches into the analysis backend: a DuckDB table, or for Spark a Parquet
file in a temporary directory removed when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from andon.analytics.engines import EngineName, connect
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
from andon.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy as sa
    from ibis.backends import BaseBackend

EventSelection = Literal["stages", "all"]
STAGE_ENTRY_KINDS = ("created", "moved")
BATCH_ROWS = 50_000

# Column → Arrow type of the log read from Andon, in table order.
_COLUMNS: tuple[tuple[str, str], ...] = (
    (CASE, "string"),
    (ACTIVITY, "string"),
    (TIMESTAMP, "timestamp"),
    (START, "timestamp"),
    (RESOURCE, "string"),
    (LIFECYCLE, "string"),
    (ORDER, "int64"),
    ("kind", "string"),
    ("process_key", "string"),
    ("process_version", "int64"),
    ("line", "string"),
    ("priority", "string"),
    ("product", "string"),
    ("item_status", "string"),
    ("item_breached", "bool"),
    ("category", "string"),
)


def read_andon_events(
    database_url: str,
    *,
    process: str | None = None,
    engine: EngineName = "duckdb",
    backend: BaseBackend | None = None,
    events: EventSelection = "stages",
    batch_rows: int = BATCH_ROWS,
    site_ids: Collection[int] | None = None,
    area_ids: Collection[int] | None = None,
) -> EventLog:
    """Andon's work events at ``database_url`` (SQLite or PostgreSQL) as an :class:`EventLog`.

    ``process``: only items of the process with this key (or, failing that, this name); an
    unknown process raises NotFound. ``events``: ``"stages"`` (one event per stage entry) or
    ``"all"``. ``site_ids``/``area_ids``: only items on lines in these sites or areas (both
    None: every line), for someone whose role reaches only part of the plant.
    ``engine``/``backend``: where the log lives; ``postgres`` reads the table in place
    and needs Andon on PostgreSQL. No matching event raises InvalidInput (an empty log).
    """
    import sqlalchemy as sa

    if events not in ("stages", "all"):
        raise InvalidInput.for_field("events", f"choose stages or all, not {events!r}")
    if batch_rows < 1:
        raise InvalidInput.for_field("batch_rows", "must be at least 1")
    on_postgres = database_url.startswith("postgresql")
    if engine == "postgres" and not on_postgres:
        raise InvalidInput.for_field(
            "engine",
            "postgres reads Andon's events in place and needs Andon on PostgreSQL; "
            "use --engine duckdb with SQLite",
        )
    sa_engine = sa.create_engine(database_url)
    try:
        with sa_engine.connect() as connection:
            process_key = _process_key(connection, process) if process is not None else None
            query = _events_query(process_key, events, postgres=on_postgres)
            if site_ids is not None or area_ids is not None:
                query = _within(query, site_ids or (), area_ids or ())
            if connection.execute(query.limit(1)).first() is None:
                where = f" of process {process_key!r}" if process_key else ""
                raise InvalidInput.for_field("log", f"Andon has no work events{where}: empty log")
            if engine == "postgres":
                backend = backend or connect("postgres", url=database_url)
                return EventLog(_in_place(backend, query, sa_engine), _source(process_key))
            backend = backend or connect(engine)
            batches = _batches(connection, query, batch_rows)
            if engine == "spark":
                table = _via_parquet(backend, batches)
            else:
                table = _into_table(backend, batches)
            return EventLog(table, _source(process_key))
    finally:
        sa_engine.dispose()


def read_andon_events_on(
    connection: sa.Connection,
    *,
    backend: BaseBackend | None = None,
    events: EventSelection = "all",
    batch_rows: int = BATCH_ROWS,
) -> EventLog | None:
    """Every work event visible on ``connection`` as an :class:`EventLog` in a DuckDB (or the
    given) backend; ``None`` when there is none.

    Reads through the caller's own connection, so a unit of work sees its own uncommitted
    events (a metric computed inside the demo load, a test's transaction), which
    :func:`read_andon_events`, opening a connection of its own, would not.
    """
    query = _events_query(None, events, postgres=connection.dialect.name == "postgresql")
    if connection.execute(query.limit(1)).first() is None:
        return None
    backend = backend or connect("duckdb")
    return EventLog(_into_table(backend, _batches(connection, query, batch_rows)), _source(None))


def event_batches(
    connection: sa.Connection,
    *,
    events: EventSelection = "stages",
    item_ids: Collection[int] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """The rows :func:`read_andon_events_on` reads, as Arrow batches of
    :func:`event_schema`, for a caller that keeps its own table of them; ``item_ids``: only
    these work items' events (the plant's prepared form re-reads the items that changed)."""
    query = _events_query(None, events, postgres=connection.dialect.name == "postgresql")
    if item_ids is not None:
        query = query.where(_tables()["events"].c.case_id.in_(sorted(item_ids)))
    return _batches(connection, query, batch_rows)


def event_schema() -> pa.Schema:
    """The Arrow schema of the log read from Andon's events."""
    return _arrow_schema()


def _source(process_key: str | None) -> str:
    return f"andon:work_events{f'?process={process_key}' if process_key else ''}"


@cache
def _tables() -> dict[str, sa.TableClause]:
    """The columns this reader touches, without importing the ORM models.

    Built once, so every query part refers to the same table objects (two objects of one
    name would be two FROM entries).
    """
    import sqlalchemy as sa

    return {
        "events": sa.table(
            "work_events",
            sa.column("id", sa.BigInteger()),
            sa.column("case_id", sa.Integer()),
            sa.column("process_key", sa.String()),
            sa.column("activity", sa.String()),
            sa.column("lifecycle", sa.String()),
            sa.column("kind", sa.String()),
            sa.column("timestamp", sa.DateTime()),
            sa.column("resource", sa.String()),
            sa.column("attributes", sa.JSON()),
        ),
        "items": sa.table(
            "work_items",
            sa.column("id", sa.Integer()),
            sa.column("process_version_id", sa.Integer()),
            sa.column("line_id", sa.Integer()),
            sa.column("priority", sa.String()),
            sa.column("product", sa.String()),
            sa.column("status", sa.String()),
            sa.column("breached_at", sa.DateTime()),
        ),
        "lines": sa.table(
            "lines",
            sa.column("id", sa.Integer()),
            sa.column("code", sa.String()),
            sa.column("area_id", sa.Integer()),
        ),
        "areas": sa.table(
            "areas", sa.column("id", sa.Integer()), sa.column("site_id", sa.Integer())
        ),
        "versions": sa.table(
            "process_versions", sa.column("id", sa.Integer()), sa.column("number", sa.Integer())
        ),
        "processes": sa.table(
            "processes", sa.column("key", sa.String()), sa.column("name", sa.String())
        ),
    }


def _process_key(connection: sa.Connection, process: str) -> str:
    """The key of the process named ``process`` by key, else by name."""
    import sqlalchemy as sa

    processes = _tables()["processes"]
    key = connection.scalar(sa.select(processes.c.key).where(processes.c.key == process))
    if key is not None:
        return str(key)
    keys = connection.scalars(sa.select(processes.c.key).where(processes.c.name == process)).all()
    if not keys:
        raise NotFound(f"no process {process!r}")
    if len(keys) > 1:
        raise InvalidInput.for_field(
            "process", f"{len(keys)} processes are named {process!r}; give the key"
        )
    return str(keys[0])


def _events_query(
    process_key: str | None, events: EventSelection, *, postgres: bool
) -> sa.Select[Any]:
    import sqlalchemy as sa

    t = _tables()
    e, i, ln, v = t["events"], t["items"], t["lines"], t["versions"]
    # Andon stores instants as naive UTC; PostgreSQL makes them UTC instants here, in place.
    stamp = sa.func.timezone("UTC", e.c.timestamp) if postgres else e.c.timestamp
    query = (
        sa.select(
            sa.cast(e.c.case_id, sa.String()).label(CASE),
            e.c.activity.label(ACTIVITY),
            stamp.label(TIMESTAMP),
            e.c.resource.label(RESOURCE),
            e.c.lifecycle.label(LIFECYCLE),
            e.c.id.label(ORDER),
            e.c.kind.label("kind"),
            e.c.process_key.label("process_key"),
            sa.cast(v.c.number, sa.BigInteger()).label("process_version"),
            ln.c.code.label("line"),
            i.c.priority.label("priority"),
            i.c.product.label("product"),
            i.c.status.label("item_status"),
            i.c.breached_at.is_not(None).label("item_breached"),
            sa.case(
                (e.c.kind == "exception", e.c.attributes["category"].as_string()),
                else_=sa.null(),
            ).label("category"),
        )
        .select_from(
            e.join(i, i.c.id == e.c.case_id)
            .join(ln, ln.c.id == i.c.line_id)
            .join(v, v.c.id == i.c.process_version_id)
        )
        .order_by(e.c.id)
    )
    if events == "stages":
        query = query.where(e.c.kind.in_(STAGE_ENTRY_KINDS))
    if process_key is not None:
        query = query.where(e.c.process_key == process_key)
    return query


def _within(
    query: sa.Select[Any], site_ids: Collection[int], area_ids: Collection[int]
) -> sa.Select[Any]:
    import sqlalchemy as sa

    t = _tables()
    lines, areas = t["lines"], t["areas"]
    in_sites = sa.select(areas.c.id).where(areas.c.site_id.in_(sorted(site_ids)))
    return query.where(sa.or_(lines.c.area_id.in_(sorted(area_ids)), lines.c.area_id.in_(in_sites)))


def _in_place(backend: BaseBackend, query: sa.Select[Any], sa_engine: sa.Engine) -> Any:
    """The query as an Ibis table on the PostgreSQL backend: a view of the table, no copy."""
    import ibis

    sql = str(query.order_by(None).compile(sa_engine, compile_kwargs={"literal_binds": True}))
    # The schema is known, so Ibis need not probe the query (its probe's DROP VIEW is
    # rendered without a name by the sqlglot installed here).
    columns = {name: kind for name, kind in _COLUMNS if name != START}
    types = {
        "string": "string",
        "timestamp": "timestamp('UTC')",
        "int64": "int64",
        "bool": "boolean",
    }
    schema = ibis.schema({name: types[kind] for name, kind in columns.items()})
    table = backend.sql(sql, schema=schema)
    return table.mutate(**{START: ibis.null("timestamp('UTC')").cast("timestamp('UTC')")}).select(
        [name for name, _ in _COLUMNS]
    )


def _arrow_schema() -> pa.Schema:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "int64": pa.int64(),
        "bool": pa.bool_(),
    }
    return pa.schema([(name, types[kind]) for name, kind in _COLUMNS])


def _batches(
    connection: sa.Connection, query: sa.Select[Any], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow batches of at most ``batch_rows``, streamed (server-side
    cursor on PostgreSQL), so memory stays bounded whatever the number of events."""
    import pyarrow as pa

    schema = _arrow_schema()
    # Options on the statement, not the connection: a connection borrowed from a unit of work
    # must not go on streaming (server-side cursors) for its later writes.
    result = connection.execute(query.execution_options(stream_results=True, yield_per=batch_rows))
    names = [name for name, _ in _COLUMNS if name != START]
    for rows in result.partitions(batch_rows):
        columns = list(zip(*rows, strict=True))
        values = dict(zip(names, columns, strict=True))
        arrays = []
        for field in schema:
            if field.name == START:
                arrays.append(pa.nulls(len(rows), field.type))
            elif field.name == "item_breached":
                # SQLite answers 0/1, PostgreSQL true/false.
                arrays.append(pa.array(values[field.name]).cast(field.type))
            else:
                arrays.append(pa.array(values[field.name], field.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _into_table(backend: BaseBackend, batches: Iterator[pa.RecordBatch]) -> Any:
    import ibis
    import pyarrow as pa

    name = f"andon_events_{uuid.uuid4().hex[:12]}"
    schema = ibis.Schema.from_pyarrow(_arrow_schema())
    backend.create_table(name, schema=schema, temp=True)
    for batch in batches:
        backend.insert(name, ibis.memtable(pa.Table.from_batches([batch])))
    return backend.table(name)


def _via_parquet(backend: BaseBackend, batches: Iterator[pa.RecordBatch]) -> Any:
    import pyarrow.parquet as pq

    directory = Path(tempfile.mkdtemp(prefix="andon-events-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "work_events.parquet"
    with pq.ParquetWriter(path, _arrow_schema()) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return backend.read_parquet(str(path), table_name=f"andon_events_{uuid.uuid4().hex[:12]}")


def stage_entries(log: EventLog) -> EventLog:
    """Only the stage entries of a log read with ``events="all"`` (what ``"stages"`` reads)."""
    table = log.table
    return EventLog(table.filter(table.kind.isin(STAGE_ENTRY_KINDS)), log.source, log.interval)
