"""The same log read onto PostgreSQL and Spark holds the same events as on DuckDB."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pandas as pd
import pytest

from andon.analytics.log import ACTIVITY, CASE, ORDER, RESOURCE, STANDARD_COLUMNS, START, TIMESTAMP
from andon.analytics.sources import read_log
from tests.unit.analytics.conftest import data_file


def rows(table: Any) -> list[tuple[Any, ...]]:
    frame = table.order_by(table[ORDER]).to_pandas()
    return [
        (c, a, r, pd.Timestamp(t).tz_convert(UTC) if t.tzinfo else pd.Timestamp(t, tz=UTC), int(o))
        for c, a, r, t, o in zip(
            frame[CASE],
            frame[ACTIVITY],
            frame[RESOURCE],
            frame[TIMESTAMP],
            frame[ORDER],
            strict=True,
        )
    ]


@pytest.mark.postgresql
def test_postgres_table_holds_the_duckdb_events(postgres_backend: Any) -> None:
    path = data_file("running-example.xes")
    on_duckdb = read_log(path)
    on_postgres = read_log(path, backend=postgres_backend)

    assert on_postgres.report == on_duckdb.report
    assert set(STANDARD_COLUMNS) <= set(on_postgres.log.table.columns)
    assert rows(on_postgres.log.table) == rows(on_duckdb.log.table)


@pytest.mark.spark
def test_spark_table_holds_the_duckdb_events(spark_backend: Any) -> None:
    path = data_file("interval_event_log.xes")
    on_duckdb = read_log(path)
    on_spark = read_log(path, backend=spark_backend)

    assert on_spark.log.interval is True
    assert on_spark.log.table.count().execute() == 8109
    assert rows(on_spark.log.table) == rows(on_duckdb.log.table)
    starts = on_spark.log.table.filter(on_spark.log.table[START].isnull()).count().execute()
    assert starts == 0
