"""The retry schedule of the notification outbox: fixed, doubling, capped at an hour."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.notifications.service import next_retry_delay


def test_retry_delays_double_from_thirty_seconds_up_to_an_hour() -> None:
    delays = [next_retry_delay(n).total_seconds() for n in range(1, 11)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_the_default_six_attempts_span_fifteen_and_a_half_minutes() -> None:
    # Five waits separate six attempts; the sixth failure is final.
    assert sum((next_retry_delay(n) for n in range(1, 6)), timedelta()) == timedelta(seconds=930)


@given(st.integers(min_value=1, max_value=10_000))
def test_delay_never_shrinks_and_never_exceeds_an_hour(attempts: int) -> None:
    delay = next_retry_delay(attempts)
    assert timedelta(seconds=30) <= delay <= timedelta(hours=1)
    assert next_retry_delay(attempts + 1) >= delay


def test_a_retry_before_any_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        next_retry_delay(0)
