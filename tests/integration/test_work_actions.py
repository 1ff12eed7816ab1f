"""What a person may do with a work item, from the service, the API, the CLI and the page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from andon.accounts.models import User
from andon.accounts.service import actor_for
from andon.core.database import Database
from andon.core.errors import Conflict, NotFound, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate
from andon.work import checks, items, line_stops, queries
from andon.work.models import WorkItem
from andon.work.schemas import ChecklistRecord, CheckResultIn, ItemMove
from tests.factories import Floor, make_floor, make_token, make_user, new_item
from tests.integration.test_cli import andon
from tests.integration.test_web_pages import sign_in


@pytest.fixture
def floor(system: Context) -> Floor:
    # Around the clock, so badges do not depend on when the tests run.
    return make_floor(system, shifts=False)


def as_user(system: Context, username: str) -> Context:
    with system.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return Context(system.db, actor_for(user))


def at_inspect(system: Context, floor: Floor) -> WorkItem:
    item = new_item(system, floor)
    for stage in ("plan", "kit", "assemble", "inspect"):
        item = items.move_item(system, item.id, ItemMove(to=stage, version=item.version))
    return item


def checklist(*, torque: float) -> ChecklistRecord:
    return ChecklistRecord(
        results=[
            CheckResultIn(key="visual", passed=True),
            CheckResultIn(key="torque", passed=True, value=torque),
            CheckResultIn(key="leak", passed=True),
        ]
    )


# -- the service ------------------------------------------------------------------------------


def test_inspector_sees_pack_held_by_the_checklist_gate(system: Context, floor: Floor) -> None:
    make_user(system, "quinn", Role.QUALITY)
    item = at_inspect(system, floor)

    actions = queries.read_item_actions(as_user(system, "quinn"), item.id)

    moves = {m.to: (m.gated, m.gate_passed, m.missing_checks) for m in actions.moves}
    assert moves == {
        "pack": (True, False, ("visual", "torque", "leak")),
        "rework": (False, True, ()),
    }
    assert (actions.version, actions.can_record_checklist) == (item.version, True)


def test_a_passing_checklist_opens_the_gate_the_move_then_passes(
    system: Context, floor: Floor
) -> None:
    make_user(system, "quinn", Role.QUALITY)
    quinn = as_user(system, "quinn")
    item = at_inspect(system, floor)
    checks.record_checklist(quinn, item.id, checklist(torque=11.0))

    pack = next(m for m in queries.read_item_actions(quinn, item.id).moves if m.to == "pack")
    moved = items.move_item(quinn, item.id, ItemMove(to="pack", version=item.version))

    assert (pack.gate_passed, pack.missing_checks) == (True, ())
    assert moved.stage == "pack"


def test_the_gate_answer_matches_the_move_refusal(system: Context, floor: Floor) -> None:
    make_user(system, "quinn", Role.QUALITY)
    quinn = as_user(system, "quinn")
    item = at_inspect(system, floor)

    pack = next(m for m in queries.read_item_actions(quinn, item.id).moves if m.to == "pack")
    with pytest.raises(Conflict, match="checklist has not passed"):
        items.move_item(quinn, item.id, ItemMove(to="pack", version=item.version))

    assert pack.gate_passed is False


def test_a_stopped_line_holds_every_move_and_names_the_stop(system: Context, floor: Floor) -> None:
    item = new_item(system, floor)
    stop = line_stops.pull_cord(system, floor.line.id, "guard door open")

    actions = queries.read_item_actions(system, item.id)

    assert (actions.may_move, actions.can_move, actions.moves) == (True, False, ())
    assert actions.line_stop is not None
    assert (actions.line_stop.id, actions.line_stop.reason) == (stop.id, "guard door open")


def test_a_finished_item_has_no_moves_and_no_line_stop(system: Context, floor: Floor) -> None:
    item = at_inspect(system, floor)
    checks.record_checklist(system, item.id, checklist(torque=11.0))
    for stage in ("pack", "ship"):
        item = items.move_item(system, item.id, ItemMove(to=stage, version=item.version))
    line_stops.pull_cord(system, floor.line.id, "smoke")

    actions = queries.read_item_actions(system, item.id)

    assert (actions.status, actions.moves, actions.line_stop) == ("done", (), None)
    assert actions.countdown.text == "finished"


def test_actions_need_the_right_to_read_the_item(system: Context, floor: Floor) -> None:
    paint = plant.create_area(system, AreaCreate(site_id=floor.site.id, name="Paint", code="PNT"))
    make_user(system, "ozzy", Role.OPERATOR, site_id=floor.site.id, area_id=paint.id)
    item = new_item(system, floor)

    with pytest.raises(PermissionDenied):
        queries.read_item_actions(as_user(system, "ozzy"), item.id)


def test_actions_of_an_unknown_item_are_not_found(system: Context, floor: Floor) -> None:
    with pytest.raises(NotFound):
        queries.read_item_actions(system, 999)


# -- the API and the CLI give the same answer ------------------------------------------------


def test_api_and_cli_give_an_operator_the_same_actions(
    client: TestClient, db: Database, system: Context, floor: Floor
) -> None:
    olive = make_user(system, "olive", Role.OPERATOR)
    item = at_inspect(system, floor)
    headers = {"Authorization": f"Bearer {make_token(system, olive)}"}

    api = client.get(f"/api/v1/work-items/{item.id}/actions", headers=headers)
    cli = andon(db.url, "item", "actions", str(item.id), "--user", "olive", "--json")

    assert api.status_code == 200
    assert cli.exit_code == 0, cli.stderr
    body: dict[str, Any] = api.json()
    assert json.loads(cli.stdout) == body
    # Inspect is quality's stage: an operator may not move it, but may take and record.
    assert body["moves"] == []
    assert (body["may_move"], body["can_take"], body["can_assign"]) == (True, True, False)
    assert body["countdown"]["css"] == "sla-ok"


def test_api_lists_the_missing_checks_of_a_gated_move(
    client: TestClient, system: Context, floor: Floor
) -> None:
    quinn = make_user(system, "quinn", Role.QUALITY)
    item = at_inspect(system, floor)
    headers = {"Authorization": f"Bearer {make_token(system, quinn)}"}

    body = client.get(f"/api/v1/work-items/{item.id}/actions", headers=headers).json()

    assert body["moves"][0] == {
        "to": "pack",
        "name": "Pack",
        "rework": False,
        "gated": True,
        "gate_passed": False,
        "missing_checks": ["visual", "torque", "leak"],
    }


def test_openapi_describes_the_actions_response(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()

    get = schema["paths"]["/api/v1/work-items/{id}/actions"]["get"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ItemActionsOut"
    fields = schema["components"]["schemas"]["ItemActionsOut"]["properties"]
    assert {"moves", "can_move", "line_stop", "countdown"} <= fields.keys()


def test_cli_says_what_the_operator_may_do_in_words(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor)
    line_stops.pull_cord(system, floor.line.id, "guard door open")

    shown = andon(db.url, "item", "actions", str(item.id))

    assert shown.exit_code == 0, shown.stderr
    rows = dict(line.strip().split("  ", 1) for line in shown.stdout.splitlines()[1:])
    assert rows["Moves"].strip() == "none"
    assert rows["Line"].strip().startswith("stopped since 2")
    assert rows["Line"].strip().endswith(": guard door open")


def test_cli_refuses_an_unknown_user(db: Database, system: Context, floor: Floor) -> None:
    item = new_item(system, floor)

    shown = andon(db.url, "item", "actions", str(item.id), "--user", "nobody")

    assert shown.exit_code != 0
    assert "no user named 'nobody'" in shown.stderr


# -- the page offers what the API says -------------------------------------------------------


def test_the_item_page_offers_the_moves_the_api_lists(
    client: TestClient, system: Context, floor: Floor
) -> None:
    quinn = make_user(system, "quinn", Role.QUALITY)
    item = at_inspect(system, floor)
    headers = {"Authorization": f"Bearer {make_token(system, quinn)}"}
    body = client.get(f"/api/v1/work-items/{item.id}/actions", headers=headers).json()
    sign_in(client, "quinn")

    page = client.get(f"/work/{item.id}").text

    offered = {m["to"] for m in body["moves"]}
    assert offered == {"pack", "rework"}
    for target in offered:
        assert f'name="to" value="{target}"' in page
    assert "Needs a passing Inspect checklist first." in page
