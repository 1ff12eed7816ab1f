"""Generated logs with the awkward cases pm4py and Andon must agree on: equal timestamps
(ties broken by source order), single-event cases, repeated activities, rows out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.analytics.ordering import release
from andon.analytics.report import prepare
from tests.parity.conftest import (
    PM4PY_CASE,
    PM4PY_INDEX,
    andon_results,
    assert_parity,
    frame_log,
    pm4py_results,
    standard_frame,
)

BASE = datetime(2024, 3, 30, 22, 0, tzinfo=UTC)  # a DST weekend in Europe: UTC must not care
# Few distinct instants, so many events of a case share a timestamp; fractions of a second
# check that durations keep their microseconds.
OFFSETS = [0, 0.5, 60, 3600, 86_400 + 0.25, 7 * 86_400]

events = st.tuples(st.sampled_from("ABCDE"), st.sampled_from(OFFSETS))
cases = st.lists(events, min_size=1, max_size=7)  # min 1: single-event cases are common
logs = st.lists(cases, min_size=1, max_size=12)


def _pm4py_frame(generated: list[list[tuple[str, float]]], order: list[int]) -> pd.DataFrame:
    import pm4py

    rows = [
        {
            PM4PY_CASE: f"case {c}",
            "concept:name": activity,
            "time:timestamp": BASE + timedelta(seconds=offset),
        }
        for c, case in enumerate(generated)
        for activity, offset in case
    ]
    # The source order is a permutation of the generated rows: cases interleave and events
    # of a case can come before earlier ones.
    frame = pd.DataFrame([rows[i] for i in order])
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"], utc=True)
    return pm4py.format_dataframe(frame)


@st.composite
def shuffled_logs(draw: Any) -> tuple[list[list[tuple[str, float]]], list[int]]:
    generated = draw(logs)
    size = sum(len(case) for case in generated)
    order = draw(st.permutations(list(range(size))))
    return generated, order


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(log=shuffled_logs())
def test_generated_log_matches_pm4py_on_duckdb(
    log: tuple[list[list[tuple[str, float]]], list[int]], duckdb_backend: Any
) -> None:
    frame = _pm4py_frame(*log)
    assert frame[PM4PY_INDEX].is_unique
    ordered = prepare(frame_log(duckdb_backend, standard_frame(frame)))
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(frame))


FIXED = (
    [[("A", 0), ("B", 0), ("A", 0)], [("C", 60)], [("B", 3600), ("A", 0.5), ("B", 0.5)]],
    [6, 0, 3, 1, 5, 2, 4],
)


@pytest.mark.postgresql
def test_fixed_tricky_log_matches_pm4py_on_postgres(postgres_backend: Any) -> None:
    frame = _pm4py_frame(*FIXED)
    ordered = prepare(frame_log(postgres_backend, standard_frame(frame)))
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(frame))


@pytest.mark.spark
def test_fixed_tricky_log_matches_pm4py_on_spark(spark_backend: Any) -> None:
    frame = _pm4py_frame(*FIXED)
    ordered = prepare(frame_log(spark_backend, standard_frame(frame)))
    try:
        ours = andon_results(ordered)
    finally:
        release(ordered)
    assert_parity(ours, pm4py_results(frame))
