"""Judging a metric's stored values against its threshold bands, inside the unit of work that
stored them: every crossing kept as history, one action for a series' standing crossing, and
the owner told once per episode when a series has no data.

Each series (the whole metric, '' in the tables, and each line of a metric split by line or
named by a band) is judged by the pure rules of ``thresholds``:

- Every crossing found is stored once in ``metric_crossings`` (metric, line, period, level),
  with the band's decision: the history the metric page and the review pack show.
- The series' *standing* crossing (its latest value beyond a band) opens an action for the
  metric's owner through ``actions.service.open_action`` with the key
  ``metric:KEY:LINE:LEVEL`` (``*`` for the whole metric): at most one such action is open,
  however often or concurrently the metric is evaluated. The crossing row remembers the
  action, so a crossing whose action was closed does not open another; a later period that
  crosses again does. Opening the action notifies its owner (the escalation channel).
- "No data" (the latest value older than ``no_data_after``, or no value at all that long
  after the metric was defined) is never a breach. The owner is told once per episode; a
  fresh value ends the episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from andon.actions.schemas import ActionCreate
from andon.actions.service import open_action
from andon.core.clock import to_local
from andon.core.errors import InvalidInput
from andon.core.permissions import Role
from andon.core.uow import Context, Transaction
from andon.metrics import notices, store
from andon.metrics.definition import MetricDefinition
from andon.metrics.models import Metric, MetricCrossing, MetricValue
from andon.metrics.periods import Period, parse_period, period_bounds
from andon.metrics.series import PeriodValue
from andon.metrics.thresholds import Crossing, Standing, Status, crossings, judge

# An action for a metric whose owning user is no longer active goes to this role instead.
FALLBACK_OWNER = Role.OPS_MANAGER
PRIORITY = {"warning": "high", "critical": "urgent"}


@dataclass(frozen=True)
class SeriesStatus:
    """Where one series of a metric stands now.

    ``line`` ``None`` is the whole metric. ``period`` and ``value`` are the latest value's
    (``None`` without one); ``level`` and ``decision`` the band its latest value crosses;
    ``action_id`` the action opened for that crossing (``None`` before an evaluation has
    seen it). ``stale``: the latest value is older than ``no_data_after`` (status
    ``no_data``); ``told_at``: when the owner was told so.
    """

    line: str | None
    status: Status
    period: str | None
    value: float | None
    level: str | None
    decision: str | None
    action_id: int | None
    stale: bool
    told_at: datetime | None


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did: crossings stored, actions opened (ids of new ones), series
    whose owner was told about no data, and every series' status."""

    key: str
    new_crossings: int
    actions_opened: list[int]
    no_data_told: list[str | None]
    statuses: list[SeriesStatus]


def series_of(
    session: Session, metric: Metric, defn: MetricDefinition
) -> dict[str, list[MetricValue]]:
    """The stored values of each series in period order: '' (the whole metric), each line
    with values, and each line a band names (empty until it has values). A metric split by
    line has a whole series only when its source yields one."""
    found: dict[str, list[MetricValue]] = {"": []}
    for row in store.values(session, metric):
        found.setdefault(row.line, []).append(row)
    for band in defn.thresholds:
        if band.line is not None:
            found.setdefault(band.line, [])
    if defn.by_line and not found[""] and len(found) > 1:
        del found[""]
    return found


def standing_of(
    metric: Metric,
    defn: MetricDefinition,
    line: str,
    rows: list[MetricValue],
    *,
    zone: ZoneInfo,
    now: datetime,
) -> Standing:
    """The standing of one series now (``thresholds.judge`` over its stored values)."""
    measured = [r for r in rows if r.value is not None]
    ended = _end_at(measured[-1], defn, zone) if measured else metric.created_at
    return judge(defn, _as_series(rows, line), latest_end_at=ended, now=now, line=line or None)


def evaluate(
    ctx: Context,
    tx: Transaction,
    metric: Metric,
    defn: MetricDefinition,
    *,
    zone: ZoneInfo,
    now: datetime,
) -> Evaluation:
    """Judge every series of ``metric`` and act on it, inside ``tx``.

    ``tx`` must be the unit of work ``ctx.atomic()`` opened, so the actions open in it too and
    everything commits (or nothing does) with the values that were judged.
    """
    session = tx.session
    session.flush()
    known = {
        (line, period, level)
        for line, period, level in session.execute(
            select(MetricCrossing.line, MetricCrossing.period, MetricCrossing.level).where(
                MetricCrossing.metric_id == metric.id
            )
        )
    }
    told: dict[str, Any] = dict(metric.no_data_told or {})
    fresh: list[dict[str, Any]] = []
    standings: list[tuple[str, Standing]] = []
    for line, every in series_of(session, metric, defn).items():
        rows = finished(every, defn, zone, now)
        for found in crossings(defn, _as_series(rows, line)):
            if (line, found.period, found.level) not in known:
                fresh.append(_crossing_row(metric, line, found, now))
                known.add((line, found.period, found.level))
        standings.append((line, standing_of(metric, defn, line, rows, zone=zone, now=now)))
    if fresh:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        # A concurrent evaluation may store the same crossing first: keep its row.
        session.execute(
            insert(MetricCrossing)
            .values(fresh)
            .on_conflict_do_nothing(index_elements=["metric_id", "line", "period", "level"])
        )
    opened: list[int] = []
    statuses: list[SeriesStatus] = []
    newly_told: list[str | None] = []
    for line, standing in standings:
        action_id = None
        standing_crossing = standing.crossing
        if standing_crossing is not None:
            action_id, created = _act(
                ctx, session, metric, defn, line, standing_crossing, zone, now
            )
            if created:
                opened.append(action_id)
        if standing.stale and defn.no_data_after is not None:
            latest = standing.latest.period if standing.latest is not None else None
            entry = told.get(line)
            if entry is None or entry.get("period") != latest:
                notices.no_data(session, metric, line, latest, defn.no_data_after, now)
                told[line] = {"period": latest, "at": now.isoformat()}
                newly_told.append(line or None)
        elif line in told:
            del told[line]  # a fresh value (or a wider gap) ends the episode
        statuses.append(_status(standing, action_id, told.get(line)))
    if told != (metric.no_data_told or {}):
        metric.no_data_told = told or None
        session.flush()
    if fresh or newly_told:
        tx.audit(
            "metric",
            metric.id,
            "evaluate",
            after={
                "crossings": [f"{c['line'] or '*'}:{c['period']}:{c['level']}" for c in fresh],
                "actions_opened": opened,
                "no_data_told": [line or "*" for line in newly_told],
            },
        )
    return Evaluation(metric.key, len(fresh), opened, newly_told, statuses)


def statuses(
    session: Session, metric: Metric, defn: MetricDefinition, *, zone: ZoneInfo, now: datetime
) -> list[SeriesStatus]:
    """Every series' status now, with the action stored for its standing crossing; reads
    only (an evaluation stores crossings and opens actions)."""
    actions = {
        (line, period, level): action_id
        for line, period, level, action_id in session.execute(
            select(
                MetricCrossing.line,
                MetricCrossing.period,
                MetricCrossing.level,
                MetricCrossing.action_id,
            ).where(MetricCrossing.metric_id == metric.id)
        )
    }
    told: dict[str, Any] = metric.no_data_told or {}
    out = []
    for line, every in series_of(session, metric, defn).items():
        rows = finished(every, defn, zone, now)
        standing = standing_of(metric, defn, line, rows, zone=zone, now=now)
        c = standing.crossing
        action_id = None if c is None else actions.get((line, c.period, c.level))
        out.append(_status(standing, action_id, told.get(line) if standing.stale else None))
    return out


def finished(rows: list[Any], defn: MetricDefinition, zone: ZoneInfo, now: datetime) -> list[Any]:
    """The values whose period has ended by ``now``. The period still running is shown but
    never judged: a few items early in the day must not open an action (or close the case)
    that the whole day's value would not."""
    return [r for r in rows if _end_at(r, defn, zone) <= now]


def dedupe_key(key: str, line: str | None, level: str) -> str:
    """The key that keeps one action open per metric, series and level."""
    return f"metric:{key}:{line or '*'}:{level}"


def _act(
    ctx: Context,
    session: Session,
    metric: Metric,
    defn: MetricDefinition,
    line: str,
    crossing: Crossing,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[int, bool]:
    """The action for a standing crossing: the one its row already has, else the open one for
    its key, else a new one; the row keeps it."""
    where = (
        MetricCrossing.metric_id == metric.id,
        MetricCrossing.line == line,
        MetricCrossing.period == crossing.period,
        MetricCrossing.level == crossing.level,
    )
    # Read afresh (columns, not the identity map): a concurrent evaluation may have set it.
    stored = session.execute(select(MetricCrossing.action_id).where(*where)).scalar_one()
    if stored is not None:
        return stored, False
    data = _action_for(metric, defn, line, crossing, zone, now)
    key = dedupe_key(metric.key, line, crossing.level)
    try:
        action, created = open_action(ctx, data, dedupe_key=key, at=now)
    except InvalidInput:
        if data.owner_user is None:
            raise
        # The owning user left: the action still has to land with someone.
        note = f"\n\n{data.owner_user}, the metric's owner, is not an active user."
        data = data.model_copy(
            update={
                "owner_user": None,
                "owner_role": FALLBACK_OWNER,
                "description": data.description + note,
            }
        )
        action, created = open_action(ctx, data, dedupe_key=key, at=now)
    session.execute(
        update(MetricCrossing)
        .where(*where, MetricCrossing.action_id.is_(None))
        .values(action_id=action.id)
        .execution_options(synchronize_session=False)
    )
    return action.id, created


def _action_for(
    metric: Metric,
    defn: MetricDefinition,
    line: str,
    crossing: Crossing,
    zone: ZoneInfo,
    now: datetime,
) -> ActionCreate:
    band = crossing.band
    on = f"line {line}" if line else "all lines"
    if band.action is not None:
        title = band.action.title + (f" ({on})" if line else "")
    else:
        where = f" on {on}" if line or defn.by_line else ""  # "all lines" only where split
        title = f"{metric.name}: {crossing.level} threshold crossed{where}"
    limits = " and ".join(
        f"{side} {limit:g}"
        for side, limit in (("above", band.above), ("below", band.below))
        if limit is not None
    )
    description = (
        f"{band.decision}\n\n"
        f"{metric.name} was {crossing.value:g} {defn.unit} in {crossing.period}"
        f"{f' on line {line}' if line else ''}: beyond the {crossing.level} band "
        f"({limits}). Metric {metric.key}."
    )
    owner: dict[str, Any] = {
        "owner_role" if metric.owner_kind == "role" else "owner_user": metric.owner
    }
    return ActionCreate.model_validate(
        {
            "title": title[:200],
            "description": description,
            **owner,
            "due_on": to_local(now, zone).date() + timedelta(days=band.due_in_days),
            "priority": PRIORITY[crossing.level],
            "links": [{"kind": "metric", "ref": metric.key}],
        }
    )


def _crossing_row(metric: Metric, line: str, c: Crossing, now: datetime) -> dict[str, Any]:
    return {
        "metric_id": metric.id,
        "line": line,
        "period": c.period,
        "level": c.level,
        "band_index": c.band_index,
        "value": c.value,
        "decision": c.band.decision,
        "created_at": now,
    }


def _status(standing: Standing, action_id: int | None, told: Any) -> SeriesStatus:
    latest, c = standing.latest, standing.crossing
    return SeriesStatus(
        line=standing.line,
        status=standing.status,
        period=None if latest is None else latest.period,
        value=None if latest is None else latest.value,
        level=None if c is None else c.level,
        decision=None if c is None else c.band.decision,
        action_id=action_id,
        stale=standing.stale,
        told_at=datetime.fromisoformat(told["at"]) if told else None,
    )


def _as_series(rows: list[MetricValue], line: str) -> list[PeriodValue]:
    return [PeriodValue(r.period, line or None, r.value, r.count, r.n) for r in rows]


def _end_at(row: Any, defn: MetricDefinition, zone: ZoneInfo) -> datetime:
    """When the value's period ended. A shift's hours are the calendar's: it is taken to end
    with the day after it starts, so a night shift is never judged stale too early."""
    ended: datetime | None = row.period_end_at
    if ended is not None:
        return ended
    period = parse_period(defn.period, row.period)
    day = Period("day", period.first + timedelta(days=1))
    return period_bounds(day, zone)[1]


__all__ = [
    "Evaluation",
    "SeriesStatus",
    "dedupe_key",
    "evaluate",
    "finished",
    "series_of",
    "standing_of",
    "statuses",
]
