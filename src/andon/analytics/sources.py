"""Where an event log comes from: read a file into the normalised table, judged first.

Every format is staged in DuckDB by its reader, then normalised here in one statement:
columns mapped to the standard names, timestamps parsed to UTC instants, each row given
the reason it is rejected (or none). The quality report is computed on that, rejected
rows go to the quarantine file, and the kept rows become the :class:`EventLog` table on
the engine asked for.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from andon.analytics.engines import EngineName, bind_table, connect
from andon.analytics.log import (
    ACTIVITY,
    CASE,
    LIFECYCLE,
    ORDER,
    RESOURCE,
    STANDARD_COLUMNS,
    START,
    TIMESTAMP,
    EventLog,
)
from andon.analytics.quality import (
    FUTURE_TIMESTAMP,
    MISSING_ACTIVITY,
    MISSING_CASE,
    MISSING_TIMESTAMP,
    RAW_TIMESTAMP,
    REASON,
    UNPARSABLE_TIMESTAMP,
    QualityReport,
    assess,
)
from andon.analytics.readers import ROW, StagedLog, detect_format, require_file
from andon.core.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

# The column each role takes when the user names none: Andon's names, then the XES keys
# (the first one present wins).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "case": ("case_id", "case:concept:name"),
    "activity": ("activity", "concept:name"),
    "timestamp": ("timestamp", "time:timestamp"),
    "resource": ("resource", "org:resource"),
    "start_timestamp": ("start_timestamp",),
    "lifecycle": ("lifecycle", "lifecycle:transition"),
}
REQUIRED_ROLES = ("case", "activity", "timestamp")
ROLE_COLUMNS = {
    "case": CASE,
    "activity": ACTIVITY,
    "timestamp": TIMESTAMP,
    "resource": RESOURCE,
    "start_timestamp": START,
    "lifecycle": LIFECYCLE,
}
ROLE_FLAGS = {
    "case": "--case",
    "activity": "--activity",
    "timestamp": "--timestamp",
    "resource": "--resource",
    "start_timestamp": "--start-timestamp",
    "lifecycle": "--lifecycle",
}
# A source attribute that would take a standard column's name is kept under this prefix.
CLASH_PREFIX = "source:"


@dataclass(frozen=True)
class ColumnMapping:
    """The source column for each role; None takes the default (see DEFAULT_COLUMNS)."""

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    start_timestamp: str | None = None
    lifecycle: str | None = None

    def named(self, role: str) -> str | None:
        value: str | None = getattr(self, role)
        return value


@dataclass
class LoadedLog:
    """The kept events, and the report on everything that was read."""

    log: EventLog
    report: QualityReport


def read_log(
    path: Path,
    *,
    engine: EngineName = "duckdb",
    backend: BaseBackend | None = None,
    mapping: ColumnMapping | None = None,
    strict: bool = False,
    quarantine: Path | None = None,
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    ocel_object_type: str | None = None,
    encoding: str | None = None,
    findings: bool = True,
) -> LoadedLog:
    """Read the log at ``path`` into a normalised, judged EventLog on ``engine``.

    The format comes from the suffix: .csv/.tsv (optionally .gz), .xes/.xes.gz, .parquet,
    .jsonocel/.json and .xmlocel (OCEL 2.0, flattened for ``ocel_object_type``). The
    table has the standard columns of :mod:`andon.analytics.log` (``event_order`` is the
    row's 0-based position in the source, so rejected rows leave gaps) and every other
    source column under its own name. Text timestamps with an offset keep it; those
    without one, and naive timestamp columns, are read in ``timezone``;
    ``timestamp_format`` is a strptime format (``%d/%m/%Y %H:%M``) for text that is not
    ISO 8601. ``backend`` is an open Ibis backend to put the table on (its kind then
    decides the engine); otherwise one is opened for ``engine``.

    Rejected rows are left out and counted in the report. With ``strict`` any rejection
    raises InvalidInput and nothing is written; with ``quarantine`` they are written there
    as CSV with a ``reason`` column. Without ``findings`` the report holds the rejections
    only (see :func:`andon.analytics.quality.assess`). Bad input (unknown format, missing
    or unknown mapped column, empty log, hostile XML, undecodable bytes, over-long lines)
    raises InvalidInput before anything is written.
    """
    path = Path(path)
    require_file(path)
    fmt = detect_format(path)
    _check_timezone(timezone)
    if backend is not None:
        engine = _engine_of(backend)
    staging: Any = backend if engine == "duckdb" and backend is not None else connect("duckdb")
    con = staging.con
    token = uuid.uuid4().hex[:12]
    raw, judged = f"andon_raw_{token}", f"andon_judged_{token}"
    lazy = False
    store: str | None = None
    judged_name = _quote(judged)
    views_kept = False  # the log is a view over the staging views, which must then stay
    try:
        staged = _stage(path, fmt, con, raw, ocel_object_type, encoding)
        roles = _resolve(staged, mapping or ColumnMapping(), _columns(con, raw))
        # A Parquet file is cheap to read again, only the columns a query needs, so its
        # rows are judged on the fly by a view, not copied: each analysis re-reads the file
        # (faster than a copy even at 1M events, and leaner). Only in UTC, because a view
        # reads naive timestamps in the session's zone when it runs, not when it is made.
        lazy = fmt == "parquet" and timezone == "UTC"
        if not lazy and _row_count(con, raw) > memory_rows():
            # Too large to hold uncompressed: judged into the store, which can spill.
            store = _attach_store(staging)
            judged_name = _in_store(store, judged)
        _judge(con, staged, roles, judged_name, timestamp_format, timezone, view=lazy)
        if quarantine is None and not lazy:
            # Nothing needs the source rows any more: free them before the report runs.
            _drop(con, raw)
        judged_table = bind_table(
            staging, judged, database=None if store is None else (store, "main")
        )
        report = assess(judged_table, findings=findings)
        if strict and report.rows_rejected:
            reasons = ", ".join(f"{k}: {v}" for k, v in report.rejected_by_reason().items())
            raise InvalidInput(
                f"{path.name}: {report.rows_rejected} of {report.rows_read} rows rejected "
                f"({reasons}); --strict allows none",
                [FieldError(("log",), reasons)],
            )
        if report.events == 0:
            raise InvalidInput.for_field(
                "log", f"{path.name}: every row was rejected ({report.rows_rejected})"
            )
        if quarantine is not None:
            _write_quarantine(staging, raw, judged_name, quarantine)
        name = f"andon_log_{token}"
        if lazy and engine == "duckdb":
            table = _kept_view(staging, judged_name, name, _activity_enum(con, judged_name, token))
            views_kept = True
        else:
            if not lazy:
                # The source rows are no longer needed: free them before the final table.
                _drop(con, raw)
            target = _deliver(staging, judged_name, name, engine, backend)
            if engine == "duckdb" and store is None:
                _encode_activities(con, name, token)
            in_store = store is not None and engine == "duckdb"
            table = bind_table(target, name, database=(STORE, "main") if in_store else None)
        log = EventLog(table=table, source=str(path), interval=report.kept_with_start > 0)
        return LoadedLog(log=log, report=report)
    finally:
        if not views_kept:
            con.execute(f"DROP {'VIEW' if lazy else 'TABLE'} IF EXISTS {judged_name}")
            _drop(con, raw)


def _kept_view(staging: Any, judged: str, name: str, activity_type: str | None) -> Any:
    """The log as a view of the kept rows of the judged view ``judged`` (a quoted name),
    its activities as ``activity_type`` when there is one (see :func:`_activity_enum`)."""
    encoded = (
        f" REPLACE ({_quote(ACTIVITY)}::{_quote(activity_type)} AS {_quote(ACTIVITY)})"
        if activity_type
        else ""
    )
    staging.con.execute(
        f"CREATE VIEW {_quote(name)} AS SELECT * EXCLUDE ({_quote(REASON)}, "  # noqa: S608
        f"{_quote(RAW_TIMESTAMP)}){encoded} FROM {judged} WHERE {_quote(REASON)} IS NULL"
    )
    return bind_table(staging, name)


# A log's activities are few (tens, hundreds) and repeat on every event. On DuckDB they are
# held as an ENUM of the log's own activity names: one byte or two an event instead of a
# string, so sorting, grouping and the per-case traces move far less memory (at 1M events
# about 0.1 s and 90 MB less). Ibis reads an ENUM as a string, and DuckDB compares it with text,
# so no expression changes. Beyond this many names the log keeps plain strings.
ENUM_ACTIVITIES = 1000


def _activity_enum(con: Any, table: str, token: str, *, kept_only: bool = True) -> str | None:
    """Create an ENUM of the (kept) activities of ``table`` (a quoted name), in sorted
    order so that comparing two values orders them as text does; its name, or None."""
    kept = f" WHERE {_quote(REASON)} IS NULL" if kept_only else ""
    rows = con.execute(
        f"SELECT DISTINCT {_quote(ACTIVITY)} FROM {table}{kept} "  # noqa: S608
        f"ORDER BY 1 LIMIT {ENUM_ACTIVITIES + 1}"
    ).fetchall()
    names = [row[0] for row in rows]
    if not names or len(names) > ENUM_ACTIVITIES:
        return None
    enum = f"andon_activity_{token}"
    con.execute(f"CREATE TYPE {_quote(enum)} AS ENUM ({', '.join(map(_literal, names))})")
    return enum


def _encode_activities(con: Any, table: str, token: str) -> None:
    """:func:`_activity_enum` for the in-memory log ``table``, its column converted in place."""
    enum = _activity_enum(con, _quote(table), token, kept_only=False)
    if enum is not None:
        # TRY_CAST: DuckDB converts the rows deleted as rejected too, whose names may be
        # missing from the ENUM; every kept name is in it.
        column, kind = _quote(ACTIVITY), _quote(enum)
        con.execute(
            f"ALTER TABLE {_quote(table)} ALTER {column} TYPE {kind} "
            f"USING TRY_CAST({column} AS {kind})"
        )


# Logs other than Parquet up to this many rows are judged into an ordinary in-memory
# table: the fastest to read again, at roughly 100 bytes an event.
MEMORY_ROWS = 5_000_000


def memory_rows() -> int:
    """The in-memory limit, in rows: ``ANDON_ANALYTICS_MEMORY_ROWS`` or MEMORY_ROWS."""
    value = os.environ.get("ANDON_ANALYTICS_MEMORY_ROWS")
    return int(value) if value else MEMORY_ROWS


def _row_count(con: Any, table: str) -> int:
    # A Parquet view answers from the file's footer; the other readers stage tables.
    return int(con.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])  # noqa: S608


# A larger judged table, which becomes the log on DuckDB, lives in a DuckDB database file
# in a temporary directory, one per connection. DuckDB writes such a table compressed, in blocks
# its buffer manager may evict to the file; an in-memory table is held uncompressed (about
# 100 bytes an event, 10 GB for 100M events) and cannot be evicted at all.
STORE = "andon_store"


def _attach_store(staging: Any) -> str:
    """Attach the store to ``staging``'s connection unless it is there; return its name.

    The file is removed when the backend is garbage-collected, or at exit.
    """
    con = staging.con
    attached = con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    if (STORE,) not in attached:
        directory = tempfile.mkdtemp(prefix="andon-store-")
        con.execute(f"ATTACH {_literal(str(Path(directory) / 'events.duckdb'))} AS {STORE}")
        weakref.finalize(staging, _remove_store, con, directory)
    return STORE


def _remove_store(con: Any, directory: str) -> None:
    # Best effort: the connection may already be closed, and a missing file harms no one.
    with contextlib.suppress(Exception):
        con.execute(f"DETACH {STORE}")
    shutil.rmtree(directory, ignore_errors=True)


def _in_store(store: str, table: str) -> str:
    return f"{store}.main.{_quote(table)}"


def _engine_of(backend: BaseBackend) -> EngineName:
    name = getattr(backend, "name", "")
    if name == "duckdb":
        return "duckdb"
    if name == "postgres":
        return "postgres"
    if name == "pyspark":
        return "spark"
    raise InvalidInput.for_field("engine", f"unsupported backend {name!r}")


def _check_timezone(timezone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.for_field(
            "timezone", f"unknown time zone {timezone!r}; use an IANA name like Europe/Berlin"
        ) from None


def _stage(
    path: Path, fmt: str, con: Any, table: str, object_type: str | None, encoding: str | None
) -> StagedLog:
    if fmt == "xes":
        from andon.analytics.readers.xes import stage_xes

        return stage_xes(path, con, table)
    if fmt == "csv":
        from andon.analytics.readers.csv import stage_csv

        return stage_csv(path, con, table, encoding=encoding)
    if fmt == "parquet":
        from andon.analytics.readers.parquet import stage_parquet

        return stage_parquet(path, con, table)
    from andon.analytics.readers.ocel import stage_ocel

    return stage_ocel(path, con, table, object_type=object_type, xml=fmt == "ocel-xml")


def _columns(con: Any, table: str) -> dict[str, str]:
    rows = con.execute(f'DESCRIBE "{table}"').fetchall()
    return {str(r[0]): str(r[1]) for r in rows if r[0] != ROW}


def _resolve(staged: StagedLog, mapping: ColumnMapping, columns: dict[str, str]) -> dict[str, str]:
    """Role -> source column, for every role the log has. Raises InvalidInput naming a
    mapped column that is absent, or a required role with no column, with those found."""
    found = ", ".join(repr(c) for c in columns) or "(none)"
    roles: dict[str, str] = {}
    for role in ROLE_COLUMNS:
        named = mapping.named(role)
        if named is not None:
            if named not in columns:
                raise InvalidInput(
                    f"{ROLE_FLAGS[role]} {named!r}: no such column; the log has {found}",
                    [FieldError((role,), f"no column {named!r}")],
                )
            roles[role] = named
            continue
        candidates: tuple[str, ...] = (staged.defaults[role],) if role in staged.defaults else ()
        candidates += DEFAULT_COLUMNS[role]
        present = next((c for c in candidates if c in columns), None)
        if present is not None:
            roles[role] = present
        elif role in REQUIRED_ROLES:
            tried = " or ".join(repr(c) for c in dict.fromkeys(candidates))
            raise InvalidInput(
                f"no {role} column: expected {tried} (or name one with {ROLE_FLAGS[role]}); "
                f"the log has {found}",
                [FieldError((role,), "missing column")],
            )
    if len(set(roles.values())) < len(roles):
        raise InvalidInput.for_field("mapping", "one column is mapped to two roles")
    return roles


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _instant(column: str, sql_type: str, timestamp_format: str | None) -> str:
    """SQL turning ``column`` into a TIMESTAMPTZ; text that does not parse becomes NULL."""
    quoted = _quote(column)
    upper = sql_type.upper()
    if upper == "VARCHAR":
        if timestamp_format:
            return f"CAST(try_strptime({quoted}, {_literal(timestamp_format)}) AS TIMESTAMPTZ)"
        return f"TRY_CAST({quoted} AS TIMESTAMPTZ)"
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return f"CAST({quoted} AS TIMESTAMPTZ)"
    raise InvalidInput.for_field(
        "timestamp", f"column {column!r} is {sql_type}; timestamps must be text or timestamps"
    )


# Source types whose values can never be blank text: a NULL test is all they need, which
# spares casting every value of a large log to text.
_NEVER_BLANK = (
    "TIMESTAMP", "DATE", "TIME", "BOOLEAN", "DOUBLE", "FLOAT", "DECIMAL",
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
)  # fmt: skip


def _blank(column: str, sql_type: str) -> str:
    quoted = _quote(column)
    upper = sql_type.upper()
    if upper.startswith(_NEVER_BLANK):
        return f"({quoted} IS NULL)"
    text = quoted if upper == "VARCHAR" else f"CAST({quoted} AS VARCHAR)"
    # trim() removes the Unicode space separators: a blank value is empty or starts with
    # an ASCII space or a non-ASCII character. Testing that prefix first spares trimming
    # nearly every value (a third of the judging time on a large log).
    return (
        f"({quoted} IS NULL OR CASE WHEN {text} < '!' OR {text} >= chr(128) "
        f"THEN trim({text}) = '' ELSE FALSE END)"
    )


def _judge(
    con: Any,
    staged: StagedLog,
    roles: dict[str, str],
    table: str,
    timestamp_format: str | None,
    timezone: str,
    *,
    view: bool = False,
) -> None:
    """Create ``table`` (a qualified, quoted name): standard columns, attributes, REASON and
    RAW_TIMESTAMP; a view over the staged rows with ``view``, else a table."""
    columns = _columns(con, staged.table)
    mapped = set(roles.values())
    inner = [f"CAST({_quote(ROW)} AS BIGINT) AS {_quote(ORDER)}"]
    for role in ("case", "activity", "resource", "lifecycle"):
        target = _quote(ROLE_COLUMNS[role])
        if role in roles:
            inner.append(f"CAST({_quote(roles[role])} AS VARCHAR) AS {target}")
        else:
            inner.append(f"CAST(NULL AS VARCHAR) AS {target}")
    ts = roles["timestamp"]
    inner.append(f"{_instant(ts, columns[ts], timestamp_format)} AS {_quote(TIMESTAMP)}")
    if "start_timestamp" in roles:
        st = roles["start_timestamp"]
        inner.append(f"{_instant(st, columns[st], timestamp_format)} AS {_quote(START)}")
    else:
        inner.append(f"CAST(NULL AS TIMESTAMPTZ) AS {_quote(START)}")
    # DuckDB names are case-insensitive: an attribute "Activity" would clash too.
    reserved = {c.lower() for c in (*STANDARD_COLUMNS, REASON, RAW_TIMESTAMP)}
    attributes: list[str] = []
    for name in columns:
        if name in mapped:
            continue
        alias = CLASH_PREFIX + name if name.lower() in reserved else name
        value = (
            f"TRY_CAST({_quote(name)} AS TIMESTAMPTZ)"
            if name in staged.date_columns
            else _quote(name)
        )
        inner.append(f"{value} AS {_quote(alias)}")
        attributes.append(alias)
    # The reason is judged on the source values, carried through under these aliases.
    source = {
        role: "__src_" + role for role in roles if role in (*REQUIRED_ROLES, "start_timestamp")
    }
    inner.extend(f"{_quote(roles[r])} AS {_quote(a)}" for r, a in source.items())

    def blank(role: str) -> str:
        return _blank(source[role], columns[roles[role]])

    start_bad = (
        f"(NOT {blank('start_timestamp')} AND {_quote(START)} IS NULL)"
        if "start_timestamp" in source
        else "FALSE"
    )
    now = _literal(datetime.now().astimezone().isoformat())
    reason = (
        "CASE "
        f"WHEN {blank('case')} THEN '{MISSING_CASE}' "
        f"WHEN {blank('activity')} THEN '{MISSING_ACTIVITY}' "
        f"WHEN {blank('timestamp')} THEN '{MISSING_TIMESTAMP}' "
        f"WHEN {_quote(TIMESTAMP)} IS NULL OR {start_bad} THEN '{UNPARSABLE_TIMESTAMP}' "
        f"WHEN {_quote(TIMESTAMP)} > CAST({now} AS TIMESTAMPTZ) THEN '{FUTURE_TIMESTAMP}' "
        "END"
    )
    standard = [_quote(c) for c in STANDARD_COLUMNS]
    outer = ", ".join([*standard, *(_quote(a) for a in attributes)])
    # One statement, one pass over the source: the reason is computed once per row, and the
    # source text of the timestamp is kept only for the (few) rejected rows.
    sql = (
        f"CREATE {'VIEW' if view else 'TABLE'} {table} AS "  # noqa: S608
        f"SELECT {outer}, {_quote(REASON)}, "
        f"CASE WHEN {_quote(REASON)} IS NULL THEN NULL "
        f"ELSE CAST({_quote(source['timestamp'])} AS VARCHAR) END AS {_quote(RAW_TIMESTAMP)} "
        f"FROM (SELECT *, {reason} AS {_quote(REASON)} "
        f"FROM (SELECT {', '.join(inner)} FROM {_quote(staged.table)}))"
    )
    # Text without an offset, and naive timestamp columns, are read in the log's zone.
    con.execute(f"SET TimeZone = {_literal(timezone)}")
    try:
        con.execute(sql)
    except Exception as exc:  # duckdb: a bad strptime format is only found when run
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if timestamp_format and "format" in message.lower():
            raise InvalidInput.for_field(
                "timestamp_format", f"{timestamp_format!r} is not a strptime format: {message}"
            ) from None
        raise
    finally:
        con.execute("SET TimeZone = 'UTC'")


def _write_quarantine(staging: Any, raw: str, judged: str, path: Path) -> None:
    """The rejected source rows as CSV: ``row``, ``reason``, then every source column.

    ``judged`` is the judged table's qualified, quoted name."""
    from andon.analytics.writers import write_rows_csv

    con = staging.con
    query = (
        f"SELECT r.{_quote(ROW)} AS row, j.{_quote(REASON)} AS reason, r.* EXCLUDE ({_quote(ROW)}) "  # noqa: S608
        f"FROM {_quote(raw)} r JOIN {judged} j ON r.{_quote(ROW)} = j.{_quote(ORDER)} "
        f"WHERE j.{_quote(REASON)} IS NOT NULL ORDER BY r.{_quote(ROW)}"
    )
    write_rows_csv(con.sql(query).to_arrow_reader(50_000), path)


_spill_dirs: list[str] = []


@atexit.register
def _remove_spill_dirs() -> None:
    for directory in _spill_dirs:
        shutil.rmtree(directory, ignore_errors=True)


def _deliver(
    staging: Any, judged: str, name: str, engine: EngineName, backend: BaseBackend | None
) -> Any:
    """Put the kept rows on the target backend as table ``name``; return that backend.

    ``judged`` is the judged table's qualified, quoted name; on DuckDB it is renamed to
    ``name`` in the same database."""
    con = staging.con
    kept = (
        f"SELECT * EXCLUDE ({_quote(REASON)}, {_quote(RAW_TIMESTAMP)}) FROM {judged} "  # noqa: S608
        f"WHERE {_quote(REASON)} IS NULL"
    )
    if engine == "duckdb":
        # The judged table becomes the log in place: no second copy of a large log.
        con.execute(f"DELETE FROM {judged} WHERE {_quote(REASON)} IS NOT NULL")  # noqa: S608
        con.execute(f"ALTER TABLE {judged} DROP COLUMN {_quote(REASON)}")
        con.execute(f"ALTER TABLE {judged} DROP COLUMN {_quote(RAW_TIMESTAMP)}")
        con.execute(f"ALTER TABLE {judged} RENAME TO {_quote(name)}")
        return staging
    target: Any = backend if backend is not None else connect(engine)
    if engine == "spark":
        # Spark reads lazily, so the Parquet file must outlive this call: removed at exit.
        # On a cluster the executors must see it: ANDON_SPARK_STAGING_DIR, a shared mount.
        directory = tempfile.mkdtemp(
            prefix="andon-spark-", dir=os.environ.get("ANDON_SPARK_STAGING_DIR") or None
        )
        _spill_dirs.append(directory)
        file = Path(directory) / f"{name}.parquet"
        con.execute(f"COPY ({kept}) TO {_literal(str(file))} (FORMAT parquet)")
        target.read_parquet(str(file), table_name=name)
        return target
    reader = con.sql(kept).to_arrow_reader(100_000)
    import pyarrow as pa

    first = True
    for batch in reader:
        chunk = pa.Table.from_batches([batch])
        if first:
            target.create_table(name, chunk, temp=True)
            first = False
        else:
            target.insert(name, chunk.to_pandas())
    return target


def _drop(con: Any, *tables: str) -> None:
    """Remove the staging tables and views (a CSV stages a view over a table)."""
    names = [n for t in tables for n in (t, t + "__src")]
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for name in names:
        kind = "VIEW" if name in views else "TABLE"
        con.execute(f"DROP {kind} IF EXISTS {_quote(name)}")
