"""Working time of a site: weekly shifts, holidays, closures and quiet hours, exact across DST.

Everything here is pure: no I/O, no database. Public instants are timezone-aware and come back
in UTC; shifts and quiet hours are local wall-clock times in the calendar's IANA zone. A local
time that does not exist (the spring-forward gap) means the first instant after the gap; an
ambiguous one (the fall-back hour) means its first occurrence.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andon.core.errors import FieldError

SEARCH_HORIZON = timedelta(days=5 * 366)
"""How far ahead ``add_business_seconds`` and ``next_working_at`` look before giving up."""

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_DAY_SECONDS = 86_400
_WEEK_SECONDS = 7 * _DAY_SECONDS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_CACHE_SIZE = 4096

Interval = tuple[datetime, datetime]


def as_utc(moment: datetime, name: str = "moment") -> datetime:
    """The same instant in UTC; a naive datetime is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Shift:
    """A weekly shift: starts at ``start`` on each of ``days`` (0=Monday..6=Sunday).

    ``end <= start`` means the shift runs overnight into the next day; ``end == start`` means
    it lasts a full day. Times are local wall-clock times of the calendar's zone.
    """

    name: str
    days: frozenset[int]
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        """True when the shift ends on the day after it starts (a 24-hour shift included)."""
        return _wall(self.end) <= _wall(self.start)

    @property
    def wall_seconds(self) -> int:
        """Length on the wall clock, in seconds (real length differs on DST change nights)."""
        length = (_seconds_of_day(self.end) - _seconds_of_day(self.start)) % _DAY_SECONDS
        return length or _DAY_SECONDS


@dataclass(frozen=True)
class Closure:
    """A one-off stop of the whole site (shutdown, stocktake), removed from working time."""

    start_at: datetime
    end_at: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        as_utc(self.start_at, "start_at")
        as_utc(self.end_at, "end_at")


@dataclass(frozen=True)
class WorkingCalendar:
    """When a site works: weekly shifts minus holidays and closures, in one IANA time zone.

    ``holidays`` are local dates on which no shift *starts*: a night shift that begins the
    evening before a holiday still runs into it. ``quiet_hours`` is a local ``(start, end)``
    window, possibly wrapping midnight, during which non-urgent notifications wait;
    ``start == end`` means no quiet hours.
    """

    timezone: str
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()
    closures: tuple[Closure, ...] = ()
    quiet_hours: tuple[time, time] | None = None
    # Derived in __post_init__; not part of equality or hashing.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_weekday: tuple[tuple[tuple[time, time, bool], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    _closed: tuple[Interval, ...] = field(init=False, repr=False, compare=False)
    _closed_ends: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _day_cache: dict[date, tuple[Interval, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        by_weekday = tuple(
            tuple(
                sorted(
                    (_wall(s.start), _wall(s.end), s.overnight)
                    for s in self.shifts
                    if weekday in s.days
                )
            )
            for weekday in range(7)
        )
        closed = _merge(
            (as_utc(c.start_at), as_utc(c.end_at)) for c in self.closures if c.end_at > c.start_at
        )
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_by_weekday", by_weekday)
        object.__setattr__(self, "_closed", tuple(closed))
        object.__setattr__(self, "_closed_ends", tuple(end for _, end in closed))
        object.__setattr__(self, "_day_cache", {})

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone, for showing instants to people on site."""
        return self._zone

    def working_intervals(self, start_at: datetime, end_at: datetime) -> Iterator[Interval]:
        """Working time within ``[start_at, end_at)``: UTC intervals, sorted and merged.

        Adjacent or overlapping shifts come back as one interval; closures are cut out.
        """
        return self._merged(as_utc(start_at, "start_at"), as_utc(end_at, "end_at"))

    def business_seconds(self, start_at: datetime, end_at: datetime) -> float:
        """Working seconds in ``[start_at, end_at)``; 0 when ``end_at <= start_at``."""
        start_at, end_at = as_utc(start_at, "start_at"), as_utc(end_at, "end_at")
        return _to_seconds(sum(_us(b - a) for a, b in self._pieces(start_at, end_at)))

    def add_business_seconds(self, start_at: datetime, seconds: float) -> datetime:
        """The earliest instant by which ``seconds`` of working time have passed since start_at.

        ``seconds == 0`` gives ``start_at`` back unchanged. A result that lands on the end of a
        shift is that end, not the start of the next shift. Raises ``ValueError`` for negative
        or non-finite seconds, and when the calendar has no working time (no shifts, or not
        enough within ``SEARCH_HORIZON``); ``reach_business_seconds`` says None instead.
        """
        reached = self.reach_business_seconds(start_at, seconds)
        if reached is not None:
            return reached
        if not self.shifts:
            raise ValueError("the calendar has no shifts, so no working time ever passes")
        raise ValueError(
            f"not enough working time within {SEARCH_HORIZON.days} days of "
            f"{as_utc(start_at).isoformat()} to add {seconds} business seconds"
        )

    def reach_business_seconds(self, start_at: datetime, seconds: float) -> datetime | None:
        """Like ``add_business_seconds``, but None when the calendar does not hold ``seconds``
        of working time within ``SEARCH_HORIZON`` of ``start_at`` (a site closed for years,
        a one-hour week against a long target): a due time that cannot be named.

        Raises ``ValueError`` only for a naive ``start_at`` and negative or non-finite seconds.
        """
        utc_start = as_utc(start_at, "start_at")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        needed = round(seconds * 1_000_000)
        if needed == 0:
            return start_at
        for a, b in self._pieces(utc_start, utc_start + SEARCH_HORIZON):
            length = _us(b - a)
            if needed <= length:
                return a + timedelta(microseconds=needed)
            needed -= length
        return None

    def is_working(self, at: datetime) -> bool:
        """True when ``at`` falls inside a shift and outside closures (shift ends excluded)."""
        at = as_utc(at, "at")
        return next(self._pieces(at, at + _MICROSECOND), None) is not None

    def next_working_at(self, at: datetime) -> datetime:
        """``at`` itself if working, else the start of the next working time (UTC).

        Raises ``ValueError`` when there is none within ``SEARCH_HORIZON``.
        """
        at = as_utc(at, "at")
        for a, _ in self._pieces(at, at + SEARCH_HORIZON):
            return a
        raise ValueError(f"no working time within {SEARCH_HORIZON.days} days of {at.isoformat()}")

    def in_quiet_hours(self, at: datetime) -> bool:
        """True when the local wall-clock time of ``at`` is inside the quiet-hours window."""
        at = as_utc(at, "at")
        window = self._quiet_window()
        if window is None:
            return False
        start, end = window
        wall = at.astimezone(self._zone).time().replace(fold=0)
        if start < end:
            return start <= wall < end
        return wall >= start or wall < end

    def next_outside_quiet_hours(self, at: datetime) -> datetime:
        """``at`` itself outside quiet hours, else the instant quiet hours end (UTC)."""
        utc_at = as_utc(at, "at")
        window = self._quiet_window()
        if window is None or not self.in_quiet_hours(utc_at):
            return utc_at
        start, end = window
        local = utc_at.astimezone(self._zone)
        end_day = local.date()
        if start > end and local.time().replace(fold=0) >= start:
            end_day += _DAY
        ends_at = self._to_utc(datetime.combine(end_day, end))
        if ends_at <= utc_at:
            # Second pass through a fall-back hour: the window ends at the second occurrence.
            second = datetime.combine(end_day, end).replace(tzinfo=self._zone, fold=1)
            ends_at = second.astimezone(UTC)
        return max(ends_at, utc_at)

    # -- internals -------------------------------------------------------------------------

    def _quiet_window(self) -> tuple[time, time] | None:
        if self.quiet_hours is None:
            return None
        start, end = (_wall(t) for t in self.quiet_hours)
        return None if start == end else (start, end)

    def _merged(self, start_at: datetime, end_at: datetime) -> Iterator[Interval]:
        current: Interval | None = None
        for a, b in self._pieces(start_at, end_at):
            if current is not None and a <= current[1]:
                current = (current[0], max(current[1], b))
                continue
            if current is not None:
                yield current
            current = (a, b)
        if current is not None:
            yield current

    def _pieces(self, start_at: datetime, end_at: datetime) -> Iterator[Interval]:
        """Working time in ``[start_at, end_at)`` as sorted, disjoint pieces, lazily.

        Pieces may touch (one day's shift ending as the next begins): merging would have to
        look ahead, and summing does not need it.
        """
        if end_at <= start_at or not self.shifts:
            return
        # A shift that started on the local day before start_at may still be running.
        day = start_at.astimezone(self._zone).date() - _DAY
        last_day = end_at.astimezone(self._zone).date()
        covered = start_at
        while day <= last_day:
            for a, b in self._day_intervals(day):
                if a >= end_at:
                    return  # shift starts only grow from here
                a, b = max(a, covered), min(b, end_at)
                if b <= a:
                    continue
                yield from self._open_parts(a, b)
                covered = b
            day += _DAY

    def _open_parts(self, a: datetime, b: datetime) -> Iterator[Interval]:
        """``[a, b)`` minus the closures."""
        closed = self._closed
        i = bisect_right(self._closed_ends, a)
        while a < b and i < len(closed):
            closed_from, closed_until = closed[i]
            if closed_from >= b:
                break
            if closed_from > a:
                yield a, closed_from
            a = max(a, closed_until)
            i += 1
        if a < b:
            yield a, b

    def _day_intervals(self, day: date) -> tuple[Interval, ...]:
        """UTC intervals of the shifts that start on local date ``day``, sorted by start."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        found: list[Interval] = []
        if day not in self.holidays:
            for start, end, overnight in self._by_weekday[day.weekday()]:
                a = self._to_utc(datetime.combine(day, start))
                b = self._to_utc(datetime.combine(day + _DAY if overnight else day, end))
                if b > a:  # a shift inside a spring-forward gap has no length
                    found.append((a, b))
        result = tuple(found)
        if len(self._day_cache) >= _DAY_CACHE_SIZE:
            self._day_cache.clear()
        self._day_cache[day] = result
        return result

    def _to_utc(self, local: datetime) -> datetime:
        """A naive local wall time as a UTC instant (gap: first instant after; fold: first)."""
        offset = local.replace(tzinfo=self._zone).utcoffset()
        assert offset is not None  # ZoneInfo always knows its offset
        candidate = (local - offset).replace(tzinfo=UTC)
        if candidate.astimezone(self._zone).utcoffset() == offset:
            return candidate
        # In a gap: zoneinfo used the offset from before the change, which lands after the
        # gap; find the change itself (offsets change on whole seconds).
        after = candidate.astimezone(self._zone).utcoffset()
        assert after is not None
        low = int(((local - after).replace(tzinfo=UTC) - _EPOCH).total_seconds())
        high = int((candidate - _EPOCH).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            probe = _EPOCH + timedelta(seconds=middle)
            if probe.astimezone(self._zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return _EPOCH + timedelta(seconds=high)


def validate_shifts(
    shifts: Sequence[Shift], *, loc: tuple[str | int, ...] = ("shifts",)
) -> list[FieldError]:
    """Problems with a weekly shift pattern; empty when it is usable.

    Flags a shift with no days (or days outside 0..6) at ``(*loc, i, "days")`` and every pair
    of shifts that overlap on the wall clock — an overnight shift running into the next
    morning's shift and Sunday night running into Monday included — at ``(*loc, j, "start")``
    of the later-listed shift, naming both.
    """
    errors: list[FieldError] = []
    spans: list[list[tuple[int, int, int]]] = []  # per shift: (week second from, to, day)
    for i, shift in enumerate(shifts):
        days = sorted(shift.days)
        if not days:
            errors.append(FieldError((*loc, i, "days"), f'shift "{shift.name}" runs on no day'))
        elif any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            errors.append(
                FieldError(
                    (*loc, i, "days"),
                    f'shift "{shift.name}": days are 0 (Monday) to 6 (Sunday)',
                )
            )
        start = _seconds_of_day(shift.start)
        spans.append(
            [
                (d * _DAY_SECONDS + start, d * _DAY_SECONDS + start + shift.wall_seconds, d)
                for d in days
                if isinstance(d, int) and 0 <= d <= 6
            ]
        )
    for j, later in enumerate(shifts):
        for i in range(j):
            clash = _first_clash(spans[i], spans[j])
            if clash is None:
                continue
            day_i, day_j = clash
            errors.append(
                FieldError(
                    (*loc, j, "start"),
                    f'shift "{later.name}" ({_describe(later, day_j)}) overlaps shift '
                    f'"{shifts[i].name}" ({_describe(shifts[i], day_i)})',
                )
            )
    return errors


def always_open(timezone: str = "UTC") -> WorkingCalendar:
    """A 24/7 calendar: every instant is working time."""
    return WorkingCalendar(
        timezone=timezone, shifts=(Shift("Always open", frozenset(range(7)), time(0), time(0)),)
    )


def _first_clash(
    first: list[tuple[int, int, int]], second: list[tuple[int, int, int]]
) -> tuple[int, int] | None:
    """Days of the first pair of spans that overlap on the weekly circle, if any."""
    for a_from, a_to, a_day in first:
        for b_from, b_to, b_day in second:
            for shift in (-_WEEK_SECONDS, 0, _WEEK_SECONDS):
                if a_from < b_to + shift and b_from + shift < a_to:
                    return a_day, b_day
    return None


def _describe(shift: Shift, day: int) -> str:
    when = f"{DAY_NAMES[day]} {_wall(shift.start):%H:%M}–{_wall(shift.end):%H:%M}"
    return when + (" next day" if shift.overnight else "")


def _merge(intervals: Iterator[Interval] | Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _wall(moment: time) -> time:
    return moment.replace(tzinfo=None, fold=0)


def _seconds_of_day(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _us(span: timedelta) -> int:
    return span // _MICROSECOND


def _to_seconds(microseconds: int) -> float:
    return microseconds / 1_000_000
