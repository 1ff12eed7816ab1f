"""Process KPIs over the case-ordered table: volume, throughput, WIP, durations, rework, yield.

Every figure is an Ibis aggregation executed into a small result; definitions and edge
cases are in docs/analytics.md. Other parts of Andon add their own figures to the KPI
document through ``extensions`` (see :data:`KpiExtension`), e.g. SLA attainment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from andon.analytics.discovery import (
    Dfg,
    Performance,
    Variant,
    discover_dfg,
    discover_stage_times,
    exact_micros,
    rank_bottlenecks,
)
from andon.analytics.log import ACTIVITY
from andon.analytics.ordering import (
    CASE_KEY,
    EVENTS,
    FIRST_US,
    LAST_US,
    MICROSECONDS,
    VARIANT,
    CaseOrderedLog,
    store,
)
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

# A figure another module adds to the KPI document: it gets the (filtered, ordered) log
# and returns the keys to add. A key that is already taken is refused.
KpiExtension = Callable[[CaseOrderedLog], Mapping[str, Any]]

_US_PER_DAY = 86_400_000_000
_EPOCH = date(1970, 1, 1)
# 1970-01-01 was a Thursday; shifting by three days makes weeks start on Monday (ISO).
_MONDAY_SHIFT = 3
# Attribute values that do not mark an exception.
_NO_EXCEPTION = ("", "0", "false", "no", "none")


@dataclass(frozen=True)
class DurationSummary:
    """Case durations in seconds; ``p90`` interpolates linearly (numpy's default)."""

    mean: float
    median: float
    p90: float
    min: float
    max: float

    def as_json(self) -> dict[str, float]:
        return {
            "mean": self.mean,
            "median": self.median,
            "p90": self.p90,
            "min": self.min,
            "max": self.max,
        }


def case_duration_summary(cases: ir.Table) -> DurationSummary:
    """Mean, median, p90, min and max case duration; all zero for a log without cases.

    ``cases`` is a cases table with ``FIRST_US`` and ``LAST_US``: the ordered log's, or the
    kept cases of a prepared form.
    """
    return _case_figures(cases, events=False)[2]


def _case_figures(cases: ir.Table, *, events: bool = True) -> tuple[int, int, DurationSummary]:
    """The number of cases, of their events (0 without ``events``: the table then needs no
    ``EVENTS``) and their durations' summary, in one query over the cases."""
    # The seconds as ordering computes its DURATION_SECONDS, so every cases table gives the
    # same medians and extremes.
    seconds = (cases[LAST_US] - cases[FIRST_US]) / MICROSECONDS
    expr = cases.aggregate(
        # The mean from the durations' exact integer sum: the same to the last digit however
        # the engine splits the work (see discovery.wait_statistics).
        cases=cases.count(),
        duration_us=exact_micros(cases[LAST_US] - cases[FIRST_US]).sum(),
        median=seconds.median(),
        p90=seconds.quantile(0.9),
        min=seconds.min(),
        max=seconds.max(),
        **({"events": cases[EVENTS].sum()} if events else {}),
    )
    row = _rows(expr)[0]
    count = int(row.pop("cases"))
    event_count = int(row.pop("events", 0) or 0)
    total = int(row.pop("duration_us") or 0)
    mean = float(Fraction(total, count * MICROSECONDS)) if count else 0.0
    figures = {key: float(value or 0.0) for key, value in row.items()}
    return count, event_count, DurationSummary(mean=mean, **figures)


def repeated_activities_expr(ordered: CaseOrderedLog) -> ir.Table:
    """One row per (case, activity) that occurs more than once in the case."""
    events = ordered.events
    counted = events.group_by([CASE_KEY, ACTIVITY]).agg(occurrences=events.count())
    return counted.filter(counted.occurrences > 1)


def repeated_in_variants_expr(ordered: CaseOrderedLog) -> ir.Table:
    """One row per (variant, activity) that occurs more than once in the variant, with the
    number of cases that follow the variant.

    Rework is a property of a case's sequence, so it is counted on the variants (a few
    hundred rows, usually) rather than on every event: the same answer as
    :func:`repeated_activities_expr` grouped by activity, without a pass over the events.
    """
    cases = ordered.cases
    per_variant = cases.group_by(VARIANT).agg(cases=cases.count())
    steps = per_variant.select(VARIANT, "cases", **{ACTIVITY: per_variant[VARIANT].unnest()})
    counted = steps.group_by([VARIANT, ACTIVITY]).agg(
        cases=steps.cases.max(), occurrences=steps.count()
    )
    return counted.filter(counted.occurrences > 1)


def rework_cases_expr(ordered: CaseOrderedLog, repeated: ir.Table | None = None) -> ir.Table:
    """Per activity, the number of cases in which it occurs more than once.

    ``repeated`` is :func:`repeated_in_variants_expr`'s result when the caller stored it.
    """
    repeated = repeated_in_variants_expr(ordered) if repeated is None else repeated
    return repeated.group_by(ACTIVITY).agg(cases=repeated.cases.sum())


def _reworked_cases(repeated: ir.Table) -> ir.Table:
    """One row, one column ``reworked``: how many cases repeat at least one activity.

    ``repeated`` is :func:`repeated_in_variants_expr`'s result."""
    per_variant = repeated.group_by(VARIANT).agg(cases=repeated.cases.max())
    return per_variant.aggregate(reworked=per_variant.cases.sum().coalesce(0))


def rework_cases(ordered: CaseOrderedLog, repeated: ir.Table | None = None) -> dict[str, int]:
    """Activity → cases in which it was repeated (pm4py's rework cases per activity)."""
    rows = _rows(rework_cases_expr(ordered, repeated))
    pairs = sorted(
        ((row[ACTIVITY], int(row["cases"])) for row in rows), key=lambda p: (-p[1], p[0])
    )
    return dict(pairs)


def rework_in_variants(variants: Sequence[Variant]) -> tuple[int, dict[str, int]]:
    """The cases that repeat an activity, and activity → cases in which it was repeated,
    from every variant of a log (as :func:`rework_cases` orders them)."""
    reworked = 0
    per_activity: Counter[str] = Counter()
    for variant in variants:
        repeated = [name for name, n in Counter(variant.activities).items() if n > 1]
        if repeated:
            reworked += variant.cases
            per_activity.update(dict.fromkeys(repeated, variant.cases))
    return reworked, dict(sorted(per_activity.items(), key=lambda p: (-p[1], p[0])))


def throughput(cases: ir.Table, *, period: str = "day") -> list[dict[str, Any]]:
    """Cases completed per UTC day (``period="day"``) or ISO week (``"week"``, by Monday),
    from a cases table with ``FIRST_US`` and ``LAST_US``.

    A case counts as completed when its last event happened; open cases are not told
    apart (the log does not say which are finished). Periods without completions are left
    out.
    """
    if period not in ("day", "week"):
        raise InvalidInput.for_field("period", "choose day or week")
    return throughput_of_spans(case_spans(cases), period=period)


def wip_per_day(cases: ir.Table) -> list[dict[str, Any]]:
    """Open cases on each UTC day from the first event's day to the last one's, from a
    cases table with ``FIRST_US`` and ``LAST_US``.

    A case is open on every day from the day of its first event (its first start, for
    interval logs) to the day of its last event, both included.
    """
    return wip_of_spans(case_spans(cases))


# (day of the first event, day after the last event, cases): what throughput and WIP are
# both counted from, so one query over the cases serves the two.
Spans = list[tuple[int, int, int]]


def case_spans(cases: ir.Table) -> Spans:
    """The cases counted by (opening day, day after closing), in whole UTC days since
    1970-01-01: a few thousand rows however many cases there are."""
    # One query over the cases: a union of the openings and the closings, each reading a
    # filtered cases table, is compiled for PostgreSQL with one branch's semi-join lost
    # (Ibis 12).
    spans = cases.group_by(
        opened=_day_number(cases[FIRST_US]), closed=_day_number(cases[LAST_US]) + 1
    ).agg(cases=cases.count())
    return [(int(row["opened"]), int(row["closed"]), int(row["cases"])) for row in _rows(spans)]


def throughput_of_spans(spans: Spans, *, period: str = "day") -> list[dict[str, Any]]:
    """:func:`throughput` from :func:`case_spans`: a case is completed on its closing day."""
    completed: Counter[int] = Counter()
    for _, closed, count in spans:
        day = closed - 1
        # Python's // floors as the query's did, so days before 1970 fall in their week.
        bucket = ((day + _MONDAY_SHIFT) // 7) * 7 - _MONDAY_SHIFT if period == "week" else day
        completed[bucket] += count
    label = "week" if period == "week" else "date"
    return [
        {label: _date(bucket).isoformat(), "cases": completed[bucket]}
        for bucket in sorted(completed)
    ]


def wip_of_spans(spans: Spans) -> list[dict[str, Any]]:
    """:func:`wip_per_day` from :func:`case_spans`."""
    if not spans:
        return []
    series: list[dict[str, Any]] = []
    by_day: dict[int, int] = {}
    for opened, closed, count in spans:
        by_day[opened] = by_day.get(opened, 0) + count
        by_day[closed] = by_day.get(closed, 0) - count
    first, last = min(by_day), max(by_day) - 1  # the last change is the day after the end
    open_cases = 0
    # The per-day series is small (one entry per calendar day of the log), so it is filled
    # here rather than by generating a calendar on each backend.
    for day in range(first, last + 1):
        open_cases += by_day.get(day, 0)
        series.append({"date": _date(day).isoformat(), "open_cases": open_cases})
    return series


@dataclass(frozen=True)
class ExceptionKind:
    """One value of the exception attribute: events and cases it marks, Pareto share."""

    kind: str
    events: int
    cases: int
    share: float
    cumulative_share: float

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "events": self.events,
            "cases": self.cases,
            "share": self.share,
            "cumulative_share": self.cumulative_share,
        }


def exception_pareto(ordered: CaseOrderedLog, attribute: str) -> list[ExceptionKind]:
    """Exception events by kind, most frequent first, with shares and cumulative shares.

    An event is an exception when ``attribute`` (carried by ``order_events``) holds a
    value other than null, empty, ``0``, ``false``, ``no`` or ``none``; the value is the
    kind. Ties are ordered by kind.
    """
    events = ordered.events
    if attribute not in events.columns:
        raise InvalidInput.for_field("exception_attribute", f"the log has no column {attribute!r}")
    marked = _exception_events(ordered, attribute)
    rows = _rows(
        marked.group_by(kind=marked[attribute].cast("string")).agg(
            events=marked.count(), cases=marked[CASE_KEY].nunique()
        )
    )
    rows.sort(key=lambda row: (-int(row["events"]), row["kind"]))
    total = sum(int(row["events"]) for row in rows)
    out: list[ExceptionKind] = []
    running = 0
    for row in rows:
        running += int(row["events"])
        out.append(
            ExceptionKind(
                row["kind"],
                int(row["events"]),
                int(row["cases"]),
                int(row["events"]) / total,
                running / total,
            )
        )
    return out


def _exception_events(ordered: CaseOrderedLog, attribute: str) -> ir.Table:
    events = ordered.events
    value = events[attribute].cast("string").strip().lower()
    return events.filter(value.notnull() & ~value.isin(_NO_EXCEPTION))


def first_pass_yield(
    ordered: CaseOrderedLog,
    *,
    exception_attribute: str | None = None,
    repeated: ir.Table | None = None,
) -> float:
    """Share of cases that repeat no activity (and, with ``exception_attribute``, have no
    exception event). 0.0 for a log without cases.

    ``repeated`` is :func:`repeated_in_variants_expr`'s result when the caller stored it;
    with ``exception_attribute`` the cases are matched one by one instead.
    """
    cases = ordered.cases
    total = cases.aggregate(total=cases.count())
    if exception_attribute is None:
        repeated = repeated_in_variants_expr(ordered) if repeated is None else repeated
        failed = _reworked_cases(repeated).select(failed="reworked")
    else:
        flagged = _exception_events(ordered, exception_attribute).select(CASE_KEY)
        either = repeated_activities_expr(ordered).select(CASE_KEY).union(flagged, distinct=False)
        failed = either.aggregate(failed=either[CASE_KEY].nunique())
    counts = _rows(total.cross_join(failed))[0]
    if not counts["total"]:
        return 0.0
    return 1.0 - int(counts["failed"] or 0) / int(counts["total"])


@dataclass(frozen=True)
class Kpis:
    """The KPI document of ``andon kpi --json``; ``extra`` holds extension figures."""

    cases: int
    events: int
    case_duration: DurationSummary
    rework_cases: dict[str, int]
    rework_rate: float
    first_pass_yield: float
    throughput_per_day: list[dict[str, Any]]
    throughput_per_week: list[dict[str, Any]]
    wip_per_day: list[dict[str, Any]]
    time_in_stage: dict[str, tuple[int, Performance]]
    bottlenecks: dict[str, list[Any]]
    exceptions: dict[str, Any] | None
    extra: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cases": self.cases,
            "events": self.events,
            "case_duration": self.case_duration.as_json(),
            "rework_cases": self.rework_cases,
            "rework_rate": self.rework_rate,
            "first_pass_yield": self.first_pass_yield,
            "throughput_per_day": self.throughput_per_day,
            "throughput_per_week": self.throughput_per_week,
            "wip_per_day": self.wip_per_day,
            "time_in_stage": {
                activity: {"occurrences": count, **perf.as_json()}
                for activity, (count, perf) in self.time_in_stage.items()
            },
            "bottlenecks": {
                ranking: [item.as_json() for item in items]
                for ranking, items in self.bottlenecks.items()
            },
        }
        if self.exceptions is not None:
            out["exceptions"] = self.exceptions
        return out | self.extra


def compute_kpis(
    ordered: CaseOrderedLog,
    *,
    dfg: Dfg | None = None,
    variants: Sequence[Variant] | None = None,
    exception_attribute: str | None = None,
    extensions: Sequence[KpiExtension] = (),
) -> Kpis:
    """Every KPI of the log. ``dfg`` (with performance) is reused for the bottleneck
    ranking when the caller has one; otherwise it is computed. ``variants``, every variant
    of the log when the caller has them, give the rework figures without another query.

    ``exception_attribute`` names the event attribute that marks exceptions (carried by
    ``order_events(attributes=...)``); without it the document has no ``exceptions``.
    Extension figures are merged at the top level; a key clash raises InvalidInput.
    """
    if variants is not None:
        reworked, per_activity = rework_in_variants(variants)
    else:
        # Small (one row per repeated activity of a variant) and read twice: stored once.
        repeated = store(repeated_in_variants_expr(ordered), ordered.engine)
        reworked = int(_rows(_reworked_cases(repeated))[0]["reworked"] or 0)
        per_activity = rework_cases(ordered, repeated)
    fpy = None
    if exception_attribute is not None:
        fpy = first_pass_yield(ordered, exception_attribute=exception_attribute)
    stages = discover_stage_times(ordered)
    if dfg is None or any(edge.performance is None for edge in dfg.edges):
        dfg = discover_dfg(ordered, performance=True)
    exceptions = None
    if exception_attribute is not None:
        pareto = exception_pareto(ordered, exception_attribute)
        exceptions = {
            "attribute": exception_attribute,
            "events": sum(kind.events for kind in pareto),
            "pareto": [kind.as_json() for kind in pareto],
        }
    kpis = kpis_of_cases(
        ordered.cases,
        rework=(reworked, per_activity),
        stages=stages,
        dfg=dfg,
        first_pass_yield=fpy,
        exceptions=exceptions,
    )
    taken = set(kpis.as_json())
    extra: dict[str, Any] = {}
    for extension in extensions:
        figures = dict(extension(ordered))
        clash = (taken | set(extra)) & set(figures)
        if clash:
            raise InvalidInput.for_field(
                "kpi", f"an extension redefines {', '.join(sorted(clash))}"
            )
        extra |= figures
    return Kpis(**{**kpis.__dict__, "extra": extra})


def kpis_of_cases(
    cases: ir.Table,
    *,
    rework: tuple[int, dict[str, int]],
    stages: dict[str, tuple[int, Performance]],
    dfg: Dfg,
    first_pass_yield: float | None = None,
    exceptions: dict[str, Any] | None = None,
) -> Kpis:
    """The KPI document from a cases table (``EVENTS``, ``FIRST_US``, ``LAST_US`` per case)
    and the figures computed elsewhere: ``rework`` as :func:`rework_in_variants` gives it,
    the time in each stage, the performance ``dfg`` for the bottlenecks.

    ``first_pass_yield`` None is the share of cases without rework (no exception attribute).
    """
    cases_count, events, durations = _case_figures(cases)
    reworked, per_activity = rework
    if first_pass_yield is None:
        first_pass_yield = 1.0 - reworked / cases_count if cases_count else 0.0
    spans = case_spans(cases)
    return Kpis(
        cases=cases_count,
        events=events,
        case_duration=durations,
        rework_cases=per_activity,
        rework_rate=reworked / cases_count if cases_count else 0.0,
        first_pass_yield=first_pass_yield,
        throughput_per_day=throughput_of_spans(spans, period="day"),
        throughput_per_week=throughput_of_spans(spans, period="week"),
        wip_per_day=wip_of_spans(spans),
        time_in_stage=stages,
        bottlenecks=rank_bottlenecks(dfg, stages),
        exceptions=exceptions,
        extra={},
    )


def _day_number(us: ir.IntegerValue) -> ir.IntegerValue:
    """Whole UTC days since 1970-01-01 (floor, so instants before 1970 work too)."""
    return us // _US_PER_DAY


def _date(day_number: int) -> date:
    return _EPOCH + timedelta(days=day_number)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    from andon.analytics.results import fetch_rows

    return fetch_rows(expr)
