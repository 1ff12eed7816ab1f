"""The prepared form of the plant's own stage entries, kept in memory and refreshed incrementally.

The server keeps one :class:`PlantForm` per database: the tables of
:mod:`andon.analytics.prepared` for every work item of every process (``case_key`` is the
work item's id, so a known item keeps its key and a new one needs no numbering), with the
item's process key, line, area and site on its ``cases`` row, which is what the ``plant``
and ``plant-<key>`` datasets select their cases by. The form lives in an in-memory DuckDB
database: the Andon database holds the truth, so a restart simply builds it again on the
first request, and nothing on disk can go stale after a restore.

:meth:`PlantForm.refresh` brings it up to date before each answer. The **watermark** is the
newest ``work_events`` id included. Items re-read (their whole stage-entry history, with
their columns as they are now) are:

- those with an event of any kind past the watermark: every change of the item columns the
  log carries writes one (``updated`` for priority and product, ``rerouted`` for the line,
  ``completed``/``paused``/``resumed`` for the status, ``breached`` from the SLA sweep);
- those with an event whose id was missing below the watermark when last read, for
  :data:`PENDING_SECONDS` (on PostgreSQL a transaction may commit its events after a later
  one has: its ids appear behind the watermark);
- those on a line whose code, area or site changed (lines are read each time: a few rows).

Their rows are deleted from ``cases``, ``edges`` and ``case_attributes``, the rows
:func:`~andon.analytics.prepared.prepare` makes of a log of just those items are inserted,
the variants' counts are moved, new sequences get new ids (after the highest) and variants
left without cases are dropped. prepare() is not built through Ibis on each refresh (its
compilation costs ten times the queries on a few rows): the form runs it once on an empty
input table, recording its statements (:func:`~andon.analytics.ordering.recording_stores`),
and replays them on each refresh's rows, with DuckDB's optimizer off for that connection
(planning, not running, is what statements on a few rows cost). An item whose breach flag
is set by a clock recomputation (a calendar edit) writes no event: the form sees it with the
item's next event. A database whose newest event is older than the watermark, or lacks the
watermark's event (a restore), is read again in full, and so is one where more than
:data:`MAX_CHANGED_ITEMS` items changed.

One refresh runs at a time (a lock) inside one DuckDB transaction; readers
(:meth:`PlantForm.reading`) answer on a cursor of their own inside a transaction, so each
sees the whole state before or after a refresh, never half of one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from andon.analytics.log import CASE
from andon.analytics.ordering import CASE_KEY

if TYPE_CHECKING:
    import sqlalchemy as sa

    from andon.analytics.prepared import PreparedLog
    from andon.core.database import Database
    from andon.core.permissions import Reach

# Columns the plant's cases table has beside prepare()'s.
PROCESS_KEY = "process_key"
LINE_ID = "line_id"
AREA_ID = "area_id"
SITE_ID = "site_id"

PENDING_SECONDS = 300.0
MAX_CHANGED_ITEMS = 5_000
# Missing ids this far below the watermark are watched after a full read.
_RECENT_IDS = 1_000

_TABLES = {
    "cases": "plant_cases",
    "variants": "plant_variants",
    "variant_edges": "plant_variant_edges",
    "edges": "plant_edges",
    "case_attributes": "plant_case_attributes",
}

_SCHEMA = """
CREATE TABLE plant_cases (
    case_key BIGINT, case_id VARCHAR, variant_id INTEGER, first_us BIGINT, last_us BIGINT,
    start_activity VARCHAR, end_activity VARCHAR, events BIGINT, duration_us BIGINT,
    process_key VARCHAR, line_id BIGINT, area_id BIGINT, site_id BIGINT);
CREATE TABLE plant_variants (
    variant_id INTEGER, cases BIGINT, activities VARCHAR[], events BIGINT);
CREATE TABLE plant_variant_edges (
    variant_id INTEGER, source VARCHAR, target VARCHAR, frequency BIGINT);
CREATE TABLE plant_edges (case_key BIGINT, source VARCHAR, target VARCHAR, wait_us BIGINT);
CREATE TABLE plant_case_attributes (attribute VARCHAR, value VARCHAR, case_key BIGINT);
"""


@dataclass(frozen=True)
class Refresh:
    """What one :meth:`PlantForm.refresh` did: ``cases`` work items re-read (every item on a
    full read), the watermark after it, whether it read everything again."""

    cases: int
    watermark: int | None
    full: bool


@dataclass(frozen=True)
class _Line:
    code: str
    area_id: int
    site_id: int


class PlantForm:
    """The plant's prepared form for one Andon database (see the module's docstring)."""

    def __init__(self) -> None:
        from andon.analytics.engines import connect

        backend: Any = connect("duckdb")
        # Never queried itself: each writer and reader works on a cursor of its own (a
        # DuckDB connection is not to be shared between threads; its cursors are).
        self._root = backend.con
        self._root_backend = backend
        self._cursors = threading.Lock()
        self._refreshing = threading.Lock()
        self._writer: Any = self._cursor()
        self._writer.execute(_SCHEMA)
        self.watermark: int | None = None
        self.attributes: tuple[str, ...] = ()
        self._interval = False
        self._pending: dict[int, float] = {}
        self._lines: dict[int, _Line] = {}
        self._built = False
        # The database's own setting, restored after each incremental refresh.
        (threads,) = self._writer.execute("SELECT current_setting('threads')").fetchall()[0]
        self._threads = int(threads)
        self._pipeline = self._record_pipeline()
        self._stored = [statement.split('"')[1] for statement in self._pipeline]

    def _cursor(self) -> Any:
        with self._cursors:
            return self._root.cursor()

    def close(self) -> None:
        self._writer.close()
        self._root.close()

    # --- refresh -----------------------------------------------------------------------

    def refresh(self, engine: sa.Engine) -> Refresh:
        """Bring the form up to the newest work event of the database behind ``engine``."""
        with self._refreshing, engine.connect() as connection:
            newest = _newest_event(connection)
            if newest is None:
                self._clear()
                self.watermark, self._built = None, True
                return Refresh(0, None, full=True)
            lines = _read_lines(connection)
            if not self._built or not self._still_there(connection, newest):
                return self._read_all(connection, newest, lines)
            changed = self._changed_items(connection, newest, lines)
            if len(changed) > MAX_CHANGED_ITEMS:
                return self._read_all(connection, newest, lines)
            if changed:
                self._merge(connection, changed, lines)
            # Only now: a failed refresh leaves both as they were, to be tried again.
            self.watermark, self._lines = newest, lines
            return Refresh(len(changed), newest, full=False)

    def _still_there(self, connection: sa.Connection, newest: int) -> bool:
        import sqlalchemy as sa

        if self.watermark is None:
            return True  # an empty database then: anything now is new
        if newest < self.watermark:
            return False
        found = connection.execute(
            sa.text("SELECT 1 FROM work_events WHERE id = :id"), {"id": self.watermark}
        ).first()
        return found is not None

    def _changed_items(
        self, connection: sa.Connection, newest: int, lines: dict[int, _Line]
    ) -> set[int]:
        import sqlalchemy as sa

        low = self.watermark or 0
        now = time.monotonic()
        self._pending = {i: t for i, t in self._pending.items() if now - t < PENDING_SECONDS}
        query = "SELECT id, case_id FROM work_events WHERE id > :low AND id <= :newest"
        params: dict[str, Any] = {"low": low, "newest": newest}
        if self._pending:
            query += " OR id IN :pending"
            params["pending"] = tuple(self._pending)
        statement = sa.text(query)
        if self._pending:
            statement = statement.bindparams(sa.bindparam("pending", expanding=True))
        rows = connection.execute(statement, params).all()
        seen = {int(event_id) for event_id, _ in rows}
        for event_id in seen:
            self._pending.pop(event_id, None)
        for event_id in range(low + 1, newest + 1):
            if event_id not in seen:
                self._pending.setdefault(event_id, now)
        items = {int(case_id) for _, case_id in rows}
        moved = [
            line_id
            for line_id, line in self._lines.items()
            if line_id in lines and lines[line_id] != line
        ]
        if moved:
            keys = self._writer.execute(
                "SELECT case_key FROM plant_cases WHERE line_id IN (SELECT unnest($1))",
                [moved],
            ).fetchall()
            items.update(int(key) for (key,) in keys)
        return items

    def _read_all(self, connection: sa.Connection, newest: int, lines: dict[int, _Line]) -> Refresh:
        import sqlalchemy as sa

        count = self._merge(connection, None, lines)
        self.watermark, self._built, self._lines = newest, True, lines
        recent = connection.execute(
            sa.text("SELECT id FROM work_events WHERE id > :low AND id <= :newest"),
            {"low": max(newest - _RECENT_IDS, 0), "newest": newest},
        ).scalars()
        present = set(recent)
        now = time.monotonic()
        self._pending = {
            i: now for i in range(max(newest - _RECENT_IDS, 0) + 1, newest) if i not in present
        }
        return Refresh(count, newest, full=True)

    def _clear(self) -> None:
        for statement in _CLEAR:
            self._writer.execute(statement)

    def _record_pipeline(self) -> list[str]:
        """Build :func:`~andon.analytics.prepared.prepare`'s tables of the (empty) input
        table once, recording the statements; each refresh runs them again on its rows.
        Views ``plant_staged_<table>`` read the results."""
        import ibis

        from andon.analytics.andon_events import event_schema
        from andon.analytics.engines import bind_table
        from andon.analytics.log import EventLog
        from andon.analytics.ordering import materialise, order_events, recording_stores, store
        from andon.analytics.prepared import filterable_columns, prepare

        w = self._writer
        w.register("plant_refresh_schema", event_schema().empty_table())
        w.execute("CREATE TEMP TABLE plant_refresh_events AS FROM plant_refresh_schema")
        w.unregister("plant_refresh_schema")
        backend: Any = ibis.duckdb.from_connection(w)
        table = bind_table(backend, "plant_refresh_events", database=("temp", "main"))
        log = EventLog(table, "andon:work_events")
        with recording_stores() as statements:
            distinct = table.select(CASE).distinct()
            # The item's id is its case key: a known item keeps it, a new one needs no number.
            case_ids = store(distinct.mutate(**{CASE_KEY: distinct[CASE].cast("int64")}), "duckdb")
            ordered = materialise(
                order_events(log, attributes=filterable_columns(log), case_ids=case_ids)
            )
            # Its values grow with the plant: rows per (attribute, value, case), no masks.
            staged = prepare(ordered, masks=0)
        for name, expr in staged.tables().items():
            sql = backend.compile(expr)
            w.execute(f"CREATE TEMP VIEW plant_staged_{name} AS {sql}")
        self.attributes, self._interval = staged.attributes, staged.interval
        return [
            statement.replace("CREATE TEMPORARY TABLE", "CREATE OR REPLACE TEMPORARY TABLE", 1)
            for statement in statements
        ]

    def _merge(
        self, connection: sa.Connection, items: set[int] | None, lines: dict[int, _Line]
    ) -> int:
        """Re-read ``items`` (None: every item) and write their rows, placed on ``lines``;
        the number of items."""
        from andon.analytics.andon_events import event_batches

        w = self._writer
        places = _read_places(connection, items, lines)
        if items is not None:
            # A few items' rows: DuckDB's workers cost more than they save on each of the
            # refresh's small statements (about 60 ms against 40 ms at 1M events on two
            # cores). The setting is the database's; a reader answering meanwhile runs on
            # one thread for those milliseconds.
            w.execute("SET threads = 1")
        # One transaction for all of it: readers see the form before or after, and the
        # staging tables' DDL does not commit statement by statement.
        w.execute("BEGIN TRANSACTION")
        try:
            removed = self._remove(items)
            if items is not None:
                # Planning, not running, is what a statement on a few rows costs, and the
                # optimizer is most of the plan (a quarter of prepare()'s statements' time);
                # on rows this few it has nothing to win. This connection's setting only:
                # the deletes above needed it (they skip the row groups of other cases),
                # and readers keep theirs.
                w.execute("SET SESSION enable_optimizer = false")
            try:
                for batch in event_batches(connection, events="stages", item_ids=items):
                    w.register("plant_refresh_batch", batch)
                    w.execute("INSERT INTO plant_refresh_events SELECT * FROM plant_refresh_batch")
                    w.unregister("plant_refresh_batch")
                # Read where it is, by the cases' insert (a copy is one more statement).
                w.register("plant_refresh_places", places)
                for statement in self._pipeline:
                    w.execute(statement)
                self._add(removed)
                w.unregister("plant_refresh_places")
                w.execute("DELETE FROM plant_refresh_events")
            finally:
                if items is not None:
                    w.execute("RESET SESSION enable_optimizer")
            if items is None:
                # They held every event: they go (the next refresh makes them again).
                # After a few items' rows they stay, for the next refresh to replace.
                for name in self._stored:
                    w.execute(f'DROP TABLE "{name}"')
            w.execute("COMMIT")
        except BaseException:
            w.execute("ROLLBACK")
            raise
        finally:
            if items is not None:
                w.execute(f"SET threads = {self._threads}")
        return len(places) if items is None else len(items)

    def _remove(self, items: set[int] | None) -> Counter[int]:
        """Delete the rows of ``items`` (None: every row); how many cases each variant lost
        (nothing counted when every row goes: the variants go too)."""
        w = self._writer
        if items is None:
            self._clear()
            return Counter()
        keys = ", ".join(str(int(key)) for key in sorted(items))
        removed = Counter(int(v) for (v,) in w.execute(_DELETE_CASES.format(keys=keys)).fetchall())
        for statement in _DELETES:
            w.execute(statement.format(keys=keys))
        return removed

    def _add(self, removed: Counter[int]) -> None:
        """Add the staged rows and move the variants' counts by them and by ``removed``
        (:meth:`_remove`); drop the variants left without cases."""
        w = self._writer
        staged = w.execute(_STAGED_VARIANTS).fetchall()
        # Each staged sequence's id in the form: the known one, else the next after the
        # highest, in the staged ids' order.
        top = int(staged[0][3]) if staged else 0
        moves = {variant: -n for variant, n in removed.items()}
        staged_ids, variant_ids, new = [], [], []
        for staged_id, cases, known, _ in staged:
            if known is None:
                top += 1
            else:
                moves[int(known)] = moves.get(int(known), 0) + int(cases)
            staged_ids.append(int(staged_id))
            variant_ids.append(top if known is None else int(known))
            new.append(known is None)
        w.register("plant_refresh_ids", _ids_table(staged_ids, variant_ids, new))
        # Most changes end in a sequence already known: nothing to append.
        if any(new):
            for statement in _NEW_VARIANTS:
                w.execute(statement)
        self._count(moves)
        for statement in _INSERTS:
            w.execute(statement)
        w.unregister("plant_refresh_ids")

    def _count(self, moves: dict[int, int]) -> None:
        """Move the known variants' counts by ``moves``; drop those left without cases."""
        changes = {variant: n for variant, n in moves.items() if n}
        if not changes:
            return
        cases = " ".join(f"WHEN {int(v)} THEN {int(n)}" for v, n in changes.items())
        variants = ", ".join(str(int(v)) for v in changes)
        counts = self._writer.execute(_COUNT.format(cases=cases, variants=variants)).fetchall()
        # Only a removal takes a count down, so only then can a variant be left empty.
        if any(count == 0 for (count,) in counts):
            for statement in _PRUNE:
                self._writer.execute(statement)

    # --- reading -----------------------------------------------------------------------

    @contextmanager
    def reading(self, process: str | None, where: Reach | None) -> Iterator[PreparedLog]:
        """The form as a :class:`~andon.analytics.prepared.PreparedLog` of the cases of
        ``process`` (None: every process) on lines ``where`` reaches (None: everywhere),
        on a cursor of its own, one consistent state for as long as the block runs."""
        import ibis

        from andon.analytics.engines import bind_table
        from andon.analytics.prepared import PreparedLog

        cursor = self._cursor()
        backend: Any = ibis.duckdb.from_connection(cursor)
        cursor.execute("BEGIN TRANSACTION")
        try:
            tables = {name: bind_table(backend, table) for name, table in _TABLES.items()}
            cases = tables["cases"]
            if process is not None:
                cases = cases.filter(cases[PROCESS_KEY] == process)
            if where is not None:
                cases = cases.filter(
                    cases[AREA_ID].isin(sorted(where.area_ids))
                    | cases[SITE_ID].isin(sorted(where.site_ids))
                )
            tables["cases"] = cases
            yield PreparedLog(
                **tables,
                # Stage entries carry no start times: the time in stage is the edges' wait.
                stages=None,
                attributes=self.attributes,
                source=f"andon:work_events{f'?process={process}' if process else ''}",
                interval=self._interval,
                engine="duckdb",
            )
        finally:
            cursor.execute("ROLLBACK")
            cursor.close()


# Each staged variant's id in the form: the known one for a known sequence, else a new one
# after the highest.
_STAGED_VARIANTS = """SELECT s.variant_id, s.cases, v.variant_id,
        (SELECT coalesce(max(variant_id), 0) FROM plant_variants)
    FROM plant_staged_variants s LEFT JOIN plant_variants v ON v.activities = s.activities
    ORDER BY s.variant_id"""

# New sequences come with their counts.
_NEW_VARIANTS = (
    """INSERT INTO plant_variants
    SELECT m.variant_id, s.cases, s.activities, s.events
    FROM plant_staged_variants s JOIN plant_refresh_ids m ON m.staged_id = s.variant_id
    WHERE m.is_new""",
    """INSERT INTO plant_variant_edges
    SELECT m.variant_id, e.source, e.target, e.frequency
    FROM plant_staged_variant_edges e JOIN plant_refresh_ids m ON m.staged_id = e.variant_id
    WHERE m.is_new""",
)

# The known variants' counts move by integers of our own written into the statement (as the
# keys are: cheaper than a table of them); the new counts come back.
_COUNT = """UPDATE plant_variants SET cases = cases + CASE variant_id {cases} END
    WHERE variant_id IN ({variants})
    RETURNING cases"""

_INSERTS = (
    """INSERT INTO plant_cases
    SELECT c.case_key, c.case_id, m.variant_id, c.first_us, c.last_us, c.start_activity,
        c.end_activity, c.events, c.duration_us, p.process_key, p.line_id, p.area_id, p.site_id
    FROM plant_staged_cases c
    JOIN plant_refresh_ids m ON m.staged_id = c.variant_id
    JOIN plant_refresh_places p ON p.case_key = c.case_key
    ORDER BY c.case_key""",
    """INSERT INTO plant_edges
    SELECT case_key, source, target, wait_us FROM plant_staged_edges ORDER BY case_key""",
    """INSERT INTO plant_case_attributes
    SELECT attribute, value, case_key FROM plant_staged_case_attributes ORDER BY case_key""",
)

# The rows of the changed items leave, the cases' variants coming back to be counted out.
# The keys are written into the statement: a constant list lets DuckDB skip the row groups
# whose case_key range misses it (the rows are kept in case_key order), where a join would
# scan every row.
_DELETE_CASES = "DELETE FROM plant_cases WHERE case_key IN ({keys}) RETURNING variant_id"

_DELETES = (
    "DELETE FROM plant_edges WHERE case_key IN ({keys})",
    "DELETE FROM plant_case_attributes WHERE case_key IN ({keys})",
)

_CLEAR = tuple(f"DELETE FROM {table}" for table in _TABLES.values())  # noqa: S608

# Variants no case runs any more go, with their pairs.
_PRUNE = (
    """DELETE FROM plant_variant_edges
    WHERE variant_id IN (SELECT variant_id FROM plant_variants WHERE cases = 0)""",
    "DELETE FROM plant_variants WHERE cases = 0",
)


def _ids_table(staged_ids: list[int], variant_ids: list[int], new: list[bool]) -> Any:
    """The staged variants' ids in the form, as an Arrow table."""
    import pyarrow as pa

    return pa.table(
        {
            "staged_id": pa.array(staged_ids, pa.int32()),
            "variant_id": pa.array(variant_ids, pa.int32()),
            "is_new": pa.array(new, pa.bool_()),
        }
    )


def _newest_event(connection: sa.Connection) -> int | None:
    import sqlalchemy as sa

    newest = connection.execute(sa.text("SELECT max(id) FROM work_events")).scalar()
    return None if newest is None else int(newest)


def _read_lines(connection: sa.Connection) -> dict[int, _Line]:
    import sqlalchemy as sa

    rows = connection.execute(
        sa.text(
            "SELECT l.id, l.code, l.area_id, a.site_id FROM lines l "
            "JOIN areas a ON a.id = l.area_id"
        )
    ).all()
    return {int(i): _Line(str(code), int(area), int(site)) for i, code, area, site in rows}


def _read_places(connection: sa.Connection, items: set[int] | None, lines: dict[int, _Line]) -> Any:
    """Each item's process key, line, area and site, as an Arrow table keyed by case_key."""
    import pyarrow as pa
    import sqlalchemy as sa

    query = (
        "SELECT i.id, p.key, i.line_id FROM work_items i JOIN processes p ON p.id = i.process_id"
    )
    statement = sa.text(query)
    params: dict[str, Any] = {}
    if items is not None:
        statement = sa.text(query + " WHERE i.id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        params["ids"] = sorted(items) or [-1]
    rows = connection.execute(statement, params).all()
    keys, processes, line_ids, areas, sites = [], [], [], [], []
    for item_id, process_key, line_id in rows:
        line = lines.get(int(line_id))
        keys.append(int(item_id))
        processes.append(str(process_key))
        line_ids.append(int(line_id))
        areas.append(None if line is None else line.area_id)
        sites.append(None if line is None else line.site_id)
    return pa.table(
        {
            CASE_KEY: pa.array(keys, pa.int64()),
            PROCESS_KEY: pa.array(processes, pa.string()),
            LINE_ID: pa.array(line_ids, pa.int64()),
            AREA_ID: pa.array(areas, pa.int64()),
            SITE_ID: pa.array(sites, pa.int64()),
        }
    )


# One form per Database object (weakly held: a test's database goes with its form).
_forms: weakref.WeakKeyDictionary[Database, PlantForm] = weakref.WeakKeyDictionary()
_forms_lock = threading.Lock()


def plant_form(db: Database) -> PlantForm:
    """The form kept for ``db`` (made empty on first use; :meth:`PlantForm.refresh` fills it)."""
    with _forms_lock:
        form = _forms.get(db)
        if form is None:
            form = _forms[db] = PlantForm()
        return form
