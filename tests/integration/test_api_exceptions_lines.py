"""Exceptions, the andon board and stop-the-line over the JSON API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import SiteCreate
from tests.factories import Floor, bearer, make_floor, make_user, new_item


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system, shifts=False)


@pytest.fixture
def lead(system: Context) -> dict[str, str]:
    return bearer(system, "sue", Role.SUPERVISOR)


def raise_on_line(
    client: TestClient, auth: dict[str, str], floor: Floor, category: str, **extra: object
) -> dict[str, object]:
    response = client.post(
        "/api/v1/exceptions",
        json={"category": category, "description": "seen on the line", "line_id": floor.line.id}
        | extra,
        headers=auth,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_raised_exceptions_add_up_in_the_pareto(
    client: TestClient, system: Context, floor: Floor
) -> None:
    auth = bearer(system, "otto", Role.OPERATOR)
    for category in ["material", "quality", "material", "method", "material"]:
        raise_on_line(client, auth, floor, category)

    bars = client.get("/api/v1/exceptions/pareto?by=category", headers=auth).json()
    by_line = client.get("/api/v1/exceptions/pareto?by=line", headers=auth).json()

    assert [(b["key"], b["count"]) for b in bars] == [
        ("material", 3),
        ("method", 1),
        ("quality", 1),
    ]
    assert bars[0]["share"] == pytest.approx(0.6)
    assert bars[-1]["cumulative_share"] == pytest.approx(1.0)
    assert by_line == [{"key": "CHI/ASM/L1", "count": 5, "share": 1.0, "cumulative_share": 1.0}]


def test_pareto_window_needs_a_time_zone(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    raise_on_line(client, lead, floor, "material")

    future = client.get("/api/v1/exceptions/pareto?since=2999-01-01T00:00:00Z", headers=lead).json()
    naive = client.get("/api/v1/exceptions/pareto?since=2026-01-01T00:00:00", headers=lead)

    assert future == []
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["loc"] == ["query", "since"]


def test_an_unknown_category_lists_the_known_ones(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)

    response = client.post(
        "/api/v1/exceptions",
        json={"category": "aliens", "description": "x", "item_id": item.id},
        headers=lead,
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "category"]
    assert "material" in error["msg"]


def test_triage_then_resolve_and_a_stale_version_is_refused(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    raised = raise_on_line(client, lead, floor, "quality")
    path = f"/api/v1/exceptions/{raised['id']}"

    triaged = client.post(
        f"{path}/triage", json={"version": raised["version"], "severity": "high"}, headers=lead
    ).json()
    stale = client.post(
        f"{path}/resolve", json={"version": raised["version"], "resolution": "x"}, headers=lead
    )
    resolved = client.post(
        f"{path}/resolve",
        json={"version": triaged["version"], "resolution": "supplier swapped"},
        headers=lead,
    ).json()

    assert (triaged["status"], triaged["severity"]) == ("triaged", "high")
    assert stale.status_code == 409
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "sue")
    assert client.get(path, headers=lead).json()["resolution"] == "supplier swapped"


def test_an_operator_may_raise_but_not_triage(
    client: TestClient, system: Context, floor: Floor
) -> None:
    auth = bearer(system, "otto", Role.OPERATOR)
    raised = raise_on_line(client, auth, floor, "method")

    response = client.post(
        f"/api/v1/exceptions/{raised['id']}/triage",
        json={"version": raised["version"]},
        headers=auth,
    )

    assert response.status_code == 403


def test_exceptions_list_filters_by_status_newest_first(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    first = raise_on_line(client, lead, floor, "material")
    second = raise_on_line(client, lead, floor, "quality")
    client.post(
        f"/api/v1/exceptions/{first['id']}/resolve",
        json={"version": first["version"], "resolution": "done"},
        headers=lead,
    )

    open_ = client.get("/api/v1/exceptions?status=unresolved", headers=lead).json()
    every = client.get("/api/v1/exceptions?limit=1", headers=lead).json()

    assert [e["id"] for e in open_["items"]] == [second["id"]]
    assert [e["id"] for e in every["items"]] == [second["id"]]
    assert every["next_cursor"] is not None


def test_a_stopped_line_refuses_moves_until_two_people_sign_off(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    item = new_item(system, floor)
    operator = bearer(system, "otto", Role.OPERATOR)
    inspector = bearer(system, "quinn", Role.QUALITY)
    line = f"/api/v1/lines/{floor.line.id}"

    stopped = client.post(f"{line}/stop", json={"reason": "smoke from press"}, headers=operator)
    refused = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "plan", "version": item.version},
        headers=lead,
    )
    first = client.post(f"{line}/restart-signoff", json={"reason": "press checked"}, headers=lead)
    board_between = client.get("/api/v1/andon-board", headers=lead).json()
    second = client.post(
        f"{line}/restart-signoff", json={"reason": "parts checked"}, headers=inspector
    )
    moved = client.post(
        f"/api/v1/work-items/{item.id}/move",
        json={"to": "plan", "version": item.version},
        headers=lead,
    )

    assert stopped.status_code == 201
    assert refused.status_code == 409
    assert "stopped" in refused.json()["detail"]
    assert first.json()["supervisor_signoff_by"] == "sue"
    assert board_between[0]["status"] == "stopped"
    assert board_between[0]["stop"]["reason"] == "smoke from press"
    assert second.json()["restarted_at"] is not None
    assert client.get("/api/v1/andon-board", headers=lead).json()[0]["status"] == "running"
    assert moved.status_code == 200
    stops = client.get(f"{line}/stops", headers=lead).json()
    assert [s["quality_signoff_by"] for s in stops] == ["quinn"]


def test_stopping_a_stopped_line_is_a_conflict_and_viewers_cannot_stop(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    viewer = bearer(system, "vic", Role.VIEWER)
    line = f"/api/v1/lines/{floor.line.id}"

    refused = client.post(f"{line}/stop", json={"reason": "x"}, headers=viewer)
    client.post(f"{line}/stop", json={"reason": "x"}, headers=lead)
    again = client.post(f"{line}/stop", json={"reason": "x"}, headers=lead)

    assert (refused.status_code, again.status_code) == (403, 409)


def test_a_stop_rule_stops_the_line_on_a_severe_exception(
    client: TestClient, system: Context, floor: Floor
) -> None:
    safety = bearer(system, "sam", Role.SAFETY)
    line = f"/api/v1/lines/{floor.line.id}"

    rule = client.post(
        f"{line}/stop-rules",
        json={"name": "Safety first", "kind": "exception", "min_severity": "high"},
        headers=safety,
    )
    raise_on_line(client, safety, floor, "safety")

    assert rule.status_code == 201
    assert [r["name"] for r in client.get(f"{line}/stop-rules", headers=safety).json()] == [
        "Safety first"
    ]
    board = client.get("/api/v1/andon-board", headers=safety).json()
    assert (board[0]["status"], board[0]["stop"]["rule"]) == ("stopped", "Safety first")
    assert (
        client.delete(
            f"/api/v1/stop-rules/{rule.json()['id']}?reason=trial over", headers=safety
        ).status_code
        == 204
    )
    assert client.get(f"{line}/stop-rules", headers=safety).json() == []


def test_a_rule_without_its_threshold_names_the_field(
    client: TestClient, system: Context, floor: Floor
) -> None:
    auth = bearer(system, "ada", Role.ADMIN)

    response = client.post(
        f"/api/v1/lines/{floor.line.id}/stop-rules",
        json={"name": "Spike", "kind": "failed_checks"},
        headers=auth,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "count"]


def test_a_rule_with_a_count_but_no_window_names_the_window(
    client: TestClient, system: Context, floor: Floor
) -> None:
    auth = bearer(system, "ada", Role.ADMIN)

    response = client.post(
        f"/api/v1/lines/{floor.line.id}/stop-rules",
        json={"name": "Spike", "kind": "failed_checks", "count": 3},
        headers=auth,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "window_minutes"]


def test_following_a_line_and_letting_go(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    line = f"/api/v1/lines/{floor.line.id}"

    on = client.post(f"{line}/subscription", headers=lead).json()
    off = client.delete(f"{line}/subscription", headers=lead).json()
    unknown = client.post("/api/v1/lines/999/subscription", headers=lead)

    assert (on["subscribed"], off["subscribed"]) == (True, False)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/lines/9999/stops",
        "/api/v1/lines/9999/stop-rules",
        "/api/v1/work-items/9999/events",
        "/api/v1/work-items/9999/comments",
        "/api/v1/work-items/9999/escalations",
        "/api/v1/work-items/9999/attachments",
        "/api/v1/exceptions/9999/owner-candidates",
    ],
)
def test_listing_the_children_of_an_unknown_parent_is_404(
    client: TestClient, floor: Floor, lead: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=lead)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"].endswith("with id 9999")


def other_site(system: Context, floor: Floor) -> int:
    data = SiteCreate(
        enterprise_id=floor.site.enterprise_id, name="Dallas", code="DAL", timezone="UTC"
    )
    return plant.create_site(system, data).id


def test_stops_of_a_line_out_of_reach_are_forbidden(
    client: TestClient, system: Context, floor: Floor
) -> None:
    elsewhere = bearer(system, "ella", Role.SUPERVISOR, site_id=other_site(system, floor))

    response = client.get(f"/api/v1/lines/{floor.line.id}/stops", headers=elsewhere)

    assert response.status_code == 403


def test_owner_candidates_are_the_people_with_a_working_role_where_the_line_is(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    make_user(system, "quinn", Role.QUALITY, site_id=floor.site.id)
    make_user(system, "vic", Role.VIEWER, site_id=floor.site.id)
    make_user(system, "far", Role.QUALITY, site_id=other_site(system, floor))
    raised = raise_on_line(client, lead, floor, "material")

    response = client.get(f"/api/v1/exceptions/{raised['id']}/owner-candidates", headers=lead)

    assert response.status_code == 200
    assert [c["username"] for c in response.json()] == ["quinn", "sue"]


def test_triage_refuses_an_owner_with_no_role_where_the_line_is(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    far = make_user(system, "far", Role.QUALITY, site_id=other_site(system, floor))
    raised = raise_on_line(client, lead, floor, "material")

    response = client.post(
        f"/api/v1/exceptions/{raised['id']}/triage",
        json={"version": raised["version"], "owner_id": far.id},
        headers=lead,
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "owner_id"],
            "msg": "far has no working role where line L1 is",
            "type": "value_error",
        }
    ]
