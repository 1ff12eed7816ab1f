"""The pure rules of work items: moves, the checklist gate, allowed actions and SLA badges."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from andon.calendars.hours import Shift, WorkingCalendar
from andon.core.permissions import Actor, Grant, Role, Scope
from andon.processes.sla import ClockReading
from andon.processes.spec import ProcessSpec
from andon.processes.spec_yaml import load_spec_yaml
from andon.work.models import CheckRun, LineStop, WorkItem
from andon.work.rules import (
    Countdown,
    ItemActions,
    countdown_for,
    gate_applies,
    gate_passed,
    item_actions,
    may_move,
    missing_checks,
    reading_countdown,
)

ASSEMBLY = Path(__file__).parents[2] / "src" / "andon" / "demo" / "assembly.yaml"
# Monday 23 Nov 2026, 07:00 in Chicago: inside the 06:00-14:00 day shift.
MONDAY_7AM = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar("America/Chicago", (Shift("Day", (0, 1, 2, 3, 4), time(6), time(14)),))
SCOPE = Scope(site_id=1, area_id=1)
BADGE = Countdown("sla-ok", "due in 1h 00m")


@pytest.fixture(scope="module")
def spec() -> ProcessSpec:
    return load_spec_yaml(ASSEMBLY.read_text())


def person(*roles: Role, user_id: int = 7) -> Actor:
    return Actor(user_id, "pat", tuple(Grant(role) for role in roles))


def item_at(
    stage: str, *, status: str = "open", minutes_ago: float = 60, **values: object
) -> WorkItem:
    return WorkItem(
        id=1,
        stage=stage,
        status=status,
        version=3,
        stage_entered_at=MONDAY_7AM - timedelta(minutes=minutes_ago),
        **values,
    )


def run(
    item: WorkItem, *, passed: bool, minutes_ago: float, failed: tuple[str, ...] = (), id: int = 1
) -> CheckRun:
    keys = ("visual", "torque", "leak")
    return CheckRun(
        id=id,
        item_id=item.id,
        stage=item.stage,
        passed=passed,
        results=[{"key": key, "passed": key not in failed} for key in keys],
        recorded_at=MONDAY_7AM - timedelta(minutes=minutes_ago),
    )


# -- moves and the gate -----------------------------------------------------------------------


def test_operator_may_move_out_of_an_operator_stage_only(spec: ProcessSpec) -> None:
    operator = person(Role.OPERATOR)

    assert may_move(operator, spec, "assemble", "inspect") is True
    assert may_move(operator, spec, "inspect", "pack") is False


def test_a_supervisor_may_move_out_of_any_stage(spec: ProcessSpec) -> None:
    assert may_move(person(Role.SUPERVISOR), spec, "inspect", "pack") is True


def test_sending_an_item_to_its_rework_stage_is_not_gated(spec: ProcessSpec) -> None:
    inspect = spec.stage("inspect")

    assert gate_applies(inspect, "pack") is True
    assert gate_applies(inspect, "rework") is False
    assert gate_applies(spec.stage("assemble"), "inspect") is False


def test_a_passing_run_from_an_earlier_visit_does_not_open_the_gate() -> None:
    item = item_at("inspect", minutes_ago=30)

    assert gate_passed(item, [run(item, passed=True, minutes_ago=45)]) is False
    assert gate_passed(item, [run(item, passed=True, minutes_ago=10)]) is True


def test_every_checklist_line_is_missing_before_any_run(spec: ProcessSpec) -> None:
    item = item_at("inspect")

    assert missing_checks(spec.stage("inspect"), item, []) == ["visual", "torque", "leak"]


def test_missing_checks_are_the_lines_the_latest_run_failed(spec: ProcessSpec) -> None:
    item = item_at("inspect")
    runs = [
        run(item, passed=False, minutes_ago=20, failed=("visual", "torque"), id=1),
        run(item, passed=False, minutes_ago=10, failed=("leak",), id=2),
    ]

    assert missing_checks(spec.stage("inspect"), item, runs) == ["leak"]


def test_nothing_is_missing_once_the_gate_passed(spec: ProcessSpec) -> None:
    item = item_at("inspect")
    runs = [run(item, passed=True, minutes_ago=10)]

    assert missing_checks(spec.stage("inspect"), item, runs) == []


# -- allowed actions --------------------------------------------------------------------------


def actions_of(
    actor: Actor,
    item: WorkItem,
    spec: ProcessSpec,
    *,
    check_runs: list[CheckRun] | None = None,
    line_stop: LineStop | None = None,
) -> ItemActions:
    return item_actions(
        actor, item, spec, SCOPE, check_runs=check_runs or [], line_stop=line_stop, countdown=BADGE
    )


def test_quality_at_inspect_sees_pack_held_by_the_gate_and_rework_open(spec: ProcessSpec) -> None:
    actions = actions_of(person(Role.QUALITY), item_at("inspect"), spec)

    moves = {m.to: m for m in actions.moves}
    assert sorted(moves) == ["pack", "rework"]
    assert moves["pack"].gate_passed is False
    assert moves["pack"].missing_checks == ("visual", "torque", "leak")
    assert (moves["rework"].rework, moves["rework"].gate_passed) == (True, True)
    assert actions.can_record_checklist is True


def test_a_passing_checklist_opens_the_move_to_pack(spec: ProcessSpec) -> None:
    item = item_at("inspect")
    actions = actions_of(
        person(Role.QUALITY), item, spec, check_runs=[run(item, passed=True, minutes_ago=5)]
    )

    pack = next(m for m in actions.moves if m.to == "pack")
    assert (pack.gated, pack.gate_passed, pack.missing_checks) == (True, True, ())


def test_an_operator_at_a_quality_stage_may_not_move_it_but_may_take_it(
    spec: ProcessSpec,
) -> None:
    actions = actions_of(person(Role.OPERATOR), item_at("inspect"), spec)

    assert actions.moves == ()
    assert (actions.may_move, actions.can_move, actions.can_take) == (True, True, True)
    assert (actions.can_assign, actions.can_escalate, actions.can_acknowledge) == (
        False,
        False,
        False,
    )


def test_a_stopped_line_closes_every_move_but_not_comments(spec: ProcessSpec) -> None:
    stop = LineStop(id=4, line_id=1, stopped_at=MONDAY_7AM, stopped_by="sam", reason="smoke")
    actions = actions_of(person(Role.SUPERVISOR), item_at("kit"), spec, line_stop=stop)

    assert (actions.may_move, actions.can_move, actions.moves) == (True, False, ())
    assert actions.line_stop is stop
    assert (actions.can_comment, actions.can_attach, actions.can_pause) == (True, True, True)


def test_a_paused_item_may_resume_not_pause(spec: ProcessSpec) -> None:
    actions = actions_of(person(Role.OPERATOR), item_at("kit", status="paused"), spec)

    assert (actions.can_pause, actions.can_resume) == (False, True)


def test_a_finished_item_offers_no_moves_and_no_changes(spec: ProcessSpec) -> None:
    actions = actions_of(person(Role.SUPERVISOR), item_at("ship", status="done"), spec)

    assert actions.moves == ()
    assert (actions.may_move, actions.can_assign, actions.can_raise_exception) == (
        False,
        False,
        False,
    )
    assert (actions.can_escalate, actions.can_record_checklist) == (False, False)


def test_a_viewer_may_only_read(spec: ProcessSpec) -> None:
    actions = actions_of(person(Role.VIEWER), item_at("kit"), spec)

    flags = [
        actions.may_move,
        actions.can_take,
        actions.can_comment,
        actions.can_attach,
        actions.can_raise_exception,
    ]
    assert flags == [False] * 5


def test_taking_is_not_offered_to_the_assignee(spec: ProcessSpec) -> None:
    actions = actions_of(person(Role.OPERATOR, user_id=7), item_at("kit", assignee_id=7), spec)

    assert actions.can_take is False


def test_actions_of_a_person_granted_elsewhere_are_closed(spec: ProcessSpec) -> None:
    elsewhere = Actor(7, "pat", (Grant(Role.SUPERVISOR, site_id=2),))
    actions = actions_of(elsewhere, item_at("kit"), spec)

    assert (actions.may_move, actions.can_comment, actions.can_assign) == (False, False, False)


# -- SLA badges -------------------------------------------------------------------------------


def card(spec: ProcessSpec, **values: object) -> Countdown:
    return countdown_for(item_at("kit", **values), spec, CALENDAR, MONDAY_7AM)


def test_a_card_with_most_of_its_stage_sla_left_is_ok(spec: ProcessSpec) -> None:
    # Kit has a 4 h SLA; 3 h left is more than a quarter.
    badge = card(spec, stage_due_at=MONDAY_7AM + timedelta(hours=3))

    assert (badge.css, badge.text) == ("sla-ok", "due in 3h 00m")


def test_a_card_with_a_quarter_of_its_stage_sla_left_turns_amber(spec: ProcessSpec) -> None:
    badge = card(spec, stage_due_at=MONDAY_7AM + timedelta(hours=1))

    assert (badge.css, badge.text) == ("sla-warn", "due in 1h 00m")


def test_a_late_card_counts_business_time_only(spec: ProcessSpec) -> None:
    # Due Friday 13:00 Chicago: one working hour before Friday's shift ended at 14:00.
    friday = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    badge = card(spec, stage_due_at=friday)

    assert (badge.css, badge.text, badge.due_at) == ("sla-late", "late by 2h 00m", friday)


def test_a_paused_card_names_its_pause_state(spec: ProcessSpec) -> None:
    badge = card(spec, status="paused", pause_state="waiting_parts")

    assert (badge.css, badge.text) == ("sla-paused", "paused: waiting for parts")


def test_a_finished_card_and_one_without_stage_sla_show_no_clock(spec: ProcessSpec) -> None:
    assert card(spec, status="done").text == "finished"
    assert card(spec, stage_due_at=None).css == "sla-none"


HALF_USED = ClockReading(
    target_seconds=7200.0,
    started_at=MONDAY_7AM,
    due_at=MONDAY_7AM + timedelta(hours=2),
    projected_due_at=MONDAY_7AM + timedelta(hours=2),
    business_seconds_used=3600.0,
    business_seconds_paused=0.0,
    business_seconds_remaining=3600.0,
    breached=False,
    breached_at=None,
    paused=False,
    explanation="",
)


def reading(**changes: Any) -> ClockReading:
    return replace(HALF_USED, **changes)


def test_a_stopped_clock_shows_its_outcome_not_a_countdown() -> None:
    met = reading_countdown(reading(stopped_at=MONDAY_7AM))
    breached = reading_countdown(
        reading(stopped_at=MONDAY_7AM, breached=True, business_seconds_remaining=-1800.0)
    )

    assert (met.css, met.text) == ("sla-ok", "met, 1h 00m to spare")
    assert (breached.css, breached.text) == ("sla-late", "breached by 30m")


def test_a_running_clock_with_a_quarter_left_turns_amber() -> None:
    badge = reading_countdown(reading(business_seconds_remaining=1800.0))

    assert (badge.css, badge.text) == ("sla-warn", "due in 30m")
