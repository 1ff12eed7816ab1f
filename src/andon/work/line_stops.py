"""Line status and the stop-the-line rule: stop, notify subscribers, restart on two sign-offs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.calendars.service import working_calendar
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import Action, Role, Scope, authorize
from andon.core.uow import Context, Transaction
from andon.plant.models import Line
from andon.processes.spec import Severity
from andon.work import recipients
from andon.work.loading import line_scope
from andon.work.models import (
    CheckRun,
    LineState,
    LineStop,
    LineStopRule,
    LineSubscription,
    PlantException,
    WorkItem,
)
from andon.work.schemas import StopRuleCreate
from andon.work.visibility import restrict

RULE_FIELDS = ("name", "kind", "category", "min_severity", "count", "window_seconds", "active")


def _line(session: Session, line_id: int) -> tuple[Line, Scope]:
    return line_scope(session, line_id)


def state_of(session: Session, line_id: int) -> LineState:
    state = session.get(LineState, line_id)
    if state is None:
        state = LineState(line_id=line_id, status="running", since=utcnow())
        session.add(state)
        session.flush()
    return state


def stop_line(
    tx: Transaction,
    line: Line,
    scope: Scope,
    *,
    reason: str,
    rule: str | None,
    exception_id: int | None,
    now: datetime,
) -> LineStop | None:
    """Stop a running line (a stopped one stays stopped: returns None) and tell subscribers."""
    state = state_of(tx.session, line.id)
    if state.status == "stopped":
        return None
    stop = LineStop(
        line_id=line.id,
        stopped_at=now,
        stopped_by=tx.actor.username,
        rule=rule,
        reason=reason,
        exception_id=exception_id,
    )
    tx.session.add(stop)
    tx.session.flush()
    state.status, state.since, state.stop_id = "stopped", now, stop.id
    subscribers = list(
        tx.session.scalars(
            select(LineSubscription.user_id).where(LineSubscription.line_id == line.id)
        )
    )
    calendar = working_calendar(tx.session, scope.site_id or 0)
    local = now.astimezone(calendar.zone)
    who = recipients.resolve(
        tx.session,
        scope=scope,
        roles=(Role.SUPERVISOR, Role.QUALITY, Role.SAFETY),
        user_ids=subscribers,
    )
    recipients.notify(
        tx.session,
        who,
        key=f"line-stop:{stop.id}",
        subject=f"[Andon] LINE STOPPED: {line.code} {line.name}",
        body=(
            # The site's own clock: the people told are on site.
            f"Line {line.code} ({line.name}) stopped at {local:%Y-%m-%d %H:%M %Z}"
            f"{' by rule ' + rule if rule else ' by ' + tx.actor.username}.\nReason: {reason}\n"
            "Restart needs sign-off by a supervisor and by quality.\n"
        ),
        payload={
            "event": "line_stopped",
            "line": line.code,
            "stop_id": stop.id,
            "rule": rule,
            "reason": reason,
            "stopped_at": now.isoformat(),
        },
        urgent=True,
        calendar=calendar,
        now=now,
        source_type="line",
        source_id=line.id,
    )
    tx.audit(
        "line",
        line.id,
        "stop",
        before={"status": "running"},
        after={"status": "stopped", "stop_id": stop.id, "rule": rule},
        reason=reason,
    )
    return stop


def pull_cord(ctx: Context, line_id: int, reason: str, *, at: datetime | None = None) -> LineStop:
    """Anyone on the floor may stop the line by hand."""
    now = at or utcnow()
    with ctx.write() as tx:
        line, scope = _line(tx.session, line_id)
        authorize(ctx.actor, Action.LINE_STOP, scope)
        stop = stop_line(tx, line, scope, reason=reason, rule=None, exception_id=None, now=now)
        if stop is None:
            raise Conflict(f"line {line.code} is already stopped")
        return stop


def sign_off_restart(
    ctx: Context,
    line_id: int,
    reason: str,
    *,
    as_role: str | None = None,
    at: datetime | None = None,
) -> LineStop:
    """Record a supervisor's or quality's sign-off; with both (two people) the line restarts."""
    now = at or utcnow()
    with ctx.write() as tx:
        line, scope = _line(tx.session, line_id)
        authorize(ctx.actor, Action.LINE_RESTART, scope)
        state = state_of(tx.session, line.id)
        if state.status != "stopped" or state.stop_id is None:
            raise Conflict(f"line {line.code} is running; there is nothing to sign off")
        stop = tx.session.get(LineStop, state.stop_id)
        assert stop is not None
        roles = {str(r) for r in ctx.actor.roles}
        supervisor_ok = ctx.actor.system or roles & {"supervisor", "ops_manager", "admin"}
        quality_ok = ctx.actor.system or "quality" in roles
        role = as_role or (
            "quality"
            if quality_ok and stop.quality_signoff_by is None
            else "supervisor"
            if supervisor_ok and stop.supervisor_signoff_by is None
            else None
        )
        if role not in {"supervisor", "quality"}:
            raise PermissionDenied(
                f"{ctx.actor.username} has no sign-off left to give for line {line.code}"
            )
        if (role == "supervisor" and not supervisor_ok) or (role == "quality" and not quality_ok):
            raise PermissionDenied(f"{ctx.actor.username} may not sign off as {role}")
        other = stop.quality_signoff_by if role == "supervisor" else stop.supervisor_signoff_by
        if other == ctx.actor.username and not ctx.actor.system:
            raise Conflict("the two restart sign-offs must come from two different people")
        if role == "supervisor":
            if stop.supervisor_signoff_by:
                raise Conflict(f"supervisor already signed off ({stop.supervisor_signoff_by})")
            stop.supervisor_signoff_by, stop.supervisor_signoff_at = ctx.actor.username, now
        else:
            if stop.quality_signoff_by:
                raise Conflict(f"quality already signed off ({stop.quality_signoff_by})")
            stop.quality_signoff_by, stop.quality_signoff_at = ctx.actor.username, now
        stop.restart_reason = "; ".join(filter(None, [stop.restart_reason, reason]))
        tx.audit("line", line.id, f"sign_off_{role}", after={"stop_id": stop.id}, reason=reason)
        if stop.supervisor_signoff_by and stop.quality_signoff_by:
            stop.restarted_at = now
            state.status, state.since, state.stop_id = "running", now, None
            tx.audit(
                "line",
                line.id,
                "restart",
                before={"status": "stopped"},
                after={"status": "running", "stop_id": stop.id},
                reason=stop.restart_reason,
            )
        return stop


def check_exception_rules(tx: Transaction, exception: PlantException, now: datetime) -> None:
    rules = tx.session.scalars(
        select(LineStopRule).where(
            LineStopRule.line_id == exception.line_id,
            LineStopRule.kind == "exception",
            LineStopRule.active.is_(True),
        )
    )
    severity = Severity(exception.severity)
    for rule in rules:
        if rule.category and rule.category != exception.category:
            continue
        if rule.min_severity and severity.rank < Severity(rule.min_severity).rank:
            continue
        line, scope = _line(tx.session, exception.line_id)
        stop_line(
            tx,
            line,
            scope,
            reason=f"{severity.value} {exception.category} exception #{exception.id}: "
            f"{exception.description[:200]}",
            rule=rule.name,
            exception_id=exception.id,
            now=now,
        )
        return


def check_failed_check_rules(tx: Transaction, line_id: int, now: datetime) -> None:
    rules = tx.session.scalars(
        select(LineStopRule).where(
            LineStopRule.line_id == line_id,
            LineStopRule.kind == "failed_checks",
            LineStopRule.active.is_(True),
        )
    )
    for rule in rules:
        if not rule.count or not rule.window_seconds:
            continue
        since = now - timedelta(seconds=rule.window_seconds)
        failed = tx.session.scalar(
            select(func.count())
            .select_from(CheckRun)
            .where(
                CheckRun.line_id == line_id,
                CheckRun.passed.is_(False),
                CheckRun.recorded_at > since,
                CheckRun.recorded_at <= now,
            )
        )
        if failed is not None and failed >= rule.count:
            line, scope = _line(tx.session, line_id)
            stop_line(
                tx,
                line,
                scope,
                reason=f"{failed} failed check{'' if failed == 1 else 's'} "
                f"in {rule.window_seconds // 60} min",
                rule=rule.name,
                exception_id=None,
                now=now,
            )
            return


def add_rule(ctx: Context, line_id: int, data: StopRuleCreate) -> LineStopRule:
    if data.kind == "failed_checks" and (data.count is None or data.window_minutes is None):
        missing = "count" if data.count is None else "window_minutes"
        raise InvalidInput.for_field(missing, "a failed-checks rule needs count and window_minutes")
    if data.kind == "exception" and data.category is None and data.min_severity is None:
        raise InvalidInput.for_field(
            "min_severity", "an exception rule needs a category or a minimum severity"
        )
    with ctx.write() as tx:
        line, scope = _line(tx.session, line_id)
        authorize(ctx.actor, Action.LINE_RULES, scope)
        rule = LineStopRule(
            line_id=line.id,
            name=data.name,
            kind=data.kind,
            category=data.category,
            min_severity=data.min_severity.value if data.min_severity else None,
            count=data.count,
            window_seconds=data.window_minutes * 60 if data.window_minutes else None,
            active=True,
        )
        tx.session.add(rule)
        tx.session.flush()
        tx.audit("line_stop_rule", rule.id, "create", after=snapshot(rule, RULE_FIELDS))
        return rule


def remove_rule(ctx: Context, rule_id: int, *, reason: str | None = None) -> None:
    with ctx.write() as tx:
        rule = tx.session.get(LineStopRule, rule_id)
        if rule is None:
            raise NotFound(f"no stop-the-line rule with id {rule_id}")
        _, scope = _line(tx.session, rule.line_id)
        authorize(ctx.actor, Action.LINE_RULES, scope)
        before = snapshot(rule, RULE_FIELDS)
        tx.session.delete(rule)
        tx.audit("line_stop_rule", rule_id, "delete", before=before, reason=reason)


def subscribe(ctx: Context, line_id: int, *, subscribed: bool = True) -> bool:
    """The signed-in user follows (or stops following) a line's stops."""
    if ctx.actor.user_id is None:
        raise InvalidInput.for_field("user", "only a signed-in user can subscribe")
    with ctx.write() as tx:
        _, scope = _line(tx.session, line_id)
        authorize(ctx.actor, Action.WORK_READ, scope)
        row = tx.session.scalar(
            select(LineSubscription).where(
                LineSubscription.line_id == line_id, LineSubscription.user_id == ctx.actor.user_id
            )
        )
        if subscribed and row is None:
            tx.session.add(LineSubscription(line_id=line_id, user_id=ctx.actor.user_id))
        elif not subscribed and row is not None:
            tx.session.delete(row)
        return subscribed


@dataclass(frozen=True)
class LineBoardRow:
    line: Line
    status: str
    since: datetime | None
    stop: LineStop | None
    open_items: int
    late_items: int
    open_exceptions: int


def board(ctx: Context, *, now: datetime | None = None) -> list[LineBoardRow]:
    """Every line's status with its open, late and exception counts, for the andon board."""
    now = now or utcnow()
    with ctx.read() as session:
        lines = list(
            session.scalars(restrict(select(Line).order_by(Line.code), ctx.actor, Line.id))
        )
        states = {s.line_id: s for s in session.scalars(select(LineState))}
        stops = {
            s.id: s
            for s in session.scalars(
                select(LineStop).where(
                    LineStop.id.in_([s.stop_id for s in states.values() if s.stop_id])
                )
            )
        }
        open_counts = dict(
            session.execute(
                select(WorkItem.line_id, func.count())
                .where(WorkItem.status.in_(("open", "paused")))
                .group_by(WorkItem.line_id)
            ).all()
        )
        late = dict(
            session.execute(
                select(WorkItem.line_id, func.count())
                .where(WorkItem.status == "open", WorkItem.stage_due_at <= now)
                .group_by(WorkItem.line_id)
            ).all()
        )
        exceptions = dict(
            session.execute(
                select(PlantException.line_id, func.count())
                .where(PlantException.status != "resolved")
                .group_by(PlantException.line_id)
            ).all()
        )
    rows = []
    for line in lines:
        state = states.get(line.id)
        rows.append(
            LineBoardRow(
                line=line,
                status=state.status if state else "running",
                since=state.since if state else None,
                stop=stops.get(state.stop_id) if state and state.stop_id else None,
                open_items=open_counts.get(line.id, 0),
                late_items=late.get(line.id, 0),
                open_exceptions=exceptions.get(line.id, 0),
            )
        )
    return rows


def list_rules(ctx: Context, line_id: int) -> list[LineStopRule]:
    with ctx.read() as session:
        authorize(ctx.actor, Action.WORK_READ, _line(session, line_id)[1])
        return list(
            session.scalars(
                select(LineStopRule)
                .where(LineStopRule.line_id == line_id)
                .order_by(LineStopRule.id)
            )
        )


def list_stops(ctx: Context, line_id: int | None = None, limit: int = 50) -> list[LineStop]:
    """Stops, newest first: of one line (NotFound if there is no such line), or of every
    line the actor may see."""
    with ctx.read() as session:
        query = select(LineStop).order_by(LineStop.stopped_at.desc()).limit(limit)
        if line_id is not None:
            authorize(ctx.actor, Action.WORK_READ, _line(session, line_id)[1])
            query = query.where(LineStop.line_id == line_id)
        else:
            query = restrict(query, ctx.actor, LineStop.line_id)
        return list(session.scalars(query))


def current_stop(ctx: Context, line_id: int) -> LineStop | None:
    """The stop in force on the line, or None while it runs; NotFound for no such line.

    While there is one, nothing moves into the line's stages until the restart is signed off.
    """
    with ctx.read() as session:
        authorize(ctx.actor, Action.WORK_READ, _line(session, line_id)[1])
        state = session.get(LineState, line_id)
        if state is None or state.status != "stopped" or state.stop_id is None:
            return None
        return session.get(LineStop, state.stop_id)
