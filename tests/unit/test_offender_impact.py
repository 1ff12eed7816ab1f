"""The repeat-offender arithmetic: merged open time, clipping, weeks and ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.improvement.impact import Offender, clip, merge, open_seconds, rank, week_starts

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def wall(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def test_overlapping_exceptions_on_one_item_count_their_time_once() -> None:
    assert merge([(h(2), h(4)), (h(0), h(3)), (h(5), h(6)), (h(6), h(6))]) == [
        (h(0), h(4)),
        (h(5), h(6)),
    ]
    assert open_seconds([(h(0), h(2)), (h(1), h(3))], wall) == 3 * 3600


def test_an_open_exception_is_cut_at_the_period_end() -> None:
    assert clip(h(1), None, h(5)) == (h(1), h(5))
    assert clip(h(1), h(9), h(5)) == (h(1), h(5))
    assert clip(h(1), h(2), h(5)) == (h(1), h(2))


def test_weeks_start_every_seven_days_from_the_first_day() -> None:
    assert week_starts(date(2026, 11, 23), date(2026, 12, 6)) == [
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]
    assert week_starts(date(2026, 11, 23), date(2026, 11, 23)) == [date(2026, 11, 23)]


def _row(key: str, count: int, stop: float) -> Offender:
    return Offender(key, key, count, 0, 0.0, stop, ())


def test_rank_orders_by_the_chosen_impact_then_count_then_key() -> None:
    rows = [_row("b", 3, 60), _row("a", 3, 0), _row("c", 1, 600)]

    assert [r.category for r in rank(rows)] == ["a", "b", "c"]
    assert [r.category for r in rank(rows, "stop_minutes")] == ["c", "b", "a"]
    with pytest.raises(ValueError, match="sort"):
        rank(rows, "colour")


spans = st.lists(
    st.tuples(st.integers(0, 100), st.integers(0, 100)).map(lambda p: (h(p[0]), h(p[0] + p[1]))),
    max_size=12,
)


@given(spans)
def test_merged_time_never_exceeds_the_sum_nor_falls_below_the_longest(given_spans: list) -> None:  # type: ignore[type-arg]
    total = open_seconds(given_spans, wall)
    lengths = [wall(a, b) for a, b in given_spans]
    assert max(lengths, default=0) <= total <= sum(lengths)
