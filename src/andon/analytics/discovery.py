"""Process discovery: the directly-follows graph, start and end activities, variants, bottlenecks.

Each result is an Ibis expression over the case-ordered table (see ``ordering``), executed
only at the end into a small Python value whose ``as_json`` is the CLI's ``--json`` shape.
The numbers match pm4py's on the same log (the parity suite in ``tests/parity`` checks it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from andon.analytics.log import ACTIVITY
from andon.analytics.ordering import (
    END_ACTIVITY,
    FIRST_US,
    LAST_US,
    MICROSECONDS,
    NEXT_ACTIVITY,
    START_ACTIVITY,
    VARIANT,
    WAIT_SECONDS,
    CaseOrderedLog,
    stage_seconds,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

SOURCE = "source"
TARGET = "target"
FREQUENCY = "frequency"
STATISTICS = ("mean", "median", "min", "max", "sum", "stdev")


@dataclass(frozen=True)
class Performance:
    """Seconds between two events (or spent in a stage), summarised.

    ``median`` is the mean of the two middle values for an even count (numpy's median);
    ``stdev`` is the sample standard deviation (pandas' ``std``), None with one observation.
    """

    mean: float
    median: float
    min: float
    max: float
    sum: float
    stdev: float | None

    def as_json(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in STATISTICS}


@dataclass(frozen=True)
class Edge:
    """A directly-follows pair: ``target`` happened right after ``source`` in some case."""

    source: str
    target: str
    frequency: int
    performance: Performance | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {SOURCE: self.source, TARGET: self.target, FREQUENCY: self.frequency}
        if self.performance is not None:
            out["performance"] = self.performance.as_json()
        return out


@dataclass(frozen=True)
class Dfg:
    """Edges (most frequent first, then by source and target), start and end activities."""

    edges: list[Edge]
    start_activities: dict[str, int]
    end_activities: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "edges": [edge.as_json() for edge in self.edges],
            "start_activities": self.start_activities,
            "end_activities": self.end_activities,
        }


@dataclass(frozen=True)
class Variant:
    """Cases sharing one activity sequence; ``mean_duration`` in seconds."""

    activities: tuple[str, ...]
    cases: int
    share: float
    mean_duration: float

    def as_json(self) -> dict[str, Any]:
        return {
            "activities": list(self.activities),
            "cases": self.cases,
            "share": self.share,
            "mean_duration": self.mean_duration,
        }


@dataclass(frozen=True)
class Bottleneck:
    """An edge (``source`` → ``target``) or a stage (``target`` None) and its waiting time."""

    source: str
    target: str | None
    occurrences: int
    total_seconds: float
    median_seconds: float

    def as_json(self) -> dict[str, Any]:
        if self.target is None:
            out: dict[str, Any] = {"activity": self.source}
        else:
            out = {SOURCE: self.source, TARGET: self.target}
        out |= {
            "occurrences": self.occurrences,
            "total_seconds": self.total_seconds,
            "median_seconds": self.median_seconds,
        }
        return out


def edges_expr(ordered: CaseOrderedLog, *, performance: bool = False) -> ir.Table:
    """One row per directly-follows pair: source, target, frequency (and the statistics).

    Single-event cases contribute no edge. Waits are in seconds (see ``ordering``).
    """
    events = ordered.events
    pairs = events.filter(events[NEXT_ACTIVITY].notnull())
    keys = {SOURCE: pairs[ACTIVITY], TARGET: pairs[NEXT_ACTIVITY]}
    metrics: dict[str, ir.Value] = {FREQUENCY: pairs.count()}
    if performance:
        metrics |= wait_statistics(pairs[WAIT_SECONDS])
    return pairs.group_by(**keys).agg(**metrics)


def wait_statistics(
    seconds: ir.NumericColumn, micros: ir.IntegerColumn | None = None
) -> dict[str, ir.Value]:
    """The statistics of a group of waits, all from whole microseconds (the timestamps'
    resolution); ``_performance`` turns them into seconds.

    A parallel engine adds floats up in whatever order its threads finish, so a float sum
    or stdev could differ in its last digit between two runs on the same log: sums of the
    microseconds and of their squares are integers, the same in any order. The median is
    taken of the integers too: the mean of two middle integers is exact in a double, so
    every engine gives the same value, one division from the seconds (and an integer median
    costs DuckDB half what a float one does). ``micros``: the waits already in whole
    microseconds (the prepared form keeps them so); otherwise they come from ``seconds``.
    """
    whole = (seconds * MICROSECONDS).round().cast("int64") if micros is None else micros
    exact = whole.cast("decimal(38, 0)")
    return {
        "timed": whole.count(),
        "median_us": whole.median(),
        "min_us": whole.min(),
        "max_us": whole.max(),
        "sum_us": exact.sum(),
        "sum_squares_us": (exact * exact).sum(),
    }


def exact_micros(micros: ir.NumericValue) -> ir.DecimalValue:
    """Whole microseconds as a 38-digit integer: sums of them neither round nor overflow
    (a 64-bit sum would, past 292,000 years of waits, which 100M events of a few days reach).
    """
    exact: ir.DecimalValue = micros.round().cast("decimal(38, 0)")
    return exact


def start_activities_expr(ordered: CaseOrderedLog) -> ir.Table:
    """Activity and number of cases it starts (single-event cases included)."""
    cases = ordered.cases
    return cases.group_by(activity=cases[START_ACTIVITY]).agg(cases=cases.count())


def end_activities_expr(ordered: CaseOrderedLog) -> ir.Table:
    """Activity and number of cases it ends (single-event cases included)."""
    cases = ordered.cases
    return cases.group_by(activity=cases[END_ACTIVITY]).agg(cases=cases.count())


def variants_expr(ordered: CaseOrderedLog) -> ir.Table:
    """One row per variant: the activity sequence, its cases and their mean duration."""
    cases = ordered.cases
    # The durations' exact integer sum, as in wait_statistics, so the mean is the same every run.
    return cases.group_by(VARIANT).agg(
        cases=cases.count(), duration_us=exact_micros(cases[LAST_US] - cases[FIRST_US]).sum()
    )


def discover_dfg(ordered: CaseOrderedLog, *, performance: bool = False) -> Dfg:
    """The directly-follows graph of the log, with waiting-time statistics if asked.

    An empty log gives an empty graph.
    """
    return dfg_from(
        edges_expr(ordered, performance=performance),
        start_activities_expr(ordered),
        end_activities_expr(ordered),
        performance=performance,
    )


def dfg_from(
    edges: ir.Table, starts: ir.Table, ends: ir.Table, *, performance: bool = False
) -> Dfg:
    """The graph from the expressions of its parts, shaped as :func:`edges_expr`,
    :func:`start_activities_expr` and :func:`end_activities_expr` give them (the
    performance columns only with ``performance``)."""
    return dfg_of_rows(_rows(edges), _counts(starts), _counts(ends), performance=performance)


def dfg_of_rows(
    edges: list[dict[str, Any]],
    starts: dict[str, int],
    ends: dict[str, int],
    *,
    performance: bool = False,
) -> Dfg:
    """:func:`dfg_from` with the edges' rows and the start and end activities' counts
    (as :func:`ordered_counts` orders them) already fetched."""
    edge_list = [
        Edge(
            row[SOURCE],
            row[TARGET],
            int(row[FREQUENCY]),
            _performance(row) if performance else None,
        )
        for row in edges
    ]
    edge_list.sort(key=lambda e: (-e.frequency, e.source, e.target))
    return Dfg(edge_list, starts, ends)


def discover_variants(ordered: CaseOrderedLog, *, limit: int | None = None) -> list[Variant]:
    """Variants by number of cases, descending; ties by activity sequence (code-point order).

    ``share`` is the variant's cases over all cases of the (filtered) log. ``limit`` keeps
    the most frequent; None keeps all.
    """
    return variants_from(variants_expr(ordered), limit=limit)


def variants_from(expr: ir.Table, *, limit: int | None = None) -> list[Variant]:
    """The variants from an expression shaped as :func:`variants_expr` gives it, ordered
    and cut as :func:`discover_variants` promises."""
    rows = _rows(expr)
    total = sum(int(row["cases"]) for row in rows)
    variants = [
        Variant(
            tuple(row[VARIANT]),
            int(row["cases"]),
            int(row["cases"]) / total,
            float(Fraction(int(row["duration_us"]), int(row["cases"]) * MICROSECONDS)),
        )
        for row in rows
    ]
    variants.sort(key=lambda v: (-v.cases, v.activities))
    return variants if limit is None else variants[:limit]


def stage_times_expr(ordered: CaseOrderedLog) -> ir.Table:
    """Per activity, the statistics of its time in stage (see ``ordering``)."""
    events = ordered.events.mutate(stage_seconds=stage_seconds(ordered))
    timed = events.filter(events.stage_seconds.notnull())
    return timed.group_by(ACTIVITY).agg(
        occurrences=timed.count(), **wait_statistics(timed.stage_seconds)
    )


def rank_bottlenecks(
    dfg: Dfg, stages: dict[str, tuple[int, Performance]], *, top: int = 10
) -> dict[str, list[Bottleneck]]:
    """Edges and stages ranked by total and by median time, largest first (``top`` each).

    ``dfg`` must carry performance. Ties are broken by name so the ranking is stable.
    """
    edges = [
        Bottleneck(e.source, e.target, e.frequency, e.performance.sum, e.performance.median)
        for e in dfg.edges
        if e.performance is not None
    ]
    stage_rows = [
        Bottleneck(name, None, count, perf.sum, perf.median)
        for name, (count, perf) in stages.items()
    ]

    def ranked(items: list[Bottleneck], attr: str) -> list[Bottleneck]:
        ordered = sorted(items, key=lambda b: (-getattr(b, attr), b.source, b.target or ""))
        return ordered[:top]

    return {
        "edges_by_total_wait": ranked(edges, "total_seconds"),
        "edges_by_median_wait": ranked(edges, "median_seconds"),
        "stages_by_total_time": ranked(stage_rows, "total_seconds"),
        "stages_by_median_time": ranked(stage_rows, "median_seconds"),
    }


def discover_stage_times(ordered: CaseOrderedLog) -> dict[str, tuple[int, Performance]]:
    """Per activity (by name): how many timed occurrences and their time-in-stage statistics."""
    return stage_times_from(stage_times_expr(ordered))


def stage_times_from(expr: ir.Table) -> dict[str, tuple[int, Performance]]:
    """The stage times from an expression shaped as :func:`stage_times_expr` gives it."""
    return stage_times_of_rows(_rows(expr))


def stage_times_of_rows(rows: list[dict[str, Any]]) -> dict[str, tuple[int, Performance]]:
    """:func:`stage_times_from` with the rows already fetched."""
    ordered = sorted(rows, key=lambda row: str(row[ACTIVITY]))
    return {row[ACTIVITY]: (int(row["occurrences"]), _performance(row)) for row in ordered}


def _performance(row: dict[str, Any]) -> Performance:
    """The statistics of one group from its exact sums (``wait_statistics``)."""
    count, total, squares = int(row["timed"]), int(row["sum_us"]), int(row["sum_squares_us"])
    stdev = None
    if count > 1:
        variance = Fraction(count * squares - total * total, count * (count - 1))
        stdev = math.sqrt(variance) / MICROSECONDS
    return Performance(
        mean=float(Fraction(total, count * MICROSECONDS)),
        median=float(row["median_us"]) / MICROSECONDS,
        min=int(row["min_us"]) / MICROSECONDS,
        max=int(row["max_us"]) / MICROSECONDS,
        sum=float(Fraction(total, MICROSECONDS)),
        stdev=stdev,
    )


def _counts(expr: ir.Table) -> dict[str, int]:
    return ordered_counts((row["activity"], int(row["cases"])) for row in _rows(expr))


def ordered_counts(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Activity → cases, most cases first, ties by name (the graph's start and end order)."""
    return dict(sorted(pairs, key=_by_count))


def _by_count(pair: tuple[str, int]) -> tuple[int, str]:
    return (-pair[1], pair[0])


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute a small result into plain Python values (Arrow keeps nulls as None)."""
    from andon.analytics.results import fetch_rows

    return fetch_rows(expr)
