"""The arithmetic of the repeat-offender report, with no I/O: open time as a union of
intervals measured on a calendar, the weeks of a period, and the ranking of categories."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

Interval = tuple[datetime, datetime]
# How a report may be ordered: by how often, or by each impact.
SORTS = ("count", "items", "business_hours", "stop_minutes")


@dataclass(frozen=True)
class Offender:
    """One exception category over a period: how often, and what it cost."""

    category: str
    name: str
    count: int
    items: int  # distinct work items affected
    business_seconds: float  # see open_seconds: time open, on the line's calendar
    stop_seconds: float  # line stops its exceptions caused, wall time
    weekly: tuple[int, ...]  # exceptions raised per week of the period
    lines: tuple[tuple[str, int], ...] = ()  # (SITE/AREA/LINE, count), largest first
    products: tuple[tuple[str, int], ...] = ()  # (product, count), largest first
    causes: tuple[tuple[str, int], ...] = ()  # (verified root cause, RCAs naming it)

    @property
    def business_hours(self) -> float:
        return self.business_seconds / 3600

    @property
    def stop_minutes(self) -> float:
        return self.stop_seconds / 60


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals sorted and merged where they overlap or touch; empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def open_seconds(
    intervals: Iterable[Interval], measure: Callable[[datetime, datetime], float]
) -> float:
    """Seconds covered by the union of ``intervals``, each merged piece measured by
    ``measure`` (a calendar's business seconds): two exceptions of one category open on one
    item at the same time count that time once."""
    return sum(measure(start, end) for start, end in merge(intervals))


def clip(start: datetime, end: datetime | None, cap: datetime) -> Interval:
    """``start`` → ``end``, an open end (None) or one after ``cap`` cut at ``cap``."""
    return start, cap if end is None or end > cap else end


def week_starts(since: date, until: date) -> list[date]:
    """The first day of each 7-day week of ``since``..``until`` (inclusive), from ``since``."""
    if until < since:
        return []
    return [since + timedelta(days=7 * i) for i in range((until - since).days // 7 + 1)]


def rank(rows: Sequence[Offender], sort: str = "count") -> list[Offender]:
    """Largest first by ``sort`` (one of SORTS); ties by count, then category key."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    return sorted(rows, key=lambda r: (-getattr(r, sort), -r.count, r.category))


def top(counts: Iterable[tuple[str, int]], limit: int = 5) -> tuple[tuple[str, int], ...]:
    """The ``limit`` largest counts, largest first (ties by name)."""
    return tuple(sorted(counts, key=lambda c: (-c[1], c[0]))[:limit])
