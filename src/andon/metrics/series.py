"""One materialised value of a metric: a period (and a line, for a metric split by line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodValue:
    """What a source yields for one period.

    ``period`` is the period's key (``2026-11-23``, ``2026-W47``, ``2026-11``,
    ``2026-11-23/A``); ``line`` a line code, or ``None`` for the whole source. ``value`` is the
    plotted statistic (for a proportion or rate, ``count / n``); ``count`` and ``n`` are the
    numerator and sample size the p, u and c charts need, ``None`` where they mean nothing.
    ``value`` is ``None`` when the period had nothing to measure (no items inspected): that is
    "no data", never zero.
    """

    period: str
    line: str | None
    value: float | None
    count: float | None = None
    n: float | None = None
