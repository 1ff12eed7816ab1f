"""Read models of the metric pages: the SQDC board and one metric's page.

Both read what they show in a few queries per table, whatever the number of metrics and
lines (the board for 3 lines × 12 metrics is one query for the metrics and their current
definitions, one for the latest values, one for the count of measured values, one for the
open actions), and judge each series with ``thresholds.judge`` exactly as the crossings are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session, aliased

from andon.actions import service as actions
from andon.actions.models import ActionItem
from andon.actions.schemas import UNFINISHED, ActionFilters, ActionLink, ActionOut
from andon.core.clock import utcnow
from andon.core.errors import Conflict, NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.documents.models import Document, DocumentRevision
from andon.metrics import service, store
from andon.metrics.definition import KpiSource, MetricDefinition, Threshold, parse_definition
from andon.metrics.evaluation import finished
from andon.metrics.models import (
    Metric,
    MetricCrossing,
    MetricLimits,
    MetricValue,
    MetricVersion,
)
from andon.metrics.periods import period_containing
from andon.metrics.series import PeriodValue
from andon.metrics.spc import Chart
from andon.metrics.thresholds import Standing, Status, bands_for, judge
from andon.plant.models import Area
from andon.processes.models import Process, ProcessVersion

SQDC: tuple[str, ...] = ("safety", "quality", "delivery", "cost")
SPARK_POINTS = 12
PAGE_VALUES = 60  # rows of the values table on a metric's page
MAX_METRICS_PER_QUERY = 400
STATUS_WORDS: dict[str, str] = {
    "ok": "OK",
    "warning": "Warning",
    "critical": "Critical",
    "no_data": "No data",
}


@dataclass(frozen=True)
class Tile:
    """One series of a metric on the board: the whole metric (``line`` ''), or one line's."""

    key: str
    name: str
    unit: str
    line: str
    sqdc: str | None
    period_kind: str
    status: Status
    latest_period: str | None
    latest_value: float | None
    target: float | None
    direction: str
    recent: list[float | None]
    open_actions: int
    stale: bool = False
    decision: str | None = None

    @property
    def status_word(self) -> str:
        return STATUS_WORDS[self.status]


@dataclass(frozen=True)
class SqdcBoard:
    """Tiles by SQDC letter (in ``SQDC`` order; ``other`` holds metrics with no letter),
    the filters applied and the choices of the area and line selectors."""

    columns: list[tuple[str, list[Tile]]]
    other: list[Tile]
    area: str | None
    line: str | None
    areas: list[str]
    lines: list[str]
    judged_at: datetime

    @property
    def tiles(self) -> list[Tile]:
        return [t for _, tiles in self.columns for t in tiles] + self.other


@dataclass(frozen=True)
class Marker:
    """Something that happened in the chart's window: a document revision taking effect or a
    process version published, at the period that holds it."""

    period: str
    at: datetime
    kind: str
    label: str
    href: str


@dataclass(frozen=True)
class MetricPage:
    """Everything a metric's page shows, for one series (``line`` '' is the whole metric).

    ``chart`` is ``None`` while the series has no control limits; ``no_chart`` says why.
    ``values`` are newest first (at most ``PAGE_VALUES``); ``recent`` the plotted values
    oldest first, for a chart without limits.
    """

    metric: Metric
    definition: MetricDefinition
    document: dict[str, Any]
    versions: list[MetricVersion]
    line: str
    lines: list[str]
    chart: Chart | None
    no_chart: str | None
    limits: MetricLimits | None
    bands: list[tuple[int, Threshold]]
    standing: Standing
    markers: list[Marker]
    values: list[MetricValue]
    recent: list[float | None]
    actions: list[ActionOut] = field(default_factory=list)


# --- the SQDC board -----------------------------------------------------------------------------


def sqdc_board(
    ctx: Context,
    *,
    area: str | None = None,
    line: str | None = None,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> SqdcBoard:
    """Every metric that is not archived, judged on its latest value, by SQDC letter.

    ``area`` keeps the metrics of that area (and those of no area). ``line`` keeps the
    metrics measured on that line or on the whole plant: a metric split by line shows that
    line's series; without ``line`` it shows one tile per line. A metric with no values shows
    one "no data" tile.
    """
    now = now or utcnow()
    area = area or None
    line = line or None
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        defined = _current_definitions(session)
        if area is not None:
            defined = [(m, d) for m, d in defined if d.area is None or d.area == area]
        recent = _recent_values(session, [m.id for m, _ in defined])
        stored: dict[int, set[str]] = defaultdict(set)
        for metric_id, series in recent:
            stored[metric_id].add(series)
        shown = [
            (metric, defn, series)
            for metric, defn in defined
            for series in _series_shown(defn, stored[metric.id], line)
        ]
        # A window holding fewer measured values than a band asks for: count the whole series.
        measured = _measured_counts(
            session,
            [(m.id, s) for m, d, s in shown if _window_short(d, recent.get((m.id, s), []))],
        )
        areas = sorted(set(session.scalars(select(Area.code).distinct()).all()))
        by_series = _open_crossing_actions(session, [m.id for m, _ in defined])
    counts = actions.open_counts(ctx, "metric", [m.key for m, _ in defined])
    tiles: list[Tile] = []
    for metric, defn, series in shown:
        rows = recent.get((metric.id, series), [])
        seen = measured.get((metric.id, series), sum(1 for r in rows if r.value is not None))
        # A crossing's action belongs to its line: the other lines' tiles leave it out.
        elsewhere = sum(
            n for (metric_id, s), n in by_series.items() if metric_id == metric.id and s != series
        )
        open_here = max(counts.get(metric.key, 0) - elsewhere, 0)
        tiles.append(_tile(metric, defn, series, rows, seen, open_here, now, zone))
    by_letter: dict[str, list[Tile]] = defaultdict(list)
    for tile in tiles:
        by_letter[tile.sqdc or ""].append(tile)
    return SqdcBoard(
        columns=[(letter, by_letter.get(letter, [])) for letter in SQDC],
        other=by_letter.get("", []),
        area=area,
        line=line,
        areas=areas,
        lines=sorted({series for _, series in recent} - {""}),
        judged_at=now,
    )


def _open_crossing_actions(session: Session, ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Unfinished actions opened by threshold crossings, per metric and series (line)."""
    if not ids:
        return {}
    rows = session.execute(
        select(MetricCrossing.metric_id, MetricCrossing.line, func.count(distinct(ActionItem.id)))
        .join(ActionItem, ActionItem.id == MetricCrossing.action_id)
        .where(MetricCrossing.metric_id.in_(ids), ActionItem.status.in_(UNFINISHED))
        .group_by(MetricCrossing.metric_id, MetricCrossing.line)
    )
    return {(metric_id, line): int(n) for metric_id, line, n in rows}


def _current_definitions(session: Session) -> list[tuple[Metric, MetricDefinition]]:
    rows = session.execute(
        select(Metric, MetricVersion.definition)
        .join(
            MetricVersion,
            and_(
                MetricVersion.metric_id == Metric.id,
                MetricVersion.version == Metric.current_version,
            ),
        )
        .where(Metric.archived.is_(False))
        .order_by(Metric.name, Metric.key)
    )
    return [(metric, parse_definition(document)) for metric, document in rows]


@dataclass(frozen=True)
class _Row:
    period: str
    value: float | None
    count: float | None
    n: float | None
    period_end_at: datetime | None


def _recent_values(session: Session, ids: Sequence[int]) -> dict[tuple[int, str], list[_Row]]:
    """The latest ``SPARK_POINTS`` values of every series of the metrics ``ids``, oldest first.

    Two statements, both through the ``(metric_id, line, period)`` index: each series (metric,
    line) with the key of its ``SPARK_POINTS``-th latest period, then the values of each
    metric from the earliest of those on, cut per series. Period keys of one kind sort in
    time order (a shift's key sorts by day, then by the shift's name).
    """
    if not ids:
        return {}
    pairs = (
        select(MetricValue.metric_id, MetricValue.line)
        .where(MetricValue.metric_id.in_(ids))
        .group_by(MetricValue.metric_id, MetricValue.line)
        .subquery()
    )
    other = aliased(MetricValue)
    since = (
        select(other.period)
        .where(other.metric_id == pairs.c.metric_id, other.line == pairs.c.line)
        .order_by(other.period.desc())
        .limit(1)
        .offset(SPARK_POINTS - 1)
        .scalar_subquery()
    )
    first: dict[tuple[int, str], str] = {
        (metric_id, line): since_key or ""
        for metric_id, line, since_key in session.execute(
            select(pairs.c.metric_id, pairs.c.line, since)
        )
    }
    # One range per metric (its lines' earliest start; one metric's keys are of one kind),
    # then each series cut at its own start.
    starts: dict[int, str] = {}
    for (metric_id, _), key in first.items():
        starts[metric_id] = min(key, starts.get(metric_id, key))
    found: dict[tuple[int, str], list[_Row]] = defaultdict(list)
    metric_ids = sorted(starts)
    # Chunks keep the statement's parameters under SQLite's limit, whatever the metrics.
    for at in range(0, len(metric_ids), MAX_METRICS_PER_QUERY):
        chunk = metric_ids[at : at + MAX_METRICS_PER_QUERY]
        rows = session.execute(
            select(
                MetricValue.metric_id,
                MetricValue.line,
                MetricValue.period,
                MetricValue.value,
                MetricValue.count,
                MetricValue.n,
                MetricValue.period_end_at,
            )
            .where(
                or_(
                    *(
                        and_(MetricValue.metric_id == i, MetricValue.period >= starts[i])
                        for i in chunk
                    )
                )
            )
            .order_by(MetricValue.metric_id, MetricValue.line, MetricValue.period)
        )
        for metric_id, line, period, value, count, n, end_at in rows:
            if period >= first.get((metric_id, line), ""):
                found[(metric_id, line)].append(_Row(period, value, count, n, end_at))
    return found


def _measured_counts(
    session: Session, wanted: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """How many values each series ``(metric id, line)`` holds that are not "no data"."""
    if not wanted:
        return {}
    ids = sorted({metric_id for metric_id, _ in wanted})
    query = (
        select(MetricValue.metric_id, MetricValue.line, func.count(MetricValue.value))
        .where(MetricValue.metric_id.in_(ids))
        .group_by(MetricValue.metric_id, MetricValue.line)
    )
    keep = set(wanted)
    return {
        (metric_id, line): int(count)
        for metric_id, line, count in session.execute(query)
        if (metric_id, line) in keep
    }


def source_line(defn: MetricDefinition) -> str | None:
    """The line code a KPI source is narrowed to (its filter may be a path, ``CHI/ASM/L2``)."""
    if isinstance(defn.source, KpiSource) and defn.source.line is not None:
        return defn.source.line.rsplit("/", 1)[-1]
    return None


def _window_short(defn: MetricDefinition, rows: Sequence[_Row]) -> bool:
    """Whether a full window of latest values holds fewer measured ones than a band needs."""
    needed = max((b.min_points for b in defn.thresholds), default=1)
    return len(rows) >= SPARK_POINTS and sum(1 for r in rows if r.value is not None) < needed


def _series_shown(defn: MetricDefinition, stored: Collection[str], line: str | None) -> list[str]:
    """Which series of a metric the board shows for the line chosen (``None``: every line)."""
    own = source_line(defn)
    if line is None:
        return sorted(stored) or [own or ""]
    if defn.by_line:
        return [line]
    if own is not None:
        return [own] if own == line else []
    lines = sorted(stored)
    if not lines or "" in lines:
        return [""]
    return [line] if line in lines else []


def _tile(
    metric: Metric,
    defn: MetricDefinition,
    series: str,
    rows: Sequence[_Row],
    measured: int,
    open_actions: int,
    now: datetime,
    zone: ZoneInfo,
) -> Tile:
    standing = _standing(defn, series, rows, measured, now, zone)
    latest = standing.latest
    return Tile(
        key=metric.key,
        name=defn.name,
        unit=defn.unit,
        line=series,
        sqdc=defn.sqdc,
        period_kind=defn.period,
        status=standing.status,
        latest_period=None if latest is None else latest.period,
        latest_value=None if latest is None else latest.value,
        target=defn.target,
        direction=defn.direction,
        recent=[r.value for r in rows],
        open_actions=open_actions,
        stale=standing.stale,
        decision=None if standing.crossing is None else standing.crossing.band.decision,
    )


def _standing(
    defn: MetricDefinition,
    series: str,
    rows: Sequence[Any],  # _Row or MetricValue: period, value, count, n, period_end_at
    measured: int,
    now: datetime,
    zone: ZoneInfo,
) -> Standing:
    """``judge`` on the latest values of finished periods, as the evaluation judges them (the
    period still running is drawn but not judged); ``judge`` counts the measured values for a
    band's ``min_points``, so those older than the window stand in front as placeholders."""
    line = series or None
    older = measured - sum(1 for r in rows if r.value is not None)
    rows = finished(list(rows), defn, zone, now)
    values = [PeriodValue(r.period, line, r.value, r.count, r.n) for r in rows]
    placeholders = [PeriodValue("", line, 0.0)] * max(older, 0)
    last_measured = next((r for r in reversed(rows) if r.value is not None), None)
    return judge(
        defn,
        placeholders + values,
        latest_end_at=None if last_measured is None else last_measured.period_end_at,
        now=now,
        line=line,
    )


# --- one metric's page --------------------------------------------------------------------------


def metric_page(
    ctx: Context, key: str, *, line: str | None = None, zone: ZoneInfo, now: datetime | None = None
) -> MetricPage:
    """A metric's definition, owner, versions, chart with bands and annotations, values and
    open actions, for one series: ``line`` (a line of a metric split by line), else the whole
    metric, else its only line. An unknown line is NotFound."""
    now = now or utcnow()
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        version = store.version_row(session, metric)
        defn = parse_definition(version.definition)
        lines = sorted(
            session.scalars(
                select(MetricValue.line).where(MetricValue.metric_id == metric.id).distinct()
            ).all()
        )
        series = _chosen_series(defn, lines, line)
        rows = store.values(session, metric, line=series)
        limits = store.current_limits(session, metric, series)
        versions = store.versions(session, metric)
        markers = _markers(session, defn, rows, zone)
    try:
        chart: Chart | None = service.chart(ctx, key, line=series or None)
        no_chart = None
    except Conflict as exc:
        chart, no_chart = None, exc.detail
    found = actions.list_actions(
        ctx, ActionFilters(link=ActionLink(kind="metric", ref=key), status="unfinished")
    )
    measured = sum(1 for r in rows if r.value is not None)
    return MetricPage(
        metric=metric,
        definition=defn,
        document=version.definition,
        versions=versions,
        line=series,
        lines=lines,
        chart=chart,
        no_chart=no_chart,
        limits=limits,
        bands=bands_for(defn, series or None),
        standing=_standing(defn, series, rows[-SPARK_POINTS:], measured, now, zone),
        markers=markers,
        values=list(reversed(rows))[:PAGE_VALUES],
        recent=[r.value for r in rows],
        actions=found,
    )


def _chosen_series(defn: MetricDefinition, lines: list[str], line: str | None) -> str:
    if line:
        if line not in lines and not defn.by_line:
            raise NotFound(f"metric {defn.key!r} has no values for line {line!r}")
        return line
    if "" in lines or not lines:
        return ""
    own = source_line(defn)
    return own if own in lines else lines[0]


def _markers(
    session: Session, defn: MetricDefinition, rows: Sequence[MetricValue], zone: ZoneInfo
) -> list[Marker]:
    """Document revisions that took effect and process versions published while the values
    shown were measured, each at the period holding it (none for shift periods, whose hours
    the calendar holds)."""
    starts = [r.period_start_at for r in rows if r.period_start_at is not None]
    ends = [r.period_end_at for r in rows if r.period_end_at is not None]
    if defn.period == "shift" or not starts or not ends:
        return []
    first, last = min(starts), max(ends)
    found: list[Marker] = []
    documents = (
        select(
            Document.number,
            DocumentRevision.number,
            DocumentRevision.title,
            DocumentRevision.effective_at,
        )
        .join(Document, Document.id == DocumentRevision.document_id)
        .where(DocumentRevision.effective_at >= first, DocumentRevision.effective_at < last)
    )
    if defn.area is not None:
        documents = documents.where(
            or_(Document.area_code.is_(None), Document.area_code == defn.area)
        )
    for number, revision, title, at in session.execute(documents):
        if at is None:
            continue
        found.append(
            Marker(
                period_containing(defn.period, at, zone).key,
                at,
                "document",
                f"{number} rev {revision} takes effect: {title}",
                f"/documents/{number}",
            )
        )
    processes = (
        select(Process.key, Process.name, ProcessVersion.number, ProcessVersion.published_at)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(ProcessVersion.published_at >= first, ProcessVersion.published_at < last)
    )
    if isinstance(defn.source, KpiSource) and defn.source.process is not None:
        processes = processes.where(Process.key == defn.source.process)
    for process_key, name, published, at in session.execute(processes):
        found.append(
            Marker(
                period_containing(defn.period, at, zone).key,
                at,
                "process",
                f"{name} version {published} published",
                f"/processes/{process_key}",
            )
        )
    return sorted(found, key=lambda m: m.at)


def series_label(line: str) -> str:
    """How a series is named on the pages: its line, or the whole metric."""
    return line or "all lines"


def statuses(tiles: Iterable[Tile]) -> dict[str, int]:
    """How many tiles stand at each status, in the order ok, warning, critical, no data."""
    counted = dict.fromkeys(STATUS_WORDS, 0)
    for tile in tiles:
        counted[tile.status] += 1
    return counted
