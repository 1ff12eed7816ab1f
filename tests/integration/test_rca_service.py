"""The RCA service on both databases: a root cause must be verified, closing needs a root
cause, dangling links are refused with the field named, and only rca.manage may write."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.actions import service as actions
from andon.actions.schemas import ActionFilters, ActionLink
from andon.core.audit import AuditEntry
from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.improvement import rca
from andon.improvement.models import RootCauseAnalysis
from andon.improvement.rca_schemas import (
    CauseCreate,
    CauseVerify,
    ContainmentCreate,
    RcaClose,
    RcaCreate,
    RcaLinkIn,
)
from tests.factories import make_user

WHEN = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def _quality(system: Context) -> Context:
    return system.as_actor(actor_for(make_user(system, "quinn", Role.QUALITY)))


def _create(**overrides: object) -> RcaCreate:
    data: dict[str, object] = {
        "title": "Leaks at final test",
        "what": "Pump housings leak at the final pressure test",
        "location": "Line 1, final test",
        "how_much": "12 of 300 housings in week 48",
        "started_at": WHEN,
        "owner_user": "quinn",
    }
    data.update(overrides)
    return RcaCreate.model_validate(data)


def test_a_cause_is_named_root_only_once_verified_and_closing_needs_one(system: Context) -> None:
    ctx = _quality(system)
    opened = rca.open_rca(ctx, _create())
    why = rca.add_cause(ctx, opened.id, CauseCreate(text="Seal seats badly", category="method"))
    deeper = rca.add_cause(
        ctx, opened.id, CauseCreate(text="Press force drifts", parent_id=why.id, category="machine")
    )

    with pytest.raises(InvalidInput) as unverified:
        rca.set_root(ctx, opened.id, deeper.id)
    with pytest.raises(InvalidInput) as no_root:
        rca.close_rca(ctx, opened.id, RcaClose(version=opened.version))
    rca.verify_cause(
        ctx,
        opened.id,
        deeper.id,
        CauseVerify(evidence="Force log shows drift", evidence_query="/analytics/quality?line=L1"),
    )
    rca.set_root(ctx, opened.id, deeper.id)
    closed = rca.close_rca(ctx, opened.id, RcaClose(version=opened.version))

    assert unverified.value.errors[0].loc == ("root",)
    assert no_root.value.errors[0].loc == ("root_causes",)
    assert closed.status == "closed"
    detail = rca.get_rca(ctx, opened.id)
    assert detail.root_causes == ["Press force drifts"]
    assert [c.parent_id for c in detail.causes] == [None, why.id]
    with system.db.read_session() as session:
        done = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "rca", AuditEntry.entity_id == str(opened.id)
            )
        ).all()
    assert done == ["open", "cause", "cause", "verify", "root", "close"]
    with pytest.raises(Conflict):
        rca.add_cause(ctx, opened.id, CauseCreate(text="Too late"))


@pytest.mark.parametrize(
    ("link", "field_msg"),
    [
        ({"kind": "exception", "ref": "999"}, "no exception 999"),
        ({"kind": "work_item", "ref": "998"}, "no work item 998"),
        ({"kind": "audit", "ref": "997000"}, "no audit entry 997000"),
        ({"kind": "metric", "ref": "no-such-metric@2026-W48"}, "no metric with key"),
    ],
)
def test_a_dangling_link_is_refused_with_the_field_named(
    system: Context, link: dict[str, str], field_msg: str
) -> None:
    ctx = _quality(system)
    opened = rca.open_rca(ctx, _create())

    with pytest.raises(InvalidInput) as on_add:
        rca.add_link(ctx, opened.id, RcaLinkIn.model_validate(link))
    with pytest.raises(InvalidInput) as on_open:
        rca.open_rca(ctx, _create(links=[{"kind": "audit", "ref": "1"}, link]))

    assert on_add.value.errors[0].loc == ("ref",)
    assert field_msg in on_add.value.errors[0].msg
    assert on_open.value.errors[0].loc == ("links", 1, "ref")
    with system.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(RootCauseAnalysis)) == 1


def test_only_rca_managers_write_and_everyone_reads(system: Context) -> None:
    ctx = _quality(system)
    opened = rca.open_rca(ctx, _create())
    operator = system.as_actor(actor_for(make_user(system, "olga", Role.OPERATOR)))

    with pytest.raises(PermissionDenied):
        rca.open_rca(operator, _create())
    with pytest.raises(PermissionDenied):
        rca.add_cause(operator, opened.id, CauseCreate(text="Guess"))

    assert [r.id for r in rca.list_rcas(operator)] == [opened.id]


def test_containment_opens_a_linked_action_in_the_actions_room(system: Context) -> None:
    ctx = _quality(system)
    opened = rca.open_rca(ctx, _create(links=[{"kind": "audit", "ref": "1"}]))

    contained = rca.add_containment(
        ctx,
        opened.id,
        ContainmentCreate(
            title="Test every housing twice", owner_user="quinn", due_on=date(2026, 11, 25)
        ),
    )

    found = actions.list_actions(
        ctx, ActionFilters(link=ActionLink(kind="rca", ref=str(opened.id)))
    )
    assert [a.id for a in found] == [contained.action_id]
    detail = rca.get_rca(ctx, opened.id)
    assert [c.action_id for c in detail.containment] == [contained.action_id]
    assert [f"{link.kind}:{link.ref}" for link in detail.links] == ["audit:1"]
