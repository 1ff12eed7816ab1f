"""Work items over the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import items
from andon.work.models import WorkItem
from andon.work.schemas import ItemMove
from tests.factories import Floor, bearer, make_floor, new_item

FIELDS = {"customer": "Globex", "order_ref": "SO-12345"}


@pytest.fixture
def floor(system: Context) -> Floor:
    # Around the clock, so due times do not depend on when the tests run.
    return make_floor(system, shifts=False)


@pytest.fixture
def lead(system: Context) -> dict[str, str]:
    return bearer(system, "sue", Role.SUPERVISOR)


def walk(system: Context, item: WorkItem, *stages: str) -> WorkItem:
    for stage in stages:
        item = items.move_item(system, item.id, ItemMove(to=stage, version=item.version))
    return item


def test_opening_an_item_starts_its_stage_clock(
    client: TestClient, floor: Floor, lead: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/work-items",
        json={"process": "assembly", "line_id": floor.line.id, "title": "Pump", "fields": FIELDS},
        headers=lead,
    )

    assert response.status_code == 201
    item = response.json()
    assert (item["stage"], item["status"]) == ("intake", "open")
    created = datetime.fromisoformat(item["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert datetime.fromisoformat(item["stage_due_at"]) - created == timedelta(hours=2)


def test_intake_errors_name_each_field(
    client: TestClient, floor: Floor, lead: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/work-items",
        json={"process": "assembly", "line_id": floor.line.id, "fields": {"order_ref": "1"}},
        headers=lead,
    )

    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert locs == {("body", "fields", "customer"), ("body", "fields", "order_ref")}


def test_reading_an_item_lists_where_it_may_move(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    body = client.get(f"/api/v1/work-items/{item.id}", headers=lead).json()

    assert body["allowed_moves"] == ["plan"]
    assert (body["process_key"], body["process_version"]) == ("assembly", 1)


def test_reading_an_item_or_moving_it_costs_a_fixed_number_of_statements(
    client: TestClient, system: Context, db: Database, floor: Floor, lead: dict[str, str]
) -> None:
    # Integrations poll and move items all day: neither may grow with the item's history.
    item = walk(system, new_item(system, floor), "plan", "kit")
    client.get(f"/api/v1/work-items/{item.id}", headers=lead)  # the token is now cached
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith(("BEGIN", "COMMIT")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)

    client.get(f"/api/v1/work-items/{item.id}", headers=lead)
    assert len(statements) == 1  # the item with its line, site, process and calendar
    statements.clear()
    response = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "assemble", "version": item.version},
        headers=lead,
    )
    assert response.status_code == 200
    # The load, the SOP of the stage left (Kit) in force and whether the mover read it, the
    # pending tiers replaced, the events, the item, then the audit entry: on PostgreSQL one
    # statement, sent with the COMMIT; on SQLite the chain's head and an INSERT.
    expected = 8 if db.sqlite else 7
    assert len(statements) == expected


def test_a_move_along_the_map_succeeds(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    response = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "plan", "version": item.version},
        headers=lead,
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "plan"
    assert response.json()["version"] > item.version


def test_a_move_off_the_map_is_409_with_the_allowed_stages(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    response = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "pack", "version": item.version},
        headers=lead,
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["allowed"] == ["plan"]
    assert problem["errors"][0]["loc"] == ["body", "to"]
    assert client.get(f"/api/v1/work-items/{item.id}", headers=lead).json()["stage"] == "intake"


def test_a_stale_version_is_409_and_moves_nothing(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    created = new_item(system, floor)
    item = walk(system, created, "plan")

    response = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "kit", "version": created.version},
        headers=lead,
    )

    assert response.status_code == 409
    assert f"version {item.version}" in response.json()["detail"]
    assert "allowed" not in response.json()
    assert client.get(f"/api/v1/work-items/{item.id}", headers=lead).json()["stage"] == "plan"


def test_an_operator_may_not_move_out_of_a_supervisor_stage(
    client: TestClient, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor)
    auth = bearer(system, "otto", Role.OPERATOR)

    response = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "plan", "version": item.version},
        headers=auth,
    )

    assert response.status_code == 403
    assert response.json()["title"] == "Forbidden"


def test_a_viewer_reads_but_changes_nothing(
    client: TestClient, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor)
    auth = bearer(system, "vic", Role.VIEWER)

    read = client.get(f"/api/v1/work-items/{item.id}", headers=auth)
    listed = client.get("/api/v1/work-items", headers=auth)
    opened = client.post(
        "/api/v1/work-items",
        json={"process": "assembly", "line_id": floor.line.id, "fields": FIELDS},
        headers=auth,
    )
    commented = client.post(
        f"/api/v1/work-items/{item.id}/comments", json={"body": "hi"}, headers=auth
    )

    assert (read.status_code, listed.status_code) == (200, 200)
    assert (opened.status_code, commented.status_code) == (403, 403)
    assert len(listed.json()["items"]) == 1


def test_the_clock_explains_itself(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    clock = client.get(f"/api/v1/work-items/{item.id}/clock", headers=lead).json()

    assert clock["stage"]["target_seconds"] == 7200
    assert clock["process"]["target_seconds"] == 40 * 3600
    assert clock["stage"]["breached"] is False
    assert clock["explanation"].startswith("This stage: Due ")
    assert "End to end: Due " in clock["explanation"]


def test_a_failed_checklist_sends_the_item_to_rework(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = walk(system, new_item(system, floor), "plan", "kit", "assemble", "inspect")
    auth = bearer(system, "quinn", Role.QUALITY)

    response = client.post(
        f"/api/v1/work-items/{item.id}/checklist",
        json={
            "results": [
                {"key": "visual", "passed": True},
                {"key": "torque", "passed": True, "value": 13.1},
                {"key": "leak", "passed": True},
            ]
        },
        headers=auth,
    )

    assert response.status_code == 201
    assert response.json()["passed"] is False
    after = client.get(f"/api/v1/work-items/{item.id}", headers=lead).json()
    assert (after["stage"], after["rework_count"]) == ("rework", 1)


def test_list_filters_and_pages_with_a_cursor(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    ids = [new_item(system, floor).id for _ in range(3)]
    walk(system, new_item(system, floor), "plan")

    first = client.get("/api/v1/work-items?stage=intake&limit=2", headers=lead).json()
    second = client.get(
        f"/api/v1/work-items?stage=intake&limit=2&cursor={first['next_cursor']}", headers=lead
    ).json()

    assert [i["id"] for i in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
    planned = client.get("/api/v1/work-items?stage=plan&status=all", headers=lead).json()
    assert [i["stage"] for i in planned["items"]] == ["plan"]


def test_due_lists_items_falling_due_within_the_window(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)  # intake SLA: 2 h, 24/7 calendar

    soon = client.get("/api/v1/work-items/due?within=3h", headers=lead).json()
    later = client.get("/api/v1/work-items/due?within=1h", headers=lead).json()
    bad = client.get("/api/v1/work-items/due?within=soon", headers=lead)

    assert [i["id"] for i in soon] == [item.id]
    assert later == []
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "within"]


def test_pause_and_resume(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    paused = client.post(
        f"/api/v1/work-items/{item.id}/pause",
        json={"state": "waiting_parts", "version": item.version, "reason": "bolts"},
        headers=lead,
    ).json()
    unknown = client.post(
        f"/api/v1/work-items/{item.id}/pause",
        json={"state": "nap", "version": paused["version"]},
        headers=lead,
    )
    resumed = client.post(
        f"/api/v1/work-items/{item.id}/resume", json={"version": paused["version"]}, headers=lead
    ).json()

    assert (paused["status"], paused["pause_state"]) == ("paused", "waiting_parts")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "state"]
    assert resumed["status"] == "open"


def test_update_assign_and_comment(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)
    me = client.get("/api/v1/me", headers=lead).json()

    updated = client.patch(
        f"/api/v1/work-items/{item.id}",
        json={"version": item.version, "priority": "high"},
        headers=lead,
    ).json()
    assigned = client.post(
        f"/api/v1/work-items/{item.id}/assign",
        json={"assignee_id": me["id"], "version": updated["version"]},
        headers=lead,
    ).json()
    client.post(f"/api/v1/work-items/{item.id}/comments", json={"body": "on it"}, headers=lead)
    comments = client.get(f"/api/v1/work-items/{item.id}/comments", headers=lead).json()

    assert updated["priority"] == "high"
    assert assigned["assignee_id"] == me["id"]
    assert [(c["author"], c["body"]) for c in comments] == [("sue", "on it")]


def test_events_of_an_item_and_the_whole_log(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    first = walk(system, new_item(system, floor), "plan")
    new_item(system, floor)

    own = client.get(f"/api/v1/work-items/{first.id}/events", headers=lead).json()
    page = client.get("/api/v1/events?limit=3", headers=lead).json()
    rest = client.get(f"/api/v1/events?cursor={page['next_cursor']}", headers=lead).json()

    assert [e["kind"] for e in own] == ["created", "completed", "moved"]
    assert len(page["items"]) == 3
    assert len(page["items"] + rest["items"]) == 4
    assert rest["next_cursor"] is None


def test_a_supervisor_escalates_and_a_manager_acknowledges(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)
    manager = bearer(system, "omar", Role.OPS_MANAGER)

    sent = client.post(
        f"/api/v1/work-items/{item.id}/escalate",
        json={"tier": 2, "reason": "customer chasing"},
        headers=lead,
    )
    acked = client.post(
        f"/api/v1/escalations/{sent.json()['id']}/acknowledge",
        json={"note": "calling them"},
        headers=manager,
    )
    again = client.post(f"/api/v1/escalations/{sent.json()['id']}/acknowledge", headers=manager)
    too_high = client.post(
        f"/api/v1/work-items/{item.id}/escalate", json={"tier": 9, "reason": "x"}, headers=lead
    )

    assert (sent.status_code, sent.json()["status"], sent.json()["basis"]) == (
        201,
        "fired",
        "manual",
    )
    assert (acked.json()["status"], acked.json()["acknowledged_by"]) == ("acknowledged", "omar")
    assert again.status_code == 409
    assert too_high.json()["errors"][0]["loc"] == ["body", "tier"]
    listed = client.get(f"/api/v1/work-items/{item.id}/escalations", headers=lead).json()
    assert "acknowledged" in [e["status"] for e in listed]


def test_reroute_to_an_unknown_line_names_the_field(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    response = client.post(
        f"/api/v1/work-items/{item.id}/reroute",
        json={"line_id": 999, "version": item.version, "reason": "capacity"},
        headers=lead,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "line_id"]


def test_an_unknown_item_is_404(client: TestClient, floor: Floor, lead: dict[str, str]) -> None:
    assert client.get("/api/v1/work-items/999", headers=lead).status_code == 404
    assert client.get(f"/api/v1/work-items/{2**40}", headers=lead).status_code == 422
