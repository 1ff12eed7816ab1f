"""Use cases of metrics: define (versioned), list, show, export, import manual values,
compute from a source, chart against frozen limits, re-baseline those limits, and judge the
values against the threshold bands (crossings, actions, "no data")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.metrics import store
from andon.metrics.definition import (
    Baseline,
    KpiSource,
    MetricDefinition,
    definition_document,
    definition_errors,
    parse_definition,
)
from andon.metrics.definition_yaml import dump_definition_yaml
from andon.metrics.downtime import oee_inputs_changed
from andon.metrics.evaluation import Evaluation, SeriesStatus, evaluate, statuses
from andon.metrics.manual_csv import read_manual_csv
from andon.metrics.models import (
    Metric,
    MetricCrossing,
    MetricLimits,
    MetricValue,
    MetricVersion,
)
from andon.metrics.periods import parse_period
from andon.metrics.sources import (
    UNSEEN_SECONDS,
    PlantSource,
    Source,
    compute_source,
    event_watermark,
    events_after,
    missing_ids,
    periods_to_recompute,
)
from andon.metrics.spc import (
    Chart,
    Observation,
    apply_limits,
    compute_limits,
    first_points,
    period_start,
    points_between,
)

METRIC_FIELDS = ("key", "name", "current_version", "owner_kind", "owner", "source", "period")
LATEST_VALUES = 20


@dataclass(frozen=True)
class Defined:
    """The outcome of ``define_metric``: ``changed`` is False for an identical re-define."""

    metric: Metric
    version: MetricVersion
    created: bool
    changed: bool


@dataclass(frozen=True)
class MetricDetail:
    metric: Metric
    definition: dict[str, Any]
    versions: list[MetricVersion]
    latest_values: list[MetricValue]
    limits: list[MetricLimits]


@dataclass(frozen=True)
class Imported:
    key: str
    version: int
    values: int
    first_period: str
    last_period: str
    limits_frozen: bool
    new_crossings: int = 0
    actions_opened: list[int] = field(default_factory=list)
    no_data_told: list[str | None] = field(default_factory=list)


@dataclass(frozen=True)
class Computed:
    """What a compute did: ``periods`` are the keys recomputed (every one on a full run)."""

    key: str
    full: bool
    periods: list[str]
    values: int
    removed: int
    watermark: int | None
    limits_frozen: bool = False
    skipped: str | None = None
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    # What judging the values against the thresholds did (see ``evaluation``).
    new_crossings: int = 0
    actions_opened: list[int] = field(default_factory=list)
    no_data_told: list[str | None] = field(default_factory=list)


# --- definitions --------------------------------------------------------------------------------


def define_metric(ctx: Context, defn: MetricDefinition, *, reason: str) -> Defined:
    """Create the metric or add a version when the definition differs from the current one.

    An identical definition changes nothing (``changed`` False, no audit entry). A new
    version resets the watermark, so the next compute recomputes every period under it; values
    already stored keep the version they were computed with until then.
    """
    problems = definition_errors(defn)
    if problems:
        raise InvalidInput(f"invalid metric definition: {problems[0].msg}", problems)
    document = definition_document(defn)
    with ctx.write() as tx:
        authorize(ctx.actor, Action.METRIC_MANAGE)
        session = tx.session
        _check_owner(session, defn)
        now = utcnow()
        metric = session.scalar(select(Metric).where(Metric.key == defn.key))
        if metric is not None:
            current = store.version_row(session, metric)
            if current.definition == document:
                return Defined(metric, current, created=False, changed=False)
        before = None if metric is None else snapshot(metric, METRIC_FIELDS)
        created = metric is None
        if metric is None:
            metric = Metric(key=defn.key, current_version=1, created_by=ctx.actor.username)
            session.add(metric)
        else:
            metric.current_version += 1
            metric.watermark = None
        _describe(metric, defn)
        metric.updated_at = now
        session.flush()
        version = MetricVersion(
            metric_id=metric.id,
            version=metric.current_version,
            definition=document,
            reason=reason,
            created_by=ctx.actor.username,
            created_at=now,
        )
        session.add(version)
        tx.audit(
            "metric",
            metric.id,
            "define" if created else "redefine",
            before=before,
            after={**snapshot(metric, METRIC_FIELDS), "definition": document},
            reason=reason,
        )
        return Defined(metric, version, created=created, changed=True)


def _check_owner(session: Session, defn: MetricDefinition) -> None:
    user = defn.owner.user
    if user is not None and session.scalar(select(User.id).where(User.username == user)) is None:
        msg = f"no user {user!r}; name an existing user or a role"
        raise InvalidInput(f"owner: {msg}", [FieldError(("owner",), msg, "unknown_user")])


def _describe(metric: Metric, defn: MetricDefinition) -> None:
    metric.name = defn.name
    if defn.owner.role is not None:
        metric.owner_kind, metric.owner = "role", defn.owner.role.value
    else:
        assert defn.owner.user is not None
        metric.owner_kind, metric.owner = "user", defn.owner.user
    metric.source = defn.source.kpi if isinstance(defn.source, KpiSource) else "manual"
    metric.period = defn.period
    metric.chart = defn.chart


def list_metrics(ctx: Context, *, include_archived: bool = False) -> list[Metric]:
    """Every metric, by key (archived ones only when asked)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        query = select(Metric).order_by(Metric.key)
        if not include_archived:
            query = query.where(Metric.archived.is_(False))
        return list(session.scalars(query))


def get_metric(ctx: Context, key: str) -> Metric:
    """One metric's row (key, owner, source, period, chart, watermark)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        return store.metric_by_key(session, key)


def show_metric(ctx: Context, key: str) -> MetricDetail:
    """A metric with its current definition, versions (newest first), latest values (up to
    ``LATEST_VALUES``, oldest first) and the history of its limits."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        rows = store.values(session, metric)
        limits = session.scalars(
            select(MetricLimits)
            .where(MetricLimits.metric_id == metric.id)
            .order_by(MetricLimits.line, MetricLimits.seq)
        )
        return MetricDetail(
            metric,
            store.version_row(session, metric).definition,
            store.versions(session, metric),
            # Period keys of one kind sort in time order, so this is the latest periods' values
            # whatever the lines.
            sorted(rows, key=lambda v: (v.period, v.line))[-LATEST_VALUES:],
            list(limits),
        )


def metric_versions(ctx: Context, key: str) -> list[MetricVersion]:
    """The versions of a metric's definition, newest first."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        return store.versions(session, store.metric_by_key(session, key))


def export_metric(ctx: Context, key: str, *, version: int | None = None) -> str:
    """The definition (the current version by default) as YAML that imports back unchanged."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        row = store.version_row(session, metric, version)
        return dump_definition_yaml(parse_definition(row.definition))


# --- values -------------------------------------------------------------------------------------


def import_values(ctx: Context, key: str, csv_text: str, *, zone: ZoneInfo) -> Imported:
    """Store a manual metric's values from CSV (``manual_csv`` shapes); a period already stored
    is replaced. One bad row refuses the whole file, naming its line, and nothing is kept.

    The values are then judged against the thresholds in the same transaction: a standing
    crossing opens one action for the owner (``evaluation``)."""
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.METRIC_RECORD)
        session = tx.session
        metric = store.metric_by_key(session, key)
        defn = store.current_definition(session, metric)
        if isinstance(defn.source, KpiSource):
            raise InvalidInput.for_field(
                "source",
                f"{key} is computed from {defn.source.kpi}; only manual metrics take values",
            )
        rows = read_manual_csv(csv_text, defn.chart, defn.period)
        now = utcnow()
        written = store.put_values(
            session,
            metric,
            (
                (
                    r.period,
                    "",
                    r.value if defn.chart == "xmr" else _statistic(defn.chart, r.count, r.n),
                    None if r.count is None else float(r.count),
                    r.n,
                )
                for r in rows
            ),
            source="manual",
            zone=zone,
            now=now,
        )
        keys = sorted(r.period.key for r in rows)
        session.flush()
        frozen = _freeze_if_due(tx.session, ctx, metric, defn, "", now)
        tx.audit(
            "metric",
            metric.id,
            "import_values",
            after={"values": written, "first": keys[0], "last": keys[-1], "limits_frozen": frozen},
        )
        judged = evaluate(ctx, tx, metric, defn, zone=zone, now=now)
        return Imported(
            key,
            metric.current_version,
            written,
            keys[0],
            keys[-1],
            frozen,
            judged.new_crossings,
            judged.actions_opened,
            judged.no_data_told,
        )


def _statistic(chart: str, count: int | None, n: float | None) -> float | None:
    if count is None:
        return None
    if chart in ("p", "u"):
        return count / n if n else None
    return float(count)


def compute_metric(
    ctx: Context,
    key: str,
    *,
    zone: ZoneInfo,
    full: bool = False,
    source: Source = compute_source,
    at: datetime | None = None,
) -> Computed:
    """Recompute a KPI or OEE metric's values from the plant's events.

    The first compute, one after a new version and ``full=True`` compute every period; after
    that only the periods holding events that arrived since the metric's watermark (the
    highest event id it has seen) are recomputed, exactly as a full run would give them. A
    value the source no longer yields for a recomputed period is removed. A manual metric is
    skipped (``skipped`` says why). ``source`` is the seam tests replace; ``at`` the time of
    the compute (default now), which the values are judged at.

    Every compute, manual and unchanged metrics included, then judges the stored values
    against the thresholds in the same transaction (``evaluation.evaluate``): new crossings
    are kept, a standing crossing opens one action for the owner, and a series without data
    for longer than ``no_data_after`` is raised to the owner once.
    """
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.METRIC_RECORD)
        session = tx.session
        metric = store.metric_by_key(session, key)
        defn = store.current_definition(session, metric)
        now = at or utcnow()
        if not isinstance(defn.source, KpiSource):
            judged = evaluate(ctx, tx, metric, defn, zone=zone, now=now)
            return _judged(
                Computed(key, False, [], 0, 0, metric.watermark, skipped="manual values"), judged
            )
        upto = event_watermark(session)
        unseen = _still_unseen(metric.unseen, now)
        periods = None
        seen: list[int] = []
        if not full and metric.watermark is not None:
            late = events_after(
                session, metric.watermark, upto or 0, [(lo, hi) for lo, hi, _ in unseen]
            )
            seen = sorted(event_id for event_id, _ in late)
            changed: list[datetime] | None = [at for _, at in late]
            if defn.source.kpi == "oee" and metric.computed_at is not None:
                # Downtime, stops and cycle times carry no event id: read what changed since.
                extra = oee_inputs_changed(session, metric.computed_at, now)
                changed = None if extra is None else [at for _, at in late] + extra
            if changed is not None and not changed:
                judged = evaluate(ctx, tx, metric, defn, zone=zone, now=now)
                return _judged(Computed(key, False, [], 0, 0, metric.watermark), judged)
            periods = None if changed is None else periods_to_recompute(defn, changed, zone)
        found = source(session, defn, zone, periods)
        if periods is not None:
            wanted = {p.key for p in periods}
            found = [v for v in found if v.period in wanted]
        parsed = [(parse_period(defn.period, v.period), v) for v in found]
        written = store.put_values(
            session,
            metric,
            ((p, v.line or "", v.value, v.count, v.n) for p, v in parsed),
            source="kpi",
            zone=zone,
            now=now,
        )
        removed = store.drop_values(
            session,
            metric,
            {(v.line or "", v.period) for v in found},
            None if periods is None else {p.key for p in periods},
        )
        if periods is None:
            unseen = []  # a full run read everything visible; only new gaps matter
        fresh = missing_ids(session, 0 if periods is None else metric.watermark or 0, upto or 0)
        metric.unseen = [
            *([lo, hi, since] for lo, hi, since in _narrowed(unseen, seen)),
            *([lo, hi, now.isoformat()] for lo, hi in fresh),
        ] or None
        metric.watermark = upto
        metric.computed_at = now
        session.flush()
        lines = sorted({v.line or "" for v in found})
        frozen = False
        for line in lines:
            frozen = _freeze_if_due(session, ctx, metric, defn, line, now) or frozen
        keys = sorted(
            {p.key for p in periods} if periods is not None else {v.period for v in found}
        )
        tx.audit(
            "metric",
            metric.id,
            "compute",
            after={
                "full": periods is None,
                "periods": len(keys),
                "values": written,
                "removed": removed,
                "watermark": upto,
            },
        )
        judged = evaluate(ctx, tx, metric, defn, zone=zone, now=now)
        return _judged(
            Computed(key, periods is None, keys, written, removed, upto, frozen, lines=lines),
            judged,
        )


def _judged(done: Computed, judged: Evaluation) -> Computed:
    return replace(
        done,
        new_crossings=judged.new_crossings,
        actions_opened=judged.actions_opened,
        no_data_told=judged.no_data_told,
    )


def _still_unseen(stored: list[Any] | None, now: datetime) -> list[tuple[int, int, str]]:
    """The remembered id gaps young enough that a transaction could still fill them."""
    oldest = now - timedelta(seconds=UNSEEN_SECONDS)
    return [
        (int(lo), int(hi), str(since))
        for lo, hi, since in stored or []
        if datetime.fromisoformat(since) >= oldest
    ]


def _narrowed(gaps: list[tuple[int, int, str]], seen: list[int]) -> list[tuple[int, int, str]]:
    """``gaps`` without the ids now ``seen`` (sorted): what is still missing in each."""
    left = []
    for lo, hi, since in gaps:
        start = lo
        for event_id in seen:
            if lo <= event_id <= hi:
                if event_id > start:
                    left.append((start, event_id - 1, since))
                start = event_id + 1
        if start <= hi:
            left.append((start, hi, since))
    return left


def compute_all(
    ctx: Context,
    *,
    zone: ZoneInfo,
    full: bool = False,
    source: Source | None = None,
    at: datetime | None = None,
) -> list[Computed]:
    """``compute_metric`` for every metric that is not archived, each in its own transaction.

    A metric that cannot be computed (its source refuses, a concurrent compute won) does not
    stop the others: its result carries the ``error`` and nothing of it is stored.
    """
    # One reader for all: the plant's events are read once, not once per metric.
    source = source or PlantSource()
    done = []
    for metric in list_metrics(ctx):
        try:
            done.append(compute_metric(ctx, metric.key, zone=zone, full=full, source=source, at=at))
        except (InvalidInput, Conflict) as exc:
            done.append(Computed(metric.key, full, [], 0, 0, metric.watermark, error=exc.detail))
    return done


# --- limits and charts --------------------------------------------------------------------------


def _baseline_of(
    points: list[Observation], baseline: Baseline
) -> tuple[list[Observation], dict[str, Any]] | None:
    """The baseline's points once the data holds all of them (``None`` before)."""
    if baseline.points is not None:
        if len(points) < baseline.points:
            return None
        chosen = list(first_points(points, baseline.points))
        rule: dict[str, Any] = {"points": baseline.points}
    else:
        assert baseline.from_ is not None
        assert baseline.to is not None
        # A dated baseline is complete once a point after its last day exists.
        if not points or period_start(points[-1].period) <= baseline.to:
            return None
        chosen = list(points_between(points, baseline.from_, baseline.to))
        rule = {"from": baseline.from_.isoformat(), "to": baseline.to.isoformat()}
    if not chosen:
        return None
    return chosen, {**rule, "first": chosen[0].period, "last": chosen[-1].period}


def _freeze_if_due(
    session: Session,
    ctx: Context,
    metric: Metric,
    defn: MetricDefinition,
    line: str,
    now: datetime,
) -> bool:
    """Freeze limits from the definition's baseline when none fit the chart yet and the data
    holds the whole baseline; a baseline without variation leaves the chart without limits."""
    current = store.current_limits(session, metric, line)
    if current is not None and current.chart == defn.chart:
        return False
    points = store.observations(store.values(session, metric, line=line), defn.chart)
    found = _baseline_of(points, defn.baseline)
    if found is None:
        return False
    chosen, rule = found
    try:
        limits = compute_limits(defn.chart, chosen)
    except InvalidInput:
        return False
    store.add_limits(
        session,
        metric,
        line,
        limits,
        rule,
        reason="first baseline",
        created_by=ctx.actor.username,
        now=now,
    )
    return True


def chart(ctx: Context, key: str, *, line: str | None = None) -> Chart:
    """The control chart of a metric (one line's, or the whole source's) against its frozen
    limits, with the rules of its current definition. Conflict when no limits exist yet."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        defn = store.current_definition(session, metric)
        where = line or ""
        points = store.observations(store.values(session, metric, line=where), defn.chart)
        limits = store.current_limits(session, metric, where)
        if limits is None or limits.chart != defn.chart:
            need = (
                f"{defn.baseline.points} points"
                if defn.baseline.points is not None
                else f"data past {defn.baseline.to}"
            )
            on = f" for line {line}" if line else ""
            raise Conflict(
                f"{key} has no control limits{on} yet: its baseline needs {need} "
                f"({len(points)} stored)"
            )
        return apply_limits(store.limits_of(limits), points, defn.rule_ids())


def rebaseline(
    ctx: Context,
    key: str,
    *,
    reason: str,
    baseline: Baseline | None = None,
    line: str | None = None,
) -> MetricLimits:
    """Recompute the limits on purpose, from ``baseline`` (default: the definition's) over the
    values stored now, and freeze them; audited with the reason."""
    if not reason.strip():
        raise InvalidInput.for_field("reason", "say why the limits are recomputed")
    with ctx.write() as tx:
        authorize(ctx.actor, Action.METRIC_MANAGE)
        session = tx.session
        metric = store.metric_by_key(session, key)
        defn = store.current_definition(session, metric)
        where = line or ""
        rule = baseline or defn.baseline
        points = store.observations(store.values(session, metric, line=where), defn.chart)
        if rule.points is not None:
            chosen = list(first_points(points, rule.points))
            if len(chosen) < rule.points:
                raise InvalidInput.for_field(
                    "baseline", f"asks for {rule.points} points; {len(points)} are stored"
                )
            spec: dict[str, Any] = {"points": rule.points}
        else:
            assert rule.from_ is not None
            assert rule.to is not None
            chosen = list(points_between(points, rule.from_, rule.to))
            spec = {"from": rule.from_.isoformat(), "to": rule.to.isoformat()}
        if not chosen:
            raise InvalidInput.for_field("baseline", "holds no stored values")
        limits = compute_limits(defn.chart, chosen)
        before = store.current_limits(session, metric, where)
        row = store.add_limits(
            session,
            metric,
            where,
            limits,
            {**spec, "first": chosen[0].period, "last": chosen[-1].period},
            reason=reason.strip(),
            created_by=ctx.actor.username,
            now=utcnow(),
        )
        fields = ("seq", "chart", "center", "ucl", "lcl", "mr_bar", "baseline_points", "baseline")
        tx.audit(
            "metric",
            metric.id,
            "rebaseline",
            before=None if before is None else snapshot(before, fields),
            after={**snapshot(row, fields), "line": where},
            reason=reason.strip(),
        )
        return row


# --- thresholds ---------------------------------------------------------------------------------


def evaluate_metric(
    ctx: Context, key: str, *, zone: ZoneInfo, at: datetime | None = None
) -> Evaluation:
    """Judge a metric's stored values against its thresholds now (``at``), without computing:
    what ``compute_metric`` and ``import_values`` do after storing values."""
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.METRIC_RECORD)
        metric = store.metric_by_key(tx.session, key)
        defn = store.current_definition(tx.session, metric)
        return evaluate(ctx, tx, metric, defn, zone=zone, now=at or utcnow())


def metric_status(
    ctx: Context, key: str, *, zone: ZoneInfo | None = None, at: datetime | None = None
) -> list[SeriesStatus]:
    """Where each series of a metric stands now: the whole metric (``line`` None) first, then
    each line. Status ``ok``, ``warning``, ``critical`` or ``no_data``, with the latest period
    and value, the band level crossed and the action opened for it. Reads only.

    ``zone`` (the site's) places the end of a shift period; other periods carry their end.
    """
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        defn = store.current_definition(session, metric)
        return statuses(session, metric, defn, zone=zone or ZoneInfo("UTC"), now=at or utcnow())


def list_crossings(
    ctx: Context, key: str, *, since: datetime | None = None, limit: int = 500
) -> list[MetricCrossing]:
    """The threshold crossings found for a metric, latest period first (at most ``limit``):
    line ('' the whole metric), period, level, value, the band's decision and the action.
    ``since``: only those found at or after that instant (e.g. since last week's review)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        metric = store.metric_by_key(session, key)
        query = select(MetricCrossing).where(MetricCrossing.metric_id == metric.id)
        if since is not None:
            query = query.where(MetricCrossing.created_at >= since)
        rows = list(session.scalars(query))
        # Period keys of one kind sort in time order; the id settles a period's levels.
        rows.sort(key=lambda c: (c.period, c.id), reverse=True)
        return rows[:limit]
