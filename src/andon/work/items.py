"""Use cases of work items: create, move, pause, resume, assign, update, reroute, comment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.calendars.service import calendar_listeners, site_of_line, working_calendar
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
)
from andon.core.permissions import Action, authorize
from andon.core.uow import Context, Transaction
from andon.documents.floor import sop_state
from andon.plant.models import Line
from andon.processes.models import ProcessVersion
from andon.processes.service import find_process, spec_of
from andon.processes.spec import Stage, format_duration, parse_duration
from andon.work import escalations
from andon.work.clocks import ItemClocks, item_pauses, read_item_clocks, refresh_clocks
from andon.work.events import append_event
from andon.work.intake import validate_fields
from andon.work.loading import Loaded, line_scope, load, stage_check_runs
from andon.work.models import LineState, WorkComment, WorkItem, WorkPause
from andon.work.rules import gate_applies, gate_passed, may_move
from andon.work.schemas import (
    CommentCreate,
    ItemAssign,
    ItemCreate,
    ItemMove,
    ItemPause,
    ItemReroute,
    ItemResume,
    ItemRetarget,
    ItemUpdate,
)

AUDITED = (
    "stage",
    "status",
    "pause_state",
    "line_id",
    "assignee_id",
    "priority",
    "product",
    "quantity",
    "title",
    "version",
)


class MoveRefused(Refused):
    """A move the process does not allow from here; says where the item may go instead."""

    def __init__(self, detail: str, allowed: list[str]) -> None:
        super().__init__(detail, field="to", allowed=allowed, kind="move_refused")


def _check_version(item: WorkItem, version: int) -> None:
    if item.version != version:
        raise Conflict(
            f"work item {item.id} is at version {item.version}, not {version}; reload and retry"
        )


@contextmanager
def _opened(
    ctx: Context, item_id: int, action: Action, version: int | None = None, *, lock: bool = True
) -> Iterator[tuple[Transaction, Loaded]]:
    """The opening of every use case on one item: its unit of work, the item read (locked
    for writing unless ``lock`` is off), the actor's right to ``action`` where the item is,
    and, given ``version``, that nobody changed the item since the caller read it."""
    with ctx.write() as tx:
        loaded = load(tx.session, item_id, lock=lock)
        authorize(ctx.actor, action, loaded.scope)
        if version is not None:
            _check_version(loaded.item, version)
        yield tx, loaded


def ensure_line_running(session: Session, line: Line) -> None:
    state = session.get(LineState, line.id)
    if state is not None and state.status == "stopped":
        _refuse_if_stopped(line, state, site_of_line(session, line.id).timezone)


def _refuse_if_stopped(line: Line, state: LineState | None, timezone: str) -> None:
    if state is not None and state.status == "stopped":
        since = state.since.astimezone(ZoneInfo(timezone))
        raise Conflict(
            f"line {line.code} is stopped (since {since:%Y-%m-%d %H:%M %Z}); "
            "nothing may move into its stages until supervisor and quality sign off a restart"
        )


def _after_change(session: Session, loaded: Loaded, now: datetime) -> ItemClocks:
    """Refresh the item's cached clocks and pending escalations after a change.

    Nothing is flushed until the caller's audit entry, so the item's row is written once
    per change and its version goes up by exactly one.
    """
    item = loaded.item
    item.updated_at = now
    with session.no_autoflush:
        pauses = item_pauses(session, item.id) if loaded.ever_paused else []
        known = {p.id for p in pauses}
        pauses += [
            p
            for p in session.new
            if isinstance(p, WorkPause) and p.item_id == item.id and p.id not in known
        ]
        pauses.sort(key=lambda p: p.start_at)
        clocks = refresh_clocks(item, loaded.spec, loaded.calendar, pauses, now)
        if item.id is not None:
            escalations.recompute(session, loaded, pauses, now)
    return clocks


def _record(tx: Transaction, loaded: Loaded, *, kind: str, at: datetime, **attributes: Any) -> None:
    """An event of the item at its current stage, by the acting user."""
    append_event(
        tx.session,
        loaded.item,
        kind=kind,
        activity=loaded.spec.stage(loaded.item.stage).name,
        at=at,
        resource=tx.actor.username,
        process_key=loaded.spec.key,
        **attributes,
    )


def _settle(
    tx: Transaction,
    loaded: Loaded,
    now: datetime,
    action: str,
    before: dict[str, Any],
    reason: str | None,
) -> None:
    """After a change: refresh clocks and escalations, then audit before → after."""
    _after_change(tx.session, loaded, now)
    tx.audit(
        "work_item",
        loaded.item.id,
        action,
        before=before,
        after=snapshot(loaded.item, AUDITED),
        reason=reason,
    )


def _assignee(session: Session, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    user = session.get(User, assignee_id)
    if user is None or not user.active:
        raise InvalidInput.for_field("assignee_id", f"no active user with id {assignee_id}")
    return user


def create_item(ctx: Context, data: ItemCreate, *, at: datetime | None = None) -> WorkItem:
    """Open a work item at the first stage its route picks; the intake form must be valid."""
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        try:
            process = find_process(session, data.process)
        except NotFound:
            raise InvalidInput.for_field("process", f"no process {data.process!r}") from None
        if not process.active:
            raise InvalidInput.for_field("process", f"process {process.key!r} is deactivated")
        if session.get(Line, data.line_id) is None:
            raise InvalidInput.for_field("line_id", f"no line with id {data.line_id}")
        line, scope = line_scope(session, data.line_id)
        authorize(ctx.actor, Action.WORK_CREATE, scope)
        version = session.scalar(
            select(ProcessVersion).where(
                ProcessVersion.process_id == process.id,
                ProcessVersion.number == process.current_version,
            )
        )
        assert version is not None
        spec = spec_of(version)
        fields = validate_fields(spec, data.fields)
        _assignee(session, data.assignee_id)
        ensure_line_running(session, line)
        route = spec.route(line=line.code, product=data.product, priority=data.priority.value)
        stage = route.stage if route and route.stage else spec.start
        item = WorkItem(
            process_id=process.id,
            process_version_id=version.id,
            line_id=line.id,
            title=data.title,
            product=data.product,
            quantity=data.quantity,
            priority=data.priority.value,
            fields=fields,
            stage=stage,
            status="open",
            assignee_id=data.assignee_id,
            assignee_role=(route.assignee_role.value if route and route.assignee_role else None)
            or spec.stage(stage).owner_role.value,
            created_at=now,
            created_by=ctx.actor.username,
            updated_at=now,
            stage_entered_at=now,
        )
        calendar = working_calendar(session, scope.site_id or 0)
        loaded = Loaded(
            item,
            spec,
            calendar,
            scope,
            line,
            process.escalation_active,
            ever_paused=False,
            ever_escalated=False,
        )
        _after_change(session, loaded, now)
        session.add(item)
        session.flush()
        append_event(
            session,
            item,
            kind="created",
            activity=spec.stage(stage).name,
            at=now,
            resource=ctx.actor.username,
            process_key=process.key,
            stage=stage,
            line_id=line.id,
            assignee_id=data.assignee_id,
            priority=item.priority,
            product=item.product,
            quantity=item.quantity,
            title=item.title,
            fields=fields,
            process_version=version.number,
        )
        escalations.recompute(session, loaded, [], now, new=True)
        tx.audit("work_item", item.id, "create", after=snapshot(item, AUDITED))
        return item


def move_item(
    ctx: Context, item_id: int, data: ItemMove, *, at: datetime | None = None
) -> WorkItem:
    """Move along an allowed transition, if the role may, the gate passed and the line runs."""
    now = at or utcnow()
    with _opened(ctx, item_id, Action.WORK_MOVE, data.version) as (tx, loaded):
        perform_move(tx, loaded, data.to, now=now, reason=data.reason)
        return loaded.item


def perform_move(
    tx: Transaction,
    loaded: Loaded,
    target: str,
    *,
    now: datetime,
    reason: str | None = None,
    gate_checked: bool = True,
    training_checked: bool = True,
) -> None:
    """The move itself, for move_item and for a failed checklist's automatic rework.

    Unless ``training_checked`` is off, a stage with ``require_training`` refuses a mover
    who has not acknowledged the effective revision of its SOP.
    """
    session, item, spec = tx.session, loaded.item, loaded.spec
    if item.status == "done":
        raise Conflict(f"work item {item.id} is finished; it cannot move")
    if item.status == "paused":
        raise Conflict(f"work item {item.id} is paused ({item.pause_state}); resume it first")
    allowed = spec.targets(item.stage)
    transition = spec.transition(item.stage, target)
    if transition is None:
        where = ", ".join(allowed) or "nowhere (end stage)"
        raise MoveRefused(
            f"work item {item.id} cannot move from {item.stage!r} to {target!r}; allowed: {where}",
            allowed,
        )
    if not may_move(tx.actor, spec, item.stage, target):
        raise PermissionDenied(
            f"{tx.actor.username} may not move items from {spec.stage(item.stage).name}"
        )
    state = loaded.line_state
    if state is None and any(isinstance(o, LineState) for o in session.new):
        # The line was first stopped inside this unit of work, after the item was loaded.
        state = session.get(LineState, loaded.line.id)
    _refuse_if_stopped(loaded.line, state, loaded.calendar.timezone)
    source_stage = spec.stage(item.stage)
    gated = gate_checked and gate_applies(source_stage, target)
    if gated and not gate_passed(item, stage_check_runs(session, item)):
        raise Conflict(
            f"the {source_stage.name} checklist has not passed for work item {item.id}; "
            "record a passing checklist before it leaves the stage"
        )
    sop = _sop_attributes(tx, source_stage, now, enforce=training_checked)
    before = snapshot(item, AUDITED)
    _record(tx, loaded, kind="completed", at=now, stage=item.stage)
    item.stage = target
    item.stage_entered_at = now
    item.stage_breached_at = None
    item.stage_sla_seconds = None
    item.assignee_role = spec.stage(target).owner_role.value
    if transition.rework:
        item.rework_count += 1
    _record(
        tx,
        loaded,
        kind="moved",
        at=now,
        **{"from": before["stage"], "to": target, "rework": transition.rework or None},
        reason=reason,
        **sop,
    )
    if target in spec.end:
        item.status = "done"
        item.closed_at = now
        _record(tx, loaded, kind="completed", at=now, stage=target, final=True)
    _settle(tx, loaded, now, "move", before, reason)


def _sop_attributes(
    tx: Transaction, stage: Stage, now: datetime, *, enforce: bool
) -> dict[str, Any]:
    """What the move event records of the SOP of the stage whose work was done: its number,
    the revision in force at the move (absent when none is) and ``untrained`` when the mover has not
    acknowledged that revision. Refuses the move first if the stage requires training."""
    if stage.sop is None:
        return {}
    revision, trained = sop_state(tx.session, stage.sop, tx.actor.user_id, at=now)
    if revision is None:
        # Nothing in force, nothing to be trained on: the move goes ahead and says so.
        return {"sop": stage.sop, "sop_effective": False}
    if enforce and stage.require_training and not trained:
        raise PermissionDenied(
            f"{tx.actor.username} has not acknowledged {stage.sop} revision {revision}, "
            f"which {stage.name} requires before an item leaves it; read and acknowledge it "
            f"(/documents/{stage.sop}, or `andon doc ack {stage.sop}`), then move again"
        )
    return {"sop": stage.sop, "sop_revision": revision, "untrained": None if trained else True}


def pause_item(
    ctx: Context, item_id: int, data: ItemPause, *, at: datetime | None = None
) -> WorkItem:
    """Put an item on hold; its SLA clocks stop until it resumes."""
    now = at or utcnow()
    with _opened(ctx, item_id, Action.WORK_MOVE, data.version) as (tx, loaded):
        item, spec = loaded.item, loaded.spec
        states = {p.key: p for p in spec.pause_states}
        if data.state not in states:
            raise InvalidInput(
                f"state: {spec.name} has no pause state {data.state!r}",
                [FieldError(("state",), f"one of: {', '.join(states) or 'none defined'}")],
            )
        if item.status != "open":
            raise Conflict(f"work item {item.id} is {item.status}; only an open item can pause")
        before = snapshot(item, AUDITED)
        item.status = "paused"
        item.pause_state = data.state
        loaded.ever_paused = True
        tx.session.add(
            WorkPause(
                item_id=item.id,
                state=data.state,
                stage=item.stage,
                start_at=now,
                reason=data.reason or "",
            )
        )
        _record(
            tx,
            loaded,
            kind="paused",
            at=now,
            state=data.state,
            reason=data.reason,
        )
        _settle(tx, loaded, now, "pause", before, data.reason)
        return item


def resume_item(
    ctx: Context, item_id: int, data: ItemResume, *, at: datetime | None = None
) -> WorkItem:
    now = at or utcnow()
    with _opened(ctx, item_id, Action.WORK_MOVE, data.version) as (tx, loaded):
        item = loaded.item
        if item.status != "paused":
            raise Conflict(f"work item {item.id} is not paused")
        before = snapshot(item, AUDITED)
        open_pause = tx.session.scalar(
            select(WorkPause).where(WorkPause.item_id == item.id, WorkPause.end_at.is_(None))
        )
        if open_pause is not None:
            open_pause.end_at = now
        item.status = "open"
        item.pause_state = None
        _record(
            tx,
            loaded,
            kind="resumed",
            at=now,
            reason=data.reason,
        )
        _settle(tx, loaded, now, "resume", before, data.reason)
        return item


def assign_item(
    ctx: Context, item_id: int, data: ItemAssign, *, at: datetime | None = None
) -> WorkItem:
    now = at or utcnow()
    # Anyone who may work may take an item themselves; assigning others is a lead's call.
    taking = data.assignee_id is not None and data.assignee_id == ctx.actor.user_id
    action = Action.WORK_MOVE if taking else Action.WORK_ASSIGN
    with _opened(ctx, item_id, action, data.version) as (tx, loaded):
        item = loaded.item
        user = _assignee(tx.session, data.assignee_id)
        before = snapshot(item, AUDITED)
        item.assignee_id = data.assignee_id
        _record(
            tx,
            loaded,
            kind="assigned",
            at=now,
            lifecycle="assign",
            assignee_id=data.assignee_id,
            assignee=user.username if user else None,
            cleared=["assignee_id"] if data.assignee_id is None else None,
        )
        item.updated_at = now
        tx.audit("work_item", item.id, "assign", before=before, after=snapshot(item, AUDITED))
        return item


def update_item(
    ctx: Context, item_id: int, data: ItemUpdate, *, at: datetime | None = None
) -> WorkItem:
    now = at or utcnow()
    changes = data.model_dump(exclude_unset=True, exclude={"version", "reason"}, mode="json")
    nulls = [name for name, value in changes.items() if value is None and name != "product"]
    if nulls:
        raise InvalidInput(
            f"{nulls[0]}: may not be null; leave it out to keep the current value",
            [FieldError((name,), "may not be null") for name in nulls],
        )
    with _opened(ctx, item_id, Action.WORK_ASSIGN, data.version) as (tx, loaded):
        item = loaded.item
        if item.status == "done":
            raise Conflict(f"work item {item.id} is finished; it cannot change")
        before = snapshot(item, AUDITED)
        changed = {k: v for k, v in changes.items() if getattr(item, k) != v}
        if not changed:
            return item
        for name, value in changed.items():
            setattr(item, name, value)
        _record(
            tx,
            loaded,
            kind="updated",
            at=now,
            lifecycle="update",
            reason=data.reason,
            **changed,
        )
        _settle(tx, loaded, now, "update", before, data.reason)
        return item


def reroute_item(
    ctx: Context, item_id: int, data: ItemReroute, *, at: datetime | None = None
) -> WorkItem:
    """Send an item to another line (its clocks follow the new site's calendar)."""
    now = at or utcnow()
    with _opened(ctx, item_id, Action.WORK_ASSIGN, data.version) as (tx, loaded):
        item = loaded.item
        if tx.session.get(Line, data.line_id) is None:
            raise InvalidInput.for_field("line_id", f"no line with id {data.line_id}")
        line, scope = line_scope(tx.session, data.line_id)
        authorize(ctx.actor, Action.WORK_ASSIGN, scope)
        if item.status == "done":
            raise Conflict(f"work item {item.id} is finished; it cannot be rerouted")
        if line.id == item.line_id:
            raise Conflict(f"work item {item.id} is already on line {line.code}")
        ensure_line_running(tx.session, line)
        before = snapshot(item, AUDITED)
        item.line_id = line.id
        loaded.line, loaded.scope = line, scope
        loaded.calendar = working_calendar(tx.session, scope.site_id or 0)
        _record(
            tx,
            loaded,
            kind="rerouted",
            at=now,
            lifecycle="reroute",
            line_id=line.id,
            reason=data.reason,
        )
        _settle(tx, loaded, now, "reroute", before, data.reason)
        return item


def comment_item(
    ctx: Context, item_id: int, data: CommentCreate, *, at: datetime | None = None
) -> WorkComment:
    now = at or utcnow()
    with _opened(ctx, item_id, Action.WORK_RECORD, lock=False) as (tx, loaded):
        comment = WorkComment(
            item_id=loaded.item.id, author=ctx.actor.username, body=data.body, created_at=now
        )
        tx.session.add(comment)
        tx.session.flush()
        _record(
            tx,
            loaded,
            kind="commented",
            at=now,
            lifecycle="comment",
            comment_id=comment.id,
        )
        tx.audit("work_item", loaded.item.id, "comment", after={"comment_id": comment.id})
        return comment


def read_clocks(ctx: Context, item_id: int, *, at: datetime | None = None) -> ItemClocks:
    """The item's clocks now: due time, time used, time paused and why it will breach."""
    now = at or utcnow()
    with ctx.read() as session:
        loaded = load(session, item_id)
        authorize(ctx.actor, Action.WORK_READ, loaded.scope)
        pauses = item_pauses(session, item_id)
        return read_item_clocks(loaded.item, loaded.spec, loaded.calendar, pauses, now)


def retarget_item(
    ctx: Context, item_id: int, data: ItemRetarget, *, at: datetime | None = None
) -> WorkItem:
    """Change the current stage's SLA target for this item; pending escalations follow."""
    now = at or utcnow()
    try:
        seconds = parse_duration(data.sla) if data.sla is not None else None
    except ValueError as exc:
        raise InvalidInput.for_field("sla", str(exc)) from None
    with _opened(ctx, item_id, Action.WORK_ASSIGN, data.version) as (tx, loaded):
        item = loaded.item
        if item.status == "done":
            raise Conflict(f"work item {item.id} is finished; its SLA cannot change")
        before = {"stage_sla_seconds": item.stage_sla_seconds}
        item.stage_sla_seconds = seconds
        _record(
            tx,
            loaded,
            kind="retargeted",
            at=now,
            lifecycle="retarget",
            sla=format_duration(seconds) if seconds else None,
            reason=data.reason,
        )
        _after_change(tx.session, loaded, now)
        tx.audit(
            "work_item",
            item.id,
            "retarget",
            before=before,
            after={"stage_sla_seconds": seconds},
            reason=data.reason,
        )
        return item


def _on_calendar_changed(session: Session, site_id: int) -> None:
    session.flush()
    escalations.refresh_open_items(session, site_id=site_id)


calendar_listeners.append(_on_calendar_changed)
