"""Recently used prepared forms kept open in memory, so a burst of filters reads no files.

Each entry is one dataset's prepared tables (:mod:`andon.analytics.prepared`) loaded from
their Parquet files into an in-memory DuckDB database of its own: filters then scan columns
already decoded, sorted as on disk (DuckDB skips row groups by their ranges). The size of an
entry is what DuckDB reports its tables hold (``duckdb_memory()``). The entries together never
hold more than :attr:`PreparedCache.max_bytes` (``ANDON_ANALYTICS_CACHE_MB``), nor more than
:data:`MAX_ENTRIES` datasets: the least recently used go first, and a form larger than the
whole cap is not kept but read from its files for that request alone. A new upload's form is
loaded as soon as its import is ready (:meth:`PreparedCache.preload`).

Requests share an entry safely: each gets a cursor of its own (DuckDB's connections to one
database run queries side by side; what a request stores, such as its kept cases, is a
temporary table of its cursor). An entry evicted or forgotten while requests still use it is
closed when the last of them is done; the next request does not find it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from andon.analytics.discovery import SOURCE, TARGET
from andon.analytics.log import ACTIVITY
from andon.analytics.ordering import END_ACTIVITY, START_ACTIVITY
from andon.analytics.prepared import (
    ACTIVITIES,
    PreparedLog,
    open_prepared,
    prepared_from,
    read_meta,
)
from andon.analytics.prepared import table_files as prepared_files

if TYPE_CHECKING:
    import duckdb
    import ibis.expr.schema as sch

DEFAULT_MAX_BYTES = 1024 * 2**20
# Each entry is a DuckDB database with its own threads and buffers beyond its tables: a
# server keeps a few busy datasets open, not every small one it ever filtered.
MAX_ENTRIES = 16


@dataclass
class _Entry:
    """One loaded prepared form; ``users`` counts the requests holding it."""

    key: tuple[str, str]
    stamp: tuple[int, int]
    con: duckdb.DuckDBPyConnection
    meta: dict[str, Any]
    schemas: dict[str, sch.Schema]
    size: int
    users: int = 0
    gone: bool = False  # evicted or forgotten: closed once no request holds it

    def bind(self, backend: Any) -> PreparedLog:
        import ibis.expr.operations as ops

        tables = {
            name: ops.DatabaseTable(
                name, schema=schema, source=backend, namespace=ops.Namespace()
            ).to_expr()
            for name, schema in self.schemas.items()
        }
        return prepared_from(tables, self.meta, "duckdb")


@dataclass
class PreparedCache:
    """Open prepared forms by dataset, at most ``max_bytes`` of them in memory."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_entries: int = MAX_ENTRIES
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: OrderedDict[tuple[str, str], _Entry] = field(default_factory=OrderedDict)
    # One load at a time per dataset: concurrent first requests wait for it, not redo it.
    loading: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    # Forms found too large for the cap, by the stamp of their files: not loaded again.
    oversized: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        """What the entries hold now."""
        with self.lock:
            return sum(entry.size for entry in self.entries.values())

    def held(self) -> list[str]:
        """The dataset ids of the entries, least recently used first."""
        with self.lock:
            return [key[0] for key in self.entries]

    @contextmanager
    def lease(self, dataset_id: str, directory: Path) -> Iterator[PreparedLog]:
        """The prepared form in ``directory`` (of dataset ``dataset_id``) for the duration
        of the ``with`` block: from memory, loaded first if need be.

        InvalidInput as :func:`~andon.analytics.prepared.read_meta` when the directory
        holds no prepared form of this version.
        """
        directory = Path(directory)
        entry = self._acquire((dataset_id, str(directory.resolve())), directory)
        if entry is None:
            yield from _from_files(directory)
            return
        import ibis

        cursor = entry.con.cursor()
        try:
            yield entry.bind(ibis.duckdb.from_connection(cursor))
        finally:
            cursor.close()
            self._release(entry)

    def preload(self, dataset_id: str, directory: Path) -> None:
        """Load the prepared form in ``directory`` now if it fits, so the dataset's first
        filter does not wait for it (after an import)."""
        entry = self._acquire((dataset_id, str(Path(directory).resolve())), Path(directory))
        if entry is not None:
            self._release(entry)

    def forget(self, dataset_id: str) -> None:
        """Drop the dataset's entries: the next request reads its files again (or finds them
        gone). Requests holding an entry finish on it."""
        with self.lock:
            for key in [key for key in self.entries if key[0] == dataset_id]:
                self._drop(self.entries.pop(key))
            for key in [key for key in self.oversized if key[0] == dataset_id]:
                del self.oversized[key]
            for key in [key for key in self.loading if key[0] == dataset_id]:
                del self.loading[key]  # a load running now holds its lock already

    def clear(self) -> None:
        with self.lock:
            while self.entries:
                self._drop(self.entries.popitem()[1])
            self.oversized.clear()

    def _acquire(self, key: tuple[str, str], directory: Path) -> _Entry | None:
        stamp = _stamp(directory)
        with self.lock:
            found = self._current(key, stamp)
            if found is not None or self.oversized.get(key) == stamp:
                return found
            loading = self.loading.setdefault(key, threading.Lock())
        with loading:
            with self.lock:
                found = self._current(key, stamp)
                if found is not None or self.oversized.get(key) == stamp:
                    return found
            entry = _load(key, directory, stamp)
            with self.lock:
                if entry.size > self.max_bytes:
                    self.oversized[key] = stamp
                    entry.con.close()
                    return None
                stale = self.entries.pop(key, None)
                if stale is not None:
                    self._drop(stale)
                self.entries[key] = entry
                entry.users += 1
                self._evict(keep=key)
                return entry

    def _current(self, key: tuple[str, str], stamp: tuple[int, int]) -> _Entry | None:
        """The entry of ``key`` if it was loaded from the files as they are now (taken by
        the caller); a stale one is dropped. Call with the lock held."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.stamp != stamp:
            self._drop(self.entries.pop(key))
            return None
        entry.users += 1
        self.entries.move_to_end(key)
        return entry

    def _evict(self, keep: tuple[str, str]) -> None:
        total = sum(entry.size for entry in self.entries.values())
        for key in list(self.entries):
            if total <= self.max_bytes and len(self.entries) <= self.max_entries:
                break
            if key != keep:
                total -= self.entries[key].size
                self._drop(self.entries.pop(key))

    def _release(self, entry: _Entry) -> None:
        with self.lock:
            entry.users -= 1
            if entry.gone and entry.users == 0:
                entry.con.close()

    @staticmethod
    def _drop(entry: _Entry) -> None:
        entry.gone = True
        if entry.users == 0:
            entry.con.close()


def _stamp(directory: Path) -> tuple[int, int]:
    """Which writing of the prepared form ``directory`` holds: its description file is
    written last and replaced with the whole directory (see write_prepared_form)."""
    from andon.analytics.prepared import META_FILE

    try:
        info = (directory / META_FILE).stat()
    except FileNotFoundError:
        read_meta(directory)  # raises the missing form's InvalidInput
        raise
    return info.st_ino, info.st_mtime_ns


_ACTIVITY_TYPE = "andon_activity"
# The columns of prepared tables that hold one activity each.
_ACTIVITY_COLUMNS = frozenset({SOURCE, TARGET, START_ACTIVITY, END_ACTIVITY, ACTIVITY})


def _load(key: tuple[str, str], directory: Path, stamp: tuple[int, int]) -> _Entry:
    import duckdb
    import ibis

    from andon.analytics.engines import bind_table, duckdb_memory_limit

    meta = read_meta(directory)
    spill = os.environ.get("ANDON_DUCKDB_TEMP_DIR") or os.path.join(
        tempfile.gettempdir(), "andon-duckdb"
    )
    con = duckdb.connect(config={"memory_limit": duckdb_memory_limit(), "temp_directory": spill})
    try:
        files = {
            name: str(path).replace("'", "''")
            for name, path in prepared_files(directory, meta).items()
        }
        # Activities as an ENUM in code-point order: grouping and joining on them is on small
        # integers (twice as fast on the edges as on text), and sorting keeps its order. (The
        # statements name the form's own files, quoted, and its fixed columns: no input.)
        variants = files["variants"]
        steps = f"SELECT unnest({ACTIVITIES}) AS a FROM read_parquet('{variants}')"  # noqa: S608
        con.execute(
            f"CREATE TYPE {_ACTIVITY_TYPE} AS ENUM "  # noqa: S608
            f"(SELECT DISTINCT a FROM ({steps}) WHERE a IS NOT NULL ORDER BY a)"
        )
        for name, source in files.items():
            columns = con.execute(f"DESCRIBE FROM read_parquet('{source}')").fetchall()
            cast = [
                f'"{column}"::{_ACTIVITY_TYPE} AS "{column}"'
                for column, sql_type, *_ in columns
                if column in _ACTIVITY_COLUMNS and sql_type == "VARCHAR"
            ]
            replace = f" REPLACE ({', '.join(cast)})" if cast else ""
            # Insertion order is kept (DuckDB's default): the tables stay sorted as on disk.
            con.execute(
                f'CREATE TABLE "{name}" AS SELECT *{replace} '  # noqa: S608
                f"FROM read_parquet('{source}')"
            )
        backend = ibis.duckdb.from_connection(con)
        schemas = {name: bind_table(backend, name).schema() for name in files}
        (size,) = con.execute(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
            "WHERE tag = 'IN_MEMORY_TABLE'"
        ).fetchone() or (0,)
    except BaseException:
        con.close()
        raise
    return _Entry(key=key, stamp=stamp, con=con, meta=meta, schemas=schemas, size=int(size))


def _from_files(directory: Path) -> Iterator[PreparedLog]:
    import ibis

    prepared = open_prepared(directory)
    try:
        yield prepared
    finally:
        ibis.get_backend(prepared.cases).disconnect()


# One per server process, sized from the settings when the app starts.
prepared_forms = PreparedCache()
