"""Reading and writing the metric tables: lookups, value upserts and limit rows.

No authorization here: the service checks who may act before calling these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andon.core.errors import NotFound
from andon.metrics.definition import MetricDefinition, parse_definition
from andon.metrics.models import Metric, MetricLimits, MetricValue, MetricVersion
from andon.metrics.periods import Period, period_bounds
from andon.metrics.spc import Limits, Observation

# Above this many periods, a full recompute reads the metric's values whole rather than
# through an IN list (SQLite caps a statement's parameters).
MAX_IN_LIST = 500


def metric_by_key(session: Session, key: str) -> Metric:
    metric = session.scalar(select(Metric).where(Metric.key == key))
    if metric is None:
        raise NotFound(f"no metric {key!r}")
    return metric


def version_row(session: Session, metric: Metric, number: int | None = None) -> MetricVersion:
    number = metric.current_version if number is None else number
    row = session.scalar(
        select(MetricVersion).where(
            MetricVersion.metric_id == metric.id, MetricVersion.version == number
        )
    )
    if row is None:
        raise NotFound(f"metric {metric.key!r} has no version {number}")
    return row


def current_definition(session: Session, metric: Metric) -> MetricDefinition:
    return parse_definition(version_row(session, metric).definition)


def versions(session: Session, metric: Metric) -> list[MetricVersion]:
    """Every version of ``metric``, newest first."""
    return list(
        session.scalars(
            select(MetricVersion)
            .where(MetricVersion.metric_id == metric.id)
            .order_by(MetricVersion.version.desc())
        )
    )


def values(session: Session, metric: Metric, *, line: str | None = None) -> list[MetricValue]:
    """The stored values of ``metric`` in period order (one line's, or every line's)."""
    query = select(MetricValue).where(MetricValue.metric_id == metric.id)
    if line is not None:
        query = query.where(MetricValue.line == line)
    # Period keys of one kind sort in time order (ISO dates, weeks, months); the start instant
    # settles shift keys, whose names need not sort.
    return list(
        session.scalars(
            query.order_by(MetricValue.line, MetricValue.period_start_at, MetricValue.period)
        )
    )


def period_span(period: Period, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds of ``period``; none for a shift, whose hours the calendar holds."""
    if period.kind == "shift":
        return None, None
    return period_bounds(period, zone)


def put_values(
    session: Session,
    metric: Metric,
    rows: Iterable[tuple[Period, str, float | None, float | None, float | None]],
    *,
    source: str,
    zone: ZoneInfo,
    now: datetime,
) -> int:
    """Insert or replace values, each ``(period, line, value, count, n)``, under the metric's
    current version; returns how many rows were written."""
    given = list(rows)
    keys = {(line, period.key) for period, line, *_ in given}
    query = select(MetricValue).where(MetricValue.metric_id == metric.id)
    periods = {k for _, k in keys}
    if len(periods) <= MAX_IN_LIST:
        query = query.where(MetricValue.period.in_(periods))
    existing = {(v.line, v.period): v for v in session.scalars(query)}
    for period, line, value, count, n in given:
        row = existing.get((line, period.key))
        if row is None:
            start, end = period_span(period, zone)
            row = MetricValue(
                metric_id=metric.id,
                line=line,
                period=period.key,
                period_start_at=start,
                period_end_at=end,
            )
            session.add(row)
        row.version = metric.current_version
        row.value, row.count, row.n = value, count, n
        row.source = source
        row.computed_at = now
    return len(given)


def drop_values(
    session: Session, metric: Metric, keep: set[tuple[str, str]], periods: set[str] | None
) -> int:
    """Delete the values of ``periods`` (``None``: all) whose ``(line, period)`` is not in
    ``keep``: a recompute that no longer yields them says those periods have nothing."""
    query = select(MetricValue.id, MetricValue.line, MetricValue.period).where(
        MetricValue.metric_id == metric.id
    )
    if periods is not None and len(periods) <= MAX_IN_LIST:
        query = query.where(MetricValue.period.in_(periods))
    gone = [
        row_id
        for row_id, line, period in session.execute(query)
        if (line, period) not in keep and (periods is None or period in periods)
    ]
    for start in range(0, len(gone), MAX_IN_LIST):
        chunk = gone[start : start + MAX_IN_LIST]
        session.execute(delete(MetricValue).where(MetricValue.id.in_(chunk)))
    return len(gone)


def current_limits(session: Session, metric: Metric, line: str) -> MetricLimits | None:
    return session.scalar(
        select(MetricLimits)
        .where(MetricLimits.metric_id == metric.id, MetricLimits.line == line)
        .order_by(MetricLimits.seq.desc())
        .limit(1)
    )


def add_limits(
    session: Session,
    metric: Metric,
    line: str,
    limits: Limits,
    baseline: dict[str, Any],
    *,
    reason: str,
    created_by: str,
    now: datetime,
) -> MetricLimits:
    """A new current limits row for ``metric`` and ``line``."""
    latest = current_limits(session, metric, line)
    lcl: float | None = None
    ucl: float | None = None
    if limits.kind in ("xmr", "c"):
        lcl, ucl, _ = limits.at()
    row = MetricLimits(
        metric_id=metric.id,
        line=line,
        seq=1 if latest is None else latest.seq + 1,
        chart=limits.kind,
        center=limits.center,
        ucl=ucl,
        lcl=lcl,
        mr_bar=limits.mr_bar,
        baseline_points=limits.baseline_points,
        baseline=baseline,
        reason=reason,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    return row


def limits_of(row: MetricLimits) -> Limits:
    """The frozen limits a row holds, as the SPC module uses them."""
    return Limits(row.chart, row.center, row.baseline_points, row.mr_bar)  # type: ignore[arg-type]


def observations(rows: Sequence[MetricValue], chart: str) -> list[Observation]:
    """The plotted data of stored values; periods with no data are left out of the chart."""
    found = []
    for v in rows:
        if v.value is None:
            continue
        if chart == "xmr":
            found.append(Observation(v.period, v.value))
        elif chart == "c":
            found.append(Observation(v.period, v.count if v.count is not None else v.value))
        elif v.count is not None and v.n is not None:
            found.append(Observation(v.period, v.count, v.n))
    return found
