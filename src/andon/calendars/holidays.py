"""Holiday lists: generated for a country (and region) or read from a CSV or iCalendar file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, timedelta

import holidays as holiday_data

from andon.core.errors import FieldError, InvalidInput

MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_EVENT_DAYS = 366
"""Longest multi-day event a holiday file may hold; anything longer is a mistake."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ICS_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ICS_DURATION = re.compile(r"P(?:(\d+)W|(\d+)D)")


def country_holidays(
    country: str, years: Iterable[int], subdivision: str | None = None
) -> dict[date, str]:
    """Public holidays of ``country`` (ISO 3166 code, e.g. "US") in ``years``, sorted by date.

    ``subdivision`` is a state or region code ("CA", "BY"); case does not matter. Two holidays
    on one date come back as one name joined with "; ". Unknown codes raise ``InvalidInput``
    at ``("country",)`` or ``("subdivision",)``; a year outside 1900–2200 at ``("years",)``.
    """
    code = country.strip().upper()
    supported = holiday_data.list_supported_countries()
    if code not in supported:
        msg = f"unknown country code {country!r}; use an ISO 3166 code such as US, DE or MX"
        raise InvalidInput(msg, [FieldError(("country",), msg)])
    wanted = sorted(set(years))
    bad_years = [y for y in wanted if not MIN_YEAR <= y <= MAX_YEAR]
    if bad_years:
        msg = f"years must be between {MIN_YEAR} and {MAX_YEAR}, got {bad_years[0]}"
        raise InvalidInput(msg, [FieldError(("years",), msg)])
    region = None
    if subdivision is not None and subdivision.strip():
        region = _subdivision(code, subdivision.strip(), supported[code])
    found = holiday_data.country_holidays(code, subdiv=region, years=wanted)
    return dict(sorted(found.items()))


def _subdivision(country: str, given: str, known: list[str]) -> str:
    by_upper = {s.upper(): s for s in known}
    if given.upper() in by_upper:
        return by_upper[given.upper()]
    try:  # the library also knows some regions by name ("England")
        holiday_data.country_holidays(country, subdiv=given, years=[])
    except NotImplementedError:
        shown = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
        msg = (
            f"{country} has no subdivision {given!r}; known: {shown}"
            if known
            else f"{country} has no subdivisions; leave it empty"
        )
        raise InvalidInput(msg, [FieldError(("subdivision",), msg)]) from None
    return given


def parse_holiday_file(text: str) -> dict[date, str]:
    """Holidays from a CSV (header ``date,name``, ISO dates) or an iCalendar (.ics) file.

    In iCalendar, each all-day ``VEVENT`` gives its ``SUMMARY`` to every date from ``DTSTART``
    up to ``DTEND`` (exclusive) or ``DURATION``; cancelled events are skipped. Two holidays on
    one date are joined with "; ". Any bad line raises ``InvalidInput`` listing every one as
    ``FieldError(("line", n), ...)`` (1-based); nothing is returned in part.
    """
    text = text.removeprefix("\ufeff")
    if text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        found, errors = _parse_ics(text)
    else:
        found, errors = _parse_csv(text)
    if errors:
        first = errors[0]
        raise InvalidInput(
            f"the holiday file has {len(errors)} bad line(s); line {first.loc[1]}: {first.msg}",
            errors,
        )
    return dict(sorted(found.items()))


def _parse_csv(text: str) -> tuple[dict[date, str], list[FieldError]]:
    found: dict[date, str] = {}
    errors: list[FieldError] = []
    reader = csv.reader(io.StringIO(text))
    header_seen = False
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if not header_seen:
                header_seen = True
                if [c.lower() for c in cells] != ["date", "name"]:
                    errors.append(_line(line, 'expected the header "date,name"'))
                    break
                continue
            if len(cells) != 2:
                errors.append(_line(line, f"expected 2 values (date,name), got {len(cells)}"))
                continue
            raw_day, name = cells
            day = _iso_date(raw_day)
            if day is None:
                errors.append(_line(line, f"{raw_day!r} is not a date like 2026-12-25"))
            elif not name:
                errors.append(_line(line, "the holiday needs a name"))
            else:
                _add(found, day, name)
    except csv.Error as exc:
        errors.append(_line(reader.line_num, f"unreadable CSV: {exc}"))
    if not header_seen and not errors:
        errors.append(_line(1, 'the file is empty; expected the header "date,name"'))
    return found, errors


def _parse_ics(text: str) -> tuple[dict[date, str], list[FieldError]]:
    found: dict[date, str] = {}
    errors: list[FieldError] = []
    components: list[str] = []
    event: dict[str, tuple[int, str, str]] = {}  # property -> (line, parameters, value)
    event_line = 0
    for line, content in _unfold(text):
        if not content.strip():
            continue
        name, params, value = _content_line(content)
        if name is None:
            errors.append(_line(line, "not an iCalendar line (expected NAME:value)"))
            continue
        if name == "BEGIN":
            components.append(value.upper())
            if value.upper() == "VEVENT":
                event, event_line = {}, line
            continue
        if name == "END":
            if not components or components[-1] != value.upper():
                errors.append(_line(line, f"END:{value} without a matching BEGIN"))
                continue
            components.pop()
            if value.upper() == "VEVENT":
                _add_event(found, errors, event, event_line)
            continue
        if components and components[-1] == "VEVENT" and name not in event:
            event[name] = (line, params, value)
    if components:
        errors.append(_line(event_line or 1, f"BEGIN:{components[-1]} is never closed"))
    return found, errors


def _add_event(
    found: dict[date, str],
    errors: list[FieldError],
    event: dict[str, tuple[int, str, str]],
    event_line: int,
) -> None:
    if event.get("STATUS", (0, "", ""))[2].upper() == "CANCELLED":
        return
    if "RRULE" in event:
        line = event["RRULE"][0]
        errors.append(_line(line, "repeating events (RRULE) are not supported; list each date"))
        return
    if "DTSTART" not in event:
        errors.append(_line(event_line, "the event has no DTSTART"))
        return
    if "SUMMARY" not in event or not _unescape(event["SUMMARY"][2]).strip():
        line = event["SUMMARY"][0] if "SUMMARY" in event else event_line
        errors.append(_line(line, "the event has no SUMMARY (holiday name)"))
        return
    start_line, _, start_value = event["DTSTART"]
    first = _ics_date(start_value)
    if first is None:
        errors.append(_line(start_line, f"DTSTART {start_value!r} is not an all-day date"))
        return
    days = 1
    if "DTEND" in event:
        end_line, _, end_value = event["DTEND"]
        end = _ics_date(end_value)
        if end is None:
            errors.append(_line(end_line, f"DTEND {end_value!r} is not an all-day date"))
            return
        days = (end - first).days
        if days < 1:
            errors.append(_line(end_line, "DTEND must be after DTSTART"))
            return
    elif "DURATION" in event:
        duration_line, _, duration_value = event["DURATION"]
        match = _ICS_DURATION.fullmatch(duration_value.strip().upper())
        if match is None or int(match[1] or match[2]) < 1:
            errors.append(_line(duration_line, f"DURATION {duration_value!r} is not whole days"))
            return
        days = int(match[1]) * 7 if match[1] else int(match[2])
    if days > MAX_EVENT_DAYS:
        errors.append(_line(start_line, f"the event spans {days} days; at most {MAX_EVENT_DAYS}"))
        return
    name = _unescape(event["SUMMARY"][2]).strip()
    for offset in range(days):
        _add(found, first + timedelta(days=offset), name)


def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical iCalendar lines with the number of the physical line each starts on."""
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and logical:
            start, content = logical[-1]
            logical[-1] = (start, content + raw[1:])
        else:
            logical.append((number, raw))
    return logical


def _content_line(content: str) -> tuple[str | None, str, str]:
    """(NAME, parameters, value) of ``NAME;PARAM=x:value``; NAME None if malformed."""
    quoted = False
    for index, char in enumerate(content):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = content[:index], content[index + 1 :]
            name, _, params = head.partition(";")
            if not re.fullmatch(r"[A-Za-z0-9-]+", name):
                return None, "", ""
            return name.upper(), params, value
    return None, "", ""


def _ics_date(value: str) -> date | None:
    match = _ICS_DATE.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _iso_date(value: str) -> date | None:
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _add(found: dict[date, str], day: date, name: str) -> None:
    if day not in found:
        found[day] = name
    elif name not in found[day].split("; "):
        found[day] = f"{found[day]}; {name}"


def _line(number: int, msg: str) -> FieldError:
    return FieldError(("line", number), msg)
