"""The SLA clock: business time used, paused and left against a target, and when it is due.

Pure: give it a calendar, the clock's start, its pauses and "now"; it reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from andon.calendars.hours import SEARCH_HORIZON, WorkingCalendar, as_utc

_MICROSECOND = timedelta(microseconds=1)
_DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Pause:
    """A stretch during which the clock does not run; ``end_at`` None means still paused."""

    start_at: datetime
    end_at: datetime | None
    reason: str = ""

    def __post_init__(self) -> None:
        as_utc(self.start_at, "start_at")
        if self.end_at is not None:
            as_utc(self.end_at, "end_at")


@dataclass(frozen=True)
class ClockReading:
    """What an SLA clock shows at one moment. All durations are business seconds."""

    target_seconds: float
    started_at: datetime
    due_at: datetime | None
    """When used time reaches the target; None while paused before reaching it, and when the
    calendar holds too little working time within its search horizon to reach it."""
    projected_due_at: datetime | None
    """``due_at``, or while paused the due time if the clock resumed now; None when the
    calendar cannot reach the target within its search horizon."""
    business_seconds_used: float
    business_seconds_paused: float
    business_seconds_remaining: float
    breached: bool
    breached_at: datetime | None
    paused: bool
    explanation: str
    stopped_at: datetime | None = None
    """When the clock stopped for good (the item left the stage or finished); None while it
    runs. A stopped clock's figures are final: nothing counts down any more."""


@dataclass(frozen=True)
class _PauseSpan:
    start_at: datetime
    end_at: datetime | None
    reasons: tuple[str, ...]


def read_clock(
    calendar: WorkingCalendar,
    *,
    target_seconds: float,
    started_at: datetime,
    pauses: Sequence[Pause],
    now: datetime,
    stopped_at: datetime | None = None,
) -> ClockReading:
    """Read the clock at ``now``: it runs in working time from ``started_at`` except in pauses.

    Pauses may overlap or begin before ``started_at``; they are merged and clipped, and only
    their overlap with working time counts as paused business time. Pauses that begin after
    ``now`` are ignored. ``stopped_at`` (the item left the stage or finished) freezes the clock
    there; pauses still open at that point end with it.

    The due time is the earliest instant at which used time reaches the target. The clock is
    breached when that instant is at or before ``now`` — or, for a stopped clock, strictly
    before ``stopped_at``: work finished exactly on the due instant is on time, and work
    finished after it is late even if the finish fell outside working time, so stopping a
    clock never turns a breach into a pass.

    A calendar with too little working time ahead to reach the target within its search
    horizon (``SEARCH_HORIZON``) gives a reading with no due time rather than an error: the
    clock is not breached, and the explanation says why there is no due time.

    Raises ``ValueError`` for naive datetimes and a negative or non-finite target.
    """
    if not math.isfinite(target_seconds) or target_seconds < 0:
        raise ValueError(f"target_seconds must be a finite number >= 0, got {target_seconds!r}")
    start = as_utc(started_at, "started_at")
    now = as_utc(now, "now")
    stop = as_utc(stopped_at, "stopped_at") if stopped_at is not None else None
    stopped = stop is not None and stop <= now
    horizon = max(start, min(now, stop) if stop is not None else now)

    spans = _merge_pauses(pauses, until=now)
    current = None if stopped else next((p for p in spans if _covers(p, now)), None)
    # Pauses within [start, horizon), open ones closed at the horizon.
    blocks = [
        (max(p.start_at, start), min(p.end_at or horizon, horizon))
        for p in spans
        if max(p.start_at, start) < min(p.end_at or horizon, horizon)
    ]

    target_us = round(target_seconds * 1_000_000)
    used_us = paused_us = 0
    reached_at: datetime | None = start if target_us == 0 else None
    for a, b in calendar.working_intervals(start, horizon):
        for piece_from, piece_to, is_paused in _split(a, b, blocks):
            length = (piece_to - piece_from) // _MICROSECOND
            if is_paused:
                paused_us += length
                continue
            if reached_at is None and used_us + length >= target_us:
                reached_at = piece_from + timedelta(microseconds=target_us - used_us)
            used_us += length

    used = used_us / 1_000_000
    remaining = target_seconds - used
    due: datetime | None = reached_at
    projected: datetime | None
    if reached_at is not None:
        projected = reached_at
    elif current is not None:
        projected = calendar.reach_business_seconds(now, remaining)
    else:
        due = projected = calendar.reach_business_seconds(horizon, remaining)

    if reached_at is None:
        breached = False
    elif stopped:
        breached = stop is not None and reached_at < stop
    else:
        breached = reached_at <= now

    reading = ClockReading(
        target_seconds=target_seconds,
        started_at=start,
        due_at=due,
        projected_due_at=projected,
        business_seconds_used=used,
        business_seconds_paused=paused_us / 1_000_000,
        business_seconds_remaining=remaining,
        breached=breached,
        breached_at=reached_at if breached else None,
        paused=current is not None,
        explanation="",
        stopped_at=stop if stopped else None,
    )
    reasons = tuple(
        dict.fromkeys(r for p in spans if _within(p, start, horizon) for r in p.reasons)
    )
    text = _explain(
        reading,
        calendar.zone,
        now=now,
        stopped_at=stop if stopped else None,
        current=current,
        reasons=reasons,
    )
    return replace(reading, explanation=text)


def due_at(
    calendar: WorkingCalendar,
    *,
    target_seconds: float,
    started_at: datetime,
    pauses: Sequence[Pause],
    now: datetime,
) -> datetime | None:
    """The clock's due time at ``now``; None while it is paused short of its target."""
    return read_clock(
        calendar, target_seconds=target_seconds, started_at=started_at, pauses=pauses, now=now
    ).due_at


def format_business_duration(seconds: float) -> str:
    """Business time for people, to the nearest minute: "26h 05m", "45m", "0m", "-1h 10m"."""
    if not math.isfinite(seconds):
        raise ValueError(f"seconds must be finite, got {seconds!r}")
    minutes = math.floor(abs(seconds) / 60 + 0.5)
    sign = "-" if seconds < 0 and minutes else ""
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}h {minutes:02d}m" if hours else f"{sign}{minutes}m"


def _merge_pauses(pauses: Sequence[Pause], *, until: datetime) -> list[_PauseSpan]:
    """Pauses begun by ``until``, merged where they overlap or touch, sorted."""
    spans: list[_PauseSpan] = []
    ordered = sorted(
        (
            (as_utc(p.start_at, "start_at"), as_utc(p.end_at, "end_at") if p.end_at else None, p)
            for p in pauses
        ),
        key=lambda item: item[0],
    )
    for start, end, pause in ordered:
        if start > until or (end is not None and end <= start):
            continue
        reasons = (pause.reason,) if pause.reason.strip() else ()
        last = spans[-1] if spans else None
        if last is not None and (last.end_at is None or start <= last.end_at):
            merged_end = None if last.end_at is None or end is None else max(last.end_at, end)
            merged_reasons = tuple(dict.fromkeys(last.reasons + reasons))
            spans[-1] = _PauseSpan(last.start_at, merged_end, merged_reasons)
        else:
            spans.append(_PauseSpan(start, end, reasons))
    return spans


def _covers(span: _PauseSpan, at: datetime) -> bool:
    return span.start_at <= at and (span.end_at is None or at < span.end_at)


def _within(span: _PauseSpan, start: datetime, end: datetime) -> bool:
    return span.start_at < end and (span.end_at is None or span.end_at > start)


def _split(
    a: datetime, b: datetime, blocks: list[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime, bool]]:
    """``[a, b)`` cut into running and paused pieces by the sorted, disjoint pause blocks."""
    for block_from, block_to in blocks:
        if block_to <= a:
            continue
        if block_from >= b:
            break
        if block_from > a:
            yield a, block_from, False
        yield max(a, block_from), min(b, block_to), True
        a = min(b, block_to)
        if a >= b:
            return
    if a < b:
        yield a, b, False


def _explain(
    reading: ClockReading,
    zone: ZoneInfo,
    *,
    now: datetime,
    stopped_at: datetime | None,
    current: _PauseSpan | None,
    reasons: tuple[str, ...],
) -> str:
    def when(moment: datetime) -> str:
        return _format_time(moment, zone, now=now)

    target = format_business_duration(reading.target_seconds)
    used = format_business_duration(reading.business_seconds_used)
    paused = ""
    if reading.business_seconds_paused > 0:
        paused = f", {format_business_duration(reading.business_seconds_paused)} paused"
        paused += f" ({'; '.join(reasons)})" if reasons else ""
    left = format_business_duration(max(reading.business_seconds_remaining, 0.0))
    over = format_business_duration(max(-reading.business_seconds_remaining, 0.0))
    pause_note = ""
    if current is not None:
        why = f" ({'; '.join(current.reasons)})" if current.reasons else ""
        pause_note = f"Clock stopped: paused since {when(current.start_at)}{why}"

    if stopped_at is not None:
        if reading.breached and reading.breached_at is not None:
            return (
                f"Breached at {when(reading.breached_at)} after {target} of business time. "
                f"Stopped {when(stopped_at)} with {used} used{paused}."
            )
        return (
            f"Met: stopped {when(stopped_at)} with {used} of {target} business time used"
            f"{paused}; {left} to spare."
        )
    if reading.breached and reading.breached_at is not None:
        text = (
            f"Breached at {when(reading.breached_at)} after {target} of business time; "
            f"{over} over so far."
        )
        return f"{text} {pause_note}." if pause_note else text
    if current is not None:
        return f"{pause_note}; {left} left when it resumes."
    if reading.due_at is None:
        return (
            f"No due time: {target} of business time, {used} used{paused}; the site calendar "
            f"has less than the {left} left in working time within {SEARCH_HORIZON.days} days."
        )
    return (
        f"Due {when(reading.due_at)}: {target} of business time, {used} used{paused}. "
        f"Breaches in {left} of working time."
    )


def _format_time(moment: datetime, zone: ZoneInfo, *, now: datetime) -> str:
    """ "Tue 26 Nov 14:30 CST" in the site's zone; the year too when it is not this year."""
    local = moment.astimezone(zone)
    year = f" {local.year}" if local.year != now.astimezone(zone).year else ""
    return (
        f"{_DAY_ABBR[local.weekday()]} {local.day} {_MONTH_ABBR[local.month - 1]}{year} "
        f"{local:%H:%M} {local.tzname() or ''}"
    ).rstrip()
