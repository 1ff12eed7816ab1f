"""Holiday lists: generated per country and read from CSV or iCalendar files."""

from __future__ import annotations

from datetime import date

import pytest

from andon.calendars.holidays import country_holidays, parse_holiday_file
from andon.core.errors import FieldError, InvalidInput


def errors_of(text: str) -> list[FieldError]:
    with pytest.raises(InvalidInput) as caught:
        parse_holiday_file(text)
    errors: list[FieldError] = caught.value.errors
    return errors


# -- country holidays ---------------------------------------------------------------------


def test_us_2026_has_independence_day_and_its_observed_friday() -> None:
    days = country_holidays("US", [2026])

    # 4 July 2026 is a Saturday; the library also lists the observed Friday.
    assert days[date(2026, 7, 4)] == "Independence Day"
    assert days[date(2026, 7, 3)] == "Independence Day (observed)"


def test_country_holidays_cover_every_year_asked_for_in_date_order() -> None:
    days = country_holidays("US", [2027, 2026])

    assert date(2026, 12, 25) in days
    assert date(2027, 12, 25) in days
    assert list(days) == sorted(days)


def test_country_and_subdivision_codes_ignore_case() -> None:
    days = country_holidays("us", [2026], subdivision="ca")

    assert days[date(2026, 3, 31)] == "Cesar Chavez Day"


def test_subdivision_adds_regional_holidays() -> None:
    assert date(2026, 1, 6) not in country_holidays("DE", [2026])
    assert country_holidays("DE", [2026], "BY")[date(2026, 1, 6)] == "Epiphany"


def test_unknown_country_is_invalid_input_on_the_country_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        country_holidays("XX", [2026])

    assert [e.loc for e in caught.value.errors] == [("country",)]
    assert "XX" in caught.value.errors[0].msg


def test_unknown_subdivision_is_invalid_input_listing_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        country_holidays("NL", [2026], subdivision="ZZ")

    assert [e.loc for e in caught.value.errors] == [("subdivision",)]
    assert "Midden, Noord, Zuid" in caught.value.errors[0].msg


def test_year_far_outside_the_plant_horizon_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        country_holidays("US", [1800])

    assert [e.loc for e in caught.value.errors] == [("years",)]


# -- CSV ----------------------------------------------------------------------------------


def test_csv_holidays_are_read_by_date() -> None:
    text = 'date,name\n2026-12-24,Christmas Eve\n2026-12-31,"New Year\'s Eve, half day"\n'

    assert parse_holiday_file(text) == {
        date(2026, 12, 24): "Christmas Eve",
        date(2026, 12, 31): "New Year's Eve, half day",
    }


def test_csv_from_a_spreadsheet_with_bom_blank_lines_and_crlf_is_read() -> None:
    text = "\ufeffDate, Name\r\n\r\n2026-07-03 , Plant shutdown\r\n"

    assert parse_holiday_file(text) == {date(2026, 7, 3): "Plant shutdown"}


def test_csv_two_holidays_on_one_date_are_joined() -> None:
    text = "date,name\n2026-12-25,Christmas Day\n2026-12-25,Plant shutdown\n"

    assert parse_holiday_file(text) == {date(2026, 12, 25): "Christmas Day; Plant shutdown"}


def test_csv_with_only_a_header_has_no_holidays() -> None:
    assert parse_holiday_file("date,name\n") == {}


def test_csv_bad_lines_are_each_reported_and_nothing_is_returned() -> None:
    text = (
        "date,name\n"
        "2026-12-24,Christmas Eve\n"
        "24/12/2026,Christmas Eve\n"
        "2026-02-30,Not a day\n"
        "2026-12-31\n"
        "2026-12-26,\n"
    )

    errors = errors_of(text)

    assert [e.loc for e in errors] == [("line", 3), ("line", 4), ("line", 5), ("line", 6)]
    assert "'24/12/2026' is not a date" in errors[0].msg
    assert "expected 2 values" in errors[2].msg
    assert "needs a name" in errors[3].msg


def test_csv_without_the_header_is_refused() -> None:
    errors = errors_of("2026-12-24,Christmas Eve\n")

    assert errors == [FieldError(("line", 1), 'expected the header "date,name"')]


def test_empty_file_is_refused() -> None:
    errors = errors_of("  \n")

    assert [e.loc for e in errors] == [("line", 1)]
    assert "empty" in errors[0].msg


# -- iCalendar ----------------------------------------------------------------------------

ICS_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Plant//Holidays//EN\r\n"
ICS_TAIL = "END:VCALENDAR\r\n"


def ics(*events: str) -> str:
    return ICS_HEAD + "".join(events) + ICS_TAIL


def event(*lines: str) -> str:
    return "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n"


def test_ics_all_day_event_gives_its_summary_to_its_date() -> None:
    text = ics(event("UID:1", "DTSTART;VALUE=DATE:20261225", "SUMMARY:Christmas Day"))

    assert parse_holiday_file(text) == {date(2026, 12, 25): "Christmas Day"}


def test_ics_multi_day_event_covers_each_date_up_to_its_exclusive_end() -> None:
    text = ics(
        event(
            "DTSTART;VALUE=DATE:20261224",
            "DTEND;VALUE=DATE:20261227",
            "SUMMARY:Winter shutdown",
        )
    )

    assert parse_holiday_file(text) == {
        date(2026, 12, 24): "Winter shutdown",
        date(2026, 12, 25): "Winter shutdown",
        date(2026, 12, 26): "Winter shutdown",
    }


def test_ics_event_with_a_duration_in_days_covers_each_date() -> None:
    text = ics(event("DTSTART;VALUE=DATE:20260803", "DURATION:P2D", "SUMMARY:Retooling"))

    assert sorted(parse_holiday_file(text)) == [date(2026, 8, 3), date(2026, 8, 4)]


def test_ics_folded_and_escaped_summary_is_unfolded_and_unescaped() -> None:
    text = ics(
        event(
            "DTSTART;VALUE=DATE:20260907",
            "SUMMARY:Labor Day\\, plant",
            "  closed",  # folding drops the first space only
            "BEGIN:VALARM",
            "SUMMARY:Reminder",
            "TRIGGER:-P1D",
            "END:VALARM",
        )
    )

    assert parse_holiday_file(text) == {date(2026, 9, 7): "Labor Day, plant closed"}


def test_ics_cancelled_event_is_skipped() -> None:
    text = ics(
        event("DTSTART;VALUE=DATE:20260907", "SUMMARY:Labor Day", "STATUS:CANCELLED"),
        event("DTSTART;VALUE=DATE:20261126", "SUMMARY:Thanksgiving"),
    )

    assert parse_holiday_file(text) == {date(2026, 11, 26): "Thanksgiving"}


def test_ics_bad_events_are_each_reported_by_line_and_nothing_is_returned() -> None:
    text = ics(
        event("DTSTART;VALUE=DATE:20261225", "SUMMARY:Christmas Day"),  # lines 4-7, fine
        event("DTSTART:20261226T090000Z", "SUMMARY:Timed"),  # DTSTART on line 9
        event("DTSTART;VALUE=DATE:20261231"),  # BEGIN on line 12, no SUMMARY
        event("DTSTART;VALUE=DATE:20260110", "DTEND;VALUE=DATE:20260109", "SUMMARY:Backwards"),
        event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY", "SUMMARY:New Year"),
        "this is not iCalendar\r\n",
    )

    errors = errors_of(text)

    assert [e.loc for e in errors] == [
        ("line", 9),
        ("line", 12),
        ("line", 17),
        ("line", 22),
        ("line", 25),
    ]
    assert "not an all-day date" in errors[0].msg
    assert "no SUMMARY" in errors[1].msg
    assert "DTEND must be after DTSTART" in errors[2].msg
    assert "RRULE" in errors[3].msg
    assert "not an iCalendar line" in errors[4].msg


def test_ics_event_left_open_is_reported() -> None:
    text = ICS_HEAD + "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:X\r\n"

    errors = errors_of(text)

    assert [e.loc for e in errors] == [("line", 4)]
    assert "never closed" in errors[0].msg


def test_ics_event_longer_than_a_year_is_refused() -> None:
    text = ics(event("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20280101", "SUMMARY:Forever"))

    errors = errors_of(text)

    assert [e.loc for e in errors] == [("line", 5)]
    assert "spans 730 days" in errors[0].msg
