"""/api/v1/actions on both databases: open, list with filters, change, comment, close, and
the refusals (403, 404, 409, 422 with the field) that write nothing."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.actions.models import ActionComment, ActionItem
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer

FAR = (date.today() + timedelta(days=30)).isoformat()
PAST = (date.today() - timedelta(days=3)).isoformat()


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(ActionItem)) or 0,
            session.scalar(select(func.count()).select_from(ActionComment)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def _open(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    payload: dict[str, object] = {"title": "Fix the jig", "owner_user": "sue", "due_on": FAR}
    payload.update(body)
    response = client.post("/api/v1/actions", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    found: dict[str, object] = response.json()
    return found


def test_open_list_update_comment_and_close(client: TestClient, system: Context) -> None:
    sue = bearer(system, "sue", Role.SUPERVISOR)
    op = bearer(system, "op", Role.OPERATOR)
    action = _open(client, op, links=[{"kind": "document", "ref": "SOP-ASM-001"}], priority="high")
    assert action["created_by"] == "op"
    assert action["links"] == [{"kind": "document", "ref": "SOP-ASM-001"}]
    mine = client.get("/api/v1/actions", params={"mine": "true"}, headers=sue).json()
    assert [a["id"] for a in mine] == [action["id"]]
    by_link = client.get(
        "/api/v1/actions", params={"link": "document:SOP-ASM-001"}, headers=op
    ).json()
    assert [a["id"] for a in by_link] == [action["id"]]
    patched = client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"version": action["version"], "status": "in_progress", "due_on": PAST},
        headers=sue,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "in_progress"
    overdue = client.get("/api/v1/actions", params={"overdue": "true"}, headers=op).json()
    assert [a["id"] for a in overdue] == [action["id"]]
    comment = client.post(
        f"/api/v1/actions/{action['id']}/comments", json={"body": "Parts ordered"}, headers=sue
    )
    assert comment.status_code == 201
    assert comment.json()["author"] == "sue"
    closed = client.post(
        f"/api/v1/actions/{action['id']}/close", json={"note": "Jig fixed"}, headers=sue
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "done"
    detail = client.get(f"/api/v1/actions/{action['id']}", headers=op).json()
    assert [c["body"] for c in detail["comments"]] == ["Parts ordered"]
    assert detail["close_note"] == "Jig fixed"


def test_open_refuses_two_owners_with_the_field_and_writes_nothing(
    client: TestClient, system: Context, db: Database
) -> None:
    op = bearer(system, "op", Role.OPERATOR)
    before = _counts(db)
    response = client.post(
        "/api/v1/actions",
        json={"title": "T", "owner_user": "op", "owner_role": "quality", "due_on": FAR},
        headers=op,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["body", "owner_user"]
    bad_kind = client.post(
        "/api/v1/actions",
        json={
            "title": "T",
            "owner_role": "quality",
            "due_on": FAR,
            "links": [{"kind": "widget", "ref": "1"}],
        },
        headers=op,
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["errors"][0]["loc"][:2] == ["body", "links"]
    assert _counts(db) == before


def test_a_bad_link_filter_names_the_query_field(client: TestClient, system: Context) -> None:
    op = bearer(system, "op", Role.OPERATOR)
    response = client.get("/api/v1/actions", params={"link": "widget:1"}, headers=op)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "link"]


def test_refusals_write_nothing(client: TestClient, system: Context, db: Database) -> None:
    viewer = bearer(system, "vic", Role.VIEWER)
    op = bearer(system, "op", Role.OPERATOR)
    bearer(system, "sue", Role.SUPERVISOR)
    action = _open(client, op)
    before = _counts(db)
    assert (
        client.post(
            "/api/v1/actions",
            json={"title": "T", "owner_role": "quality", "due_on": FAR},
            headers=viewer,
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/actions/{action['id']}/close", json={"note": "not mine"}, headers=op
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/actions/{action['id']}/cancel", json={"note": "no"}, headers=op
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/actions/{action['id']}/comments", json={"body": "hi"}, headers=viewer
        ).status_code
        == 403
    )
    missing_note = client.post(
        f"/api/v1/actions/{action['id']}/close", json={"note": " "}, headers=op
    )
    assert missing_note.status_code == 422
    assert missing_note.json()["errors"][0]["loc"] == ["body", "note"]
    assert client.get("/api/v1/actions/999", headers=op).status_code == 404
    assert _counts(db) == before


def test_a_stale_patch_is_a_conflict(client: TestClient, system: Context, db: Database) -> None:
    sue = bearer(system, "sue", Role.SUPERVISOR)
    action = _open(client, sue)
    url = f"/api/v1/actions/{action['id']}"
    assert (
        client.patch(url, json={"version": 1, "priority": "urgent"}, headers=sue).status_code == 200
    )
    before = _counts(db)
    stale = client.patch(url, json={"version": 1, "priority": "low"}, headers=sue)
    assert stale.status_code == 409
    assert _counts(db) == before
    assert client.get(url, headers=sue).json()["priority"] == "urgent"
