"""Timeline and postmortems on both databases: what a window of a small plant shows, and a
postmortem's life from a line stop to a published, read-only, searchable debrief."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from andon.accounts.service import actor_for
from andon.actions.schemas import ActionCreate
from andon.actions.service import open_action
from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.improvement import postmortems
from andon.improvement import timeline as timeline_module
from andon.improvement.postmortem_schemas import EntryIn, PostmortemCreate, PostmortemUpdate
from andon.improvement.timeline import build_timeline
from andon.work import exceptions, line_stops
from andon.work.models import LineStop, WorkItem
from andon.work.schemas import ExceptionRaise, ExceptionResolve
from andon.work.sweep import sweep_slas
from tests.factories import (
    Floor,
    make_floor,
    make_user,
    minutes_after_monday,
    move_at,
    new_item,
)


@dataclass
class Incident:
    floor: Floor
    tracked: WorkItem
    late: WorkItem
    stop: LineStop
    exception_id: int


def make_incident(system: Context) -> Incident:
    """One line on a Monday: three items move into Plan (minutes 10-14), an exception is
    raised (20), the cord is pulled (30), the exception resolved (40), the restart signed
    off by a supervisor (50) and quality (55); a fourth item left in Intake escalates."""
    floor = make_floor(system)
    tracked = new_item(system, floor, at=minutes_after_monday(0))
    others = [new_item(system, floor, at=minutes_after_monday(m)) for m in (1, 2)]
    late = new_item(system, floor, at=minutes_after_monday(3))
    tracked = move_at(system, tracked, "plan", 10)
    for minutes, item in zip((12, 14), others, strict=True):
        move_at(system, item, "plan", minutes)
    raised = exceptions.raise_exception(
        system,
        ExceptionRaise(category="material", description="Short of M8 bolts", item_id=others[0].id),
        at=minutes_after_monday(20),
    )
    stop = line_stops.pull_cord(system, floor.line.id, "bolts missing", at=minutes_after_monday(30))
    exceptions.resolve_exception(
        system,
        raised.id,
        ExceptionResolve(version=raised.version, resolution="Bolts delivered from stores"),
        at=minutes_after_monday(40),
    )
    line_stops.sign_off_restart(
        system, floor.line.id, "stock checked", as_role="supervisor", at=minutes_after_monday(50)
    )
    stop = line_stops.sign_off_restart(
        system, floor.line.id, "first part good", as_role="quality", at=minutes_after_monday(55)
    )
    sweep_slas(system, now=minutes_after_monday(110))
    return Incident(floor, tracked, late, stop, raised.id)


def test_timeline_lists_a_windows_events_in_order_and_counts_untracked_moves(
    system: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = make_incident(system)

    timeline = build_timeline(
        system,
        started_at=minutes_after_monday(5),
        ended_at=minutes_after_monday(120),
        line_id=incident.floor.line.id,
        item_ids=[incident.tracked.id],
    )

    got = [(e.at, e.kind, e.title) for e in timeline if e.kind != "escalation"]
    t = incident.tracked.id
    who = system.actor.username
    x = incident.exception_id
    assert got == [
        (minutes_after_monday(10), "move", f"Work item {t} moved into Plan from intake by {who}"),
        (minutes_after_monday(12), "move", "2 items moved into Plan"),
        (
            minutes_after_monday(20),
            "exception",
            f"Exception {x} raised on work item {t + 1}: material (medium) — Short of M8 bolts",
        ),
        (minutes_after_monday(30), "line_stop", f"Line L1 stopped by {who}: bolts missing"),
        (
            minutes_after_monday(40),
            "exception",
            f"Exception {x} resolved by {who}: Bolts delivered from stores",
        ),
        (
            minutes_after_monday(50),
            "line_restart",
            f"Restart of line L1 signed off by {who} (supervisor)",
        ),
        (
            minutes_after_monday(55),
            "line_restart",
            f"Restart of line L1 signed off by {who} (quality)",
        ),
        (
            minutes_after_monday(55),
            "line_restart",
            "Line L1 restarted after 25 min: stock checked; first part good",
        ),
    ]
    escalations = [e for e in timeline if e.kind == "escalation"]
    assert escalations
    assert all(f"work item {incident.late.id}" in e.title for e in escalations)
    assert {e.line for e in timeline} == {"L1"}
    assert timeline.truncated is False
    monkeypatch.setattr(timeline_module, "MAX_ENTRIES", 3)
    capped = build_timeline(
        system,
        started_at=minutes_after_monday(5),
        ended_at=minutes_after_monday(120),
        line_id=incident.floor.line.id,
        item_ids=[incident.tracked.id],
    )
    assert list(capped) == list(timeline)[:3]
    assert capped.truncated is True


def test_timeline_window_excludes_what_happened_outside_it(system: Context) -> None:
    incident = make_incident(system)

    timeline = build_timeline(
        system,
        started_at=minutes_after_monday(31),
        ended_at=minutes_after_monday(45),
        line_id=incident.floor.line.id,
    )

    assert [e.title for e in timeline] == [
        f"Exception {incident.exception_id} resolved by {system.actor.username}: "
        "Bolts delivered from stores"
    ]
    with pytest.raises(InvalidInput) as refused:
        build_timeline(
            system, started_at=minutes_after_monday(45), ended_at=minutes_after_monday(31)
        )
    assert refused.value.errors[0].loc == ("ended_at",)


def test_postmortem_from_a_line_stop_is_prefilled_reviewed_by_another_and_read_only(
    system: Context,
) -> None:
    incident = make_incident(system)
    # The writer may publish too, but not what she wrote herself.
    writer = system.as_actor(actor_for(make_user(system, "wanda", Role.OPS_MANAGER)))
    reviewer = system.as_actor(actor_for(make_user(system, "quinn", Role.QUALITY)))
    operator = system.as_actor(actor_for(make_user(system, "otto", Role.OPERATOR)))
    make_user(system, "safety", Role.SAFETY)

    pm = postmortems.create_postmortem(
        writer,
        PostmortemCreate(
            title="Line 1 stop for bolts", kind="line_stop", line_stop_id=incident.stop.id
        ),
    )

    assert (pm.status, pm.line, pm.started_at, pm.ended_at) == (
        "draft",
        "L1",
        minutes_after_monday(30),
        minutes_after_monday(55),
    )
    assert (pm.impact_items, pm.impact_hours) == (4, 0.42)
    # From an hour before the stop: the moves and the exception that led up to it.
    assert [e.kind for e in pm.timeline] == [
        "move",
        "exception",
        "line_stop",
        "exception",
        "line_restart",
        "line_restart",
        "line_restart",
    ]
    assert pm.timeline[0].title == "3 items moved into Plan"
    with pytest.raises(PermissionDenied):
        postmortems.get_postmortem(operator, pm.id)

    edited = postmortems.update_postmortem(
        writer,
        pm.id,
        PostmortemUpdate(
            version=pm.version,
            what_happened="Otto failed to check the bolt bin; operator error.",
            changes="Kanban card for M8 bolts at the station; safety checked the guard.",
        ),
    )
    # "safety" is a user here too, but also a role: the function, not a person to blame.
    assert [p.phrase for p in edited.prompts] == ["Otto", "failed to", "operator error"]
    note = postmortems.add_entry(
        writer, pm.id, EntryIn(at=minutes_after_monday(25), title="Bin found empty", note="photo")
    )
    assert note.source == "writer"
    with pytest.raises(InvalidInput) as dangling:
        postmortems.update_postmortem(
            writer, pm.id, PostmortemUpdate(version=edited.version, rca_id=999)
        )
    assert dangling.value.errors[0].loc == ("rca_id",)

    stop_entry = next(e for e in edited.timeline if e.kind == "line_stop")
    annotated = postmortems.update_entry(
        writer,
        pm.id,
        stop_entry.id,
        EntryIn(at=stop_entry.at, kind="line_stop", title=stop_entry.title, note="cord at st. 3"),
    )
    assert (annotated.note, annotated.source) == ("cord at st. 3", "record")
    first_move = edited.timeline[0]
    postmortems.remove_entry(writer, pm.id, first_move.id)

    postmortems.submit_postmortem(writer, pm.id)
    with pytest.raises(Conflict, match="under review"):
        postmortems.add_entry(writer, pm.id, EntryIn(at=minutes_after_monday(26), title="x"))
    postmortems.return_postmortem(reviewer, pm.id, reason="Say where the bin is")
    postmortems.submit_postmortem(writer, pm.id)
    with pytest.raises(PermissionDenied, match="another person reviews it"):
        postmortems.publish_postmortem(writer, pm.id)
    published = postmortems.publish_postmortem(reviewer, pm.id)

    assert (published.status, published.published_by) == ("published", "quinn")
    follow_up, _ = open_action(
        writer,
        ActionCreate.model_validate(
            {
                "title": "Kanban card for M8 bolts",
                "owner_user": "wanda",
                "due_on": "2026-12-01",
                "links": [{"kind": "postmortem", "ref": str(pm.id)}],
            }
        ),
    )
    assert postmortems.get_postmortem(operator, pm.id).follow_ups == [follow_up.id]
    assert postmortems.get_postmortem(operator, pm.id).timeline[1].title == "Bin found empty"
    with pytest.raises(Conflict):
        postmortems.update_postmortem(
            writer, pm.id, PostmortemUpdate(version=published.version, title="Changed")
        )
    with pytest.raises(Conflict):
        postmortems.add_entry(writer, pm.id, EntryIn(at=minutes_after_monday(26), title="Late"))


def test_search_finds_published_postmortems_only(system: Context) -> None:
    writer = system.as_actor(actor_for(make_user(system, "wanda", Role.SUPERVISOR)))
    reviewer = system.as_actor(actor_for(make_user(system, "quinn", Role.QUALITY)))
    window = {"started_at": minutes_after_monday(0), "ended_at": minutes_after_monday(60)}
    shown = postmortems.create_postmortem(
        writer, PostmortemCreate(title="Hydraulic leak on the press", **window)
    )
    postmortems.update_postmortem(
        writer,
        shown.id,
        PostmortemUpdate(version=shown.version, what_happened="Seal wore out; fluid pooled."),
    )
    postmortems.submit_postmortem(writer, shown.id)
    postmortems.publish_postmortem(reviewer, shown.id)
    draft = postmortems.create_postmortem(
        writer, PostmortemCreate(title="Hydraulic hose burst", **window)
    )

    hits = postmortems.search_postmortems(writer, "hydraulic")
    assert [h.id for h in hits] == [shown.id]
    assert [h.id for h in postmortems.search_postmortems(writer, "seal flu")] == [shown.id]
    assert draft.id not in [h.id for h in postmortems.search_postmortems(writer, "hose")]
