"""CAPA use cases: open (an action the CAPA holds), link the changes it produced, check its
effectiveness on a metric, close (only on an effective check) and cancel; and re-check open
CAPAs when their metric gets new values.

A CAPA's action lives in the actions room (owner, due date, notices, escalation) but is held
by the CAPA: the actions room refuses to close or cancel it, so it closes only here, and only
when the latest effectiveness check says ``effective``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.actions.models import ActionItem, ActionLink
from andon.actions.schemas import UNFINISHED, ActionCreate, ActionOut
from andon.actions.service import actions_by_id, cancel_action, close_action, open_action
from andon.core.audit import snapshot
from andon.core.clock import to_local, utcnow
from andon.core.errors import AndonError, Conflict, InvalidInput, NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.improvement import changes
from andon.improvement.capa_schemas import (
    CapaCreate,
    CapaOut,
    ChangeLink,
    ChangeOut,
    CheckOut,
    WindowOut,
)
from andon.improvement.effectiveness import (
    Check,
    check_effectiveness,
    combine_lines,
    split_windows,
    window_chart,
)
from andon.improvement.models import (
    Capa,
    CapaChange,
    EffectivenessCheck,
    RcaCause,
    RootCauseAnalysis,
)
from andon.metrics import store
from andon.metrics.definition import KpiSource, MetricDefinition
from andon.metrics.evaluation import finished, series_of
from andon.metrics.models import Metric, MetricLimits, MetricValue
from andon.metrics.series import PeriodValue
from andon.metrics.spc import Chart, Limits

log = logging.getLogger("andon.capa")

HOLDER = "capa"
FIELDS = ("kind", "rca_id", "cause_id", "metric_key", "metric_line", "effective_on", "window_days")


@dataclass(frozen=True)
class WindowChart:
    """The control chart of a check's two windows: the first period of each window marks
    where it starts (``None`` when the window has no period)."""

    chart: Chart
    name: str
    unit: str
    before_from: str | None
    after_from: str | None


@dataclass(frozen=True)
class Rechecked:
    """What ``recheck_open_capas`` did: the CAPAs checked again and those it could not."""

    checked: list[int]
    failed: dict[int, str]


# --- open, list, read --------------------------------------------------------------------------


def open_capa(ctx: Context, data: CapaCreate, *, at: datetime | None = None) -> CapaOut:
    """Open a CAPA: its action (held by the CAPA, linked ``capa:ID`` and ``rca:ID``) and its
    row, in one transaction. The RCA, the cause (which must belong to that RCA; a cause alone
    names its RCA) and the metric must exist: refused on the field otherwise. ``at`` places
    it in time (the demo's history); default now."""
    now = at or utcnow()
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        session = tx.session
        rca_id = _check_refs(session, data)
        links = [{"kind": "rca", "ref": str(rca_id)}] if rca_id is not None else []
        action, _ = open_action(
            ctx,
            ActionCreate.model_validate(
                {
                    "title": data.title,
                    "description": data.description,
                    "owner_user": data.owner_user,
                    "owner_role": data.owner_role,
                    "due_on": data.due_on,
                    "priority": data.priority,
                    "links": links,
                }
            ),
            held_by=HOLDER,
            at=now,
        )
        capa = Capa(
            action_id=action.id,
            kind=data.kind,
            rca_id=rca_id,
            cause_id=data.cause_id,
            metric_key=data.metric_key,
            metric_line=data.metric_line,
            effective_on=data.effective_on,
            window_days=data.window_days,
            created_by=ctx.actor.username,
            created_at=now,
        )
        session.add(capa)
        session.flush()
        session.add(ActionLink(action_id=action.id, kind="capa", ref=str(capa.id)))
        tx.audit("capa", capa.id, "open", after={**snapshot(capa, FIELDS), "action": action.id})
        return _capa_out(session, capa)


def _check_refs(session: Session, data: CapaCreate) -> int | None:
    rca_id = data.rca_id
    if rca_id is not None and session.get(RootCauseAnalysis, rca_id) is None:
        raise InvalidInput.for_field("rca_id", f"no RCA with id {rca_id}")
    if data.cause_id is not None:
        cause = session.get(RcaCause, data.cause_id)
        if cause is None:
            raise InvalidInput.for_field("cause_id", f"no cause with id {data.cause_id}")
        if rca_id is not None and cause.rca_id != rca_id:
            raise InvalidInput.for_field(
                "cause_id", f"cause {cause.id} belongs to RCA {cause.rca_id}, not RCA {rca_id}"
            )
        rca_id = cause.rca_id
    if data.metric_key is None:
        if data.metric_line is not None:
            raise InvalidInput.for_field("metric_line", "a line needs the metric_key it splits")
        return rca_id
    try:
        metric = store.metric_by_key(session, data.metric_key)
    except NotFound:
        raise InvalidInput.for_field("metric_key", f"no metric {data.metric_key!r}") from None
    if data.metric_line is not None:
        defn = store.current_definition(session, metric)
        if not defn.by_line and data.metric_line not in series_of(session, metric, defn):
            raise InvalidInput.for_field(
                "metric_line",
                f"{metric.key} is not split by line and has no line {data.metric_line}",
            )
    return rca_id


def list_capas(
    ctx: Context, *, status: str | None = None, rca_id: int | None = None
) -> list[CapaOut]:
    """CAPAs, newest first. ``status``: ``unfinished`` (open or in progress), ``done`` or
    ``cancelled`` (their action's)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        query = select(Capa).join(ActionItem, ActionItem.id == Capa.action_id)
        if status == "unfinished":
            query = query.where(ActionItem.status.in_(UNFINISHED))
        elif status is not None:
            query = query.where(ActionItem.status == status)
        if rca_id is not None:
            query = query.where(Capa.rca_id == rca_id)
        capas = list(session.scalars(query.order_by(Capa.id.desc()).limit(500)))
        actions = actions_by_id(session, [c.action_id for c in capas])
        return [_capa_out(session, c, actions[c.action_id]) for c in capas]


def capas_for_metric(ctx: Context, metric_key: str, line: str | None = None) -> list[CapaOut]:
    """The CAPAs whose check measures ``metric_key`` on the series ``line`` (``None`` or ''
    is the whole metric), oldest first: what a metric's page annotates."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        query = select(Capa).where(Capa.metric_key == metric_key)
        if line:
            query = query.where(Capa.metric_line == line)
        else:
            query = query.where(Capa.metric_line.is_(None))
        capas = list(session.scalars(query.order_by(Capa.id).limit(100)))
        actions = actions_by_id(session, [c.action_id for c in capas])
        return [_capa_out(session, c, actions[c.action_id]) for c in capas]


def effective_date(capa: CapaOut, zone: ZoneInfo) -> date | None:
    """The plant date the CAPA's change took effect, as its next check takes it: the date
    given on the CAPA, else that of its latest linked change in effect; ``None`` without
    either."""
    if capa.effective_on is not None:
        return capa.effective_on
    dates = [c.effective_at for c in capa.changes if c.effective_at is not None]
    return to_local(max(dates), zone).date() if dates else None


def get_capa(ctx: Context, capa_id: int) -> CapaOut:
    """One CAPA with its action, changes, latest check and the check it was closed on."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        return _capa_out(session, _get(session, capa_id))


def list_checks(ctx: Context, capa_id: int) -> list[CheckOut]:
    """Every effectiveness check recorded on a CAPA, newest first."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        _get(session, capa_id)
        rows = session.scalars(
            select(EffectivenessCheck)
            .where(EffectivenessCheck.capa_id == capa_id)
            .order_by(EffectivenessCheck.id.desc())
        )
        return [_check_out(r) for r in rows]


# --- changes -----------------------------------------------------------------------------------


def link_change(
    ctx: Context, capa_id: int, data: ChangeLink, *, at: datetime | None = None
) -> CapaOut:
    """Link a change the CAPA produced, while it is unfinished; the change must exist
    (refused on ``ref`` otherwise). Its
    ``effective_at`` is read from it: the revision's, the version's publication, the
    metric version's creation."""
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        session = tx.session
        capa = _get(session, capa_id)
        action = session.get(ActionItem, capa.action_id)
        if action is not None and action.status not in UNFINISHED:
            raise Conflict(f"CAPA {capa.id} is {action.status}: its changes are settled")
        effective_at = _change_effective_at(session, data)
        known = session.scalar(
            select(CapaChange).where(
                CapaChange.capa_id == capa.id,
                CapaChange.kind == data.kind,
                CapaChange.ref == data.ref,
            )
        )
        if known is not None:
            raise Conflict(f"CAPA {capa.id} already links {data.kind} {data.ref}")
        change = CapaChange(
            capa_id=capa.id,
            kind=data.kind,
            ref=data.ref,
            effective_at=effective_at,
            added_by=ctx.actor.username,
            added_at=at or utcnow(),
        )
        session.add(change)
        session.flush()
        tx.audit(
            "capa",
            capa.id,
            "link_change",
            after={"kind": data.kind, "ref": data.ref, "effective_at": effective_at},
        )
        return _capa_out(session, capa)


def _change_effective_at(session: Session, data: ChangeLink) -> datetime | None:
    name, _, number = data.ref.rpartition("/")
    if data.kind == "document_revision":
        revision = changes.revision_by_ref(session, data.ref)
        if revision is None:
            raise InvalidInput.for_field("ref", f"no revision {number} of document {name!r}")
        return revision.effective_at
    if data.kind == "process_version":
        version = changes.process_version_by_ref(session, data.ref)
        if version is None:
            raise InvalidInput.for_field("ref", f"no version {number} of process {name!r}")
        return version.published_at
    metric_version = changes.metric_version_by_ref(session, data.ref)
    if metric_version is None:
        raise InvalidInput.for_field("ref", f"no version {number} of metric {name!r}")
    return metric_version.created_at


# --- effectiveness -----------------------------------------------------------------------------


def check_metric(
    ctx: Context,
    metric_key: str,
    *,
    effective_on: date,
    zone: ZoneInfo,
    window_days: int = 28,
    line: str | None = None,
    now: datetime | None = None,
) -> CheckOut:
    """The effectiveness check of any metric around ``effective_on``, recorded nowhere.
    ``NotFound`` for an unknown metric."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        metric = store.metric_by_key(session, metric_key)
        found = _run(session, metric, effective_on, window_days, line, zone, now or utcnow())
        return _as_out(found, metric_key, line, effective_on, window_days)


def run_check(
    ctx: Context,
    capa_id: int,
    *,
    zone: ZoneInfo,
    metric_key: str | None = None,
    effective_on: date | None = None,
    window_days: int | None = None,
    now: datetime | None = None,
) -> CheckOut:
    """Run a CAPA's effectiveness check and record it (a new row; checks are never changed).

    The metric, date and window are the CAPA's unless given; a given metric or date is kept
    on the CAPA for the next checks. Refused on ``metric_key`` when the CAPA names no metric,
    on ``effective_on`` when no date is given and no linked change has taken effect."""
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        session = tx.session
        capa = _get(session, capa_id)
        before = snapshot(capa, FIELDS)
        if metric_key is not None:
            capa.metric_key = store.metric_by_key(session, metric_key).key
        if effective_on is not None:
            capa.effective_on = effective_on
        if window_days is not None:
            capa.window_days = window_days
        row = _record(ctx, session, capa, zone, now or utcnow())
        tx.audit(
            "capa",
            capa.id,
            "check",
            before=before,
            after={**snapshot(capa, FIELDS), "check": row.id, "verdict": row.verdict},
        )
        return _check_out(row)


def _record(
    ctx: Context, session: Session, capa: Capa, zone: ZoneInfo, now: datetime
) -> EffectivenessCheck:
    if capa.metric_key is None:
        raise InvalidInput.for_field("metric_key", f"CAPA {capa.id} names no metric to check")
    on = _effective_on(session, capa, zone)
    if on is None:
        raise InvalidInput.for_field(
            "effective_on",
            "give the date the change took effect, or link a change that has taken effect",
        )
    metric = store.metric_by_key(session, capa.metric_key)
    found = _run(session, metric, on, capa.window_days, capa.metric_line, zone, now)
    row = EffectivenessCheck(
        capa_id=capa.id,
        metric_key=metric.key,
        line=capa.metric_line,
        effective_on=on,
        window_days=capa.window_days,
        verdict=found.verdict,
        method=found.method,
        before_n=found.before.n,
        before_value=found.before.value,
        after_n=found.after.n,
        after_value=found.after.value,
        p_value=found.p_value,
        signals=[s.as_json() for s in found.signals],
        details=found.details,
        computed_by=ctx.actor.username,
        computed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _run(
    session: Session,
    metric: Metric,
    effective_on: date,
    window_days: int,
    line: str | None,
    zone: ZoneInfo,
    now: datetime,
) -> Check:
    """The check on the metric's finished periods of one series (a line's, or the whole)."""
    defn = store.current_definition(session, metric)
    before, after = _windows(session, metric, defn, effective_on, window_days, line, zone, now)
    return check_effectiveness(
        defn.chart,
        defn.direction,
        before,
        after,
        rules=defn.rule_ids(),
        limits=_frozen_before(session, metric, defn, line, _start_at(effective_on, zone)),
    )


def check_chart(
    ctx: Context,
    metric_key: str,
    *,
    effective_on: date,
    zone: ZoneInfo,
    window_days: int = 28,
    line: str | None = None,
    now: datetime | None = None,
) -> WindowChart | None:
    """The control chart of the periods a check around ``effective_on`` tests (both
    windows), against the limits it uses; ``None`` when there are no limits to draw."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        metric = store.metric_by_key(session, metric_key)
        defn = store.current_definition(session, metric)
        before, after = _windows(
            session, metric, defn, effective_on, window_days, line, zone, now or utcnow()
        )
        limits = _frozen_before(session, metric, defn, line, _start_at(effective_on, zone))
        chart = window_chart(defn.chart, before, after, rules=defn.rule_ids(), limits=limits)
        if chart is None:
            return None
        periods = [p.period for p in chart.points]
        first_after = next((v.period for v in after if v.period in periods), None)
        first_before = next((v.period for v in before if v.period in periods), None)
        return WindowChart(chart, defn.name, defn.unit, first_before, first_after)


def _windows(
    session: Session,
    metric: Metric,
    defn: MetricDefinition,
    effective_on: date,
    window_days: int,
    line: str | None,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[list[PeriodValue], list[PeriodValue]]:
    # A metric split by line has no whole-source series: without a line, its lines combine.
    combined = defn.by_line and line is None
    rows = finished(
        store.values(session, metric, line=None if combined else line or ""), defn, zone, now
    )
    series = [PeriodValue(r.period, line, r.value, r.count, r.n) for r in rows]
    if combined:
        series = combine_lines(defn.chart, series)
    return split_windows(series, effective_on, window_days)


def _frozen_before(
    session: Session, metric: Metric, defn: MetricDefinition, line: str | None, start_at: datetime
) -> Limits | None:
    """The series' latest limits frozen before the change took effect, for its chart."""
    row = session.scalar(
        select(MetricLimits)
        .where(
            MetricLimits.metric_id == metric.id,
            MetricLimits.line == (line or ""),
            MetricLimits.created_at < start_at,
        )
        .order_by(MetricLimits.seq.desc())
        .limit(1)
    )
    if row is None or row.chart != defn.chart:
        return None
    return store.limits_of(row)


def _start_at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _effective_on(session: Session, capa: Capa, zone: ZoneInfo) -> date | None:
    """The CAPA's date: given, else the plant date of the latest linked change's
    ``effective_at`` (changes not yet in effect do not count)."""
    if capa.effective_on is not None:
        return capa.effective_on
    latest = session.scalar(
        select(func.max(CapaChange.effective_at)).where(CapaChange.capa_id == capa.id)
    )
    if latest is None:
        return None
    return to_local(latest, zone).date()


def _as_out(
    found: Check, metric_key: str, line: str | None, effective_on: date, window_days: int
) -> CheckOut:
    return CheckOut(
        verdict=found.verdict,
        method=found.method,
        before=WindowOut(n=found.before.n, value=found.before.value),
        after=WindowOut(n=found.after.n, value=found.after.value),
        p_value=found.p_value,
        signals=[s.as_json() for s in found.signals],
        metric_key=metric_key,
        line=line,
        effective_on=effective_on,
        window_days=window_days,
        details=found.details,
    )


# --- close, cancel -----------------------------------------------------------------------------


def close_capa(ctx: Context, capa_id: int, *, note: str, at: datetime | None = None) -> CapaOut:
    """Close the CAPA and its action. Refused (on ``check``) without an effectiveness check,
    or when the latest one's verdict is not ``effective``."""
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        session = tx.session
        capa = _get(session, capa_id)
        latest = _latest_check(session, capa.id)
        if latest is None:
            raise InvalidInput.for_field(
                "check", f"CAPA {capa.id} has no effectiveness check yet: run one first"
            )
        if latest.verdict != "effective":
            raise InvalidInput.for_field(
                "check",
                f"the latest effectiveness check (#{latest.id}) says "
                f"{latest.verdict.replace('_', ' ')}: a CAPA closes on an effective check",
            )
        close_action(ctx, capa.action_id, note=note, holder=HOLDER, at=at)
        tx.audit("capa", capa.id, "close", after={"check": latest.id}, reason=note)
        return _capa_out(session, capa)


def cancel_capa(ctx: Context, capa_id: int, *, note: str) -> CapaOut:
    """Cancel the CAPA and its action, saying why."""
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        session = tx.session
        capa = _get(session, capa_id)
        cancel_action(ctx, capa.action_id, note=note, holder=HOLDER)
        tx.audit("capa", capa.id, "cancel", reason=note)
        return _capa_out(session, capa)


# --- recompute ---------------------------------------------------------------------------------


def recheck_open_capas(ctx: Context, *, zone: ZoneInfo, now: datetime | None = None) -> Rechecked:
    """Check again every unfinished CAPA whose metric got values computed after its latest
    check (or that has none yet), each in its own transaction. A CAPA that cannot be checked
    (no metric, no date) is skipped and named in ``failed``; the others go on."""
    now = now or utcnow()
    with ctx.read() as session:
        authorize(ctx.actor, Action.CAPA_MANAGE)
        latest_check = (
            select(EffectivenessCheck.capa_id, func.max(EffectivenessCheck.computed_at).label("at"))
            .group_by(EffectivenessCheck.capa_id)
            .subquery()
        )
        latest_value = (
            select(Metric.key, func.max(MetricValue.computed_at).label("at"))
            .join(MetricValue, MetricValue.metric_id == Metric.id)
            .group_by(Metric.key)
            .subquery()
        )
        due = list(
            session.scalars(
                select(Capa.id)
                .join(ActionItem, ActionItem.id == Capa.action_id)
                .join(latest_value, latest_value.c.key == Capa.metric_key)
                .outerjoin(latest_check, latest_check.c.capa_id == Capa.id)
                .where(
                    ActionItem.status.in_(UNFINISHED),
                    (latest_check.c.at.is_(None)) | (latest_value.c.at > latest_check.c.at),
                )
                .order_by(Capa.id)
            )
        )
    checked, failed = [], {}
    for capa_id in due:
        try:
            run_check(ctx, capa_id, zone=zone, now=now)
            checked.append(capa_id)
        except AndonError as exc:
            failed[capa_id] = exc.detail
            log.info("CAPA %d was not checked again: %s", capa_id, exc.detail)
    return Rechecked(checked, failed)


# --- shared ------------------------------------------------------------------------------------


def exception_category(ctx: Context, capa: CapaOut) -> tuple[str | None, int | None]:
    """The exception category whose recurrence shows whether the CAPA worked, and its line:
    the RCA's category, else the category the CAPA's metric counts (``exception_count``)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        if capa.rca_id is not None:
            rca = session.get(RootCauseAnalysis, capa.rca_id)
            if rca is not None and rca.category:
                return rca.category, rca.line_id
        if capa.metric_key is not None:
            metric = session.scalar(select(Metric).where(Metric.key == capa.metric_key))
            if metric is not None:
                defn = store.current_definition(session, metric)
                if isinstance(defn.source, KpiSource) and defn.source.category:
                    return defn.source.category, None
        return None, None


def _get(session: Session, capa_id: int) -> Capa:
    capa = session.get(Capa, capa_id)
    if capa is None:
        raise NotFound(f"no CAPA with id {capa_id}")
    return capa


def _latest_check(session: Session, capa_id: int) -> EffectivenessCheck | None:
    return session.scalar(
        select(EffectivenessCheck)
        .where(EffectivenessCheck.capa_id == capa_id)
        .order_by(EffectivenessCheck.id.desc())
        .limit(1)
    )


def _capa_out(session: Session, capa: Capa, action: ActionOut | None = None) -> CapaOut:
    action = action or actions_by_id(session, [capa.action_id])[capa.action_id]
    changes = session.scalars(
        select(CapaChange).where(CapaChange.capa_id == capa.id).order_by(CapaChange.id)
    )
    latest = _latest_check(session, capa.id)
    closed_on = None
    if action.status == "done" and action.closed_at is not None:
        closed_on = session.scalar(
            select(EffectivenessCheck)
            .where(
                EffectivenessCheck.capa_id == capa.id,
                EffectivenessCheck.computed_at <= action.closed_at,
            )
            .order_by(EffectivenessCheck.id.desc())
            .limit(1)
        )
    return CapaOut(
        id=capa.id,
        kind=capa.kind,
        action=action,
        rca_id=capa.rca_id,
        cause_id=capa.cause_id,
        metric_key=capa.metric_key,
        metric_line=capa.metric_line,
        effective_on=capa.effective_on,
        window_days=capa.window_days,
        created_by=capa.created_by,
        created_at=capa.created_at,
        changes=[ChangeOut.model_validate(c) for c in changes],
        check=None if latest is None else _check_out(latest),
        closed_on=None if closed_on is None else _check_out(closed_on),
    )


def _check_out(row: EffectivenessCheck) -> CheckOut:
    return CheckOut(
        id=row.id,
        verdict=row.verdict,
        method=row.method,
        before=WindowOut(n=row.before_n, value=row.before_value),
        after=WindowOut(n=row.after_n, value=row.after_value),
        p_value=row.p_value,
        signals=list(row.signals),
        metric_key=row.metric_key,
        line=row.line,
        effective_on=row.effective_on,
        window_days=row.window_days,
        details=dict(row.details),
        computed_by=row.computed_by,
        computed_at=row.computed_at,
    )


__all__ = [
    "HOLDER",
    "Rechecked",
    "cancel_capa",
    "capas_for_metric",
    "check_chart",
    "check_metric",
    "close_capa",
    "effective_date",
    "exception_category",
    "get_capa",
    "link_change",
    "list_capas",
    "list_checks",
    "open_capa",
    "recheck_open_capas",
    "run_check",
]
