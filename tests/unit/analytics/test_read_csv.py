"""CSV reading: detection, column mapping, time zones and formats, encodings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from andon.analytics.log import ACTIVITY, CASE, ORDER, RESOURCE, TIMESTAMP
from andon.analytics.sources import ColumnMapping, read_log
from andon.core.errors import InvalidInput
from tests.unit.analytics.conftest import data_file


def frame(path: Path, **options: object) -> pd.DataFrame:
    table = read_log(path, **options).log.table  # type: ignore[arg-type]
    return table.order_by(table[ORDER]).to_pandas()


def instants(series: pd.Series) -> list[datetime]:
    return [pd.Timestamp(v).tz_convert(UTC).to_pydatetime() for v in series]


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_receipt_csv_reads_equal_to_receipt_parquet() -> None:
    from_csv = frame(data_file("receipt.csv"))
    # The Parquet copy holds naive Dutch wall-clock times where the CSV has offsets.
    from_parquet = frame(data_file("receipt.parquet"), timezone="Europe/Amsterdam")

    assert len(from_csv) == len(from_parquet) == 8577
    for column in (CASE, ACTIVITY, RESOURCE, ORDER):
        assert from_csv[column].tolist() == from_parquet[column].tolist()
    assert instants(from_csv[TIMESTAMP]) == instants(from_parquet[TIMESTAMP])


def test_receipt_offsets_are_honoured_across_daylight_saving() -> None:
    source = pd.read_csv(data_file("receipt.csv"), dtype=str)
    expected = pd.to_datetime(source["time:timestamp"], utc=True, format="ISO8601")

    assert instants(frame(data_file("receipt.csv"))[TIMESTAMP]) == instants(expected)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_andon_column_names_are_the_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case_id,activity,timestamp,resource,shift\n"
        "A,cut,2024-01-01T08:00:00Z,ann,early\n"
        "A,weld,2024-01-01T09:00:00Z,bob,early\n",
    )
    result = frame(path)

    assert result[CASE].tolist() == ["A", "A"]
    assert result[RESOURCE].tolist() == ["ann", "bob"]
    assert result["shift"].tolist() == ["early", "early"]
    assert result[ORDER].tolist() == [0, 1]


def test_mapping_flags_name_other_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "order_no;step;done_at;operator\nO-1;cut;2024-01-01 08:00:00;ann\n"
        "O-1;weld;2024-01-01 09:00:00;bob\n",
    )
    mapping = ColumnMapping(
        case="order_no", activity="step", timestamp="done_at", resource="operator"
    )
    result = frame(path, mapping=mapping)

    assert result[[CASE, ACTIVITY, RESOURCE]].values.tolist() == [
        ["O-1", "cut", "ann"],
        ["O-1", "weld", "bob"],
    ]
    assert "order_no" not in result.columns


def test_naive_timestamps_are_read_in_the_given_zone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case_id,activity,timestamp\nA,cut,2024-01-15 08:00:00\nA,weld,2024-07-15 08:00:00\n",
    )

    result = frame(path, timezone="Europe/Berlin")

    # Winter is UTC+1, summer UTC+2.
    assert instants(result[TIMESTAMP]) == [at(2024, 1, 15, 7), at(2024, 7, 15, 6)]


def test_naive_timestamps_default_to_utc(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", "case_id,activity,timestamp\nA,cut,2024-01-15 08:00:00\n")

    assert instants(frame(path)[TIMESTAMP]) == [at(2024, 1, 15, 8)]


def test_timestamp_format_parses_day_first_dates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case_id,activity,timestamp\nA,cut,03/02/2024 08:15\nA,weld,04/02/2024 17:45\n",
    )

    result = frame(path, timestamp_format="%d/%m/%Y %H:%M", timezone="Europe/Berlin")

    assert instants(result[TIMESTAMP]) == [at(2024, 2, 3, 7, 15), at(2024, 2, 4, 16, 45)]


def test_tab_separated_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, "log.tsv", "case_id\tactivity\ttimestamp\nA\tcut\t2024-01-01T08:00:00Z\n"
    )

    assert frame(path)[ACTIVITY].tolist() == ["cut"]


def test_declared_latin1_encoding_is_decoded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case_id,activity,timestamp\nA,Prüfung,2024-01-01T08:00:00Z\n",
        encoding="latin-1",
    )

    assert frame(path, encoding="latin-1")[ACTIVITY].tolist() == ["Prüfung"]


def test_utf16_with_byte_order_mark_is_detected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case_id,activity,timestamp\nA,Prüfung,2024-01-01T08:00:00Z\n",
        "utf-16",
    )

    assert frame(path)[ACTIVITY].tolist() == ["Prüfung"]


def test_attribute_clashing_with_a_standard_name_is_kept_under_a_prefix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log.csv",
        "case:concept:name,concept:name,time:timestamp,Activity\nA,cut,2024-01-01T08:00:00Z,x\n",
    )
    result = frame(path)

    assert result[ACTIVITY].tolist() == ["cut"]
    assert result["source:Activity"].tolist() == ["x"]


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", "case_id,activity,timestamp\nA,cut,2024-01-01 08:00\n")

    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        read_log(path, timezone="Mars/Olympus")


def test_numeric_case_ids_are_text(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", "case_id,activity,timestamp\n17,cut,2024-01-01T08:00:00Z\n")

    loaded = read_log(path)

    assert loaded.log.table.schema()[CASE].is_string()
    assert frame(path)[CASE].tolist() == ["17"]
