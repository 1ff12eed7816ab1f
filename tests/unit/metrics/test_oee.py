"""OEE arithmetic: merged downtime inside planned time, components and their edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.metrics.oee import (
    Interval,
    ProductCount,
    compute_oee,
    intersect_intervals,
    merge_intervals,
    total_seconds,
)

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def span(a: float, b: float) -> Interval:
    return (at(a), at(b))


def test_overlapping_and_touching_intervals_merge_into_one() -> None:
    merged = merge_intervals([span(30, 50), span(0, 10), span(10, 20), span(40, 60), span(5, 5)])

    assert merged == [span(0, 20), span(30, 60)]


def test_intersection_keeps_only_the_shared_instants() -> None:
    planned = [span(0, 480), span(540, 1020)]
    stops = [span(-60, 30), span(470, 560), span(1100, 1200)]

    assert intersect_intervals(planned, stops) == [span(0, 30), span(470, 480), span(540, 560)]


def test_oee_of_a_worked_example() -> None:
    # Shift 06:00-14:00 (480 min). Stop 07:00-07:30 and entered downtime 07:20-07:50 overlap
    # (50 min together, not 60); a stop at 15:00 is outside planned time and ignored.
    # Run = 430 min = 25 800 s. P1: 1000 units at 12 s; P2: 200 units at 30 s -> 18 000 s
    # ideal. Good: 950 + 190 = 1140 of 1200.
    planned = [span(0, 480)]
    downtime = [span(60, 90), span(80, 110), span(540, 600)]
    counts = [
        ProductCount("P1", total=1000, good=950, ideal_cycle_seconds=12),
        ProductCount("P2", total=200, good=190, ideal_cycle_seconds=30),
    ]

    result = compute_oee(planned, downtime, counts)

    assert result.planned_seconds == 28_800
    assert result.downtime_seconds == 3_000
    assert result.run_seconds == 25_800
    assert result.availability == pytest.approx(25_800 / 28_800)
    assert result.performance == pytest.approx(18_000 / 25_800)
    assert result.quality == pytest.approx(1140 / 1200)
    assert result.oee == pytest.approx(18_000 / 28_800 * 1140 / 1200)
    assert not result.performance_capped
    assert result.no_data is None


def test_performance_above_one_is_capped_and_flagged() -> None:
    # 60 min run, 100 units at 60 s ideal = 100 min of ideal time: faster than ideal.
    result = compute_oee([span(0, 60)], [], [ProductCount("P1", 100, 100, 60)])

    assert result.performance == 1.0
    assert result.performance_capped
    assert result.oee == 1.0


def test_no_planned_time_is_no_data() -> None:
    result = compute_oee([], [span(0, 60)], [ProductCount("P1", 10, 10, 5)])

    assert result.oee is None
    assert result.availability is None
    assert result.no_data == "no planned time"


def test_nothing_made_is_no_data_but_availability_is_known() -> None:
    result = compute_oee([span(0, 100)], [span(0, 25)], [])

    assert result.oee is None
    assert result.availability == pytest.approx(0.75)
    assert result.no_data == "nothing was made"


def test_a_product_without_ideal_cycle_time_leaves_performance_unknown() -> None:
    counts = [ProductCount("P1", 10, 9, 5), ProductCount(None, 4, 4, None)]

    result = compute_oee([span(0, 100)], [], counts)

    assert result.oee is None
    assert result.performance is None
    assert result.quality == pytest.approx(13 / 14)
    assert result.missing_cycle_times == ("(no product)",)


def test_whole_period_down_with_units_made_is_zero_oee() -> None:
    result = compute_oee([span(0, 60)], [span(-10, 70)], [ProductCount("P1", 5, 5, 10)])

    assert result.availability == 0
    assert result.performance_capped
    assert result.oee == 0


intervals = st.lists(
    st.tuples(st.integers(-200, 1200), st.integers(0, 300)).map(lambda p: span(p[0], p[0] + p[1])),
    max_size=12,
)
counts = st.lists(
    st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(1, 120)).map(
        lambda t: ProductCount(f"P{t[2]}", max(t[0], t[1]), min(t[0], t[1]), float(t[2]))
    ),
    max_size=4,
)


@given(intervals)
def test_merging_is_idempotent_and_keeps_the_union(raw: list[Interval]) -> None:
    once = merge_intervals(raw)

    assert merge_intervals(once) == once
    assert all(a[1] < b[0] for a, b in pairwise(once))
    assert total_seconds(once) == total_seconds(raw)


@given(intervals, intervals, counts)
def test_every_component_is_a_fraction(
    planned: list[Interval], downtime: list[Interval], made: list[ProductCount]
) -> None:
    result = compute_oee(planned, downtime, made)

    for value in (result.availability, result.performance, result.quality, result.oee):
        assert value is None or 0 <= value <= 1
    assert 0 <= result.downtime_seconds <= result.planned_seconds
