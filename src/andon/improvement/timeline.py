"""What happened in a window of time, oldest first: moves, exceptions, line stops and
restarts, escalations, documents taking effect, process versions and audit entries.

Every source is read with the window (and the line) in the query, each capped, so a week of a
busy line costs a few bounded queries, not a scan of the event log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from andon.core.audit import AuditEntry
from andon.core.errors import InvalidInput
from andon.core.permissions import Action, Actor, authorize, authorize_somewhere
from andon.core.uow import Context
from andon.documents.models import Document, DocumentRevision
from andon.plant.models import Area, Line
from andon.processes.models import Process, ProcessVersion
from andon.work.loading import line_scope
from andon.work.models import Escalation, LineStop, PlantException, WorkEvent, WorkItem
from andon.work.visibility import restrict

MAX_ENTRIES = 500
"""At most this many entries; the oldest are kept and the timeline says it was cut."""
MAX_ITEMS = 50
"""At most this many work items whose moves are listed one by one."""
KINDS = (
    "move",
    "exception",
    "line_stop",
    "line_restart",
    "document_effective",
    "process_version",
    "escalation",
    "audit",
)
# Audit actions already told by the line-stop rows themselves.
_TOLD = ("stop", "restart", "sign_off_supervisor", "sign_off_quality", "move")


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened: when (UTC), what kind (one of ``KINDS``), a sentence saying
    what, what it refers to (``exception:12``, ``line_stop:3``, ``SOP-ASM-001/3``...) and the
    line's code where there is one."""

    at: datetime
    kind: str
    title: str
    ref: str | None
    line: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "title": self.title,
            "ref": self.ref,
            "line": self.line,
        }


class Timeline(list[TimelineEntry]):
    """The entries, oldest first; ``truncated`` when more than ``MAX_ENTRIES`` happened (the
    oldest ``MAX_ENTRIES`` are kept: narrow the window or pick a line to see the rest)."""

    truncated: bool = False


def build_timeline(
    ctx: Context,
    *,
    started_at: datetime,
    ended_at: datetime,
    line_id: int | None = None,
    item_ids: Sequence[int] = (),
    count_moves: bool = True,
) -> Timeline:
    """Everything that happened from ``started_at`` to ``ended_at`` (both included),
    on ``line_id`` when given (else plant-wide, within the lines the actor may see).

    Moves of the work items in ``item_ids`` are listed one by one; every other move is
    counted per hour (UTC), line and stage into one entry ("14 items moved into Inspect",
    at the first of them). Document revisions count when their document applies to the
    line (its line, its area's code, or plant-wide); process versions count everywhere, as
    a process is not tied to a line. Audit entries (other changes to the line and to the
    listed items) need ``audit.read`` and are left out without it. ``count_moves=False``
    leaves the counted moves out (an RCA's weeks-long window: the moves of its items and
    everything else, without hourly traffic).
    """
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        return collect_timeline(
            session,
            ctx.actor,
            started_at=started_at,
            ended_at=ended_at,
            line_id=line_id,
            item_ids=item_ids,
            count_moves=count_moves,
        )


def collect_timeline(
    session: Session,
    actor: Actor,
    *,
    started_at: datetime,
    ended_at: datetime,
    line_id: int | None = None,
    item_ids: Sequence[int] = (),
    count_moves: bool = True,
) -> Timeline:
    """``build_timeline`` inside a session a use case already holds (a postmortem being
    created copies the timeline in its own transaction); checks the same reads."""
    if started_at.tzinfo is None or ended_at.tzinfo is None:
        raise InvalidInput.for_field("started_at", "give instants with a UTC offset")
    if ended_at <= started_at:
        raise InvalidInput.for_field("ended_at", "must be after the start")
    items = sorted(set(item_ids))
    if len(items) > MAX_ITEMS:
        raise InvalidInput.for_field("item_ids", f"at most {MAX_ITEMS} work items")
    authorize_somewhere(actor, Action.DOCUMENT_READ)
    authorize_somewhere(actor, Action.PROCESS_READ)
    line: Line | None = None
    if line_id is not None:
        line, scope = line_scope(session, line_id)
        authorize(actor, Action.WORK_READ, scope)
    else:
        authorize_somewhere(actor, Action.WORK_READ)
    window = _Window(actor, session, started_at, ended_at, line, items)
    entries = [
        *window.item_moves(),
        *(window.counted_moves() if count_moves else ()),
        *window.exceptions(),
        *window.line_stops(),
        *window.escalations(),
        *window.documents(),
        *window.process_versions(),
    ]
    if actor.can(Action.AUDIT_READ):
        entries += window.audit_entries()
    entries.sort(key=lambda e: (e.at, KINDS.index(e.kind)))
    timeline = Timeline(entries[:MAX_ENTRIES])
    timeline.truncated = len(entries) > MAX_ENTRIES
    return timeline


@dataclass
class _Window:
    actor: Actor
    session: Session
    start: datetime
    end: datetime
    line: Line | None
    items: list[int]

    def _within(self, column: Any) -> Any:
        return and_(column >= self.start, column <= self.end)

    def _on_line(self, query: Any, column: Any) -> Any:
        """Limited to the line (when one is given) and to the lines the actor may see."""
        if self.line is not None:
            query = query.where(column == self.line.id)
        return restrict(query, self.actor, column)

    def _rows(self, query: Any) -> list[Any]:
        return list(self.session.execute(query.limit(MAX_ENTRIES + 1)))

    def item_moves(self) -> list[TimelineEntry]:
        if not self.items:
            return []
        query = (
            select(WorkEvent, Line.code)
            .join(WorkItem, WorkItem.id == WorkEvent.case_id)
            .join(Line, Line.id == WorkItem.line_id)
            .where(
                WorkEvent.case_id.in_(self.items),
                WorkEvent.kind == "moved",
                self._within(WorkEvent.timestamp),
            )
            .order_by(WorkEvent.timestamp, WorkEvent.id)
        )
        rows = self._rows(restrict(query, self.actor, WorkItem.line_id))
        out = []
        for event, code in rows:
            came_from = event.attributes.get("from")
            rework = " (rework)" if event.attributes.get("rework") else ""
            out.append(
                TimelineEntry(
                    event.timestamp,
                    "move",
                    f"Work item {event.case_id} moved into {event.activity}{rework}"
                    + (f" from {came_from}" if came_from else "")
                    + f" by {event.resource}",
                    f"work_item:{event.case_id}",
                    code,
                )
            )
        return out

    def counted_moves(self) -> list[TimelineEntry]:
        if self.session.get_bind().dialect.name == "postgresql":
            hour = func.date_trunc("hour", WorkEvent.timestamp)
        else:
            hour = func.strftime("%Y-%m-%d %H", WorkEvent.timestamp)
        query = (
            select(
                func.min(WorkEvent.timestamp),
                func.count(func.distinct(WorkEvent.case_id)),
                WorkEvent.activity,
                Line.code,
            )
            .join(WorkItem, WorkItem.id == WorkEvent.case_id)
            .join(Line, Line.id == WorkItem.line_id)
            .where(WorkEvent.kind == "moved", self._within(WorkEvent.timestamp))
            .group_by(hour, Line.code, WorkEvent.activity)
            .order_by(func.min(WorkEvent.timestamp))
        )
        if self.items:
            query = query.where(WorkEvent.case_id.not_in(self.items))
        query = self._on_line(query, WorkItem.line_id)
        return [
            TimelineEntry(
                at,
                "move",
                f"{count} item{'s' if count != 1 else ''} moved into {activity}",
                None,
                code,
            )
            for at, count, activity, code in self._rows(query)
        ]

    def exceptions(self) -> list[TimelineEntry]:
        query = (
            select(PlantException, Line.code)
            .join(Line, Line.id == PlantException.line_id)
            .where(
                or_(
                    self._within(PlantException.raised_at),
                    self._within(PlantException.resolved_at),
                )
            )
            .order_by(PlantException.raised_at, PlantException.id)
        )
        out = []
        for exc, code in self._rows(self._on_line(query, PlantException.line_id)):
            about = f" on work item {exc.item_id}" if exc.item_id else ""
            ref = f"exception:{exc.id}"
            if self.start <= exc.raised_at <= self.end:
                out.append(
                    TimelineEntry(
                        exc.raised_at,
                        "exception",
                        f"Exception {exc.id} raised{about}: {exc.category} ({exc.severity}) — "
                        f"{_short(exc.description)}",
                        ref,
                        code,
                    )
                )
            if exc.resolved_at is not None and self.start <= exc.resolved_at <= self.end:
                out.append(
                    TimelineEntry(
                        exc.resolved_at,
                        "exception",
                        f"Exception {exc.id} resolved by {exc.resolved_by}"
                        + (f": {_short(exc.resolution)}" if exc.resolution else ""),
                        ref,
                        code,
                    )
                )
        return out

    def line_stops(self) -> list[TimelineEntry]:
        query = (
            select(LineStop, Line.code)
            .join(Line, Line.id == LineStop.line_id)
            .where(
                or_(
                    self._within(LineStop.stopped_at),
                    self._within(LineStop.supervisor_signoff_at),
                    self._within(LineStop.quality_signoff_at),
                    self._within(LineStop.restarted_at),
                )
            )
            .order_by(LineStop.stopped_at, LineStop.id)
        )
        out = []
        for stop, code in self._rows(self._on_line(query, LineStop.line_id)):
            ref = f"line_stop:{stop.id}"
            if self.start <= stop.stopped_at <= self.end:
                by = f"by rule {stop.rule}" if stop.rule else f"by {stop.stopped_by}"
                out.append(
                    TimelineEntry(
                        stop.stopped_at,
                        "line_stop",
                        f"Line {code} stopped {by}: {_short(stop.reason)}",
                        ref,
                        code,
                    )
                )
            for role, who, at in (
                ("supervisor", stop.supervisor_signoff_by, stop.supervisor_signoff_at),
                ("quality", stop.quality_signoff_by, stop.quality_signoff_at),
            ):
                if at is not None and self.start <= at <= self.end:
                    out.append(
                        TimelineEntry(
                            at,
                            "line_restart",
                            f"Restart of line {code} signed off by {who} ({role})",
                            ref,
                            code,
                        )
                    )
            if stop.restarted_at is not None and self.start <= stop.restarted_at <= self.end:
                minutes = round((stop.restarted_at - stop.stopped_at).total_seconds() / 60)
                out.append(
                    TimelineEntry(
                        stop.restarted_at,
                        "line_restart",
                        f"Line {code} restarted after {minutes} min"
                        + (f": {_short(stop.restart_reason)}" if stop.restart_reason else ""),
                        ref,
                        code,
                    )
                )
        return out

    def escalations(self) -> list[TimelineEntry]:
        query = (
            select(Escalation, Line.code)
            .join(WorkItem, WorkItem.id == Escalation.item_id)
            .join(Line, Line.id == WorkItem.line_id)
            .where(self._within(Escalation.fired_at))
            .order_by(Escalation.fired_at, Escalation.id)
        )
        out = []
        for esc, code in self._rows(self._on_line(query, WorkItem.line_id)):
            assert esc.fired_at is not None
            cause = f" (exception {esc.exception_id})" if esc.exception_id else ""
            out.append(
                TimelineEntry(
                    esc.fired_at,
                    "escalation",
                    f"Escalation tier {esc.tier} ({esc.tier_name}) fired for work item "
                    f"{esc.item_id} at {esc.stage}{cause}",
                    f"work_item:{esc.item_id}",
                    code,
                )
            )
        return out

    def documents(self) -> list[TimelineEntry]:
        query = (
            select(DocumentRevision, Document.number, Line.code)
            .join(Document, Document.id == DocumentRevision.document_id)
            .outerjoin(Line, Line.id == Document.line_id)
            .where(self._within(DocumentRevision.effective_at))
            .order_by(DocumentRevision.effective_at, DocumentRevision.id)
        )
        if self.line is not None:
            area_code = select(Area.code).where(Area.id == self.line.area_id).scalar_subquery()
            query = query.where(
                or_(Document.line_id.is_(None), Document.line_id == self.line.id),
                or_(Document.area_code.is_(None), Document.area_code == area_code),
            )
        out = []
        for revision, number, code in self._rows(query):
            assert revision.effective_at is not None
            out.append(
                TimelineEntry(
                    revision.effective_at,
                    "document_effective",
                    f"{number} revision {revision.number} took effect: {revision.title}",
                    f"{number}/{revision.number}",
                    code,
                )
            )
        return out

    def process_versions(self) -> list[TimelineEntry]:
        query = (
            select(ProcessVersion, Process.key)
            .join(Process, Process.id == ProcessVersion.process_id)
            .where(self._within(ProcessVersion.published_at))
            .order_by(ProcessVersion.published_at, ProcessVersion.id)
        )
        return [
            TimelineEntry(
                version.published_at,
                "process_version",
                f"Process {key} version {version.number} published by {version.published_by}"
                + (f": {_short(version.reason)}" if version.reason else ""),
                f"{key}/{version.number}",
                None,
            )
            for version, key in self._rows(query)
        ]

    def audit_entries(self) -> list[TimelineEntry]:
        """Other recorded changes to the line and to the listed work items."""
        about = []
        if self.line is not None:
            about.append(
                and_(AuditEntry.entity_type == "line", AuditEntry.entity_id == str(self.line.id))
            )
        if self.items:
            about.append(
                and_(
                    AuditEntry.entity_type == "work_item",
                    AuditEntry.entity_id.in_([str(i) for i in self.items]),
                )
            )
        if not about:
            return []
        query = (
            select(AuditEntry)
            .where(
                or_(*about),
                AuditEntry.action.not_in(_TOLD),
                self._within(AuditEntry.occurred_at),
            )
            .order_by(AuditEntry.occurred_at, AuditEntry.seq)
        )
        code = self.line.code if self.line is not None else None
        return [
            TimelineEntry(
                entry.occurred_at,
                "audit",
                f"{entry.entity_type.replace('_', ' ').capitalize()} {entry.entity_id}: "
                f"{entry.action.replace('_', ' ')} by {entry.actor_name}"
                + (f" — {_short(entry.reason)}" if entry.reason else ""),
                f"audit:{entry.seq}",
                code,
            )
            for (entry,) in self._rows(query)
        ]


def _short(text: str | None, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
