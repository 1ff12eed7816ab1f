"""Per-period values of the built-in KPIs over the plant's own event log (issue 15, source a).

The log is Andon's ``work_events`` read with ``read_andon_events(..., events="all")``: one row
per event with the item's ``line``, ``product``, ``process_key`` and ``item_status`` and the
event's ``kind`` (and ``category`` for exceptions). Everything is an Ibis expression, so the
same code runs on DuckDB (the default) and on PostgreSQL in place; Python only assembles the
few aggregated rows per period.

Vocabulary (docs/metrics.md, "How each KPI is computed per period", says the same):

- A **stage entry** is a ``created`` or ``moved`` event; its stage is the event's activity
  (the stage's name). Entries of an item are ordered by time, then by event id.
- A **visit** runs from a stage entry to the item's next stage entry (its **end**); the last
  visit of an item has no end yet.
- A **re-entry** is a stage entry into a stage the item had entered before.
- An item is **completed** when its status is ``done``; it completed at its last stage entry
  (the move into an end stage). It was **created** at its first stage entry.
- An instant belongs to the period whose ``[start, end)`` holds it, in the site's time zone
  (``andon.metrics.periods``); for shifts, the shift instance holding it — an instant between
  shifts belongs to no shift, and no shift starts on a holiday.

KPIs, per period (``count`` and ``n`` are what a p, u or c chart needs):

- ``rework_rate``: n = items with a stage entry in the period (at ``stage`` when given), count
  = those of them with a re-entry in the period (into ``stage`` when given); value = count / n.
- ``first_pass_yield``: n = items completed in the period, count = those without any re-entry
  in their history (into ``stage`` when given); value = count / n.
- ``time_in_stage`` (``stage`` required): mean wall-clock hours of the visits of ``stage``
  whose end falls in the period; n = those visits.
- ``cycle_time``: mean wall-clock hours from created to completed of the items completed in
  the period; n = those items.
- ``throughput``: value = count = items completed in the period.
- ``wip``: value = count = items created before the period's end and not completed before it
  (paused items are open).
- ``sla_attainment``: n = visits of stages with an SLA (only ``stage`` when given) whose end
  falls in the period, count = those with no ``stage_breached`` event during the visit, i.e.
  within target in business time as Andon's sweep judged it (``analytics.sla.stage_visits``
  with ``basis="business"``, which needs each process's definition); value = count / n.
- ``exception_count``: value = count = ``exception`` events in the period (of ``category``
  when given, raised at ``stage`` when given); n = items with any event in the period, the
  exposure of a u chart. Exceptions raised on a line, not an item, are not in the item log.

Filters: ``process`` (the process key), ``line`` (line code), ``product`` select items by the
item's values now (an item rerouted to another line counts on its current line); ``stage``
names a stage by its name as the log writes it or, with ``specs``, by its key. A proportion
or mean with nothing to measure has value None ("no data"), never 0; counts are 0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from andon.analytics.conformance import process_model
from andon.analytics.log import ACTIVITY, CASE, ORDER, TIMESTAMP, EventLog
from andon.analytics.ordering import backend_name, epoch_us
from andon.analytics.results import fetch_rows
from andon.analytics.sla import STAGE_ENTRY_KINDS, breached_visits, stage_visits
from andon.calendars.hours import Shift, validate_shifts
from andon.core.errors import FieldError, InvalidInput
from andon.metrics.definition import KpiSource
from andon.metrics.periods import (
    PERIOD_KINDS,
    Period,
    PeriodKind,
    period_bounds,
    period_containing,
    periods_between,
)
from andon.metrics.series import PeriodValue

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from andon.processes.spec import ProcessSpec

ENTRY_KINDS = ("created", "moved")
EXCEPTION_KIND = "exception"
DONE_STATUS = "done"
REQUIRED_COLUMNS = ("kind", "line", "product", "process_key", "item_status")
_US_PER_HOUR = 3_600_000_000
# Group → (value, count, n) as the compute functions give them.
_Aggregates = dict[tuple[str, str | None], tuple[float | None, float | None, float | None]]


@dataclass(frozen=True)
class _Shifts:
    """The site's weekly shifts and the local dates on which none starts."""

    pattern: tuple[Shift, ...] = ()
    holidays: frozenset[date] = frozenset()


_NO_SHIFTS = _Shifts()


@dataclass(frozen=True)
class _Span:
    period: Period
    start_at: datetime
    end_at: datetime


def kpi_values(
    log: EventLog,
    source: KpiSource,
    period_kind: PeriodKind,
    zone: ZoneInfo,
    *,
    by_line: bool = False,
    periods: Collection[Period] | None = None,
    shifts: Sequence[Shift] | None = None,
    holidays: Collection[date] = (),
    specs: Mapping[str, ProcessSpec] | None = None,
) -> list[PeriodValue]:
    """The values of ``source``'s KPI per period (and per line with ``by_line``), oldest first.

    ``periods=None``: every period from the one holding the log's first event to the one
    holding its last (any filter aside), each with a value; otherwise only ``periods``, each
    computed exactly as a full run computes it. ``by_line``: one value per line of the
    filtered log per period. Shift periods need the site's ``shifts`` (a calendar without
    shifts works around the clock and has none: InvalidInput on ``period``); no shift starts
    on one of the site's ``holidays`` (local dates), as in the business calendar. ``specs``:
    process key → definition, needed by ``sla_attainment`` and to name ``stage`` by its key.
    The log must be Andon's own events read with ``events="all"`` (InvalidInput on ``log``).
    """
    _check_log(log)
    if source.kpi == "oee":
        raise InvalidInput.for_field(
            "source.kpi", "oee is computed from lines, shifts and downtime by andon.metrics.oee"
        )
    if period_kind not in PERIOD_KINDS:
        raise InvalidInput.for_field("period", f"choose one of {', '.join(PERIOD_KINDS)}")
    day_shifts = (
        _Shifts(_usable_shifts(shifts), frozenset(holidays))
        if period_kind == "shift"
        else _NO_SHIFTS
    )
    if periods is None:
        spans = _covered_spans(log.table, period_kind, zone, day_shifts)
    else:
        spans = _requested_spans(periods, period_kind, zone, day_shifts)
    if not spans:
        return []
    table = _filtered(log.table, source)
    lines: Sequence[str | None] = [None]
    if by_line:
        found = fetch_rows(table.select("line").distinct())
        lines = sorted({str(row["line"]) for row in found if row["line"] is not None})
    if periods is not None and source.kpi != "wip":
        # Only items with an event in the periods' span can count there (a visit or item
        # ends at an event, and every count is of events), so the windows over each item's
        # history run on those items alone. wip also counts items idle through a period.
        table = _touching(table, spans)
    bounds = _bounds_table(spans)
    labels = _stage_labels(source.stage, specs)
    aggregates = _COMPUTE[source.kpi](table, bounds, by_line, labels, source, specs or {})
    empty = _EMPTY[source.kpi]
    return [
        PeriodValue(span.period.key, line, *aggregates.get((span.period.key, line), empty))
        for span in spans
        for line in lines
    ]


def affected_periods(
    timestamps: Iterable[datetime],
    period_kind: PeriodKind,
    zone: ZoneInfo,
    *,
    shifts: Sequence[Shift] | None = None,
    holidays: Collection[date] = (),
) -> set[Period]:
    """The periods holding these instants (aware), as :func:`kpi_values` attributes them.

    An instant between shifts is in no shift period. A late event can also change values of
    later periods: ``wip`` (an item's creation or completion counts at every later period's
    end), and the period where a visit or item it belongs to ends (``time_in_stage``,
    ``cycle_time``, ``sla_attainment``); Andon records events as they happen, so those are
    the same period, except for ``wip``, which the caller recomputes from the earliest
    affected period on.
    """
    if period_kind != "shift":
        return {period_containing(period_kind, at, zone) for at in timestamps}
    day_shifts = _Shifts(_usable_shifts(shifts), frozenset(holidays))
    found: set[Period] = set()
    for at in timestamps:
        local_day = at.astimezone(zone).date()
        # An overnight shift that started the day before may hold the instant.
        for span in _shift_spans(local_day - timedelta(days=1), local_day, zone, day_shifts):
            if span.start_at <= at < span.end_at:
                found.add(span.period)
    return found


def _check_log(log: EventLog) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in log.table.columns]
    if missing:
        raise InvalidInput.for_field(
            "log",
            "KPI values need Andon's own events read with events='all'; "
            f"the log has no {', '.join(missing)} column",
        )


def _usable_shifts(shifts: Sequence[Shift] | None) -> tuple[Shift, ...]:
    if not shifts:
        raise InvalidInput.for_field(
            "period",
            "shift periods need the site's shifts, and its calendar has none (it works around "
            "the clock); use day, week or month",
        )
    errors = validate_shifts(shifts)
    for i, shift in enumerate(shifts):
        if "/" in shift.name or not shift.name.strip():
            errors.append(
                FieldError(("shifts", i, "name"), f"shift {shift.name!r}: a name without '/'")
            )
    if errors:
        raise InvalidInput(
            "shifts: the calendar's shifts cannot make periods: " + errors[0].msg, errors
        )
    return tuple(shifts)


def _shift_spans(first: date, last: date, zone: ZoneInfo, shifts: _Shifts) -> list[_Span]:
    """Every shift instance starting on a local day from ``first`` to ``last``, in order."""
    spans: list[_Span] = []
    day = first
    while day <= last:
        for shift in shifts.pattern:
            if day.weekday() in shift.days and day not in shifts.holidays:
                period = Period("shift", day, shift.name.strip())
                start, end = period_bounds(period, zone, shift_times=(shift.start, shift.end))
                spans.append(_Span(period, start, end))
        day += timedelta(days=1)
    spans.sort(key=lambda s: s.start_at)
    return spans


def _covered_spans(
    table: ir.Table, kind: PeriodKind, zone: ZoneInfo, shifts: _Shifts
) -> list[_Span]:
    row = fetch_rows(table.aggregate(first=table[TIMESTAMP].min(), last=table[TIMESTAMP].max()))
    first_at, last_at = row[0]["first"], row[0]["last"]
    if first_at is None:
        return []
    first_day, last_day = first_at.astimezone(zone).date(), last_at.astimezone(zone).date()
    if kind == "shift":
        spans = _shift_spans(first_day - timedelta(days=1), last_day, zone, shifts)
        return [s for s in spans if s.end_at > first_at and s.start_at <= last_at]
    return [_span(p, zone) for p in periods_between(kind, first_day, last_day)]


def _requested_spans(
    periods: Collection[Period], kind: PeriodKind, zone: ZoneInfo, shifts: _Shifts
) -> list[_Span]:
    spans: list[_Span] = []
    times = {s.name.strip(): s for s in shifts.pattern}
    for period in sorted(set(periods)):
        if period.kind != kind:
            raise InvalidInput.for_field(
                "periods", f"{period.key} is a {period.kind} period; the metric counts {kind}s"
            )
        if kind != "shift":
            spans.append(_span(period, zone))
            continue
        shift = times.get(period.shift or "")
        if (
            shift is None
            or period.first.weekday() not in shift.days
            or period.first in shifts.holidays
        ):
            raise InvalidInput.for_field(
                "periods", f"no shift {period.shift!r} starts on {period.first.isoformat()}"
            )
        start, end = period_bounds(period, zone, shift_times=(shift.start, shift.end))
        spans.append(_Span(period, start, end))
    spans.sort(key=lambda s: s.start_at)
    return spans


def _span(period: Period, zone: ZoneInfo) -> _Span:
    start, end = period_bounds(period, zone)
    return _Span(period, start, end)


@dataclass(frozen=True)
class _Bounds:
    """The periods to compute as a table (``period``, ``p_start``, ``p_end``); ``disjoint``:
    no two of them overlap, so an instant is in at most one."""

    table: ir.Table
    disjoint: bool


def _bounds_table(spans: Sequence[_Span]) -> _Bounds:
    import ibis
    import pyarrow as pa

    stamp = pa.timestamp("us", tz="UTC")
    arrow = pa.table(
        {
            "period": pa.array([s.period.key for s in spans], pa.string()),
            "p_start": pa.array([s.start_at for s in spans], stamp),
            "p_end": pa.array([s.end_at for s in spans], stamp),
        }
    )
    # Spans come sorted by start; days, weeks and months tile time, and shifts may not
    # overlap on the wall clock, but the check costs nothing.
    disjoint = all(a.end_at <= b.start_at for a, b in pairwise(spans))
    return _Bounds(ibis.memtable(arrow), disjoint)


def _filtered(table: ir.Table, source: KpiSource) -> ir.Table:
    for column, wanted in (
        ("process_key", source.process),
        ("line", source.line),
        ("product", source.product),
    ):
        if wanted is not None:
            table = table.filter(table[column] == wanted)
    return table


def _touching(table: ir.Table, spans: Sequence[_Span]) -> ir.Table:
    """Every event of the items with an event from the first span's start to the last's end."""
    import ibis

    low = ibis.literal(min(s.start_at for s in spans), "timestamp('UTC')")
    high = ibis.literal(max(s.end_at for s in spans), "timestamp('UTC')")
    stamp = table[TIMESTAMP]
    touched = table.filter((stamp >= low) & (stamp < high)).select(CASE).distinct()
    return table.semi_join(touched, CASE)


def _stage_labels(stage: str | None, specs: Mapping[str, ProcessSpec] | None) -> list[str] | None:
    """The activities (stage names) that ``stage`` names: itself, and with ``specs`` the name
    of every stage whose key it is. None: no stage filter."""
    if stage is None:
        return None
    labels = {stage}
    for spec in (specs or {}).values():
        labels.update(s.name for s in spec.stages if s.key == stage)
    return sorted(labels)


def _on_bounds(rows: ir.Table, at: str, bounds: _Bounds) -> ir.Table:
    """``rows`` with the ``period`` holding ``rows[at]``; rows in no period drop out."""
    periods = bounds.table
    if bounds.disjoint and backend_name(rows) == "duckdb":
        # With periods that do not overlap, the one holding an instant is the last to start
        # at or before it, if it has not ended: an as-of join (a merge of two sorted inputs)
        # finds it, where a join on two inequalities compares every row with every period
        # (ten times slower over a year of days at 10M events).
        joined = rows.asof_join(periods, rows[at] >= periods.p_start)
        return joined.filter(joined[at] < joined.p_end)
    return rows.join(periods, [rows[at] >= periods.p_start, rows[at] < periods.p_end])


def _keys(by_line: bool) -> list[str]:
    return ["period", "line"] if by_line else ["period"]


def _group(row: Mapping[str, Any], by_line: bool) -> tuple[str, str | None]:
    return str(row["period"]), (row["line"] if by_line else None)


def _visit_ends(table: ir.Table) -> ir.Table:
    """Stage entries with the end of their visit (``left_at``, the item's next entry)."""
    import ibis

    e = table.filter(table.kind.isin(ENTRY_KINDS))
    by_case = ibis.window(group_by=e[CASE], order_by=[e[TIMESTAMP], e[ORDER]])
    return e.mutate(left_at=e[TIMESTAMP].lead().over(by_case))


def _items(table: ir.Table, labels: list[str] | None) -> ir.Table:
    """One row per item: line, created_at, done_at (null while open), reworked."""
    import ibis

    e = table.filter(table.kind.isin(ENTRY_KINDS))
    # An item re-entered a stage when it entered it more than once: counted per stage, no
    # ordering of the entries is needed (a window over every entry costs several times more).
    per_stage = e.group_by([CASE, "line", ACTIVITY]).aggregate(
        created_at=e[TIMESTAMP].min(),
        last_at=e[TIMESTAMP].max(),
        done=(e.item_status == DONE_STATUS).any(),
        entries=e.count(),
    )
    again = per_stage.entries > 1
    if labels is not None:
        again = again & per_stage[ACTIVITY].isin(labels)
    items = per_stage.group_by([CASE, "line"]).aggregate(
        created_at=per_stage.created_at.min(),
        last_at=per_stage.last_at.max(),
        done=per_stage.done.any(),
        reworked=again.any(),
    )
    return items.mutate(
        done_at=items.done.ifelse(items.last_at, ibis.null("timestamp('UTC')")),
    )


def _proportions(rows: list[dict[str, Any]], by_line: bool) -> _Aggregates:
    out: _Aggregates = {}
    for row in rows:
        count, n = int(row["count"] or 0), int(row["n"])
        out[_group(row, by_line)] = (count / n if n else None, count, n)
    return out


def _means(rows: list[dict[str, Any]], by_line: bool) -> _Aggregates:
    out: _Aggregates = {}
    for row in rows:
        n, total = int(row["n"]), int(row["total_us"] or 0)
        # From the exact integer sum of microseconds: the same on every engine.
        out[_group(row, by_line)] = (float(Fraction(total, n * _US_PER_HOUR)), None, n)
    return out


def _counts(rows: list[dict[str, Any]], by_line: bool) -> _Aggregates:
    out: _Aggregates = {}
    for row in rows:
        count = int(row["count"])
        out[_group(row, by_line)] = (count, count, None)
    return out


def _rework_rate(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    import ibis

    # The re-entries alone: no visit ends are needed, and the stage filter goes before the
    # window (it keeps or drops whole partitions, so the numbering is the same).
    e = table.filter(table.kind.isin(ENTRY_KINDS))
    if labels is not None:
        e = e.filter(e[ACTIVITY].isin(labels))
    by_stage = ibis.window(group_by=[e[CASE], e[ACTIVITY]], order_by=[e[TIMESTAMP], e[ORDER]])
    e = e.mutate(reentry=ibis.row_number().over(by_stage) > 0)
    e = _on_bounds(e, TIMESTAMP, bounds)
    rows = fetch_rows(
        e.group_by(_keys(by_line)).aggregate(
            n=e[CASE].nunique(), count=e[CASE].nunique(where=e.reentry)
        )
    )
    return _proportions(rows, by_line)


def _first_pass_yield(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    items = _items(table, labels)
    done = _on_bounds(items.filter(items.done), "done_at", bounds)
    rows = fetch_rows(
        done.group_by(_keys(by_line)).aggregate(
            n=done.count(), count=(~done.reworked).ifelse(1, 0).sum()
        )
    )
    return _proportions(rows, by_line)


def _time_in_stage(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    engine = backend_name(table)
    e = _visit_ends(table)
    e = e.filter(e.left_at.notnull())
    if labels is not None:
        e = e.filter(e[ACTIVITY].isin(labels))
    e = e.mutate(us=epoch_us(e.left_at, engine) - epoch_us(e[TIMESTAMP], engine))
    e = _on_bounds(e, "left_at", bounds)
    rows = fetch_rows(e.group_by(_keys(by_line)).aggregate(n=e.count(), total_us=e.us.sum()))
    return _means(rows, by_line)


def _cycle_time(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    engine = backend_name(table)
    items = _items(table, None)
    done = items.filter(items.done)
    done = done.mutate(us=epoch_us(done.done_at, engine) - epoch_us(done.created_at, engine))
    done = _on_bounds(done, "done_at", bounds)
    rows = fetch_rows(
        done.group_by(_keys(by_line)).aggregate(n=done.count(), total_us=done.us.sum())
    )
    return _means(rows, by_line)


def _throughput(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    items = _items(table, None)
    done = _on_bounds(items.filter(items.done), "done_at", bounds)
    return _counts(fetch_rows(done.group_by(_keys(by_line)).aggregate(count=done.count())), by_line)


def _wip(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    items = _items(table, None)
    periods = bounds.table
    open_at_end = items.join(
        periods,
        [
            items.created_at < periods.p_end,
            items.done_at.isnull() | (items.done_at >= periods.p_end),
        ],
    )
    rows = fetch_rows(open_at_end.group_by(_keys(by_line)).aggregate(count=open_at_end.count()))
    return _counts(rows, by_line)


def _sla_attainment(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    keys = sorted(str(r["process_key"]) for r in fetch_rows(table.select("process_key").distinct()))
    missing = [key for key in keys if key not in specs]
    if missing:
        raise InvalidInput.for_field(
            "specs", f"sla_attainment needs the definition of process {', '.join(missing)}"
        )
    item_lines = table.select(CASE, "line").distinct() if by_line else None
    totals: dict[tuple[str, str | None], list[int]] = {}
    for key in keys:
        spec = specs[key]
        of_process = table.filter(table.process_key == key)
        stage_keys = None
        if source.stage is not None:
            stage_keys = [s.key for s in spec.stages if source.stage in (s.key, s.name)]
            stage_keys = stage_keys or [source.stage]
        if backend_name(table) == "duckdb":
            # n from the visits' ends alone (one window pass over the entries), the breached
            # visits from the items with a breach (a fifth of them); count = n - breached.
            ended = _ended_visits(of_process, spec, stage_keys, bounds, by_line)
            breached = _breached_visits(of_process, spec, stage_keys, bounds, by_line)
            for row in ended:
                total = totals.setdefault(_group(row, by_line), [0, 0])
                total[0] += int(row["n"])
                total[1] += int(row["n"])
            for row in breached:
                totals[_group(row, by_line)][0] -= int(row["n"])
            continue
        visits = stage_visits(EventLog(of_process, "kpi_values"), spec, "business")
        visits = visits.filter(visits.measured & visits.target_seconds.notnull())
        if stage_keys is not None:
            visits = visits.filter(visits.stage.isin(stage_keys))
        if item_lines is not None:
            visits = visits.join(item_lines, CASE)
        visits = _on_bounds(visits, "next_entered_at", bounds)
        rows = fetch_rows(
            visits.group_by(_keys(by_line)).aggregate(
                n=visits.count(), count=visits.within.ifelse(1, 0).sum()
            )
        )
        for row in rows:
            total = totals.setdefault(_group(row, by_line), [0, 0])
            total[0] += int(row["count"] or 0)
            total[1] += int(row["n"])
    return {group: (count / n if n else None, count, n) for group, (count, n) in totals.items()}


def _sla_stages(spec: ProcessSpec, stage_keys: list[str] | None) -> list[str]:
    """The stages whose visits count: those with an SLA (only ``stage_keys`` when given)."""
    return [
        s.key
        for s in spec.stages
        if s.sla is not None and (stage_keys is None or s.key in stage_keys)
    ]


def _ended_visits(
    table: ir.Table,
    spec: ProcessSpec,
    stage_keys: list[str] | None,
    bounds: _Bounds,
    by_line: bool,
) -> list[dict[str, Any]]:
    """``n`` per group: the measured visits of the counted stages, by the period of their end.

    A visit ends where the next one starts: at an entry into another stage than the entry
    before it, which names the ended visit's stage (``analytics.sla.stage_visits``' visits,
    counted without building them).
    """
    import ibis

    counted = _sla_stages(spec, stage_keys)
    if not counted:
        return []
    model = process_model(spec)
    branches = [(ibis.literal(label), ibis.literal(k)) for label, k in model.stage_of.items()]
    e = table.filter(table.kind.isin(STAGE_ENTRY_KINDS))
    e = e.mutate(stage=e[ACTIVITY].cases(*branches, else_=ibis.null("string")))
    e = e.filter(e.stage.notnull())
    by_case = ibis.window(group_by=e[CASE], order_by=[e[TIMESTAMP], e[ORDER]])
    e = e.mutate(ended=e.stage.lag().over(by_case))
    e = e.filter(e.ended.notnull() & (e.ended != e.stage) & e.ended.isin(counted))
    e = _on_bounds(e, TIMESTAMP, bounds)
    return fetch_rows(e.group_by(_keys(by_line)).aggregate(n=e.count()))


def _breached_visits(
    table: ir.Table,
    spec: ProcessSpec,
    stage_keys: list[str] | None,
    bounds: _Bounds,
    by_line: bool,
) -> list[dict[str, Any]]:
    """``n`` per group: the measured visits of the counted stages with a breach, by the
    period of their end; only items with a ``stage_breached`` event can have one."""
    counted = _sla_stages(spec, stage_keys)
    if not counted:
        return []
    visits = breached_visits(EventLog(table, "kpi_values"), spec)
    visits = visits.filter(visits.stage.isin(counted))
    if by_line:
        visits = visits.join(table.select(CASE, "line").distinct(), CASE)
    visits = _on_bounds(visits, "next_entered_at", bounds)
    return fetch_rows(visits.group_by(_keys(by_line)).aggregate(n=visits.count()))


def _exception_count(
    table: ir.Table,
    bounds: _Bounds,
    by_line: bool,
    labels: list[str] | None,
    source: KpiSource,
    specs: Mapping[str, ProcessSpec],
) -> _Aggregates:
    raised = table.filter(table.kind == EXCEPTION_KIND)
    if source.category is not None:
        raised = raised.filter(raised.category == source.category)
    if labels is not None:
        raised = raised.filter(raised[ACTIVITY].isin(labels))
    raised = _on_bounds(raised, TIMESTAMP, bounds)
    counts = fetch_rows(raised.group_by(_keys(by_line)).aggregate(count=raised.count()))
    worked = _on_bounds(table, TIMESTAMP, bounds)
    items = fetch_rows(worked.group_by(_keys(by_line)).aggregate(n=worked[CASE].nunique()))
    exposure = {_group(row, by_line): int(row["n"]) for row in items}
    out: _Aggregates = {group: (0, 0, n) for group, n in exposure.items()}
    for row in counts:
        group = _group(row, by_line)
        count = int(row["count"])
        out[group] = (count, count, exposure.get(group, 0))
    return out


_COMPUTE = {
    "rework_rate": _rework_rate,
    "first_pass_yield": _first_pass_yield,
    "time_in_stage": _time_in_stage,
    "cycle_time": _cycle_time,
    "throughput": _throughput,
    "wip": _wip,
    "sla_attainment": _sla_attainment,
    "exception_count": _exception_count,
}
# (value, count, n) of a period (or line) with nothing in it.
_EMPTY: dict[str, tuple[float | None, float | None, float | None]] = {
    "rework_rate": (None, 0, 0),
    "first_pass_yield": (None, 0, 0),
    "time_in_stage": (None, None, 0),
    "cycle_time": (None, None, 0),
    "throughput": (0, 0, None),
    "wip": (0, 0, None),
    "sla_attainment": (None, 0, 0),
    "exception_count": (0, 0, 0),
}
