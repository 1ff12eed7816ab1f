"""`andon review` and /api/v1/reviews on both databases: the fixed contract of `review pack`
(JSON, PDF, HTML, a bad week), the meeting commands, and the endpoints with their refusals."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader

from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.reviews import service
from tests.factories import bearer
from tests.integration.review_plant import WEEK, review_plant
from tests.integration.test_cli import andon
from tests.integration.test_reviews_service import counts

FAR = (date.today() + timedelta(days=14)).isoformat()


# --- CLI ----------------------------------------------------------------------------------------


def test_review_pack_json_prints_the_packs_data(db: Database, system: Context) -> None:
    review_plant(system)
    result = andon(db.url, "review", "pack", "--week", WEEK, "--json")
    assert result.exit_code == 0, result.stderr
    pack = json.loads(result.stdout)
    assert pack["week"] == WEEK
    assert [g["sqdc"] for g in pack["groups"]] == ["safety", "quality", "cost"]
    (near,) = pack["groups"][0]["metrics"]
    (series,) = near["series"]
    assert (near["key"], series["value"], series["on_target"]) == ("near_misses", 9.0, False)
    assert [s["rules"] for s in series["signals"]] == [["WE1"]]
    assert [c["level"] for c in series["crossings"]] == ["warning"]
    assert "chart_data" not in near


def test_review_pack_writes_the_pdf_and_the_html(
    db: Database, system: Context, tmp_path: Path
) -> None:
    review_plant(system)
    pdf, html = tmp_path / "pack.pdf", tmp_path / "pack.html"
    result = andon(db.url, "review", "pack", "--week", WEEK, "-o", str(pdf), "--html", str(html))
    assert result.exit_code == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Near misses" in text
    assert "Scrap cost" in text
    page = html.read_text(encoding="utf-8")
    assert "Weekly review 2026-W47" in page
    assert "<svg" in page


def test_review_pack_prints_a_summary(db: Database, system: Context) -> None:
    review_plant(system)
    result = andon(db.url, "review", "pack", "--week", WEEK)
    assert result.exit_code == 0, result.stderr
    assert "near_misses: whole 9; target 2; 1 signal(s), 1 crossing(s)" in result.stdout


def test_review_pack_refuses_a_bad_week(db: Database, system: Context) -> None:
    for bad in ("2026-W99", "W47"):
        result = andon(db.url, "review", "pack", "--week", bad, "--json")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.startswith("error: week:")


def test_meeting_commands_record_the_review(db: Database, system: Context) -> None:
    review_plant(system)
    opened = andon(db.url, "review", "meeting", "open", "--week", WEEK, "--chair", "sue")
    assert opened.exit_code == 0, opened.stderr
    assert opened.stdout.startswith("opened 2026-W47 (open, chair sue)")
    attend = andon(
        db.url, "review", "meeting", "attend", "--week", WEEK, "--user", "qe", "--guest", "Jo"
    )
    assert "qe, Jo (guest)" in attend.stdout
    decided = andon(
        db.url,
        "review", "meeting", "decide", "--week", WEEK,
        "--metric", "near_misses", "--text", "Walk line 2",
    )  # fmt: skip
    assert decided.exit_code == 0, decided.stderr
    acted = andon(
        db.url,
        "review", "meeting", "action", "--week", WEEK, "--title", "Walk line 2",
        "--owner", "qe", "--due", FAR, "--metric", "near_misses", "--json",
    )  # fmt: skip
    assert acted.exit_code == 0, acted.stderr
    links = {(x["kind"], x["ref"]) for x in json.loads(acted.stdout)["links"]}
    assert links == {("review", WEEK), ("metric", "near_misses")}
    closed = andon(db.url, "review", "meeting", "close", "--week", WEEK, "--notes", "ok")
    assert closed.stdout.startswith("closed 2026-W47 (closed, chair sue)")
    shown = json.loads(andon(db.url, "review", "meeting", "show", "--week", WEEK, "--json").stdout)
    assert [d["text"] for d in shown["decisions"]] == ["Walk line 2"]
    refused = andon(db.url, "review", "meeting", "decide", "--week", WEEK, "--text", "late")
    assert refused.exit_code == 1
    assert "closed" in refused.stderr


def test_meeting_command_without_a_meeting_fails(db: Database, system: Context) -> None:
    result = andon(db.url, "review", "meeting", "decide", "--week", WEEK, "--text", "x")
    assert result.exit_code == 1
    assert result.stderr == "error: no review of 2026-W47\n"


# --- API ----------------------------------------------------------------------------------------


def test_api_pack_as_json_html_and_pdf(client: TestClient, system: Context) -> None:
    review_plant(system)
    headers = bearer(system, "viewer1", Role.VIEWER)
    pack = client.get(f"/api/v1/reviews/{WEEK}/pack", headers=headers)
    assert pack.status_code == 200, pack.text
    near = pack.json()["groups"][0]["metrics"][0]
    assert (near["key"], near["series"][0]["value"]) == ("near_misses", 9.0)
    html = client.get(f"/api/v1/reviews/{WEEK}/pack.html", headers=headers)
    assert html.headers["content-type"].startswith("text/html")
    assert "Defect share" in html.text
    pdf = client.get(f"/api/v1/reviews/{WEEK}/pack.pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    bad = client.get("/api/v1/reviews/2026-W99/pack", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][-1] == "week"


def test_api_meeting_flow(client: TestClient, system: Context) -> None:
    review_plant(system)
    headers = bearer(system, "chair", Role.QUALITY)
    opened = client.post(f"/api/v1/reviews/{WEEK}/meeting", json={}, headers=headers)
    assert opened.status_code == 201, opened.text
    meeting = opened.json()
    again = client.post(f"/api/v1/reviews/{WEEK}/meeting", json={}, headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, meeting["id"])
    base = f"/api/v1/reviews/meetings/{meeting['id']}"
    attended = client.put(
        f"{base}/attendance",
        json={"users": ["sue"], "guests": ["Jo"], "version": meeting["version"]},
        headers=headers,
    )
    assert attended.json()["attendees"] == [
        {"user": "sue", "guest": None},
        {"user": None, "guest": "Jo"},
    ]
    decided = client.post(
        f"{base}/decisions", json={"text": "Keep", "metric_key": "scrap_cost"}, headers=headers
    )
    assert decided.status_code == 201
    action = client.post(
        f"{base}/actions",
        json={"title": "Check scrap bins", "owner_role": "quality", "due_on": FAR},
        headers=headers,
    )
    assert action.status_code == 201, action.text
    assert action.json()["links"] == [{"kind": "review", "ref": WEEK}]
    closed = client.post(f"{base}/close", json={"notes": "done"}, headers=headers)
    assert closed.json()["status"] == "closed"
    got = client.get(f"/api/v1/reviews/{WEEK}/meeting", headers=headers).json()
    assert [d["text"] for d in got["decisions"]] == ["Keep"]
    listed = client.get("/api/v1/reviews", headers=headers).json()
    assert [m["week"] for m in listed] == [WEEK]


def test_api_refusals_write_nothing(client: TestClient, system: Context) -> None:
    review_plant(system)
    meeting, _ = service.open_meeting(system, WEEK)
    operator = bearer(system, "op", Role.OPERATOR)
    chair = bearer(system, "chair", Role.SUPERVISOR)
    before = counts(system)
    base = f"/api/v1/reviews/meetings/{meeting.id}"
    assert (
        client.post("/api/v1/reviews/2026-W40/meeting", json={}, headers=operator).status_code
        == 403
    )
    assert client.post(f"{base}/decisions", json={"text": "x"}, headers=operator).status_code == 403
    bad = client.post(f"{base}/decisions", json={"text": " "}, headers=chair)
    assert bad.status_code == 422
    stale = client.put(f"{base}/attendance", json={"users": [], "version": 99}, headers=chair)
    assert stale.status_code == 409
    ghost = client.post(
        f"{base}/actions", json={"title": "x", "owner_user": "ghost", "due_on": FAR}, headers=chair
    )
    assert ghost.status_code == 422
    assert ghost.json()["errors"][0]["loc"][-1] == "owner_user"
    assert client.get("/api/v1/reviews/2026-W40/meeting", headers=chair).status_code == 404
    assert counts(system) == before
