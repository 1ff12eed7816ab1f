"""The decision log on both databases: links must exist, reopening makes a chain, and the
revisit list names what is due."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from andon.accounts.service import actor_for
from andon.core.errors import Conflict, InvalidInput
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.improvement import decisions
from andon.improvement.decision_schemas import DecisionCreate, DecisionReopen, DecisionSettle
from tests.factories import make_floor, make_user


def _record(ctx: Context, **overrides: object) -> DecisionCreate:
    data: dict[str, object] = {
        "title": "Who may stop the line",
        "decision": "Any operator may pull the cord; restart needs supervisor and quality.",
        "options": [{"name": "Supervisors only", "pros": "fewer stops", "cons": "slower"}],
        "decides": ["role:ops_manager"],
        "consulted": ["quality", "dana"],
        "decided_on": date(2026, 11, 2),
        "revisit_on": date(2026, 11, 30),
        "process_versions": ["assembly/1"],
    }
    data.update(overrides)
    return DecisionCreate.model_validate(data)


def test_dangling_links_and_unknown_people_are_refused_with_the_field(system: Context) -> None:
    make_floor(system)
    make_user(system, "dana", Role.QUALITY)

    for overrides, loc in [
        ({"document_revisions": ["SOP-ASM-001/3"]}, ("document_revisions", 0)),
        ({"process_versions": ["assembly/1", "assembly/9"]}, ("process_versions", 1)),
        ({"rcas": [42]}, ("rcas", 0)),
        ({"metrics": ["no-such-metric"]}, ("metrics", 0)),
        ({"consulted": ["nobody"]}, ("consulted", 0)),
        ({"revisit_on": date(2026, 10, 1)}, ("revisit_on",)),
    ]:
        with pytest.raises(InvalidInput) as refused:
            decisions.record_decision(system, _record(system, **overrides))
        assert refused.value.errors[0].loc == loc
    assert decisions.list_decisions(system) == []


def test_reopening_supersedes_the_old_decision_and_the_chain_shows_both(system: Context) -> None:
    make_floor(system)
    make_user(system, "dana", Role.QUALITY)
    manager = system.as_actor(actor_for(make_user(system, "mo", Role.OPS_MANAGER)))
    first = decisions.record_decision(manager, _record(system))
    assert (first.status, first.consulted) == ("settled", ["role:quality", "user:dana"])
    assert [(link.kind, link.ref) for link in first.links] == [("process_version", "assembly/1")]

    with pytest.raises(ValidationError, match="reason"):
        DecisionReopen.model_validate({"reason": " "})
    second = decisions.reopen_decision(
        manager, first.id, DecisionReopen(reason="Stops doubled after the new rule")
    )
    with pytest.raises(Conflict):
        decisions.reopen_decision(manager, first.id, DecisionReopen(reason="again"))
    settled = decisions.settle_decision(
        manager,
        second.id,
        DecisionSettle(
            decision="Operators pull the cord; a lead confirms within 5 minutes.",
            decided_on=date(2026, 12, 1),
        ),
    )

    old = decisions.get_decision(system, first.id)
    assert (old.status, old.superseded_by_id) == ("superseded", second.id)
    assert (settled.status, settled.supersedes_id, settled.reopen_reason) == (
        "settled",
        first.id,
        "Stops doubled after the new rule",
    )
    assert [(c.id, c.status) for c in old.chain] == [
        (first.id, "superseded"),
        (second.id, "settled"),
    ]
    assert [link.ref for link in settled.links] == ["assembly/1"]


def test_revisit_due_lists_settled_decisions_whose_date_passed(system: Context) -> None:
    make_floor(system)
    make_user(system, "dana", Role.QUALITY)
    due = decisions.record_decision(system, _record(system, revisit_on=date(2026, 11, 30)))
    decisions.record_decision(system, _record(system, title="Later", revisit_on=date(2027, 1, 4)))
    decisions.record_decision(system, _record(system, title="Never", revisit_on=None))

    assert [d.id for d in decisions.due_for_revisit(system, today=date(2026, 12, 6))] == [due.id]
    decisions.reopen_decision(system, due.id, DecisionReopen(reason="revisit"))
    assert decisions.due_for_revisit(system, today=date(2026, 12, 6)) == []
