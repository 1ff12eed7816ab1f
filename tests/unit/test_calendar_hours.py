"""Working time from shifts, holidays and closures, exact across DST; shift validation."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.calendars.hours import (
    Closure,
    Shift,
    WorkingCalendar,
    always_open,
    validate_shifts,
)

CHICAGO = "America/Chicago"
BERLIN = "Europe/Berlin"
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
HOUR = 3600.0


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A local wall time in ``zone`` as a UTC instant."""
    moment = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return moment.astimezone(UTC)


def night_shift(zone: str) -> WorkingCalendar:
    return WorkingCalendar(zone, (Shift("Night", EVERY_DAY, time(22), time(6)),))


def day_shift(
    zone: str = CHICAGO,
    *,
    holidays: frozenset[date] = frozenset(),
    closures: tuple[Closure, ...] = (),
    quiet_hours: tuple[time, time] | None = None,
) -> WorkingCalendar:
    """One day shift, Monday to Friday 07:00–15:30."""
    return WorkingCalendar(
        zone,
        (Shift("Day", WEEKDAYS, time(7), time(15, 30)),),
        holidays=holidays,
        closures=closures,
        quiet_hours=quiet_hours,
    )


# -- DST ------------------------------------------------------------------------------------


def test_overnight_shift_on_us_spring_forward_night_is_seven_real_hours() -> None:
    calendar = night_shift(CHICAGO)

    worked = calendar.business_seconds(
        local(CHICAGO, 2026, 3, 7, 12), local(CHICAGO, 2026, 3, 8, 12)
    )

    assert worked == 7 * HOUR


def test_overnight_shift_on_us_fall_back_night_is_nine_real_hours() -> None:
    calendar = night_shift(CHICAGO)

    worked = calendar.business_seconds(
        local(CHICAGO, 2026, 10, 31, 12), local(CHICAGO, 2026, 11, 1, 12)
    )

    assert worked == 9 * HOUR


def test_overnight_shift_on_an_ordinary_night_is_eight_hours() -> None:
    calendar = night_shift(CHICAGO)

    worked = calendar.business_seconds(
        local(CHICAGO, 2026, 3, 9, 12), local(CHICAGO, 2026, 3, 10, 12)
    )

    assert worked == 8 * HOUR


def test_spring_forward_night_shift_runs_from_2200_cst_to_0600_cdt() -> None:
    calendar = night_shift(CHICAGO)

    intervals = list(calendar.working_intervals(utc(2026, 3, 7, 18), utc(2026, 3, 8, 18)))

    assert intervals == [(utc(2026, 3, 8, 4), utc(2026, 3, 8, 11))]


def test_overnight_shift_on_berlin_spring_forward_night_is_seven_real_hours() -> None:
    calendar = night_shift(BERLIN)

    worked = calendar.business_seconds(
        local(BERLIN, 2026, 3, 28, 12), local(BERLIN, 2026, 3, 29, 12)
    )

    assert worked == 7 * HOUR


def test_overnight_shift_on_berlin_fall_back_night_is_nine_real_hours() -> None:
    calendar = night_shift(BERLIN)

    worked = calendar.business_seconds(
        local(BERLIN, 2026, 10, 24, 12), local(BERLIN, 2026, 10, 25, 12)
    )

    assert worked == 9 * HOUR


def test_shift_starting_inside_the_spring_forward_gap_starts_when_the_gap_ends() -> None:
    calendar = WorkingCalendar(CHICAGO, (Shift("Early", EVERY_DAY, time(2, 30), time(5)),))

    intervals = list(calendar.working_intervals(utc(2026, 3, 8), utc(2026, 3, 9)))

    # 02:30 does not exist that morning; the shift starts at 03:00 CDT (08:00 UTC).
    assert intervals == [(utc(2026, 3, 8, 8), utc(2026, 3, 8, 10))]


def test_shift_ending_in_the_repeated_fall_back_hour_ends_at_its_first_occurrence() -> None:
    calendar = WorkingCalendar(CHICAGO, (Shift("Late", EVERY_DAY, time(22), time(1, 30)),))

    intervals = list(calendar.working_intervals(utc(2026, 10, 31, 12), utc(2026, 11, 1, 12)))

    # 22:00 CDT to the first 01:30, still CDT: 03:00 to 06:30 UTC.
    assert intervals == [(utc(2026, 11, 1, 3), utc(2026, 11, 1, 6, 30))]


def test_always_open_calendar_counts_the_25_hour_fall_back_day() -> None:
    calendar = always_open(CHICAGO)

    worked = calendar.business_seconds(local(CHICAGO, 2026, 11, 1), local(CHICAGO, 2026, 11, 2))

    assert worked == 25 * HOUR


def test_add_business_seconds_across_spring_forward_lands_on_daylight_time() -> None:
    calendar = night_shift(CHICAGO)
    start = local(CHICAGO, 2026, 3, 7, 23)  # one hour into the short night

    due = calendar.add_business_seconds(start, 7 * HOUR)

    # 6h left that night (to 06:00 CDT), then one hour into the next night.
    assert due == local(CHICAGO, 2026, 3, 8, 23)


# -- shifts, holidays, closures ---------------------------------------------------------


def test_overnight_shift_spanning_midnight_shows_as_tail_and_head_of_the_day() -> None:
    calendar = night_shift("UTC")

    intervals = list(calendar.working_intervals(utc(2026, 6, 2), utc(2026, 6, 3)))

    assert intervals == [
        (utc(2026, 6, 2, 0), utc(2026, 6, 2, 6)),
        (utc(2026, 6, 2, 22), utc(2026, 6, 3, 0)),
    ]


def test_overnight_shift_started_on_a_working_day_runs_into_the_day_off() -> None:
    calendar = WorkingCalendar("UTC", (Shift("Night", frozenset({4}), time(22), time(6)),))

    # Friday 5 June 2026 22:00 to Saturday 06:00.
    worked = calendar.business_seconds(utc(2026, 6, 6), utc(2026, 6, 7))

    assert worked == 6 * HOUR


def test_holiday_suppresses_shifts_starting_that_day() -> None:
    calendar = day_shift(holidays=frozenset({date(2026, 7, 3)}))

    worked = calendar.business_seconds(local(CHICAGO, 2026, 7, 3), local(CHICAGO, 2026, 7, 4))

    assert worked == 0


def test_night_shift_starting_the_evening_before_a_holiday_still_runs_into_it() -> None:
    calendar = WorkingCalendar(
        "UTC",
        (Shift("Night", EVERY_DAY, time(22), time(6)),),
        holidays=frozenset({date(2026, 12, 25)}),
    )

    intervals = list(calendar.working_intervals(utc(2026, 12, 25), utc(2026, 12, 26)))

    assert intervals == [(utc(2026, 12, 25, 0), utc(2026, 12, 25, 6))]


def test_closure_is_removed_from_working_time() -> None:
    closure = Closure(local(CHICAGO, 2026, 6, 3, 10), local(CHICAGO, 2026, 6, 3, 12), "stocktake")
    calendar = day_shift(closures=(closure,))

    intervals = list(
        calendar.working_intervals(local(CHICAGO, 2026, 6, 3), local(CHICAGO, 2026, 6, 4))
    )

    assert intervals == [
        (local(CHICAGO, 2026, 6, 3, 7), local(CHICAGO, 2026, 6, 3, 10)),
        (local(CHICAGO, 2026, 6, 3, 12), local(CHICAGO, 2026, 6, 3, 15, 30)),
    ]


def test_closure_over_several_days_removes_every_shift_it_covers() -> None:
    closure = Closure(local(CHICAGO, 2026, 6, 2, 12), local(CHICAGO, 2026, 6, 4, 9))
    calendar = day_shift(closures=(closure,))

    worked = calendar.business_seconds(local(CHICAGO, 2026, 6, 2), local(CHICAGO, 2026, 6, 5))

    # Tue 07:00–12:00, nothing Wed, Thu 09:00–15:30.
    assert worked == 5 * HOUR + 6.5 * HOUR


def test_overlapping_closures_are_removed_once() -> None:
    closures = (
        Closure(local(CHICAGO, 2026, 6, 3, 8), local(CHICAGO, 2026, 6, 3, 11)),
        Closure(local(CHICAGO, 2026, 6, 3, 10), local(CHICAGO, 2026, 6, 3, 12)),
    )
    calendar = day_shift(closures=closures)

    worked = calendar.business_seconds(local(CHICAGO, 2026, 6, 3), local(CHICAGO, 2026, 6, 4))

    assert worked == 8.5 * HOUR - 4 * HOUR


def test_back_to_back_shifts_come_back_as_one_interval() -> None:
    calendar = WorkingCalendar(
        "UTC",
        (
            Shift("Day", WEEKDAYS, time(6), time(14)),
            Shift("Swing", WEEKDAYS, time(14), time(22)),
        ),
    )

    intervals = list(calendar.working_intervals(utc(2026, 6, 1), utc(2026, 6, 2)))

    assert intervals == [(utc(2026, 6, 1, 6), utc(2026, 6, 1, 22))]


def test_always_open_calendar_is_one_interval_over_several_days() -> None:
    intervals = list(always_open(BERLIN).working_intervals(utc(2026, 3, 27), utc(2026, 3, 31)))

    assert intervals == [(utc(2026, 3, 27), utc(2026, 3, 31))]


def test_working_intervals_are_clipped_to_the_window() -> None:
    calendar = day_shift("UTC")

    intervals = list(calendar.working_intervals(utc(2026, 6, 1, 9), utc(2026, 6, 1, 10)))

    assert intervals == [(utc(2026, 6, 1, 9), utc(2026, 6, 1, 10))]


def test_business_seconds_of_a_reversed_window_is_zero() -> None:
    assert day_shift("UTC").business_seconds(utc(2026, 6, 2), utc(2026, 6, 1)) == 0


def test_business_seconds_of_a_working_week() -> None:
    worked = day_shift().business_seconds(utc(2026, 6, 1), utc(2026, 6, 8))

    assert worked == 5 * 8.5 * HOUR


# -- adding business time ---------------------------------------------------------------


def test_add_business_seconds_rolls_over_the_weekend() -> None:
    start = local(CHICAGO, 2026, 6, 5, 14)  # Friday, 1h30 before the end of the shift

    due = day_shift().add_business_seconds(start, 2 * HOUR)

    assert due == local(CHICAGO, 2026, 6, 8, 7, 30)


def test_add_business_seconds_that_ends_with_the_shift_returns_the_shift_end() -> None:
    start = local(CHICAGO, 2026, 6, 5, 7)

    due = day_shift().add_business_seconds(start, 8.5 * HOUR)

    assert due == local(CHICAGO, 2026, 6, 5, 15, 30)


def test_add_business_seconds_from_outside_hours_starts_at_the_next_shift() -> None:
    start = local(CHICAGO, 2026, 6, 6, 10)  # Saturday

    due = day_shift().add_business_seconds(start, HOUR)

    assert due == local(CHICAGO, 2026, 6, 8, 8)


def test_add_business_seconds_skips_a_holiday() -> None:
    calendar = day_shift(holidays=frozenset({date(2026, 7, 3)}))

    due = calendar.add_business_seconds(local(CHICAGO, 2026, 7, 2, 15), HOUR)

    assert due == local(CHICAGO, 2026, 7, 6, 7, 30)


def test_adding_zero_business_seconds_returns_the_start_unchanged() -> None:
    start = local(CHICAGO, 2026, 6, 6, 10)  # outside working hours

    assert day_shift().add_business_seconds(start, 0) is start


def test_adding_business_seconds_without_shifts_is_refused() -> None:
    with pytest.raises(ValueError, match="no shifts"):
        WorkingCalendar("UTC", ()).add_business_seconds(utc(2026, 1, 1), 60)


def test_adding_negative_business_seconds_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        day_shift().add_business_seconds(utc(2026, 1, 1), -1)


def test_adding_business_seconds_gives_up_when_no_shift_ever_starts() -> None:
    calendar = WorkingCalendar("UTC", (Shift("Never", frozenset(), time(8), time(16)),))

    with pytest.raises(ValueError, match="not enough working time"):
        calendar.add_business_seconds(utc(2026, 1, 1), 60)


def test_adding_ten_business_days_takes_well_under_a_millisecond() -> None:
    shifts = day_shift().shifts
    start = local(CHICAGO, 2026, 3, 2, 14)
    runs = 200

    began = stopwatch.perf_counter()
    for _ in range(runs):
        WorkingCalendar(CHICAGO, shifts).add_business_seconds(start, 10 * 8.5 * HOUR)
    each = (stopwatch.perf_counter() - began) / runs

    assert each < 0.005  # typically ~0.1 ms on a cold calendar; generous for loaded CI


# -- working now, next working time -----------------------------------------------------


def test_is_working_inside_a_shift_and_not_at_its_end() -> None:
    calendar = day_shift()

    assert calendar.is_working(local(CHICAGO, 2026, 6, 1, 7))
    assert not calendar.is_working(local(CHICAGO, 2026, 6, 1, 15, 30))


def test_next_working_at_is_now_during_a_shift() -> None:
    at = local(CHICAGO, 2026, 6, 1, 9)

    assert day_shift().next_working_at(at) == at


def test_next_working_at_is_the_next_shift_start_at_night() -> None:
    assert day_shift().next_working_at(local(CHICAGO, 2026, 6, 1, 20)) == local(
        CHICAGO, 2026, 6, 2, 7
    )


def test_next_working_at_skips_a_closure() -> None:
    closure = Closure(local(CHICAGO, 2026, 6, 2, 6), local(CHICAGO, 2026, 6, 2, 9))
    calendar = day_shift(closures=(closure,))

    assert calendar.next_working_at(local(CHICAGO, 2026, 6, 1, 20)) == local(CHICAGO, 2026, 6, 2, 9)


# -- quiet hours --------------------------------------------------------------------------


def quiet(zone: str = CHICAGO) -> WorkingCalendar:
    return day_shift(zone, quiet_hours=(time(22), time(6)))


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(21, False), (22, True), (23, True), (0, True), (5, True), (6, False), (12, False)],
)
def test_quiet_hours_wrap_midnight(hour: int, expected: bool) -> None:
    assert quiet().in_quiet_hours(local(CHICAGO, 2026, 6, 2, hour)) is expected


def test_next_outside_quiet_hours_is_the_next_morning_late_at_night() -> None:
    assert quiet().next_outside_quiet_hours(local(CHICAGO, 2026, 6, 2, 23)) == local(
        CHICAGO, 2026, 6, 3, 6
    )


def test_next_outside_quiet_hours_is_the_same_morning_after_midnight() -> None:
    assert quiet().next_outside_quiet_hours(local(CHICAGO, 2026, 6, 3, 1)) == local(
        CHICAGO, 2026, 6, 3, 6
    )


def test_next_outside_quiet_hours_is_now_during_the_day() -> None:
    at = local(CHICAGO, 2026, 6, 3, 12)

    assert quiet().next_outside_quiet_hours(at) == at


def test_calendar_without_quiet_hours_is_never_quiet() -> None:
    at = local(CHICAGO, 2026, 6, 3, 2)

    assert not day_shift().in_quiet_hours(at)
    assert day_shift().next_outside_quiet_hours(at) == at


def test_quiet_hours_end_at_the_second_pass_of_a_repeated_fall_back_hour() -> None:
    calendar = day_shift(quiet_hours=(time(0), time(1, 30)))
    at = local(CHICAGO, 2026, 11, 1, 1, 0, fold=1)  # 01:00 CST, the second time round

    assert calendar.next_outside_quiet_hours(at) == local(CHICAGO, 2026, 11, 1, 1, 30, fold=1)


def test_quiet_hours_ending_in_the_spring_forward_gap_end_when_the_gap_ends() -> None:
    calendar = day_shift(quiet_hours=(time(22), time(2, 30)))

    ends = calendar.next_outside_quiet_hours(local(CHICAGO, 2026, 3, 8, 1))

    assert ends == local(CHICAGO, 2026, 3, 8, 3)


# -- input rules --------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 6, 1, 9)
    calendar = day_shift()

    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.business_seconds(naive, utc(2026, 6, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.working_intervals(utc(2026, 6, 1), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_working(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        Closure(naive, utc(2026, 6, 2))


def test_aware_datetimes_in_other_zones_come_back_in_utc() -> None:
    at = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo(CHICAGO))

    assert day_shift().next_working_at(at) == utc(2026, 6, 1, 14)
    assert day_shift().next_working_at(at).tzinfo is UTC


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkingCalendar("Mars/Olympus_Mons", ())


# -- validate_shifts ----------------------------------------------------------------------


def test_a_three_shift_pattern_is_valid() -> None:
    shifts = [
        Shift("Day", WEEKDAYS, time(6), time(14)),
        Shift("Swing", WEEKDAYS, time(14), time(22)),
        Shift("Night", WEEKDAYS, time(22), time(6)),
    ]

    assert validate_shifts(shifts) == []


def test_shifts_overlapping_on_the_same_day_are_rejected() -> None:
    shifts = [
        Shift("Day", WEEKDAYS, time(6), time(14)),
        Shift("Swing", frozenset({2}), time(13), time(21)),
    ]

    errors = validate_shifts(shifts)

    assert [e.loc for e in errors] == [("shifts", 1, "start")]
    assert '"Swing" (Wednesday 13:00–21:00)' in errors[0].msg
    assert '"Day" (Wednesday 06:00–14:00)' in errors[0].msg


def test_overnight_shift_running_into_the_next_mornings_shift_is_rejected() -> None:
    shifts = [
        Shift("Night", frozenset({0}), time(22), time(6)),
        Shift("Early", frozenset({1}), time(5), time(13)),
    ]

    errors = validate_shifts(shifts)

    assert [e.loc for e in errors] == [("shifts", 1, "start")]
    assert '"Early" (Tuesday 05:00–13:00)' in errors[0].msg
    assert '"Night" (Monday 22:00–06:00 next day)' in errors[0].msg


def test_sunday_night_shift_running_into_monday_is_rejected() -> None:
    shifts = [
        Shift("Monday early", frozenset({0}), time(5), time(13)),
        Shift("Sunday night", frozenset({6}), time(22), time(6)),
    ]

    errors = validate_shifts(shifts)

    assert [e.loc for e in errors] == [("shifts", 1, "start")]
    assert "Sunday 22:00–06:00 next day" in errors[0].msg
    assert "Monday 05:00–13:00" in errors[0].msg


def test_night_shift_ending_as_the_morning_shift_starts_is_valid() -> None:
    shifts = [
        Shift("Night", EVERY_DAY, time(22), time(6)),
        Shift("Day", EVERY_DAY, time(6), time(22)),
    ]

    assert validate_shifts(shifts) == []


def test_shift_without_days_is_rejected() -> None:
    errors = validate_shifts([Shift("Ghost", frozenset(), time(8), time(16))])

    assert [e.loc for e in errors] == [("shifts", 0, "days")]
    assert "Ghost" in errors[0].msg


def test_shift_with_a_day_outside_the_week_is_rejected() -> None:
    errors = validate_shifts([Shift("Odd", frozenset({7}), time(8), time(16))])

    assert [e.loc for e in errors] == [("shifts", 0, "days")]


def test_validate_shifts_puts_errors_under_the_given_location() -> None:
    shifts = [Shift("A", WEEKDAYS, time(8), time(16)), Shift("B", WEEKDAYS, time(9), time(10))]

    errors = validate_shifts(shifts, loc=("body", "calendar", "shifts"))

    assert [e.loc for e in errors] == [("body", "calendar", "shifts", 1, "start")]


def test_every_overlapping_pair_is_reported() -> None:
    shifts = [
        Shift("A", WEEKDAYS, time(8), time(16)),
        Shift("B", WEEKDAYS, time(9), time(10)),
        Shift("C", WEEKDAYS, time(15), time(17)),
    ]

    errors = validate_shifts(shifts)

    assert [e.loc for e in errors] == [("shifts", 1, "start"), ("shifts", 2, "start")]


# -- properties ---------------------------------------------------------------------------

CALENDARS = [
    day_shift(
        holidays=frozenset({date(2026, 7, 3), date(2026, 11, 26)}),
        closures=(Closure(utc(2026, 3, 10, 15), utc(2026, 3, 12, 18), "retooling"),),
    ),
    night_shift(CHICAGO),
    WorkingCalendar(
        BERLIN,
        (
            Shift("Früh", WEEKDAYS, time(6), time(14)),
            Shift("Spät", WEEKDAYS, time(14), time(22)),
            Shift("Nacht", frozenset({0, 1, 2, 3, 6}), time(22), time(6)),
        ),
        holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26)}),
    ),
    WorkingCalendar(
        "Australia/Sydney",
        (Shift("Odd hours", frozenset({1, 3, 5}), time(2, 15), time(3, 45)),),
    ),
    always_open(CHICAGO),
]

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
)
durations = st.floats(min_value=0, max_value=200 * HOUR, allow_nan=False)


@given(calendars, instants, durations)
def test_adding_then_measuring_business_time_gives_it_back(
    calendar: WorkingCalendar, start: datetime, seconds: float
) -> None:
    end = calendar.add_business_seconds(start, seconds)

    assert calendar.business_seconds(start, end) == pytest.approx(seconds, abs=1e-6)


@given(calendars, instants, st.floats(min_value=1e-3, max_value=200 * HOUR))
def test_added_business_time_ends_at_the_earliest_instant(
    calendar: WorkingCalendar, start: datetime, seconds: float
) -> None:
    end = calendar.add_business_seconds(start, seconds)

    assert calendar.business_seconds(start, end - timedelta(microseconds=1)) < seconds


@given(calendars, st.lists(instants, min_size=3, max_size=3).map(sorted))
def test_business_seconds_add_up_over_a_split_point(
    calendar: WorkingCalendar, points: list[datetime]
) -> None:
    a, b, c = points

    whole = calendar.business_seconds(a, c)

    assert whole == pytest.approx(
        calendar.business_seconds(a, b) + calendar.business_seconds(b, c), abs=1e-6
    )


@given(calendars, st.lists(instants, min_size=3, max_size=3).map(sorted))
def test_business_seconds_never_shrink_as_the_window_grows(
    calendar: WorkingCalendar, points: list[datetime]
) -> None:
    a, b, c = points

    assert calendar.business_seconds(a, b) <= calendar.business_seconds(a, c)
    assert calendar.business_seconds(b, c) <= calendar.business_seconds(a, c)


@given(calendars, instants, st.integers(min_value=0, max_value=20 * 24 * 60))
def test_working_intervals_are_sorted_separate_clipped_and_sum_to_business_time(
    calendar: WorkingCalendar, start: datetime, minutes: int
) -> None:
    end = start + timedelta(minutes=minutes)

    intervals = list(calendar.working_intervals(start, end))

    assert all(start <= a < b <= end for a, b in intervals)
    assert all(b1 < a2 for (_, b1), (a2, _) in pairwise(intervals))
    total = sum((b - a).total_seconds() for a, b in intervals)
    assert total == pytest.approx(calendar.business_seconds(start, end), abs=1e-6)
    assert all(calendar.is_working(a) and not calendar.is_working(b) for a, b in intervals[:-1])


@given(calendars, instants)
def test_next_working_at_is_working_and_nothing_before_it_is(
    calendar: WorkingCalendar, at: datetime
) -> None:
    found = calendar.next_working_at(at)

    assert found >= at
    assert calendar.is_working(found)
    assert calendar.business_seconds(at, found) == 0


shift_patterns = st.lists(
    st.builds(
        Shift,
        name=st.just("s"),
        days=st.frozensets(st.integers(0, 6), min_size=1),
        start=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
        end=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(
    shift_patterns,
    st.sampled_from(["UTC", "Asia/Kolkata"]),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    st.frozensets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 1, 3)), max_size=40),
)
def test_business_seconds_match_a_minute_by_minute_count_in_zones_without_dst(
    shifts: list[Shift], zone: str, day: date, holidays: frozenset[date]
) -> None:
    calendar = WorkingCalendar(zone, tuple(shifts), holidays=holidays)
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)

    def working(at: datetime) -> bool:
        wall = at.astimezone(tz).replace(tzinfo=None)
        for shift in shifts:
            for begun in (wall.date(), wall.date() - timedelta(days=1)):
                if begun.weekday() not in shift.days or begun in holidays:
                    continue
                opens = datetime.combine(begun, shift.start)
                closes = datetime.combine(begun + timedelta(days=shift.overnight), shift.end)
                if opens <= wall < closes:
                    return True
        return False

    minutes = sum(working(start + timedelta(minutes=m)) for m in range(2 * 24 * 60))

    assert calendar.business_seconds(start, start + timedelta(days=2)) == minutes * 60


def test_reaching_more_working_time_than_the_horizon_holds_is_none() -> None:
    # One minute a week: about 261 minutes in the five-year search horizon.
    calendar = WorkingCalendar("UTC", (Shift("Blink", frozenset({0}), time(6), time(6, 1)),))

    assert calendar.reach_business_seconds(utc(2026, 1, 1), 300 * 60) is None
    assert calendar.reach_business_seconds(utc(2026, 1, 1), 60) == utc(2026, 1, 5, 6, 1)
