"""Property: whatever happens to an item, replaying its events gives its stored state."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from andon.core.errors import AndonError
from andon.core.uow import Context
from andon.work import checks, exceptions, items
from andon.work.events import replay, state_of
from andon.work.models import WorkEvent, WorkItem
from andon.work.schemas import (
    ChecklistRecord,
    CheckResultIn,
    CommentCreate,
    ExceptionRaise,
    ItemAssign,
    ItemMove,
    ItemPause,
    ItemResume,
    ItemUpdate,
)
from tests.factories import make_floor, make_user, new_item
from tests.integration.test_work_items import MONDAY_7AM

STAGES = ["intake", "plan", "kit", "assemble", "inspect", "rework", "pack", "ship"]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.sampled_from(STAGES)),
        st.tuples(st.just("pause"), st.sampled_from(["waiting_parts", "customer_hold"])),
        st.tuples(st.just("resume"), st.none()),
        st.tuples(st.just("assign"), st.sampled_from([None, "me"])),
        st.tuples(st.just("priority"), st.sampled_from(["low", "high", "urgent"])),
        st.tuples(st.just("check"), st.floats(min_value=9.0, max_value=14.0)),
        st.tuples(
            st.just("comment"),
            st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(
                str.strip
            ),
        ),
        st.tuples(st.just("exception"), st.sampled_from(["material", "quality"])),
    ),
    max_size=25,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_replay_of_any_history_matches_the_item(
    system: Context, ops: list[tuple[str, object]]
) -> None:
    floor = _floor(system)
    user_id = _user(system)
    item = new_item(system, floor, at=MONDAY_7AM)
    for step, (op, arg) in enumerate(ops, start=1):
        when = MONDAY_7AM + timedelta(minutes=7 * step)
        with system.read() as session:
            current = session.get(WorkItem, item.id)
            assert current is not None
            version = current.version
        # A refused operation must leave no trace; the replay check covers that too.
        with contextlib.suppress(AndonError):
            _apply(system, item.id, version, op, arg, user_id, when)
    with system.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        events = session.scalars(
            select(WorkEvent).where(WorkEvent.case_id == item.id).order_by(WorkEvent.id)
        ).all()
        assert replay((e.kind, e.lifecycle, e.attributes) for e in events) == state_of(stored)


def _floor(system: Context):  # type: ignore[no-untyped-def]
    from andon.plant.models import Line
    from tests.factories import Floor

    with system.read() as session:
        line = session.scalar(select(Line))
    if line is None:
        return make_floor(system)
    from andon.plant.models import Area, Site

    with system.read() as session:
        area = session.get(Area, line.area_id)
        site = session.get(Site, area.site_id)  # type: ignore[union-attr]
    return Floor(site, area, line)  # type: ignore[arg-type]


def _user(system: Context) -> int:
    from andon.accounts.models import User
    from andon.core.permissions import Role

    with system.read() as session:
        user = session.scalar(select(User).where(User.username == "pat"))
    return (user or make_user(system, "pat", Role.OPERATOR)).id


def _apply(
    system: Context, item_id: int, version: int, op: str, arg: object, user_id: int, when
) -> None:  # type: ignore[no-untyped-def]
    if op == "move":
        items.move_item(system, item_id, ItemMove(to=str(arg), version=version), at=when)
    elif op == "pause":
        items.pause_item(system, item_id, ItemPause(state=str(arg), version=version), at=when)
    elif op == "resume":
        items.resume_item(system, item_id, ItemResume(version=version), at=when)
    elif op == "assign":
        assignee = user_id if arg == "me" else None
        items.assign_item(
            system, item_id, ItemAssign(assignee_id=assignee, version=version), at=when
        )
    elif op == "priority":
        items.update_item(system, item_id, ItemUpdate(version=version, priority=arg), at=when)
    elif op == "check":
        results = [
            CheckResultIn(key="visual", passed=True),
            CheckResultIn(key="torque", passed=True, value=float(arg)),  # type: ignore[arg-type]
            CheckResultIn(key="leak", passed=True),
        ]
        checks.record_checklist(system, item_id, ChecklistRecord(results=results), at=when)
    elif op == "comment":
        items.comment_item(system, item_id, CommentCreate(body=str(arg)), at=when)
    elif op == "exception":
        exceptions.raise_exception(
            system,
            ExceptionRaise(category=str(arg), description="found on the line", item_id=item_id),
            at=when,
        )
