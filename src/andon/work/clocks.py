"""An item's SLA clocks (its stage's and its process's), read from the calendar and pauses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.calendars.hours import WorkingCalendar
from andon.processes.sla import ClockReading, Pause, read_clock
from andon.processes.spec import ProcessSpec
from andon.work.models import WorkItem, WorkPause


@dataclass(frozen=True)
class ItemClocks:
    stage: ClockReading | None  # None: the stage has no SLA
    process: ClockReading | None  # None: the process has no end-to-end SLA
    stage_target_seconds: int | None
    process_target_seconds: int | None


def item_pauses(session: Session, item_id: int) -> list[WorkPause]:
    return list(
        session.scalars(
            select(WorkPause).where(WorkPause.item_id == item_id).order_by(WorkPause.start_at)
        )
    )


def read_item_clocks(
    item: WorkItem,
    spec: ProcessSpec,
    calendar: WorkingCalendar,
    pauses: list[WorkPause],
    now: datetime,
) -> ItemClocks:
    stopped_at = item.closed_at
    all_pauses = [Pause(p.start_at, p.end_at, _pause_name(spec, p.state)) for p in pauses]
    stage_pauses = [
        Pause(p.start_at, p.end_at, _pause_name(spec, p.state))
        for p in pauses
        if p.stage == item.stage and p.start_at >= item.stage_entered_at
    ]
    stage_target = item.stage_sla_seconds or (
        spec.stage(item.stage).sla if item.stage in _keys(spec) else None
    )
    stage = None
    if stage_target is not None and item.status != "done":
        stage = read_clock(
            calendar,
            target_seconds=stage_target,
            started_at=item.stage_entered_at,
            pauses=stage_pauses,
            now=now,
        )
    process = None
    if spec.sla is not None:
        process = read_clock(
            calendar,
            target_seconds=spec.sla,
            started_at=item.created_at,
            pauses=all_pauses,
            now=now,
            stopped_at=stopped_at,
        )
    return ItemClocks(stage, process, stage_target, spec.sla)


def refresh_clocks(
    item: WorkItem,
    spec: ProcessSpec,
    calendar: WorkingCalendar,
    pauses: list[WorkPause],
    now: datetime,
) -> ItemClocks:
    """Recompute the cached due times the sweep scans; returns the readings."""
    clocks = read_item_clocks(item, spec, calendar, pauses, now)
    item.stage_due_at = clocks.stage.due_at if clocks.stage else None
    item.due_at = clocks.process.due_at if clocks.process else None
    if clocks.process is not None and clocks.process.breached and item.breached_at is None:
        item.breached_at = clocks.process.breached_at
    return clocks


def _keys(spec: ProcessSpec) -> set[str]:
    return {s.key for s in spec.stages}


def _pause_name(spec: ProcessSpec, key: str) -> str:
    return next((p.name for p in spec.pause_states if p.key == key), key)
