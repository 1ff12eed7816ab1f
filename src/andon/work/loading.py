"""Reading a work item with what every rule about it needs: spec, calendar, place, line state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from andon.calendars.hours import WorkingCalendar
from andon.calendars.models import BusinessCalendar
from andon.calendars.service import calendar_at_revision, site_of_line
from andon.core.errors import NotFound
from andon.core.permissions import Scope
from andon.plant.models import Area, Line, Site
from andon.processes.models import Process, ProcessVersion
from andon.processes.service import spec_for_version
from andon.processes.spec import ProcessSpec
from andon.work.models import CheckRun, Escalation, LineState, LineStop, WorkItem, WorkPause


@dataclass
class Loaded:
    """An item with what every rule about it needs: its spec, calendar and place."""

    item: WorkItem
    spec: ProcessSpec
    calendar: WorkingCalendar
    scope: Scope
    line: Line
    escalation_active: bool = True
    line_state: LineState | None = None  # as read with the item; None: the line never stopped
    # False only when known from the database: the item was never paused / no tier of it
    # has fired. They spare the look-ups that would find nothing.
    ever_paused: bool = True
    ever_escalated: bool = True
    version_number: int | None = None  # of the process version, when read with the item


def line_scope(session: Session, line_id: int) -> tuple[Line, Scope]:
    line = session.get(Line, line_id)
    if line is None:
        raise NotFound(f"no line with id {line_id}")
    site = site_of_line(session, line_id)
    return line, Scope(site_id=site.id, area_id=line.area_id)


def load(session: Session, item_id: int, *, lock: bool = False) -> Loaded:
    """The item and everything its rules need, in one round trip.

    The process spec and the calendar come from caches keyed by content (the version's spec
    digest, the calendar's revision), read in the same statement as the item, so they are
    never older than the rows they stand for.
    """
    query = _LOADING.where(WorkItem.id == item_id)
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        # Serialise writers of one item so the loser sees the winner's version, not a deadlock.
        query = query.with_for_update(of=WorkItem)
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no work item with id {item_id}")
    return _loaded(session, row)


def load_many(session: Session, item_ids: Iterable[int]) -> dict[int, Loaded]:
    """``load`` for several items in one round trip (no lock); unknown ids are left out."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    rows = session.execute(_LOADING.where(WorkItem.id.in_(ids))).all()
    return {row[0].id: _loaded(session, row) for row in rows}


# Built once: statements are immutable, and each use adds its own WHERE.
_LOADING = (
    select(
        WorkItem,
        Line,
        LineState,
        Area.site_id,
        Site.timezone,
        Process.escalation_active,
        ProcessVersion.spec_digest,
        ProcessVersion.number,
        BusinessCalendar.revision,
        exists().where(WorkPause.item_id == WorkItem.id),
        exists().where(
            Escalation.item_id == WorkItem.id,
            Escalation.status.in_(("fired", "acknowledged")),
        ),
    )
    .join(Line, Line.id == WorkItem.line_id)
    .join(Area, Area.id == Line.area_id)
    .join(Site, Site.id == Area.site_id)
    .join(Process, Process.id == WorkItem.process_id)
    .join(ProcessVersion, ProcessVersion.id == WorkItem.process_version_id)
    .outerjoin(BusinessCalendar, BusinessCalendar.site_id == Site.id)
    .outerjoin(LineState, LineState.line_id == Line.id)
)


def _loaded(session: Session, row: Any) -> Loaded:
    item, line, state, site_id, timezone, active, digest, number, revision, paused, escalated = row
    return Loaded(
        item=item,
        spec=spec_for_version(session, item.process_version_id, digest),
        calendar=calendar_at_revision(session, site_id, timezone, revision),
        scope=Scope(site_id=site_id, area_id=line.area_id),
        line=line,
        escalation_active=active,
        line_state=state,
        ever_paused=bool(paused),
        ever_escalated=bool(escalated),
        version_number=number,
    )


def stage_check_runs(session: Session, item: WorkItem) -> list[CheckRun]:
    """The item's check runs at its current stage (any visit), oldest first: what the
    checklist gate rule in ``work.rules`` reads."""
    return list(
        session.scalars(
            select(CheckRun)
            .where(CheckRun.item_id == item.id, CheckRun.stage == item.stage)
            .order_by(CheckRun.id)
        )
    )


def line_stop_of(session: Session, loaded: Loaded) -> LineStop | None:
    """The stop in force on the item's line, as read with the item; None while it runs."""
    state = loaded.line_state
    if state is None or state.status != "stopped" or state.stop_id is None:
        return None
    return session.get(LineStop, state.stop_id)
