"""The pm4py parity suite: the same log through pm4py and through Andon, the same numbers.

pm4py is a test-only reference (AGPL): it is imported here and in the tests beside this
file, never from ``src/``. Each engine is opened once per session; Spark (about 9 s to start)
only when a test marked ``spark`` runs.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Iterator
from functools import cache
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from andon.analytics.discovery import discover_dfg, discover_variants
from andon.analytics.kpis import rework_cases, rework_in_variants
from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.analytics.ordering import CaseOrderedLog
from andon.analytics.report import prepare
from tests.unit.analytics.conftest import connect_postgres, connect_spark, data_file

TOLERANCE = 1e-6  # seconds

PM4PY_CASE, PM4PY_ACTIVITY, PM4PY_TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"
PM4PY_START = "start_timestamp"
PM4PY_INDEX = "@@index"


@pytest.fixture(scope="session")
def duckdb_backend() -> Any:
    from andon.analytics.engines import connect

    return connect("duckdb")


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[Any]:
    backend = connect_postgres()
    yield backend
    backend.disconnect()  # temporary tables go with the session


@pytest.fixture(scope="session")
def spark_backend() -> Any:
    return connect_spark()


def frame_log(backend: Any, frame: pd.DataFrame, *, interval: bool = False) -> EventLog:
    """An EventLog on ``backend`` from a frame with the standard columns.

    Goes through Arrow and the backend's own registration, not Ibis' create_table, whose
    DROP statements this sqlglot renders without a name.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    name = f"parity_{uuid.uuid4().hex}"
    if backend.name == "duckdb":
        backend.con.register(name, table)
        return EventLog(backend.table(name), source=name, interval=interval)
    if backend.name == "pyspark":
        backend._session.createDataFrame(frame).createOrReplaceTempView(name)
        return EventLog(backend.table(name), source=name, interval=interval)
    backend.create_table(name, table, temp=True)
    return EventLog(backend.table(name), source=name, interval=interval)


def standard_frame(pm4py_df: pd.DataFrame, *, interval: bool = False) -> pd.DataFrame:
    """pm4py's formatted frame as Andon's normalised columns; ``event_order`` is pm4py's
    index (the row's position in the source), so both break ties the same way."""
    frame = pd.DataFrame(
        {
            CASE: pm4py_df[PM4PY_CASE].astype(str).to_numpy(),
            ACTIVITY: pm4py_df[PM4PY_ACTIVITY].astype(str).to_numpy(),
            TIMESTAMP: pm4py_df[PM4PY_TIMESTAMP].to_numpy(),
            ORDER: pm4py_df[PM4PY_INDEX].astype("int64").to_numpy(),
        }
    )
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP], utc=True)
    if interval:
        frame[START] = pd.to_datetime(pm4py_df[PM4PY_START].to_numpy(), utc=True)
    # Andon must not depend on the physical row order: hand it the rows reversed.
    return frame.iloc[::-1].reset_index(drop=True)


@cache
def pm4py_frame(name: str, object_type: str | None = None) -> pd.DataFrame:
    """The log as pm4py reads and formats it (sorted by case, timestamp, source order)."""
    import pm4py

    path = data_file(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.endswith((".xes", ".xes.gz")):
            raw = pm4py.read_xes(str(path))
        elif name.endswith(".csv"):
            raw = pd.read_csv(path)
        elif name.endswith(".parquet"):
            raw = pd.read_parquet(path)
        elif name.endswith(".jsonocel"):
            raw = pm4py.ocel_flattening(pm4py.read_ocel2_json(str(path)), object_type)
        elif name.endswith(".xmlocel"):
            raw = pm4py.ocel_flattening(pm4py.read_ocel2_xml(str(path)), object_type)
        else:
            raise AssertionError(f"no pm4py reader for {name}")
        frame = pm4py.format_dataframe(raw.reset_index(drop=True))
    return _by_start(frame)


@cache
def pm4py_interval_frame(name: str) -> pd.DataFrame:
    """A lifecycle XES log after pm4py's own pairing of starts and completes."""
    import pm4py
    from pm4py.objects.log.util.interval_lifecycle import to_interval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paired = to_interval(pm4py.convert_to_event_log(pm4py.read_xes(str(data_file(name)))))
        frame = pm4py.format_dataframe(pm4py.convert_to_dataframe(paired))
    return _by_start(frame)


def _by_start(frame: pd.DataFrame) -> pd.DataFrame:
    if PM4PY_START in frame.columns and frame[PM4PY_START].notna().any():
        # Interval logs: pm4py's DFG orders by start, its other statistics by frame order;
        # sorting the frame by start first makes all of them use Andon's order.
        frame[PM4PY_START] = pd.to_datetime(frame[PM4PY_START], utc=True)
        frame = frame.sort_values([PM4PY_CASE, PM4PY_START, PM4PY_TIMESTAMP, PM4PY_INDEX])
    return frame


def pm4py_results(frame: pd.DataFrame) -> dict[str, Any]:
    """Everything the parity suite compares, as pm4py computes it."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dfg, starts, ends = pm4py.discover_dfg(frame)
        performance, _, _ = pm4py.discover_performance_dfg(frame)
        variants = pm4py.get_variants(frame)
        if PM4PY_START in frame.columns:
            # pm4py 2.7 raises KeyError on a frame with starts (its case statistics group
            # only the completion column, then read the start); the reference is Andon's
            # definition spelled out in pandas: last completion minus earliest start.
            spans = frame.groupby(PM4PY_CASE).agg(
                first=(PM4PY_START, "min"), last=(PM4PY_TIMESTAMP, "max")
            )
            durations = (spans["last"] - spans["first"]).dt.total_seconds().tolist()
        else:
            durations = pm4py.get_all_case_durations(frame)
        rework = pm4py.get_rework_cases_per_activity(frame)
    return {
        "dfg": {edge: int(count) for edge, count in dfg.items()},
        "start_activities": {a: int(n) for a, n in starts.items()},
        "end_activities": {a: int(n) for a, n in ends.items()},
        "performance": {
            edge: {name: _plain(value) for name, value in stats.items()}
            for edge, stats in performance.items()
        },
        "variants": {tuple(v): int(n) for v, n in variants.items()},
        "case_durations": sorted(float(d) for d in durations),
        "rework": {a: int(n) for a, n in rework.items()},
    }


def andon_results(ordered: CaseOrderedLog) -> dict[str, Any]:
    """The same figures from Andon's expressions, in pm4py's shapes."""
    graph = discover_dfg(ordered, performance=True)
    variants = discover_variants(ordered)
    durations = ordered.cases.select("duration_seconds").to_pyarrow().column(0).to_pylist()
    return {
        "dfg": {(e.source, e.target): e.frequency for e in graph.edges},
        "start_activities": graph.start_activities,
        "end_activities": graph.end_activities,
        "performance": {
            (e.source, e.target): e.performance.as_json()
            for e in graph.edges
            if e.performance is not None
        },
        "variants": {v.activities: v.cases for v in variants},
        "case_durations": sorted(float(d) for d in durations),
        "rework": rework_cases(ordered),
        # What `andon mine report` prints: the same figures, counted on the variants.
        "rework_in_variants": rework_in_variants(variants)[1],
    }


def ordered_log(log: EventLog) -> CaseOrderedLog:
    return prepare(log)


def assert_parity(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Equal counts exactly; equal seconds within TOLERANCE; stdev None where pm4py's NaN."""
    for key in ("dfg", "start_activities", "end_activities", "variants", "rework"):
        assert ours[key] == theirs[key], key
    if "rework_in_variants" in ours:
        assert ours["rework_in_variants"] == theirs["rework"]
    assert ours["performance"].keys() == theirs["performance"].keys()
    for edge, stats in theirs["performance"].items():
        for name, expected in stats.items():
            actual = ours["performance"][edge][name]
            if expected is None:
                assert actual is None, (edge, name, actual)
            else:
                assert actual is not None, (edge, name)
                assert abs(actual - expected) <= TOLERANCE, (edge, name, actual, expected)
    assert len(ours["case_durations"]) == len(theirs["case_durations"])
    for actual, expected in zip(ours["case_durations"], theirs["case_durations"], strict=True):
        assert abs(actual - expected) <= TOLERANCE


def _plain(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number
