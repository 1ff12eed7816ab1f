"""Work items through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Actor, Role
from andon.core.uow import Context
from andon.notifications.models import Notification
from andon.work import checks, escalations, exceptions, items, line_stops
from andon.work.events import replay, state_of
from andon.work.models import Escalation, WorkEvent, WorkItem
from andon.work.schemas import (
    ChecklistRecord,
    CheckResultIn,
    ExceptionRaise,
    ItemMove,
    ItemPause,
    ItemResume,
    ItemRetarget,
    StopRuleCreate,
)
from andon.work.sweep import sweep_slas
from tests.factories import Floor, make_floor, make_user, new_item

# Monday 23 Nov 2026, 07:00 in Chicago (CST, UTC-6): inside the 06:00-14:00 day shift.
MONDAY_7AM = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return MONDAY_7AM + timedelta(minutes=minutes)


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def move(system: Context, item: WorkItem, to: str, minutes: float) -> WorkItem:
    return items.move_item(system, item.id, ItemMove(to=to, version=item.version), at=at(minutes))


def walk_to_inspect(system: Context, item: WorkItem) -> WorkItem:
    for i, stage in enumerate(["plan", "kit", "assemble", "inspect"], start=1):
        item = move(system, item, stage, i * 10)
    return item


def passing_checks(torque: float = 11.0) -> ChecklistRecord:
    return ChecklistRecord(
        results=[
            CheckResultIn(key="visual", passed=True),
            CheckResultIn(key="torque", passed=True, value=torque),
            CheckResultIn(key="leak", passed=True),
        ]
    )


def test_new_item_starts_at_first_stage_with_business_due_times(
    system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    assert item.stage == "intake"
    assert item.stage_due_at == at(120)  # 2 h stage SLA inside the shift
    # 40 h of 8-hour days from Monday 07:00: 7 h Monday, 8 h Tuesday to Friday, 1 h next Monday.
    assert item.due_at == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)


def test_item_created_outside_shift_starts_its_clock_at_the_next_shift(
    system: Context, floor: Floor
) -> None:
    saturday = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    item = new_item(system, floor, at=saturday)

    # Monday 06:00 CST = 12:00 UTC, plus the 2 h intake SLA.
    assert item.stage_due_at == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_intake_form_errors_name_each_field_and_write_nothing(
    system: Context, floor: Floor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        new_item(system, floor, fields={"order_ref": "12345", "colour": "red"})

    locs = {e.loc for e in caught.value.errors}
    assert locs == {
        ("fields", "customer"),
        ("fields", "order_ref"),
        ("fields", "colour"),
    }
    with system.read() as session:
        assert session.scalar(select(func.count()).select_from(WorkItem)) == 0


def test_move_outside_the_map_is_refused_with_the_allowed_targets(
    system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    with pytest.raises(items.MoveRefused) as caught:
        move(system, item, "pack", 5)

    assert caught.value.allowed == ["plan"]
    with system.read() as session:
        assert session.get(WorkItem, item.id).stage == "intake"  # type: ignore[union-attr]


def test_each_change_raises_the_version_by_one(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    moved = move(system, item, "plan", 5)
    paused = items.pause_item(
        system, item.id, ItemPause(state="waiting_parts", version=moved.version), at=at(6)
    )

    assert (item.version, moved.version, paused.version) == (1, 2, 3)


def test_stale_version_is_a_conflict(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    move(system, item, "plan", 5)

    with pytest.raises(Conflict, match="version"):
        items.move_item(system, item.id, ItemMove(to="kit", version=item.version), at=at(6))


def test_operator_may_not_move_out_of_a_supervisor_stage(system: Context, floor: Floor) -> None:
    operator = make_user(system, "olive", Role.OPERATOR)
    item = new_item(system, floor, at=MONDAY_7AM)
    actor = Context(system.db, _actor(system, operator.username))

    with pytest.raises(PermissionDenied):
        items.move_item(actor, item.id, ItemMove(to="plan", version=item.version), at=at(5))


def _actor(system: Context, username: str) -> Actor:
    from andon.accounts.models import User
    from andon.accounts.service import actor_for

    with system.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return actor_for(user)


def test_inspection_gate_holds_the_item_until_the_checklist_passes(
    system: Context, floor: Floor
) -> None:
    item = walk_to_inspect(system, new_item(system, floor, at=MONDAY_7AM))

    with pytest.raises(Conflict, match="checklist"):
        move(system, item, "pack", 50)
    checks.record_checklist(system, item.id, passing_checks(), at=at(55))
    item = move(system, item, "pack", 60)

    assert item.stage == "pack"


def test_torque_outside_limits_fails_the_gate_and_sends_the_item_to_rework(
    system: Context, floor: Floor
) -> None:
    item = walk_to_inspect(system, new_item(system, floor, at=MONDAY_7AM))

    run = checks.record_checklist(system, item.id, passing_checks(torque=13.1), at=at(55))

    assert not run.passed
    assert [r["key"] for r in run.results if not r["passed"]] == ["torque"]
    with system.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert (stored.stage, stored.rework_count) == ("rework", 1)


def test_pause_stops_the_stage_clock_and_resume_restarts_it(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    item = items.pause_item(
        system, item.id, ItemPause(state="waiting_parts", version=item.version), at=at(30)
    )
    assert item.stage_due_at is None

    item = items.resume_item(system, item.id, ItemResume(version=item.version), at=at(90))

    # 30 min used before the pause; 90 min left from 08:30 local.
    assert item.stage_due_at == at(180)
    clocks = items.read_clocks(system, item.id, at=at(100))
    assert clocks.stage is not None
    assert clocks.stage.business_seconds_paused == pytest.approx(3600)


def test_sweep_fires_each_tier_once_and_records_the_breach(system: Context, floor: Floor) -> None:
    make_user(system, "sam", Role.SUPERVISOR, email="sam@example.com")
    make_user(system, "omar", Role.OPS_MANAGER, email="omar@example.com")
    item = new_item(system, floor, at=MONDAY_7AM)

    first = sweep_slas(system, now=at(95))  # 75 % of the 2 h intake SLA is at 90 min
    again = sweep_slas(system, now=at(96))
    breach = sweep_slas(system, now=at(121))

    assert (first.fired, again.fired) == (1, 0)
    assert breach.stage_breaches == 1
    assert breach.fired == 1
    with system.read() as session:
        sent = session.scalars(select(Notification.target).order_by(Notification.id)).all()
        assert sent == ["sam@example.com", "omar@example.com"]
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert stored.stage_breached_at == at(120)
        kinds = session.scalars(
            select(WorkEvent.kind).where(WorkEvent.case_id == item.id).order_by(WorkEvent.id)
        ).all()
        assert kinds.count("escalated") == 2
        assert "stage_breached" in kinds


def test_a_late_sweep_fires_a_tier_due_by_two_routes_once(system: Context, floor: Floor) -> None:
    make_user(system, "sam", Role.SUPERVISOR, email="sam@example.com")
    item = new_item(system, floor, at=MONDAY_7AM)
    sweep_slas(system, now=at(91))  # tier 1 fires; unanswered, it re-escalates to tier 2 at 151

    late = sweep_slas(system, now=at(200))  # tier 2 is due by the SLA (120) and by re-escalation

    with system.read() as session:
        fired = session.scalars(
            select(Escalation.tier).where(
                Escalation.item_id == item.id, Escalation.status == "fired"
            )
        ).all()
        escalated = session.scalar(
            select(func.count())
            .select_from(WorkEvent)
            .where(WorkEvent.case_id == item.id, WorkEvent.kind == "escalated")
        )
    assert sorted(fired) == sorted(set(fired))  # no tier twice
    assert 2 in fired
    assert late.fired == len(fired) - 1
    assert escalated == len(fired)


def test_moving_on_recomputes_pending_escalations(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    item = move(system, item, "plan", 60)

    with system.read() as session:
        pending = session.scalars(
            select(Escalation).where(Escalation.status == "pending").order_by(Escalation.tier)
        ).all()
    # Plan has a 4 h SLA from 08:00 local: 75 % at 11:00, 100 % at 12:00, 150 % next day.
    assert [(e.stage, e.tier, e.due_at) for e in pending][:2] == [
        ("plan", 1, at(60 + 180)),
        ("plan", 2, at(60 + 240)),
    ]


def test_unacknowledged_tier_re_escalates_and_acknowledging_stops_it(
    system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    sweep_slas(system, now=at(91))
    with system.read() as session:
        fired = session.scalars(select(Escalation).where(Escalation.status == "fired")).one()
        reescalation = session.scalars(
            select(Escalation).where(Escalation.basis == "reescalation")
        ).one()
    assert reescalation.tier == 2
    assert reescalation.due_at == at(91 + 60)

    escalations.acknowledge(system, fired.id, note="on it", at=at(100))

    with system.read() as session:
        assert (
            session.scalars(select(Escalation).where(Escalation.basis == "reescalation")).all()
            == []
        )
    assert item.id == fired.item_id


def test_high_safety_exception_stops_the_line_until_two_people_sign_off(
    system: Context, floor: Floor
) -> None:
    supervisor = make_user(system, "sue", Role.SUPERVISOR)
    inspector = make_user(system, "quinn", Role.QUALITY)
    line_stops.add_rule(
        system, floor.line.id, StopRuleCreate(name="Safety", kind="exception", min_severity="high")
    )
    item = new_item(system, floor, at=MONDAY_7AM)

    exceptions.raise_exception(
        system,
        ExceptionRaise(category="safety", description="guard missing", item_id=item.id),
        at=at(5),
    )
    with pytest.raises(Conflict, match="stopped"):
        move(system, item, "plan", 10)
    line_stops.sign_off_restart(
        Context(system.db, _actor(system, supervisor.username)), floor.line.id, "guard refitted"
    )
    still = line_stops.board(system)[0]
    line_stops.sign_off_restart(
        Context(system.db, _actor(system, inspector.username)), floor.line.id, "checked"
    )

    assert still.status == "stopped"
    assert line_stops.board(system)[0].status == "running"
    assert move(system, item, "plan", 20).stage == "plan"


def test_one_person_cannot_give_both_restart_sign_offs(system: Context, floor: Floor) -> None:
    boss = make_user(system, "bea", Role.SUPERVISOR, Role.QUALITY)
    line_stops.pull_cord(system, floor.line.id, "smoke")
    ctx = Context(system.db, _actor(system, boss.username))
    line_stops.sign_off_restart(ctx, floor.line.id, "ok")

    with pytest.raises(Conflict, match="two different people"):
        line_stops.sign_off_restart(ctx, floor.line.id, "ok again")


def test_failed_checks_in_a_window_stop_the_line(system: Context, floor: Floor) -> None:
    line_stops.add_rule(
        system,
        floor.line.id,
        StopRuleCreate(name="Quality spike", kind="failed_checks", count=2, window_minutes=30),
    )
    first = walk_to_inspect(system, new_item(system, floor, at=MONDAY_7AM))
    second = walk_to_inspect(system, new_item(system, floor, at=MONDAY_7AM))

    checks.record_checklist(system, first.id, passing_checks(torque=9.0), at=at(55))
    assert line_stops.board(system)[0].status == "running"
    checks.record_checklist(system, second.id, passing_checks(torque=9.0), at=at(60))

    assert line_stops.board(system)[0].status == "stopped"


def test_critical_exception_escalates_at_once(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    exceptions.raise_exception(
        system,
        ExceptionRaise(
            category="equipment", severity="critical", description="press jammed", item_id=item.id
        ),
        at=at(5),
    )

    with system.read() as session:
        fired = session.scalars(select(Escalation).where(Escalation.status == "fired")).one()
    assert (fired.tier, fired.basis, fired.urgent) == (2, "exception", True)


def test_exception_pareto_orders_categories_by_count(system: Context, floor: Floor) -> None:
    for category in ["material", "material", "quality", "material", "method"]:
        exceptions.raise_exception(
            system,
            ExceptionRaise(category=category, description="x", line_id=floor.line.id),
            at=at(1),
        )

    bars = exceptions.pareto(system)

    assert [(b.key, b.count) for b in bars] == [("material", 3), ("method", 1), ("quality", 1)]
    assert bars[-1].cumulative_share == pytest.approx(1.0)


def test_replaying_events_reproduces_the_item(system: Context, floor: Floor) -> None:
    item = walk_to_inspect(system, new_item(system, floor, at=MONDAY_7AM))
    checks.record_checklist(system, item.id, passing_checks(torque=20), at=at(55))
    with system.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        events = session.scalars(
            select(WorkEvent).where(WorkEvent.case_id == item.id).order_by(WorkEvent.id)
        ).all()
        assert replay((e.kind, e.lifecycle, e.attributes) for e in events) == state_of(stored)


def test_concurrent_moves_of_one_item_one_wins(system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        try:
            items.move_item(system, item.id, ItemMove(to="plan", version=item.version))
            outcomes.append("moved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["conflict", "moved"]


def test_event_log_refuses_edits(system: Context, floor: Floor) -> None:
    new_item(system, floor, at=MONDAY_7AM)

    with pytest.raises(Exception, match="append-only"), system.db.engine.begin() as connection:
        connection.execute(WorkEvent.__table__.update().values(activity="forged"))


def test_retargeting_the_stage_sla_moves_due_time_and_escalations(
    system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    item = items.retarget_item(
        system, item.id, ItemRetarget(version=item.version, sla="4h", reason="customer"), at=at(10)
    )

    assert item.stage_due_at == at(240)
    with system.read() as session:
        tier1 = session.scalars(select(Escalation).where(Escalation.tier == 1)).one()
    assert tier1.due_at == at(180)


def test_switching_escalation_off_clears_pending_tiers_and_on_restores_them(
    system: Context, floor: Floor
) -> None:
    new_item(system, floor, at=MONDAY_7AM)

    escalations.set_escalation_active(system, "assembly", False, reason="trial", at=at(5))
    with system.read() as session:
        off = session.scalars(select(Escalation)).all()
    escalations.set_escalation_active(system, "assembly", True, reason="trial over", at=at(6))
    with system.read() as session:
        on = session.scalars(select(Escalation).where(Escalation.status == "pending")).all()

    assert off == []
    assert len(on) == 3
    assert sweep_slas(system, now=at(200)).fired >= 1


def test_a_new_holiday_moves_open_items_due_times_at_once(system: Context, floor: Floor) -> None:
    from datetime import date

    from andon.calendars.service import add_holidays

    friday = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)  # 13:00 local, 1 h before shift end
    item = new_item(system, floor, at=friday)
    assert item.stage_due_at == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)

    add_holidays(system, floor.site.id, {date(2026, 11, 30): "Plant shutdown"})

    with system.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert stored.stage_due_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_a_site_supervisor_sees_only_that_sites_work(system: Context, floor: Floor) -> None:
    from andon.plant import service as plant
    from andon.plant.schemas import AreaCreate, LineCreate, SiteCreate
    from andon.work.queries import list_items

    other_site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=floor.site.enterprise_id, name="Dayton", code="DAY", timezone="UTC"
        ),
    )
    other_area = plant.create_area(system, AreaCreate(site_id=other_site.id, name="A", code="A"))
    other_line = plant.create_line(system, LineCreate(area_id=other_area.id, name="X", code="X1"))
    mine = new_item(system, floor, at=MONDAY_7AM)
    new_item(system, floor, at=MONDAY_7AM, line_id=other_line.id)
    sue = make_user(system, "sue", Role.SUPERVISOR, site_id=floor.site.id)
    ctx = Context(system.db, _actor(system, sue.username))

    visible = list_items(ctx).items

    assert [i.id for i in visible] == [mine.id]
    assert [row.line.code for row in line_stops.board(ctx)] == ["L1"]
