"""The SLA clock: business time used, paused and left, due times, breaches and explanations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.calendars.hours import Closure, Shift, WorkingCalendar, always_open
from andon.processes.sla import Pause, due_at, format_business_duration, read_clock

CHICAGO = "America/Chicago"
BERLIN = "Europe/Berlin"
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
HOUR = 3600.0
MINUTE = 60.0


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def chicago(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(CHICAGO, year, month, day, hour, minute)


def plant(
    *, holidays: frozenset[date] = frozenset(), closures: tuple[Closure, ...] = ()
) -> WorkingCalendar:
    """Chicago plant, one day shift Monday to Friday 08:00–17:00."""
    return WorkingCalendar(
        CHICAGO,
        (Shift("Day", WEEKDAYS, time(8), time(17)),),
        holidays=holidays,
        closures=closures,
    )


# 23–27 November 2026 is Monday to Friday; Thanksgiving is Thursday 26 November.
MONDAY_9 = chicago(2026, 11, 23, 9)


def test_running_clock_reports_due_time_used_and_remaining() -> None:
    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 23, 12),
    )

    assert reading.business_seconds_used == 3 * HOUR
    assert reading.business_seconds_remaining == 5 * HOUR
    assert reading.due_at == chicago(2026, 11, 23, 17)
    assert reading.projected_due_at == reading.due_at
    assert not reading.breached
    assert reading.breached_at is None
    assert not reading.paused


def test_sla_clock_skips_holiday() -> None:
    calendar = plant(holidays=frozenset({date(2026, 11, 26)}))
    started = chicago(2026, 11, 25, 13)  # Wednesday, 4h before the end of the shift

    reading = read_clock(
        calendar, target_seconds=6 * HOUR, started_at=started, pauses=[], now=started
    )

    assert reading.due_at == chicago(2026, 11, 27, 10)


def test_sla_clock_skips_closure() -> None:
    closure = Closure(chicago(2026, 11, 24, 8), chicago(2026, 11, 24, 12), "power outage")
    calendar = plant(closures=(closure,))

    reading = read_clock(
        calendar, target_seconds=10 * HOUR, started_at=MONDAY_9, pauses=[], now=MONDAY_9
    )

    # Monday 8h, then Tuesday from 12:00 (after the closure): 2h more.
    assert reading.due_at == chicago(2026, 11, 24, 14)


def test_clock_of_an_item_created_outside_working_hours_starts_at_the_next_shift() -> None:
    created = chicago(2026, 11, 21, 11)  # Saturday

    reading = read_clock(
        plant(),
        target_seconds=2 * HOUR,
        started_at=created,
        pauses=[],
        now=chicago(2026, 11, 23, 7),
    )

    assert reading.business_seconds_used == 0
    assert reading.due_at == chicago(2026, 11, 23, 10)


def test_pause_spanning_a_shift_end_counts_only_working_time_as_paused() -> None:
    pause = Pause(chicago(2026, 11, 23, 16), chicago(2026, 11, 24, 9), "waiting for parts")

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 24, 10),
    )

    # Paused 16:00–17:00 Monday and 08:00–09:00 Tuesday; the night is not business time.
    assert reading.business_seconds_paused == 2 * HOUR
    assert reading.business_seconds_used == 7 * HOUR + 1 * HOUR
    assert reading.due_at == chicago(2026, 11, 24, 10)


def test_overlapping_pauses_and_a_pause_begun_before_the_start_are_merged_and_clipped() -> None:
    pauses = [
        Pause(chicago(2026, 11, 23, 8), chicago(2026, 11, 23, 10)),  # began before the start
        Pause(chicago(2026, 11, 23, 12), chicago(2026, 11, 23, 14)),
        Pause(chicago(2026, 11, 23, 13), chicago(2026, 11, 23, 15)),
    ]

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=pauses,
        now=chicago(2026, 11, 23, 17),
    )

    assert reading.business_seconds_paused == 1 * HOUR + 3 * HOUR
    assert reading.business_seconds_used == 8 * HOUR - 4 * HOUR


def test_paused_clock_has_no_due_time_but_projects_one_from_now() -> None:
    pause = Pause(chicago(2026, 11, 23, 11), None, "waiting for parts")

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 15),
    )

    assert reading.paused
    assert reading.due_at is None
    assert reading.business_seconds_used == 2 * HOUR
    assert reading.business_seconds_paused == 4 * HOUR
    # 6h left; resuming at 15:00 Monday gives 2h Monday and 4h Tuesday.
    assert reading.projected_due_at == chicago(2026, 11, 24, 12)


def test_pause_ending_in_the_future_keeps_the_clock_paused_now() -> None:
    pause = Pause(chicago(2026, 11, 23, 11), chicago(2026, 11, 23, 16))

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 12),
    )

    assert reading.paused
    assert reading.due_at is None


def test_pause_beginning_after_now_is_ignored() -> None:
    pause = Pause(chicago(2026, 11, 23, 14), None)

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 12),
    )

    assert not reading.paused
    assert reading.due_at == chicago(2026, 11, 23, 17)


def test_breached_clock_reports_the_instant_the_target_was_reached() -> None:
    reading = read_clock(
        plant(),
        target_seconds=4 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 23, 15),
    )

    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 13)
    assert reading.due_at == reading.breached_at
    assert reading.business_seconds_remaining == -2 * HOUR


def test_clock_reaching_its_target_at_the_end_of_a_shift_is_due_then() -> None:
    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 23, 20),
    )

    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 17)
    assert reading.business_seconds_remaining == 0


def test_clock_is_breached_at_the_due_instant_itself() -> None:
    reading = read_clock(
        plant(), target_seconds=HOUR, started_at=MONDAY_9, pauses=[], now=chicago(2026, 11, 23, 10)
    )

    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 10)


def test_breach_reached_before_a_pause_stays_a_breach_while_paused() -> None:
    pause = Pause(chicago(2026, 11, 23, 12), None, "on hold")

    reading = read_clock(
        plant(),
        target_seconds=2 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 15),
    )

    assert reading.paused
    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 11)
    assert reading.due_at == reading.breached_at


def test_stopped_clock_within_target_is_met_and_stops_counting() -> None:
    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 14),
    )

    assert reading.business_seconds_used == 5 * HOUR
    assert not reading.breached
    assert not reading.paused


def test_stopped_clock_past_its_target_is_breached() -> None:
    reading = read_clock(
        plant(),
        target_seconds=4 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 14),
    )

    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 13)
    assert reading.business_seconds_used == 5 * HOUR


def test_work_finished_exactly_on_the_due_instant_is_on_time() -> None:
    reading = read_clock(
        plant(),
        target_seconds=4 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 13),
    )

    assert not reading.breached
    assert reading.business_seconds_remaining == 0


def test_work_finished_out_of_hours_after_the_due_instant_is_late() -> None:
    # Due at 17:00 Monday, the end of the shift; finished at 19:00 that evening.
    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 19),
    )

    assert reading.breached
    assert reading.breached_at == chicago(2026, 11, 23, 17)


def test_pause_still_open_when_the_clock_stops_ends_with_it() -> None:
    pause = Pause(chicago(2026, 11, 23, 11), None)

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 13),
    )

    assert not reading.paused
    assert reading.business_seconds_paused == 2 * HOUR
    assert reading.business_seconds_used == 2 * HOUR


def test_zero_target_is_breached_from_the_start() -> None:
    reading = read_clock(
        plant(), target_seconds=0, started_at=MONDAY_9, pauses=[], now=chicago(2026, 11, 23, 10)
    )

    assert reading.breached
    assert reading.breached_at == MONDAY_9


def test_clock_over_spring_forward_night_shift_runs_seven_real_hours() -> None:
    calendar = WorkingCalendar(CHICAGO, (Shift("Night", EVERY_DAY, time(22), time(6)),))
    started = chicago(2026, 3, 7, 22)

    reading = read_clock(
        calendar, target_seconds=8 * HOUR, started_at=started, pauses=[], now=started
    )

    # 7h that night (22:00 CST to 06:00 CDT), the last hour the next night.
    assert reading.due_at == chicago(2026, 3, 8, 23)


def test_clock_over_fall_back_night_shift_runs_nine_real_hours() -> None:
    calendar = WorkingCalendar(CHICAGO, (Shift("Night", EVERY_DAY, time(22), time(6)),))
    started = chicago(2026, 10, 31, 22)

    reading = read_clock(
        calendar, target_seconds=8 * HOUR, started_at=started, pauses=[], now=started
    )

    # Eight real hours end at 05:00 CST, an hour before the shift ends on the wall clock.
    assert reading.due_at == chicago(2026, 11, 1, 5)


def test_clock_in_berlin_across_the_spring_change() -> None:
    calendar = WorkingCalendar(BERLIN, (Shift("Nacht", EVERY_DAY, time(22), time(6)),))
    started = local(BERLIN, 2026, 3, 28, 22)

    reading = read_clock(
        calendar, target_seconds=8 * HOUR, started_at=started, pauses=[], now=started
    )

    assert reading.due_at == local(BERLIN, 2026, 3, 29, 23)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read_clock(
            plant(),
            target_seconds=HOUR,
            started_at=datetime(2026, 11, 23, 9),
            pauses=[],
            now=MONDAY_9,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 11, 23, 9), None)


def test_negative_target_is_refused() -> None:
    with pytest.raises(ValueError, match="target_seconds"):
        read_clock(plant(), target_seconds=-1, started_at=MONDAY_9, pauses=[], now=MONDAY_9)


def test_due_at_is_the_readings_due_time() -> None:
    assert due_at(
        plant(), target_seconds=2 * HOUR, started_at=MONDAY_9, pauses=[], now=MONDAY_9
    ) == chicago(2026, 11, 23, 11)


# -- explanations -------------------------------------------------------------------------


def test_explanation_of_a_running_clock_names_due_time_in_the_plant_zone() -> None:
    pause = Pause(chicago(2026, 11, 23, 11), chicago(2026, 11, 23, 11, 45), "waiting for parts")

    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 12, 57),
    )

    assert reading.explanation == (
        "Due Tue 24 Nov 08:45 CST: 8h 00m of business time, 3h 12m used, "
        "45m paused (waiting for parts). Breaches in 4h 48m of working time."
    )


def test_explanation_of_a_paused_clock_says_how_much_is_left() -> None:
    pause = Pause(chicago(2026, 11, 23, 11), None, "waiting for parts")

    reading = read_clock(
        plant(),
        target_seconds=4 * HOUR + 10 * MINUTE,
        started_at=MONDAY_9,
        pauses=[pause],
        now=chicago(2026, 11, 23, 15),
    )

    assert reading.explanation == (
        "Clock stopped: paused since Mon 23 Nov 11:00 CST (waiting for parts); "
        "2h 10m left when it resumes."
    )


def test_explanation_of_a_breached_clock_says_when_and_by_how_much() -> None:
    reading = read_clock(
        plant(),
        target_seconds=4 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 23, 15),
    )

    assert reading.explanation == (
        "Breached at Mon 23 Nov 13:00 CST after 4h 00m of business time; 2h 00m over so far."
    )


def test_explanation_of_a_met_clock_says_how_much_was_to_spare() -> None:
    reading = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 27, 12),
        stopped_at=chicago(2026, 11, 23, 14),
    )

    assert reading.explanation == (
        "Met: stopped Mon 23 Nov 14:00 CST with 5h 00m of 8h 00m business time used; "
        "3h 00m to spare."
    )


def test_explanation_shows_daylight_time_abbreviation_in_summer() -> None:
    started = chicago(2026, 6, 1, 9)

    reading = read_clock(plant(), target_seconds=HOUR, started_at=started, pauses=[], now=started)

    assert reading.explanation.startswith("Due Mon 1 Jun 10:00 CDT:")


def test_explanation_names_the_year_when_the_due_time_is_in_another_year() -> None:
    started = chicago(2026, 12, 31, 16)

    reading = read_clock(
        plant(), target_seconds=2 * HOUR, started_at=started, pauses=[], now=started
    )

    assert reading.explanation.startswith("Due Fri 1 Jan 2027 09:00 CST:")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0m"),
        (29, "0m"),
        (30, "1m"),
        (45 * MINUTE, "45m"),
        (2 * HOUR + 5 * MINUTE, "2h 05m"),
        (26 * HOUR + 5 * MINUTE, "26h 05m"),
        (8 * HOUR, "8h 00m"),
        (59 * MINUTE + 45, "1h 00m"),
        (-(HOUR + 10 * MINUTE), "-1h 10m"),
    ],
)
def test_business_durations_read_in_hours_and_minutes(seconds: float, shown: str) -> None:
    assert format_business_duration(seconds) == shown


# -- properties ---------------------------------------------------------------------------

CALENDARS = [
    plant(holidays=frozenset({date(2026, 11, 26)})),
    WorkingCalendar(CHICAGO, (Shift("Night", EVERY_DAY, time(22), time(6)),)),
    always_open(BERLIN),
]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
offsets = st.integers(min_value=0, max_value=365 * 24 * 60).map(
    lambda m: BASE + timedelta(minutes=m)
)
pause_lists = st.lists(
    st.tuples(
        st.integers(min_value=-3 * 24 * 60, max_value=20 * 24 * 60),
        st.one_of(st.none(), st.integers(min_value=1, max_value=5 * 24 * 60)),
    ),
    max_size=4,
)


def build_pauses(started: datetime, raw: list[tuple[int, int | None]]) -> list[Pause]:
    return [
        Pause(
            started + timedelta(minutes=begin),
            None if length is None else started + timedelta(minutes=begin + length),
        )
        for begin, length in raw
    ]


@given(
    st.sampled_from(CALENDARS),
    offsets,
    st.integers(min_value=0, max_value=30 * 24 * 60),
    st.floats(min_value=0, max_value=100 * HOUR),
    pause_lists,
)
def test_used_and_remaining_always_make_the_target(
    calendar: WorkingCalendar,
    started: datetime,
    elapsed_minutes: int,
    target: float,
    raw_pauses: list[tuple[int, int | None]],
) -> None:
    now = started + timedelta(minutes=elapsed_minutes)

    reading = read_clock(
        calendar,
        target_seconds=target,
        started_at=started,
        pauses=build_pauses(started, raw_pauses),
        now=now,
    )

    assert reading.business_seconds_used + reading.business_seconds_remaining == pytest.approx(
        target, abs=1e-6
    )
    assert reading.business_seconds_used + reading.business_seconds_paused == pytest.approx(
        calendar.business_seconds(started, now), abs=1e-6
    )
    assert reading.breached == (reading.breached_at is not None)


@given(
    st.sampled_from(CALENDARS),
    offsets,
    st.integers(min_value=0, max_value=30 * 24 * 60),
    st.floats(min_value=1, max_value=100 * HOUR),
)
def test_without_pauses_the_due_time_is_the_start_plus_the_target(
    calendar: WorkingCalendar, started: datetime, elapsed_minutes: int, target: float
) -> None:
    now = started + timedelta(minutes=elapsed_minutes)

    reading = read_clock(calendar, target_seconds=target, started_at=started, pauses=[], now=now)

    assert reading.due_at == calendar.add_business_seconds(started, target)
    assert reading.breached == (reading.due_at <= now)


def blink() -> WorkingCalendar:
    """One working minute a week: far less than a long SLA within the search horizon."""
    return WorkingCalendar(CHICAGO, (Shift("Blink", frozenset({0}), time(6), time(6, 1)),))


def test_clock_on_a_calendar_too_sparse_to_reach_the_target_has_no_due_time() -> None:
    reading = read_clock(
        blink(), target_seconds=40 * HOUR, started_at=MONDAY_9, pauses=[], now=MONDAY_9
    )

    assert (reading.due_at, reading.projected_due_at) == (None, None)
    assert not reading.breached
    assert reading.business_seconds_remaining == 40 * HOUR
    assert reading.explanation.startswith("No due time: 40h 00m of business time, 0m used")
    assert "working time within 1830 days" in reading.explanation


def test_paused_clock_on_a_calendar_too_sparse_projects_no_due_time() -> None:
    reading = read_clock(
        blink(),
        target_seconds=40 * HOUR,
        started_at=MONDAY_9,
        pauses=[Pause(MONDAY_9, None, "Waiting for parts")],
        now=MONDAY_9 + timedelta(hours=1),
    )

    assert reading.paused
    assert (reading.due_at, reading.projected_due_at) == (None, None)
    assert reading.explanation.endswith("40h 00m left when it resumes.")


def test_stopped_clock_says_when_it_stopped_and_a_running_one_does_not() -> None:
    finished = chicago(2026, 11, 23, 11)
    stopped = read_clock(
        plant(),
        target_seconds=8 * HOUR,
        started_at=MONDAY_9,
        pauses=[],
        now=chicago(2026, 11, 23, 15),
        stopped_at=finished,
    )
    running = read_clock(
        plant(), target_seconds=8 * HOUR, started_at=MONDAY_9, pauses=[], now=finished
    )

    assert stopped.stopped_at == finished
    assert stopped.business_seconds_used == 2 * HOUR
    assert running.stopped_at is None
