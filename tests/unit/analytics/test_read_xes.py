"""XES reading: the same events as pm4py.read_xes on every shared log, and our own rules."""

from __future__ import annotations

import gzip
import warnings
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from andon.analytics.log import ACTIVITY, CASE, ORDER, RESOURCE, START, TIMESTAMP
from andon.analytics.sources import read_log
from tests.unit.analytics.conftest import XES_LOGS, data_file


@cache
def pm4py_frame(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        return pm4py.read_xes(str(path), show_progress_bar=False)


@cache
def shared_andon_frame(path: Path) -> pd.DataFrame:
    return andon_frame(path)


def andon_frame(path: Path) -> pd.DataFrame:
    table = read_log(path).log.table
    return table.order_by(table[ORDER]).to_pandas()


def utc_list(series: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else pd.Timestamp(v).tz_convert(UTC) for v in series]


@pytest.mark.parametrize("name", XES_LOGS)
def test_events_match_pm4py_in_order(name: str) -> None:
    path = data_file(name)
    expected = pm4py_frame(path)
    actual = shared_andon_frame(path)

    assert len(actual) == len(expected)
    assert actual[CASE].nunique() == expected["case:concept:name"].nunique()
    assert actual[CASE].tolist() == expected["case:concept:name"].astype(str).tolist()
    assert actual[ACTIVITY].tolist() == expected["concept:name"].astype(str).tolist()
    assert utc_list(actual[TIMESTAMP]) == utc_list(expected["time:timestamp"])
    assert actual[ORDER].tolist() == list(range(len(expected)))


@pytest.mark.parametrize("name", XES_LOGS)
def test_resources_and_case_attributes_match_pm4py(name: str) -> None:
    path = data_file(name)
    expected = pm4py_frame(path)
    actual = shared_andon_frame(path)

    if "org:resource" in expected.columns:
        want = [None if pd.isna(v) else str(v) for v in expected["org:resource"]]
        assert [None if pd.isna(v) else v for v in actual[RESOURCE]] == want
    case_columns = [
        c for c in expected.columns if c.startswith("case:") and c != "case:concept:name"
    ]
    for column in case_columns:
        assert column in actual.columns


def test_interval_log_carries_start_timestamps() -> None:
    path = data_file("interval_event_log.xes")
    loaded = read_log(path)
    frame = andon_frame(path)
    expected = pm4py_frame(path)

    assert loaded.log.interval is True
    assert utc_list(frame[START]) == utc_list(expected["start_timestamp"])


def test_non_interval_log_is_not_marked_interval() -> None:
    assert read_log(data_file("running-example.xes")).log.interval is False


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


TYPED = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <trace>
    <event>
      <string key="concept:name" value="weld"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00+02:00"/>
      <int key="torque" value="42"/>
    </event>
    <string key="concept:name" value="late-name"/>
    <string key="line" value="L1"/>
    <event>
      <string key="concept:name" value="paint"/>
      <date key="time:timestamp" value="2024-03-01T09:30:00Z"/>
      <float key="torque" value="12.5"/>
      <boolean key="ok" value="true"/>
      <list key="tags"><values><string key="x" value="nested"/></values></list>
    </event>
  </trace>
</log>
"""


def test_trace_attributes_after_events_still_name_the_case(tmp_path: Path) -> None:
    frame = andon_frame(write(tmp_path, "typed.xes", TYPED))

    assert frame[CASE].tolist() == ["late-name", "late-name"]
    assert frame["case:line"].tolist() == ["L1", "L1"]


def test_offsets_become_utc_instants(tmp_path: Path) -> None:
    frame = andon_frame(write(tmp_path, "typed.xes", TYPED))

    assert utc_list(frame[TIMESTAMP]) == [
        pd.Timestamp(datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        pd.Timestamp(datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
    ]


def test_typed_attributes_keep_their_types_and_int_widens_to_float(tmp_path: Path) -> None:
    loaded = read_log(write(tmp_path, "typed.xes", TYPED))
    schema = loaded.log.table.schema()

    assert schema["torque"].is_float64()
    assert schema["ok"].is_boolean()
    assert "x" not in schema.names  # nested attributes are not event columns
    frame = andon_frame(write(tmp_path, "typed.xes", TYPED))
    assert frame["torque"].tolist() == [42.0, 12.5]


def test_gzipped_xes_reads_like_plain(tmp_path: Path) -> None:
    plain = write(tmp_path, "typed.xes", TYPED)
    packed = tmp_path / "typed.xes.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    assert andon_frame(packed)[[CASE, ACTIVITY]].equals(andon_frame(plain)[[CASE, ACTIVITY]])


def test_event_without_trace_name_is_rejected_as_missing_case(tmp_path: Path) -> None:
    named = (
        '<trace><string key="concept:name" value="c2"/><event>'
        '<string key="concept:name" value="weld"/>'
        '<date key="time:timestamp" value="2024-03-02T10:00:00Z"/></event></trace>\n</log>'
    )
    body = TYPED.replace('<string key="concept:name" value="late-name"/>', "")
    body = body.replace("</log>", named)
    loaded = read_log(write(tmp_path, "nameless.xes", body))

    assert loaded.report.rows_read == 3
    assert loaded.report.rejected_by_reason() == {"missing_case": 2}
    assert loaded.report.events == 1
