from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import InvalidInput
from andon.metrics.periods import (
    Period,
    next_period,
    parse_period,
    period_bounds,
    period_containing,
    periods_between,
    previous_period,
)

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("kind", "key", "first"),
    [
        ("day", "2026-11-23", date(2026, 11, 23)),
        ("week", "2026-W47", date(2026, 11, 16)),
        ("month", "2026-11", date(2026, 11, 1)),
        ("shift", "2026-11-23/A", date(2026, 11, 23)),
    ],
)
def test_a_key_reads_and_writes_back(kind, key, first):
    period = parse_period(kind, key)
    assert period.first == first
    assert period.key == key


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("day", "2026-02-30"),
        ("day", "2026-1-5"),
        ("week", "2026-W00"),
        ("week", "2025-W53"),  # 2025 has 52 ISO weeks
        ("week", "2026-47"),
        ("month", "2026-13"),
        ("month", "2026-11-01"),
        ("shift", "2026-11-23"),
        ("shift", "2026-11-23/"),
        ("shift", "2026-11-23/A/B"),
    ],
)
def test_a_bad_key_is_refused_naming_the_period_field(kind, key):
    with pytest.raises(InvalidInput) as caught:
        parse_period(kind, key)
    assert caught.value.errors[0].loc == ("period",)
    assert key in caught.value.errors[0].msg


@pytest.mark.parametrize("year", [2020, 2026])  # years that start on a Thursday, or leap on Wed
def test_week_53_exists_in_a_long_iso_year(year):
    period = parse_period("week", f"{year}-W53")
    assert (period.first, period.last) == (date(year, 12, 28), date(year + 1, 1, 3))
    assert next_period(period).key == f"{year + 1}-W01"
    assert previous_period(parse_period("week", f"{year + 1}-W01")).key == f"{year}-W53"


def test_the_first_days_of_january_can_belong_to_the_previous_iso_year():
    period = period_containing("week", datetime(2027, 1, 2, 12), BERLIN)
    assert period.key == "2026-W53"


def test_an_instant_falls_in_the_local_day_of_the_zone():
    at = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 21:30 the evening before in Chicago
    assert period_containing("day", at, CHICAGO).key == "2026-11-23"
    assert period_containing("day", at, BERLIN).key == "2026-11-24"


def test_a_shift_period_is_named_by_its_start_day():
    at = datetime(2026, 11, 23, 22, 0)
    assert period_containing("shift", at, BERLIN, shift="Night").key == "2026-11-23/Night"


def test_a_shift_period_needs_the_shift_name():
    with pytest.raises(InvalidInput) as caught:
        period_containing("shift", datetime(2026, 11, 23, 22, 0), BERLIN)
    assert caught.value.errors[0].loc == ("shift",)


def test_the_spring_forward_day_in_chicago_lasts_23_hours():
    start, end = period_bounds(parse_period("day", "2026-03-08"), CHICAGO)
    assert start == datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 5, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


def test_the_fall_back_day_in_berlin_lasts_25_hours():
    start, end = period_bounds(parse_period("day", "2026-10-25"), BERLIN)
    assert start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_the_week_holding_a_dst_change_is_one_hour_short():
    start, end = period_bounds(parse_period("week", "2026-W10"), CHICAGO)
    assert end - start == timedelta(days=7, hours=-1)


def test_consecutive_periods_meet_without_gap_or_overlap():
    month = parse_period("month", "2026-01")
    for _ in range(24):
        following = next_period(month)
        assert period_bounds(month, BERLIN)[1] == period_bounds(following, BERLIN)[0]
        month = following
    assert month.key == "2028-01"


def test_a_night_shift_over_the_fall_back_change_lasts_an_hour_longer():
    night = parse_period("shift", "2026-10-31/Night")  # clocks go back at 02:00 on 1 November
    start, end = period_bounds(night, CHICAGO, shift_times=(time(22), time(6)))
    assert start == datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert end - start == timedelta(hours=9)


def test_shift_bounds_need_the_shift_times():
    with pytest.raises(InvalidInput) as caught:
        period_bounds(parse_period("shift", "2026-11-01/A"), CHICAGO)
    assert caught.value.errors[0].loc == ("shift",)


def test_the_shift_after_the_last_of_the_day_is_the_first_of_the_next():
    shifts = ["A", "B", "C"]
    assert next_period(parse_period("shift", "2026-12-31/C"), shifts=shifts).key == "2027-01-01/A"
    assert previous_period(parse_period("shift", "2026-12-31/A"), shifts=shifts).key == (
        "2026-12-30/C"
    )
    assert next_period(parse_period("shift", "2026-12-31/A"), shifts=shifts).key == "2026-12-31/B"


def test_months_step_over_the_year_end_both_ways():
    assert next_period(Period("month", date(2026, 12, 1))).key == "2027-01"
    assert previous_period(Period("month", date(2027, 1, 1))).key == "2026-12"


def test_periods_between_dates_counts_every_touched_period():
    weeks = periods_between("week", date(2026, 11, 22), date(2026, 11, 30))
    assert [p.key for p in weeks] == ["2026-W47", "2026-W48", "2026-W49"]


ZONES = st.sampled_from([CHICAGO, BERLIN, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")])
KINDS = st.sampled_from(["day", "week", "month"])
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@given(kind=KINDS, day=DAYS, zone=ZONES)
def test_a_period_holds_every_instant_of_its_bounds_and_reads_back_from_its_key(kind, day, zone):
    period = period_containing(kind, datetime.combine(day, time(12)), zone)
    start, end = period_bounds(period, zone)
    assert parse_period(kind, period.key) == period
    assert period_containing(kind, start, zone) == period
    assert period_containing(kind, end - timedelta(microseconds=1), zone) == period
    assert period_containing(kind, end, zone) == next_period(period)


@given(kind=KINDS, day=DAYS)
def test_previous_undoes_next(kind, day):
    period = period_containing(kind, datetime.combine(day, time(0)), BERLIN)
    assert previous_period(next_period(period)) == period
