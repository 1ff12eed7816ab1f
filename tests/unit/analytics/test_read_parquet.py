"""Parquet reading: the file's own types, naive instants in the given zone, source order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from andon.analytics.log import ACTIVITY, CASE, ORDER, TIMESTAMP
from andon.analytics.sources import ColumnMapping, read_log
from andon.core.errors import InvalidInput


def write_parquet(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    return path


def test_typed_columns_become_standard_types(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        pa.table(
            {
                "case_id": pa.array([7, 7, 8], pa.int64()),
                "activity": ["cut", "weld", "cut"],
                "timestamp": pa.array(
                    [datetime(2024, 5, 1, 8), datetime(2024, 5, 1, 9), datetime(2024, 5, 2, 8)],
                    pa.timestamp("us"),
                ),
                "quantity": pa.array([1.5, 2.0, 3.0]),
            }
        ),
    )
    loaded = read_log(path, timezone="America/Chicago")
    frame = loaded.log.table.order_by(ORDER).to_pandas()

    assert frame[CASE].tolist() == ["7", "7", "8"]
    assert loaded.log.table.schema()["quantity"].is_float64()
    # Chicago is UTC-5 in May (daylight time).
    first = pd.Timestamp(frame[TIMESTAMP].iloc[0]).tz_convert(UTC).to_pydatetime()
    assert first == datetime(2024, 5, 1, 13, tzinfo=UTC)


def test_zone_aware_timestamps_ignore_the_zone_option(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        pa.table(
            {
                "case_id": ["A"],
                "activity": ["cut"],
                "timestamp": pa.array(
                    [datetime(2024, 5, 1, 8, tzinfo=UTC)], pa.timestamp("us", "UTC")
                ),
            }
        ),
    )
    frame = read_log(path, timezone="Asia/Tokyo").log.table.to_pandas()

    assert pd.Timestamp(frame[TIMESTAMP].iloc[0]).tz_convert(UTC).hour == 8


def test_row_position_is_the_event_order(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        pa.table(
            {
                "case:concept:name": ["B", "A", "B"],
                "concept:name": ["x", "y", "z"],
                "time:timestamp": ["2024-01-01T00:00:00Z"] * 3,
            }
        ),
    )
    frame = read_log(path).log.table.order_by(ORDER).to_pandas()

    assert frame[[ORDER, CASE, ACTIVITY]].values.tolist() == [
        [0, "B", "x"],
        [1, "A", "y"],
        [2, "B", "z"],
    ]


def test_numeric_timestamp_column_is_refused(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path, pa.table({"case_id": ["A"], "activity": ["cut"], "timestamp": [1700000000]})
    )

    with pytest.raises(InvalidInput, match="timestamps must be text or timestamps"):
        read_log(path)


def test_mapped_column_absent_from_parquet_is_named(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path, pa.table({"case_id": ["A"], "activity": ["cut"], "timestamp": ["2024-01-01"]})
    )

    with pytest.raises(InvalidInput, match="--resource 'operator': no such column"):
        read_log(path, mapping=ColumnMapping(resource="operator"))
