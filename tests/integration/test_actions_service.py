"""The actions service on both databases: opening once per key (even racing), ownership,
refusals that write nothing, closing, listing, and the overdue escalation sweep."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.actions import service
from andon.actions.models import ActionComment, ActionItem
from andon.actions.schemas import (
    ActionCreate,
    ActionFilters,
    ActionLink,
    ActionUpdate,
    CommentCreate,
)
from andon.actions.sweeps import sweep_actions
from andon.core.audit import AuditEntry
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.notifications.models import Notification
from andon.work.worker import run_worker
from tests.factories import make_user

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday, 09:00 in Chicago
DUE = date(2026, 11, 27)


def _as(system: Context, username: str, *roles: Role, email: str | None = None) -> Context:
    return system.as_actor(actor_for(make_user(system, username, *roles, email=email)))


def _create(**overrides: object) -> ActionCreate:
    data: dict[str, object] = {
        "title": "Replace the torque driver bits",
        "owner_user": "sue",
        "due_on": DUE,
    }
    data.update(overrides)
    return ActionCreate.model_validate(data)


def _counts(db: Database) -> tuple[int, int, int, int]:
    with db.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(ActionItem)) or 0,
            session.scalar(select(func.count()).select_from(ActionComment)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            session.scalar(select(func.count()).select_from(Notification)) or 0,
        )


@pytest.fixture
def people(system: Context) -> dict[str, Context]:
    return {
        "sue": _as(system, "sue", Role.SUPERVISOR, email="sue@example.com"),
        "qe": _as(system, "qe", Role.QUALITY, email="qe@example.com"),
        "op": _as(system, "op", Role.OPERATOR, email="op@example.com"),
        "viewer": _as(system, "vic", Role.VIEWER),
        "boss": _as(system, "boss", Role.OPS_MANAGER, email="boss@example.com"),
    }


def test_open_action_notifies_its_owner_and_is_audited(
    db: Database, people: dict[str, Context]
) -> None:
    links = [{"kind": "metric", "ref": "rework-rate"}, {"kind": "work_item", "ref": "42"}]
    action, created = service.open_action(people["op"], _create(links=links), at=NOW)
    assert created is True
    assert (action.owner_user, action.owner_role, action.status) == ("sue", None, "open")
    assert (action.created_by, action.priority, action.due_on) == ("op", "normal", DUE)
    assert [(link.kind, link.ref) for link in action.links] == [
        ("metric", "rework-rate"),
        ("work_item", "42"),
    ]
    with db.read_session() as session:
        sent = list(session.scalars(select(Notification)))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "action")).one()
    assert [n.target for n in sent] == ["sue@example.com"]
    assert "due 2026-11-27" in sent[0].subject
    assert f"/actions/{action.id}" in sent[0].body
    assert (entry.action, entry.actor_name) == ("open", "op")
    assert entry.changes["after"]["links"] == ["metric:rework-rate", "work_item:42"]


def test_an_action_owned_by_a_role_notifies_everyone_holding_it(
    db: Database, people: dict[str, Context], system: Context
) -> None:
    make_user(system, "qe2", Role.QUALITY, email="qe2@example.com")
    action, _ = service.open_action(people["op"], _create(owner_user=None, owner_role="quality"))
    assert (action.owner_user, action.owner_role) == (None, "quality")
    with db.read_session() as session:
        targets = sorted(session.scalars(select(Notification.target)))
    assert targets == ["qe2@example.com", "qe@example.com"]


def test_a_dedupe_key_opens_one_action_when_computed_twice(
    db: Database, people: dict[str, Context], system: Context
) -> None:
    first, created = service.open_action(system, _create(), dedupe_key="metric:rr:L1:critical")
    again, created_again = service.open_action(
        system, _create(title="Other words"), dedupe_key="metric:rr:L1:critical"
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert again.title == first.title
    assert _counts(db)[0] == 1
    # Once it is done, the same key opens a new one.
    service.close_action(people["sue"], first.id, note="Bits replaced")
    third, created_third = service.open_action(
        system, _create(), dedupe_key="metric:rr:L1:critical"
    )
    assert created_third is True
    assert third.id != first.id


def test_two_threads_with_one_key_open_exactly_one_action(
    db: Database, people: dict[str, Context], system: Context
) -> None:
    barrier = threading.Barrier(4)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            action, created = service.open_action(system, _create(), dedupe_key="race")
            results.append((action.id, created))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({action_id for action_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ActionItem)) == 1
        opened = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "open")
        )
    assert opened == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"owner_user": None}, "owner_user"),
        ({"owner_role": "quality"}, "owner_user"),
        ({"owner_user": "nobody"}, "owner_user"),
    ],
)
def test_an_owner_must_be_exactly_one_known_user_or_role(
    db: Database, people: dict[str, Context], overrides: dict[str, object], field: str
) -> None:
    before = _counts(db)
    with pytest.raises(InvalidInput) as caught:
        service.open_action(people["op"], _create(**overrides))
    assert caught.value.errors[0].loc == (field,)
    assert _counts(db) == before


def test_a_viewer_may_not_open_an_action(db: Database, people: dict[str, Context]) -> None:
    before = _counts(db)
    with pytest.raises(PermissionDenied):
        service.open_action(people["viewer"], _create())
    assert _counts(db) == before


def test_an_unknown_link_kind_is_refused_by_the_schema() -> None:
    with pytest.raises(ValueError, match="links"):
        _create(links=[{"kind": "widget", "ref": "1"}])


def test_the_owner_updates_and_closes_their_action(
    db: Database, people: dict[str, Context]
) -> None:
    action, _ = service.open_action(people["op"], _create())
    moved = service.update_action(
        people["sue"], action.id, ActionUpdate(version=action.version, status="in_progress")
    )
    assert (moved.status, moved.version) == ("in_progress", action.version + 1)
    closed = service.close_action(people["sue"], action.id, note="Bits replaced on L1")
    assert (closed.status, closed.closed_by, closed.close_note) == (
        "done",
        "sue",
        "Bits replaced on L1",
    )
    assert closed.closed_at is not None
    with pytest.raises(Conflict, match="done"):
        service.close_action(people["sue"], action.id, note="again")


def test_anyone_holding_the_owning_role_may_close_it(people: dict[str, Context]) -> None:
    action, _ = service.open_action(people["op"], _create(owner_user=None, owner_role="quality"))
    closed = service.close_action(people["qe"], action.id, note="Checked")
    assert closed.status == "done"


def test_someone_else_may_not_change_or_close_an_action(
    db: Database, people: dict[str, Context]
) -> None:
    action, _ = service.open_action(people["qe"], _create())
    before = _counts(db)
    with pytest.raises(PermissionDenied):
        service.close_action(people["op"], action.id, note="Not mine")
    with pytest.raises(PermissionDenied):
        service.update_action(
            people["op"], action.id, ActionUpdate(version=action.version, priority="high")
        )
    assert _counts(db) == before


def test_only_a_manager_reassigns_or_cancels(db: Database, people: dict[str, Context]) -> None:
    action, _ = service.open_action(people["op"], _create())
    with pytest.raises(PermissionDenied):
        service.update_action(
            people["op"],
            action.id,
            ActionUpdate(version=action.version, owner_user="op"),
        )
    with pytest.raises(PermissionDenied):
        service.cancel_action(people["op"], action.id, note="no")
    moved = service.update_action(
        people["qe"], action.id, ActionUpdate(version=action.version, owner_role="safety")
    )
    assert (moved.owner_user, moved.owner_role) == (None, "safety")
    cancelled = service.cancel_action(people["qe"], action.id, note="Duplicate of #1")
    assert (cancelled.status, cancelled.close_note) == ("cancelled", "Duplicate of #1")


def test_a_stale_update_is_a_conflict_and_writes_nothing(
    db: Database, people: dict[str, Context]
) -> None:
    action, _ = service.open_action(people["op"], _create())
    service.update_action(people["sue"], action.id, ActionUpdate(version=1, priority="high"))
    before = _counts(db)
    with pytest.raises(Conflict, match="version 2, not 1"):
        service.update_action(people["sue"], action.id, ActionUpdate(version=1, priority="low"))
    with pytest.raises(Conflict):
        service.close_action(people["sue"], action.id, note="x", version=1)
    assert _counts(db) == before
    assert service.get_action(people["sue"], action.id).priority == "high"


def test_comments_are_kept_in_order(people: dict[str, Context]) -> None:
    action, _ = service.open_action(people["op"], _create())
    service.comment_action(people["sue"], action.id, CommentCreate(body="Ordered the bits"))
    service.comment_action(people["op"], action.id, CommentCreate(body="Thanks"))
    detail = service.get_action(people["viewer"], action.id)
    assert [(c.author, c.body) for c in detail.comments] == [
        ("sue", "Ordered the bits"),
        ("op", "Thanks"),
    ]
    with pytest.raises(PermissionDenied):
        service.comment_action(people["viewer"], action.id, CommentCreate(body="hi"))
    with pytest.raises(NotFound):
        service.get_action(people["viewer"], 999)


def test_list_filters_mine_status_overdue_link_and_owner(people: dict[str, Context]) -> None:
    op = people["op"]
    mine_user, _ = service.open_action(op, _create(due_on=date(2026, 11, 20)))
    mine_role, _ = service.open_action(
        op,
        _create(owner_user=None, owner_role="supervisor", links=[{"kind": "metric", "ref": "fpy"}]),
    )
    other, _ = service.open_action(op, _create(owner_user="qe", due_on=date(2026, 11, 21)))
    service.close_action(people["qe"], other.id, note="done")

    def ids(**filters: object) -> list[int]:
        found = service.list_actions(people["sue"], ActionFilters.model_validate(filters))
        return [a.id for a in found]

    assert ids(mine=True) == [mine_user.id, mine_role.id]
    assert ids() == [mine_user.id, other.id, mine_role.id]
    assert ids(status="done") == [other.id]
    assert ids(status="unfinished") == [mine_user.id, mine_role.id]
    assert ids(overdue=True, today=date(2026, 11, 23)) == [mine_user.id]
    assert ids(link=ActionLink(kind="metric", ref="fpy")) == [mine_role.id]
    assert ids(owner_user="qe") == [other.id]
    assert ids(owner_role="supervisor") == [mine_role.id]
    # The operator holds neither the user nor the role.
    assert service.list_actions(op, ActionFilters(mine=True)) == []


def test_overdue_actions_escalate_once_and_again_after_a_new_due_date(
    db: Database, people: dict[str, Context], system: Context
) -> None:
    action, _ = service.open_action(people["qe"], _create(due_on=date(2026, 11, 20)))
    done, _ = service.open_action(people["qe"], _create(due_on=date(2026, 11, 19)))
    service.close_action(people["sue"], done.id, note="done")
    later, _ = service.open_action(people["qe"], _create(due_on=date(2026, 11, 23)))
    first = sweep_actions(system, zone=CHICAGO, now=NOW)
    again = sweep_actions(system, zone=CHICAGO, now=NOW + timedelta(hours=1))
    assert (first.escalations, again.escalations) == (1, 0)
    with db.read_session() as session:
        overdue = list(
            session.scalars(
                select(Notification).where(
                    Notification.dedupe_key.like(f"action:{action.id}:overdue:%")
                )
            )
        )
    # The owner, whoever opened it, and the operations manager.
    assert sorted(n.target for n in overdue) == [
        "boss@example.com",
        "qe@example.com",
        "sue@example.com",
    ]
    assert "overdue since 2026-11-20" in overdue[0].subject
    assert service.get_action(system, later.id).escalated_at is None
    current = service.get_action(system, action.id)
    service.update_action(
        people["sue"], action.id, ActionUpdate(version=current.version, due_on=date(2026, 11, 30))
    )
    assert sweep_actions(system, zone=CHICAGO, now=NOW).escalations == 0
    assert sweep_actions(system, zone=CHICAGO, now=NOW + timedelta(days=8)).escalations == 2


def test_the_worker_escalates_an_overdue_action_once(
    db: Database, settings: Settings, people: dict[str, Context]
) -> None:
    service.open_action(people["qe"], _create(due_on=date(2026, 11, 20)))
    first = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: NOW)
    again = run_worker(
        db, settings, interval_seconds=0, once=True, now_fn=lambda: NOW + timedelta(hours=2)
    )
    assert (first.escalations, again.escalations) == (1, 0)
    assert first.failed_cycles == 0
    with db.read_session() as session:
        keys = list(
            session.scalars(
                select(Notification.dedupe_key).where(
                    Notification.dedupe_key.like("action:%:overdue:%")
                )
            )
        )
    assert len(keys) == 3


def test_the_unique_key_settles_a_race_the_lookup_missed(
    db: Database, system: Context, people: dict[str, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser of a race reads no open action first, then its insert hits the unique key:
    it returns the winner's action and writes nothing."""
    winner, _ = service.open_action(system, _create(), dedupe_key="metric:fpy:L2:warning")
    before = _counts(db)
    real = service._open_with_key
    calls: list[str] = []

    def missed_once(session: object, key: str) -> object:
        calls.append(key)
        return None if len(calls) == 1 else real(session, key)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "_open_with_key", missed_once)
    loser, created = service.open_action(system, _create(), dedupe_key="metric:fpy:L2:warning")
    assert len(calls) == 2
    assert created is False
    assert loser.id == winner.id
    assert _counts(db) == before
