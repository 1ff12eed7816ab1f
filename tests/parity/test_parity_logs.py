"""Every public log in ../shared/data gives pm4py's DFG, performance DFG, start and end
activities, variants, case durations and rework, read by Andon's own readers."""

from __future__ import annotations

from typing import Any

import pytest

from andon.analytics.lifecycle import pair_lifecycle
from andon.analytics.ordering import release
from andon.analytics.report import prepare
from andon.analytics.sources import read_log
from tests.parity.conftest import (
    andon_results,
    assert_parity,
    data_file,
    frame_log,
    pm4py_frame,
    pm4py_interval_frame,
    pm4py_results,
    standard_frame,
)

FILES = [
    "running-example.xes",
    "receipt.csv",
    "receipt.parquet",
    "roadtraffic100traces.xes",
    "helpdesk.xes.gz",
    "reviewing.xes",
    "interval_event_log.xes",
]
OCEL = [
    ("ocel20_example.jsonocel", "Invoice"),
    ("ocel20_example.xmlocel", "Purchase Order"),
]
SMALL = ["running-example.xes", "roadtraffic100traces.xes", "interval_event_log.xes"]


@pytest.mark.parametrize("name", FILES)
def test_log_read_by_andon_matches_pm4py_on_duckdb(name: str, duckdb_backend: Any) -> None:
    loaded = read_log(data_file(name), backend=duckdb_backend)
    ordered = prepare(loaded.log)
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(pm4py_frame(name)))


@pytest.mark.parametrize(("name", "object_type"), OCEL)
def test_ocel_flattened_per_object_type_matches_pm4py(
    name: str, object_type: str, duckdb_backend: Any
) -> None:
    loaded = read_log(data_file(name), backend=duckdb_backend, ocel_object_type=object_type)
    ordered = prepare(loaded.log)
    assert_parity(andon_results(ordered), pm4py_results(pm4py_frame(name, object_type)))


def test_lifecycle_pairs_match_pm4pys_interval_conversion(duckdb_backend: Any) -> None:
    loaded = read_log(data_file("reviewing.xes"), backend=duckdb_backend)
    ordered = prepare(pair_lifecycle(loaded.log))

    assert ordered.interval
    assert_parity(andon_results(ordered), pm4py_results(pm4py_interval_frame("reviewing.xes")))


def test_interval_log_is_read_as_one(duckdb_backend: Any) -> None:
    loaded = read_log(data_file("interval_event_log.xes"), backend=duckdb_backend)
    assert loaded.log.interval


@pytest.mark.postgresql
@pytest.mark.parametrize("name", SMALL)
def test_small_log_matches_pm4py_on_postgres(name: str, postgres_backend: Any) -> None:
    frame = pm4py_frame(name)
    interval = name.startswith("interval")
    log = frame_log(postgres_backend, standard_frame(frame, interval=interval), interval=interval)
    ordered = prepare(log)
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(frame))


@pytest.mark.spark
@pytest.mark.parametrize("name", ["running-example.xes", "interval_event_log.xes"])
def test_small_log_matches_pm4py_on_spark(name: str, spark_backend: Any) -> None:
    frame = pm4py_frame(name)
    interval = name.startswith("interval")
    log = frame_log(spark_backend, standard_frame(frame, interval=interval), interval=interval)
    ordered = prepare(log)
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(frame))
