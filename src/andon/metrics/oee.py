"""OEE of a line in one period: availability × performance × quality, from intervals and counts.

Pure: no I/O. Instants are timezone-aware; intervals are half-open ``[start, end)``. The
service (``metrics/downtime.py``) reads the calendar, the stops, the entered downtime and the
counts and hands them here.

- planned time: the site calendar's working time in the period (shifts minus holidays and
  closures);
- downtime: line stops and entered downtime, merged so an instant counted by both (or by two
  overlapping entries) counts once, and cut to planned time (a stop at night is not lost
  production time);
- run time = planned − downtime; availability = run / planned;
- performance = Σ(ideal cycle seconds × units made, per product) / run time;
- quality = good units / units made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

Interval = tuple[datetime, datetime]


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint, non-touching intervals.

    Empty or reversed intervals are dropped; touching ones (one ends where the next starts)
    become one. Merging a merged list gives it back unchanged.
    """
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
    return merged


def intersect_intervals(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The instants in both ``a`` and ``b``, merged."""
    left, right = merge_intervals(a), merge_intervals(b)
    found: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if end > start:
            found.append((start, end))
        # Move past whichever ends first; the other may still overlap the next one.
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return found


def total_seconds(intervals: Iterable[Interval]) -> float:
    """The length of the union of ``intervals``, in seconds."""
    return sum((end - start).total_seconds() for start, end in merge_intervals(intervals))


@dataclass(frozen=True)
class ProductCount:
    """Units of one product completed on the line in the period.

    ``ideal_cycle_seconds`` is the product's ideal time per unit on this line, None when none
    is set. ``product`` is None for work items that name no product.
    """

    product: str | None
    total: int
    good: int
    ideal_cycle_seconds: float | None


@dataclass(frozen=True)
class Oee:
    """OEE with its components; ``oee`` and the components are None when there is no data.

    ``no_data`` says why in words (``"no planned time"``, ``"nothing was made"``, ``"no
    ideal cycle time for P1"``) and is None when ``oee`` has a value.
    ``performance_capped`` is True when the counts claimed more than the run time could
    make at the ideal rate, so performance was cut to 1 (see :func:`compute_oee`).
    """

    planned_seconds: float
    downtime_seconds: float
    run_seconds: float
    ideal_seconds: float
    total_count: int
    good_count: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    performance_capped: bool = False
    missing_cycle_times: tuple[str, ...] = ()
    no_data: str | None = None


def compute_oee(
    planned: Iterable[Interval], downtime: Iterable[Interval], counts: Sequence[ProductCount]
) -> Oee:
    """OEE of one line in one period.

    ``planned`` is the period's planned production time, ``downtime`` every stop and entered
    downtime of the line (any overlap and any part outside planned time is fine: it is merged
    and cut to ``planned``). No data when there is no planned time, when nothing was made,
    or when a product that was made has no ideal cycle time (performance cannot be known);
    availability and quality are still given where they can be.
    """
    planned_merged = merge_intervals(planned)
    planned_seconds = total_seconds(planned_merged)
    downtime_seconds = total_seconds(intersect_intervals(planned_merged, downtime))
    run_seconds = planned_seconds - downtime_seconds
    total = sum(c.total for c in counts)
    good = sum(c.good for c in counts)
    missing = tuple(
        sorted({c.product or "(no product)" for c in counts if c.ideal_cycle_seconds is None})
    )
    ideal_seconds = sum(
        c.ideal_cycle_seconds * c.total for c in counts if c.ideal_cycle_seconds is not None
    )
    result = partial(
        Oee,
        planned_seconds=planned_seconds,
        downtime_seconds=downtime_seconds,
        run_seconds=run_seconds,
        ideal_seconds=float(ideal_seconds),
        total_count=total,
        good_count=good,
    )
    if planned_seconds <= 0:
        return result(
            availability=None,
            performance=None,
            quality=None,
            oee=None,
            no_data="no planned time",
        )
    availability = run_seconds / planned_seconds
    if total <= 0:
        return result(
            availability=availability,
            performance=None,
            quality=None,
            oee=None,
            no_data="nothing was made",
        )
    quality = good / total
    if missing:
        return result(
            availability=availability,
            performance=None,
            quality=quality,
            oee=None,
            missing_cycle_times=missing,
            no_data=f"no ideal cycle time for {', '.join(missing)}",
        )
    # Above 1 the line made more than its ideal rate allows in the time it ran. That happens
    # when the ideal cycle time is set slower than the line really runs (a stale or padded
    # standard), or when units finished in this period were mostly worked in the previous
    # one (counts go by completion time, run time by the clock). Neither is better than
    # ideal performance, so it is cut to 1 — keeping OEE a fraction — and flagged so someone
    # fixes the standard instead of celebrating it. Run time 0 with units made is the
    # extreme case of the second.
    capped = ideal_seconds > run_seconds
    performance = 1.0 if capped else ideal_seconds / run_seconds
    return result(
        availability=availability,
        performance=performance,
        quality=quality,
        oee=availability * performance * quality,
        performance_capped=capped,
    )
