"""Metric periods (shift, day, week, month) and their keys, in a site's local time.

Keys: ``2026-11-23`` (day), ``2026-W47`` (ISO week, Monday to Sunday), ``2026-11`` (month)
and ``2026-11-23/A`` (shift A that starts on 23 November). A period is a span of local
calendar days; its UTC bounds are found from local midnights, so a day is 23 or 25 hours
long across a DST change and still tiles the time line without gaps or overlaps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from andon.core.errors import FieldError, InvalidInput

PeriodKind = Literal["shift", "day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = get_args(PeriodKind)

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# A shift name as the calendar stores it: any text up to 60 characters, but no "/" so the
# key splits one way only.
_SHIFT = re.compile(r"^(\d{4}-\d{2}-\d{2})/([^/\s](?:[^/\n]{0,58}[^/\s])?)$")
_EXAMPLES = {"day": "2026-11-23", "week": "2026-W47", "month": "2026-11", "shift": "2026-11-23/A"}


@dataclass(frozen=True, order=True)
class Period:
    """One period: ``first`` is its first local day; ``shift`` names the shift for ``shift``."""

    kind: PeriodKind
    first: date
    shift: str | None = None

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year:04d}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first.year:04d}-{self.first.month:02d}"
        return f"{self.first.isoformat()}/{self.shift}"

    @property
    def last(self) -> date:
        """The last local day the period covers (a shift: the day it starts)."""
        if self.kind == "week":
            return self.first + timedelta(days=6)
        if self.kind == "month":
            return _next_month(self.first) - timedelta(days=1)
        return self.first

    def __str__(self) -> str:
        return self.key


def parse_period(kind: PeriodKind, text: str, *, field: str = "period") -> Period:
    """The period a key names; InvalidInput on ``field`` when it is not a valid ``kind`` key."""
    if kind not in PERIOD_KINDS:
        kinds = ", ".join(PERIOD_KINDS)
        raise _bad(field, f"unknown period kind {kind!r}; expected one of {kinds}")
    value = text.strip() if isinstance(text, str) else ""
    try:
        period = _parse(kind, value)
    except ValueError:  # a well-shaped key naming a day, week or month that does not exist
        period = None
    if period is None:
        raise _bad(field, f"{text!r} is not a {kind} period; write e.g. {_EXAMPLES[kind]!r}")
    return period


def _parse(kind: PeriodKind, value: str) -> Period | None:
    if kind == "day":
        m = _DAY.match(value)
        return Period("day", date(int(m[1]), int(m[2]), int(m[3]))) if m else None
    if kind == "week":
        m = _WEEK.match(value)
        # fromisocalendar refuses week 53 of a year that has only 52.
        return Period("week", date.fromisocalendar(int(m[1]), int(m[2]), 1)) if m else None
    if kind == "month":
        m = _MONTH.match(value)
        return Period("month", date(int(m[1]), int(m[2]), 1)) if m else None
    m = _SHIFT.match(value)
    if not m or not _DAY.match(m[1]):
        return None
    return Period("shift", date.fromisoformat(m[1]), m[2])


def period_containing(
    kind: PeriodKind, at: datetime, zone: ZoneInfo, *, shift: str | None = None
) -> Period:
    """The period holding the instant ``at`` (aware) or local wall time ``at`` (naive) in ``zone``.

    Which shift an instant falls in is the calendar's knowledge, so for ``shift`` the caller
    names it and passes the shift's start: the period is that shift on its starting day.
    """
    local = at.astimezone(zone) if at.tzinfo is not None else at
    day = local.date()
    if kind == "day":
        return Period("day", day)
    if kind == "week":
        return Period("week", day - timedelta(days=day.weekday()))
    if kind == "month":
        return Period("month", day.replace(day=1))
    if kind == "shift":
        if not shift or "/" in shift:
            raise _bad("shift", "a shift period needs the shift's name (without '/')")
        return Period("shift", day, shift.strip())
    raise _bad("period", f"unknown period kind {kind!r}")


def period_bounds(
    period: Period, zone: ZoneInfo, *, shift_times: tuple[time, time] | None = None
) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of ``period`` in ``zone``.

    A shift needs its local ``shift_times`` (start, end); an end at or before the start runs
    into the next day. A wall time that occurs twice in a DST change means its first
    occurrence; one the change skips is read with the offset before it (02:30 on a spring-
    forward night is 03:30), so a midnight that is skipped starts the day at the change's
    instant. One wall time always maps to one instant, so consecutive periods meet.
    """
    if period.kind == "shift":
        if shift_times is None:
            raise _bad("shift", "the bounds of a shift period need the shift's start and end")
        start, end = shift_times
        end_day = period.first + timedelta(days=1) if end <= start else period.first
        return _utc(period.first, start, zone), _utc(end_day, end, zone)
    return (
        _utc(period.first, time(0), zone),
        _utc(period.last + timedelta(days=1), time(0), zone),
    )


def next_period(period: Period, *, shifts: Sequence[str] = ()) -> Period:
    """The period after ``period``; for shifts, ``shifts`` lists one day's shift names in order."""
    return _step(period, 1, shifts)


def previous_period(period: Period, *, shifts: Sequence[str] = ()) -> Period:
    """The period before ``period``; for shifts, as :func:`next_period`."""
    return _step(period, -1, shifts)


def periods_between(kind: PeriodKind, first: date, last: date) -> list[Period]:
    """The day, week or month periods that hold any day from ``first`` to ``last`` inclusive."""
    if kind == "shift":
        raise _bad("period", "shift periods come from the site's calendar, not from dates alone")
    if last < first:
        return []
    current = period_containing(kind, datetime.combine(first, time(0)), ZoneInfo("UTC"))
    found = []
    while current.first <= last:
        found.append(current)
        current = next_period(current)
    return found


def _step(period: Period, direction: int, shifts: Sequence[str]) -> Period:
    if period.kind == "day":
        return Period("day", period.first + timedelta(days=direction))
    if period.kind == "week":
        return Period("week", period.first + timedelta(weeks=direction))
    if period.kind == "month":
        if direction > 0:
            return Period("month", _next_month(period.first))
        return Period("month", (period.first - timedelta(days=1)).replace(day=1))
    names = list(shifts)
    if period.shift not in names:
        raise _bad("shift", f"shift {period.shift!r} is not one of the day's shifts {names}")
    index = names.index(period.shift) + direction
    day = period.first + timedelta(days=index // len(names))
    return Period("shift", day, names[index % len(names)])


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time is its first occurrence, a skipped one takes the offset
    # from before the change.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _bad(field: str, msg: str) -> InvalidInput:
    return InvalidInput(f"{field}: {msg}", [FieldError((field,), msg, "invalid_period")])
