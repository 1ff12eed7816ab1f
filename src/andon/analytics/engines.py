"""The Ibis backends an analysis runs on: DuckDB (embedded), PostgreSQL, PySpark.

Every computation in this package is an Ibis expression, so it runs unchanged on each.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

EngineName = Literal["duckdb", "postgres", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "postgres", "spark")


def connect(engine: EngineName = "duckdb", *, url: str | None = None) -> BaseBackend:
    """Open a backend. ``url``: a PostgreSQL DSN, or a Spark master URL (default local).

    PostgreSQL falls back to ``ANDON_ANALYTICS_PG_URL``, then ``ANDON_DATABASE_URL``; Spark to
    ``ANDON_SPARK_MASTER``, then ``local[*]``.
    """
    from andon.analytics.compilers import import_lazily

    import_lazily()  # before the first backend loads: see andon.analytics.compilers
    import ibis

    if engine == "duckdb":
        # Threads: DuckDB takes every core by default, which is what a CLI run wants. What
        # does not fit in memory spills to the system's temporary directory, not to ./.tmp
        # wherever the command happens to run (DuckDB's default for in-memory databases).
        spill = os.environ.get("ANDON_DUCKDB_TEMP_DIR") or os.path.join(
            tempfile.gettempdir(), "andon-duckdb"
        )
        limit = duckdb_memory_limit()
        try:
            # Every query whose row order matters says ORDER BY; without the promise to keep
            # insertion order, DuckDB builds the case-ordered tables in parallel (about
            # 0.1 s of 0.8 s at 1M events).
            return ibis.duckdb.connect(
                temp_directory=spill, memory_limit=limit, preserve_insertion_order=False
            )
        except Exception as error:  # DuckDB's own message names what it could not parse
            if "memory" not in str(error).lower():
                raise
            from andon.core.errors import InvalidInput

            raise InvalidInput.for_field(
                "ANDON_DUCKDB_MEMORY_LIMIT", f"{limit!r} is not a size DuckDB accepts ({error})"
            ) from error
    if engine == "postgres":
        dsn = (
            url
            or os.environ.get("ANDON_ANALYTICS_PG_URL")
            or os.environ.get("ANDON_DATABASE_URL", "")
        )
        if not dsn.startswith(("postgresql", "postgres:")):
            from andon.core.errors import InvalidInput

            raise InvalidInput.for_field(
                "engine",
                "postgres needs a PostgreSQL URL (ANDON_ANALYTICS_PG_URL or ANDON_DATABASE_URL)",
            )
        return ibis.connect(dsn.replace("postgresql+psycopg://", "postgresql://"))
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(url))
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


# DuckDB's own default is 80% of RAM, too much on a plant server that also runs the
# database and the app; a quarter leaves room for both and still fits 10M-event logs
# whole (about 2 GB). What does not fit spills to the temporary directory.
MEMORY_SHARE = 0.25


def duckdb_memory_limit() -> str:
    """``ANDON_DUCKDB_MEMORY_LIMIT`` (a DuckDB size such as ``6GB``), else a quarter of RAM."""
    if configured := os.environ.get("ANDON_DUCKDB_MEMORY_LIMIT"):
        return configured
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * MEMORY_SHARE) // 2**20}MB"


def spark_session(master: str | None = None):  # type: ignore[no-untyped-def]
    """A Spark session in UTC; local mode unless a cluster master URL is given."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master or os.environ.get("ANDON_SPARK_MASTER", "local[*]"))
        .appName("andon-analytics")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # Event logs of one plant fit a few partitions; Spark's default of 200 is for clusters.
        .config("spark.sql.shuffle.partitions", os.environ.get("ANDON_SPARK_PARTITIONS", "8"))
    )
    return builder.getOrCreate()


def bind_table(
    backend: BaseBackend, name: str, *, database: str | tuple[str, str] | None = None
) -> ir.Table:
    """``backend.table(name, database=...)``; on DuckDB without Arrow.

    Ibis reads a DuckDB table's schema as an Arrow table, and importing pyarrow costs a
    command-line run about 0.13 s and 75 MB when nothing else there needs it. The same
    DESCRIBE, fetched as rows, gives the same schema.
    """
    if backend.name != "duckdb":
        return backend.table(name, database=database)
    import ibis.expr.datatypes as dt
    import ibis.expr.operations as ops
    import ibis.expr.schema as sch
    import sqlglot.expressions as sge

    catalog, db = database if isinstance(database, tuple) else (None, database)
    duck: Any = backend
    query = sge.Describe(
        this=sge.table_(name, db=db, catalog=catalog, quoted=duck.compiler.quoted)
    ).sql(duck.dialect)
    rows = duck.con.execute(query).fetchall()
    mapper = duck.compiler.type_mapper

    def dtype(sql_type: str, nullable: bool) -> Any:
        # An ENUM (the activities, see andon.analytics.sources) is text to Ibis; its type
        # string lists every value, which is not worth parsing.
        if sql_type.startswith("ENUM("):
            return dt.Array(dt.string) if sql_type.endswith("[]") else dt.String(nullable=nullable)
        return mapper.from_string(sql_type, nullable=nullable)

    # DESCRIBE's columns: name, type, null ("YES"/"NO"), key, default, extra.
    schema = sch.Schema({row[0]: dtype(row[1], row[2] == "YES") for row in rows})
    return ops.DatabaseTable(
        name, schema=schema, source=backend, namespace=ops.Namespace(catalog=catalog, database=db)
    ).to_expr()
