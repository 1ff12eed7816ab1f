"""Read-side use cases of work: queues, an item's full record, items about to breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.core.errors import InvalidInput
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import Action, authorize, authorize_somewhere
from andon.core.uow import Context
from andon.documents.floor import SopState, sop_states
from andon.plant.models import Line
from andon.processes.models import Process
from andon.processes.spec import ProcessSpec
from andon.work.clocks import ItemClocks, item_pauses, read_item_clocks
from andon.work.loading import Loaded, line_stop_of, load, stage_check_runs
from andon.work.models import (
    Attachment,
    CheckRun,
    Escalation,
    PlantException,
    WorkComment,
    WorkEvent,
    WorkItem,
    WorkPause,
)
from andon.work.rules import ItemActions, countdown_for, item_actions
from andon.work.visibility import restrict, visible_lines

STATUSES = ("open", "paused", "done", "active")
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class ItemFilter:
    process: str | None = None
    stage: str | None = None
    line_id: int | None = None
    status: str | None = "active"  # open or paused
    assignee_id: int | None = None
    late: bool | None = None  # stage SLA already passed


def _filtered(query: Select[Any], f: ItemFilter, now: datetime) -> Select[Any]:
    if f.status is not None:
        if f.status not in STATUSES:
            raise InvalidInput.for_field("status", f"one of: {', '.join(STATUSES)}")
        if f.status == "active":
            query = query.where(WorkItem.status.in_(("open", "paused")))
        else:
            query = query.where(WorkItem.status == f.status)
    if f.process is not None:
        query = query.join(Process, Process.id == WorkItem.process_id).where(
            Process.key == f.process
        )
    if f.stage is not None:
        query = query.where(WorkItem.stage == f.stage)
    if f.line_id is not None:
        query = query.where(WorkItem.line_id == f.line_id)
    if f.assignee_id is not None:
        query = query.where(WorkItem.assignee_id == f.assignee_id)
    if f.late is True:
        query = query.where(WorkItem.status == "open", WorkItem.stage_due_at <= now)
    elif f.late is False:
        query = query.where(or_(WorkItem.stage_due_at.is_(None), WorkItem.stage_due_at > now))
    return query


def list_items(
    ctx: Context,
    f: ItemFilter = ItemFilter(),
    *,
    cursor: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> Page[WorkItem]:
    """Items by id, oldest first, filtered; cursor-paged."""
    authorize_somewhere(ctx.actor, Action.WORK_READ)
    now = now or utcnow()
    after = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = _filtered(select(WorkItem), f, now).order_by(WorkItem.id).limit(limit + 1)
    query = restrict(query, ctx.actor, WorkItem.line_id)
    if after is not None:
        query = query.where(WorkItem.id > after)
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def queue(
    ctx: Context, f: ItemFilter = ItemFilter(), *, limit: int = 200, now: datetime | None = None
) -> list[WorkItem]:
    """A work queue: most urgent first (earliest stage due time, then priority, then age)."""
    authorize_somewhere(ctx.actor, Action.WORK_READ)
    now = now or utcnow()
    query = (
        _filtered(select(WorkItem), f, now)
        .order_by(
            WorkItem.stage_due_at.is_(None),
            WorkItem.stage_due_at,
            case(PRIORITY_RANK, value=WorkItem.priority, else_=len(PRIORITY_RANK)),
            WorkItem.created_at,
        )
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    query = restrict(query, ctx.actor, WorkItem.line_id)
    with ctx.read() as session:
        return list(session.scalars(query))


def stage_counts(
    ctx: Context, process_id: int, *, now: datetime | None = None
) -> dict[str, tuple[int, int]]:
    """Open items per stage of a process, and how many of them are late."""
    authorize_somewhere(ctx.actor, Action.WORK_READ)
    now = now or utcnow()
    with ctx.read() as session:
        rows = session.execute(
            restrict(
                select(
                    WorkItem.stage,
                    func.count(),
                    func.count().filter(WorkItem.stage_due_at <= now),
                )
                .where(WorkItem.process_id == process_id, WorkItem.status.in_(("open", "paused")))
                .group_by(WorkItem.stage),
                ctx.actor,
                WorkItem.line_id,
            )
        ).all()
    return {stage: (total, late) for stage, total, late in rows}


def due_within(
    ctx: Context, within: timedelta, *, now: datetime | None = None, limit: int = 500
) -> list[WorkItem]:
    """Open items whose stage or end-to-end SLA falls due within ``within`` (or already has)."""
    authorize_somewhere(ctx.actor, Action.WORK_READ)
    now = now or utcnow()
    horizon = now + within
    query = (
        select(WorkItem)
        .where(
            WorkItem.status == "open",
            or_(WorkItem.stage_due_at <= horizon, WorkItem.due_at <= horizon),
        )
        .order_by(func.coalesce(WorkItem.stage_due_at, WorkItem.due_at))
        .limit(limit)
    )
    query = restrict(query, ctx.actor, WorkItem.line_id)
    with ctx.read() as session:
        return list(session.scalars(query))


@dataclass(frozen=True)
class ItemRecord:
    """Everything the item page and ``andon item show`` display."""

    item: WorkItem
    spec: ProcessSpec
    process_version: int
    line: Line
    clocks: ItemClocks
    events: list[WorkEvent]
    comments: list[WorkComment]
    pauses: list[WorkPause]
    check_runs: list[CheckRun]
    exceptions: list[PlantException]
    escalations: list[Escalation]
    attachments: list[Attachment]
    allowed_moves: list[str]
    actions: ItemActions  # what the reading actor may do with the item now
    # The current stage's SOP: its revision in force and whether the reader acknowledged it.
    sop: SopState | None = None


@dataclass(frozen=True)
class ItemSummary:
    """An item as the API returns it: no history, so one statement reads it."""

    item: WorkItem
    spec: ProcessSpec
    process_version: int
    allowed_moves: list[str]


def item_summary(ctx: Context, item_id: int) -> ItemSummary:
    with ctx.read() as session:
        loaded = load(session, item_id)
        authorize(ctx.actor, Action.WORK_READ, loaded.scope)
        assert loaded.version_number is not None
        return ItemSummary(
            item=loaded.item,
            spec=loaded.spec,
            process_version=loaded.version_number,
            allowed_moves=_allowed_moves(loaded),
        )


def _allowed_moves(loaded: Loaded) -> list[str]:
    item = loaded.item
    return [] if item.status == "done" else loaded.spec.targets(item.stage)


def read_item_actions(ctx: Context, item_id: int, *, now: datetime | None = None) -> ItemActions:
    """What the actor may do with the item now: the moves open to them with their checklist
    gates, the other actions, the stop holding its line and its stage SLA badge."""
    now = now or utcnow()
    with ctx.read() as session:
        loaded = load(session, item_id)
        authorize(ctx.actor, Action.WORK_READ, loaded.scope)
        return _actions(ctx, session, loaded, stage_check_runs(session, loaded.item), now)


def _actions(
    ctx: Context, session: Session, loaded: Loaded, check_runs: list[CheckRun], now: datetime
) -> ItemActions:
    item = loaded.item
    return item_actions(
        ctx.actor,
        item,
        loaded.spec,
        loaded.scope,
        check_runs=check_runs,
        # A finished item has nothing a line stop could hold.
        line_stop=line_stop_of(session, loaded) if item.status != "done" else None,
        countdown=countdown_for(item, loaded.spec, loaded.calendar, now),
    )


def item_rows(ctx: Context, item_id: int, model: Any, key: Any) -> list[Any]:
    """The rows of ``model`` whose ``key`` is the item's id, oldest first, if the actor may
    read the item."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.WORK_READ, load(session, item_id).scope)
        return list(session.scalars(select(model).where(key == item_id).order_by(model.id)))


def item_comments(ctx: Context, item_id: int) -> list[WorkComment]:
    return item_rows(ctx, item_id, WorkComment, WorkComment.item_id)


def item_record(ctx: Context, item_id: int, *, now: datetime | None = None) -> ItemRecord:
    now = now or utcnow()
    with ctx.read() as session:
        loaded = load(session, item_id)
        authorize(ctx.actor, Action.WORK_READ, loaded.scope)
        item = loaded.item
        pauses = item_pauses(session, item.id)
        assert loaded.version_number is not None

        def rows(model: Any, order: Any) -> list[Any]:
            return list(
                session.scalars(select(model).where(model.item_id == item.id).order_by(order))
            )

        check_runs = rows(CheckRun, CheckRun.id)
        sop = loaded.spec.stage(item.stage).sop
        return ItemRecord(
            item=item,
            spec=loaded.spec,
            process_version=loaded.version_number,
            line=loaded.line,
            clocks=read_item_clocks(item, loaded.spec, loaded.calendar, pauses, now),
            events=list(
                session.scalars(
                    select(WorkEvent).where(WorkEvent.case_id == item.id).order_by(WorkEvent.id)
                )
            ),
            comments=rows(WorkComment, WorkComment.id),
            pauses=pauses,
            check_runs=check_runs,
            exceptions=rows(PlantException, PlantException.id),
            escalations=rows(Escalation, Escalation.id),
            attachments=rows(Attachment, Attachment.id),
            allowed_moves=_allowed_moves(loaded),
            actions=_actions(ctx, session, loaded, check_runs, now),
            sop=(
                sop_states(session, [sop], ctx.actor.user_id).get(sop, SopState(sop, None, False))
                if sop is not None
                else None
            ),
        )


def item_events(ctx: Context, item_id: int) -> list[WorkEvent]:
    return item_rows(ctx, item_id, WorkEvent, WorkEvent.case_id)


def events_page(
    ctx: Context, *, cursor: str | None = None, limit: int = 500, process: str | None = None
) -> Page[WorkEvent]:
    """The whole event log in id order, for export to analytics."""
    authorize_somewhere(ctx.actor, Action.WORK_READ)
    after = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(WorkEvent).order_by(WorkEvent.id).limit(limit + 1)
    lines = visible_lines(ctx.actor)
    if lines is not None:
        query = query.where(
            WorkEvent.case_id.in_(select(WorkItem.id).where(WorkItem.line_id.in_(lines)))
        )
    if after is not None:
        query = query.where(WorkEvent.id > after)
    if process is not None:
        query = query.where(WorkEvent.process_key == process)
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)
