"""The Ibis backends an analysis runs on: DuckDB (embedded), PostgreSQL, PySpark.

Every computation in this package is an Ibis expression, so it runs unchanged on each.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

EngineName = Literal["duckdb", "postgres", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "postgres", "spark")


def connect(engine: EngineName = "duckdb", *, url: str | None = None) -> BaseBackend:
    """Open a backend. ``url``: a PostgreSQL DSN, or a Spark master URL (default local).

    PostgreSQL falls back to ``ANDON_ANALYTICS_PG_URL``, then ``ANDON_DATABASE_URL``; Spark to
    ``ANDON_SPARK_MASTER``, then ``local[*]``.
    """
    import ibis

    if engine == "duckdb":
        # Threads: DuckDB takes every core by default, which is what a CLI run wants. What
        # does not fit in memory spills to the system's temporary directory, not to ./.tmp
        # wherever the command happens to run (DuckDB's default for in-memory databases).
        spill = os.environ.get("ANDON_DUCKDB_TEMP_DIR") or os.path.join(
            tempfile.gettempdir(), "andon-duckdb"
        )
        return ibis.duckdb.connect(temp_directory=spill)
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
