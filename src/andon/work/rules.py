"""Pure rules of work items: who may move where, the checklist gate, allowed actions, SLA badges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from andon.calendars.hours import WorkingCalendar
from andon.core.permissions import LEADS, Action, Actor, Scope
from andon.processes.sla import ClockReading, format_business_duration
from andon.processes.spec import ProcessSpec, Stage
from andon.work.models import CheckRun, LineStop, WorkItem

WARN_SHARE = 0.25  # at or below this share of the stage SLA left, a badge turns amber


# -- moves and the checklist gate -----------------------------------------------------------


def may_move(actor: Actor, spec: ProcessSpec, source: str, target: str) -> bool:
    """Leads always may; otherwise the transition's roles, or the source stage's owner."""
    if actor.system or actor.roles & LEADS:
        return True
    transition = spec.transition(source, target)
    allowed = set(transition.roles) if transition and transition.roles else set()
    allowed.add(spec.stage(source).owner_role)
    return bool(actor.roles & allowed)


def gate_applies(stage: Stage, target: str) -> bool:
    """Whether leaving ``stage`` for ``target`` needs a passing checklist of the stage.

    Sending the item to the stage's rework stage never does: that is where a failure goes.
    """
    return bool(stage.checklist) and target != stage.on_fail


def passes_gate(run: CheckRun, item: WorkItem) -> bool:
    """A run opens the gate if it passed, at the item's stage, since the item entered it."""
    return run.passed and run.stage == item.stage and run.recorded_at >= item.stage_entered_at


def gate_passed(item: WorkItem, runs: Iterable[CheckRun]) -> bool:
    """Whether any of the item's check runs opens the gate of its current stage."""
    return any(passes_gate(run, item) for run in runs)


def missing_checks(stage: Stage, item: WorkItem, runs: Sequence[CheckRun]) -> list[str]:
    """The checklist lines still to pass before the item may leave ``stage``, in order.

    None once a run has passed the gate; otherwise the lines that did not pass in the latest
    run at this stage since the item entered it, or every line if there is no such run.
    """
    if gate_passed(item, runs):
        return []
    keys = [check.key for check in stage.checklist]
    current = [
        run for run in runs if run.stage == item.stage and run.recorded_at >= item.stage_entered_at
    ]
    if not current:
        return keys
    latest = max(current, key=lambda run: (run.recorded_at, run.id or 0))
    passed = {str(r["key"]) for r in latest.results if r.get("passed")}
    return [key for key in keys if key not in passed]


# -- what a person may do with an item ------------------------------------------------------


@dataclass(frozen=True)
class MoveOption:
    """A stage the actor may move the item to now, and whether the checklist gate holds it."""

    to: str
    name: str
    rework: bool
    gated: bool  # leaving for it needs a passing checklist of the current stage
    missing_checks: tuple[str, ...]  # lines still to pass; empty when the gate is open

    @property
    def gate_passed(self) -> bool:
        return not self.gated or not self.missing_checks


@dataclass(frozen=True)
class ItemActions:
    """For one actor and one item: the moves allowed now and which other actions are open.

    ``may_move`` is the right to move the item at all; ``can_move`` is that right while its
    line runs (a stopped line, ``line_stop``, holds every move until the restart sign-off).
    """

    item_id: int
    version: int
    status: str
    stage: str
    moves: tuple[MoveOption, ...]
    may_move: bool
    can_move: bool
    can_pause: bool
    can_resume: bool
    can_assign: bool
    can_take: bool
    can_comment: bool
    can_attach: bool
    can_record_checklist: bool
    can_raise_exception: bool
    can_escalate: bool
    can_acknowledge: bool
    line_stop: LineStop | None
    countdown: Countdown


def item_actions(
    actor: Actor,
    item: WorkItem,
    spec: ProcessSpec,
    scope: Scope,
    *,
    check_runs: Sequence[CheckRun],
    line_stop: LineStop | None,
    countdown: Countdown,
) -> ItemActions:
    """What ``actor`` may do with ``item`` now; each service call still checks on its own.

    ``check_runs``: the item's runs (any stages); ``line_stop``: the stop in force on the
    item's line, if any.
    """
    open_item = item.status != "done"
    stage = spec.stage(item.stage)
    may_move_here = open_item and actor.can(Action.WORK_MOVE, scope)
    can_move = may_move_here and line_stop is None
    missing = tuple(missing_checks(stage, item, check_runs)) if stage.checklist else ()
    moves = []
    for target in spec.targets(item.stage) if can_move else []:
        if not may_move(actor, spec, item.stage, target):
            continue
        transition = spec.transition(item.stage, target)
        gated = gate_applies(stage, target)
        moves.append(
            MoveOption(
                to=target,
                name=stage_name(spec, target),
                rework=bool(transition and transition.rework) or target == stage.on_fail,
                gated=gated,
                missing_checks=missing if gated else (),
            )
        )
    may_record = actor.can(Action.WORK_RECORD, scope)
    return ItemActions(
        item_id=item.id,
        version=item.version,
        status=item.status,
        stage=item.stage,
        moves=tuple(moves),
        may_move=may_move_here,
        can_move=can_move,
        can_pause=may_move_here and item.status == "open" and bool(spec.pause_states),
        can_resume=may_move_here and item.status == "paused",
        can_assign=open_item and actor.can(Action.WORK_ASSIGN, scope),
        can_take=may_move_here and actor.user_id is not None and item.assignee_id != actor.user_id,
        can_comment=may_record,
        can_attach=may_record,
        can_record_checklist=may_record and item.status == "open" and bool(stage.checklist),
        can_raise_exception=open_item and actor.can(Action.EXCEPTION_RAISE, scope),
        can_escalate=open_item
        and actor.can(Action.ESCALATION_SEND, scope)
        and bool(spec.escalation.tiers),
        can_acknowledge=actor.can(Action.ESCALATION_ACK, scope),
        line_stop=line_stop,
        countdown=countdown,
    )


# -- SLA badges -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    """An SLA clock as a badge: ``css`` is sla-ok, sla-warn, sla-late, sla-paused or sla-none."""

    css: str
    text: str
    due_at: datetime | None = None


def stage_name(spec: ProcessSpec | None, key: str | None) -> str:
    """The stage's name, or the key itself if the spec has no such stage."""
    if spec is None or key is None:
        return key or "—"
    try:
        return spec.stage(key).name
    except KeyError:
        return key


def stage_sla(spec: ProcessSpec, key: str) -> int | None:
    try:
        return spec.stage(key).sla
    except KeyError:
        return None


def pause_name(spec: ProcessSpec, key: str | None) -> str:
    """The pause state's name as it reads after "paused: "."""
    name = next((p.name for p in spec.pause_states if p.key == key), key or "on hold")
    # "Waiting for parts" reads "paused: waiting for parts"; an acronym keeps its capitals.
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def countdown_for(
    item: WorkItem, spec: ProcessSpec, calendar: WorkingCalendar, now: datetime
) -> Countdown:
    """The stage clock of a queue card from the cached due time, in business time."""
    if item.status == "done":
        return Countdown("sla-none", "finished")
    if item.status == "paused":
        return Countdown("sla-paused", f"paused: {pause_name(spec, item.pause_state)}")
    due = item.stage_due_at
    if due is None:
        return Countdown("sla-none", "no stage SLA")
    if due <= now:
        over = calendar.business_seconds(due, now)
        return Countdown("sla-late", f"late by {format_business_duration(over)}", due)
    left = calendar.business_seconds(now, due)
    target = stage_sla(spec, item.stage)
    css = "sla-warn" if target and left <= WARN_SHARE * target else "sla-ok"
    return Countdown(css, f"due in {format_business_duration(left)}", due)


def reading_countdown(reading: ClockReading | None, pause_name: str = "") -> Countdown:
    """The same badge from a full clock reading (the item page's clocks).

    A stopped clock (the item finished) shows its outcome, not a countdown.
    """
    if reading is None:
        return Countdown("sla-none", "no SLA")
    if reading.stopped_at is not None:
        if reading.breached:
            over = max(-reading.business_seconds_remaining, 0.0)
            return Countdown("sla-late", f"breached by {format_business_duration(over)}")
        spare = max(reading.business_seconds_remaining, 0.0)
        return Countdown("sla-ok", f"met, {format_business_duration(spare)} to spare")
    if reading.breached:
        over = max(-reading.business_seconds_remaining, 0.0)
        return Countdown("sla-late", f"late by {format_business_duration(over)}", reading.due_at)
    if reading.paused:
        return Countdown("sla-paused", f"paused: {pause_name}" if pause_name else "paused")
    if reading.due_at is None:
        return Countdown("sla-none", "no due time on this calendar")
    left = reading.business_seconds_remaining
    css = "sla-warn" if left <= WARN_SHARE * reading.target_seconds else "sla-ok"
    return Countdown(css, f"due in {format_business_duration(left)}", reading.due_at)
