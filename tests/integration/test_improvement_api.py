"""/api/v1/postmortems, /api/v1/timeline and /api/v1/decisions on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import line_stops
from tests.factories import bearer, make_floor, minutes_after_monday


def test_postmortem_from_a_line_stop_through_review_to_search(
    client: TestClient, system: Context
) -> None:
    floor = make_floor(system)
    stop = line_stops.pull_cord(system, floor.line.id, "press jammed", at=minutes_after_monday(5))
    for role, minutes in (("supervisor", 15), ("quality", 20)):
        line_stops.sign_off_restart(
            system, floor.line.id, "cleared", as_role=role, at=minutes_after_monday(minutes)
        )
    writer = bearer(system, "wanda", Role.OPS_MANAGER)
    reviewer = bearer(system, "quinn", Role.QUALITY)

    created = client.post(
        "/api/v1/postmortems",
        json={"title": "Press jam", "kind": "line_stop", "line_stop_id": stop.id},
        headers=writer,
    )
    assert created.status_code == 201, created.text
    pm = created.json()
    assert [e["kind"] for e in pm["timeline"]] == ["line_stop"] + ["line_restart"] * 3
    window = client.get(
        "/api/v1/timeline",
        params={
            "from": "2026-11-23T13:00:00Z",
            "to": "2026-11-23T14:00:00Z",
            "line": floor.line.id,
        },
        headers=reviewer,
    ).json()
    assert [e["title"] for e in window["entries"]] == [e["title"] for e in pm["timeline"]]
    dangling = client.patch(
        f"/api/v1/postmortems/{pm['id']}",
        json={"version": pm["version"], "rca_id": 77},
        headers=writer,
    )
    assert dangling.status_code == 422
    assert dangling.json()["errors"][0]["loc"] == ["body", "rca_id"]
    untitled = client.patch(
        f"/api/v1/postmortems/{pm['id']}",
        json={"version": pm["version"], "title": None},
        headers=writer,
    )
    assert untitled.status_code == 422
    assert untitled.json()["errors"][0]["loc"] == ["body", "title"]
    edited = client.patch(
        f"/api/v1/postmortems/{pm['id']}",
        json={"version": pm["version"], "what_happened": "Wanda should have cleared the die."},
        headers=writer,
    ).json()
    assert [p["phrase"] for p in edited["prompts"]] == ["Wanda", "should have"]
    unsaved = client.post(
        "/api/v1/postmortems/prompts", json={"texts": {"why": "Human error."}}, headers=writer
    ).json()
    assert [(p["field"], p["phrase"]) for p in unsaved] == [("why", "Human error")]
    assert client.post(f"/api/v1/postmortems/{pm['id']}/submit", json={}, headers=writer).is_success
    own = client.post(f"/api/v1/postmortems/{pm['id']}/publish", json={}, headers=writer)
    assert own.status_code == 403
    published = client.post(f"/api/v1/postmortems/{pm['id']}/publish", json={}, headers=reviewer)
    assert published.json()["status"] == "published"
    again = client.patch(
        f"/api/v1/postmortems/{pm['id']}",
        json={"version": published.json()["version"], "title": "x"},
        headers=writer,
    )
    assert again.status_code == 409
    hits = client.get("/api/v1/postmortems/search", params={"q": "die"}, headers=reviewer).json()
    assert [h["id"] for h in hits] == [pm["id"]]


def test_decision_recorded_refused_when_dangling_then_reopened(
    client: TestClient, system: Context
) -> None:
    make_floor(system)
    manager = bearer(system, "mo", Role.OPS_MANAGER)
    body = {
        "title": "Kanban for fasteners",
        "decision": "Two-bin kanban for M8 bolts at every station.",
        "decides": ["role:ops_manager"],
        "decided_on": "2026-11-02",
        "revisit_on": "2026-11-20",
        "process_versions": ["assembly/1"],
    }
    dangling = client.post(
        "/api/v1/decisions", json={**body, "document_revisions": ["SOP-X/1"]}, headers=manager
    )
    assert dangling.status_code == 422
    assert dangling.json()["errors"][0]["loc"] == ["body", "document_revisions", 0]
    first = client.post("/api/v1/decisions", json=body, headers=manager).json()
    due = client.get("/api/v1/decisions/due", headers=manager).json()
    assert [d["id"] for d in due] == [first["id"]]

    reopened = client.post(
        f"/api/v1/decisions/{first['id']}/reopen",
        json={"reason": "Bins ran empty"},
        headers=manager,
    )

    assert reopened.status_code == 201, reopened.text
    assert [c["status"] for c in reopened.json()["chain"]] == ["superseded", "reopened"]
    viewer = bearer(system, "vic", Role.VIEWER)
    refused = client.post("/api/v1/decisions", json=body, headers=viewer)
    assert refused.status_code == 403
