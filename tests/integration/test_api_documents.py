"""The documents API on both databases: change control through HTTP, refusals as problem+json
with nothing written, the OpenAPI document, attachments."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.api.app import create_app
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents.models import DocumentAttachment, DocumentRevision, DocumentSignature
from tests.factories import PASSWORD, bearer, make_plant, make_user
from tests.integration.risk_plant import make_risk

TEXTS = dict(demo_document_texts())
CHANGES = dict(demo_change_texts())
LOTO = "SOP-SAF-001"
API = "/api/v1/documents"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PDF = b"%PDF-1.7\n" + b"1 0 obj\n<<>>\nendobj\n"


@dataclass
class People:
    author: dict[str, str]
    quality: dict[str, str]
    safety: dict[str, str]
    operator: dict[str, str]
    viewer: dict[str, str]


@pytest.fixture
def people(system: Context) -> People:
    _, site, area, _ = make_plant(system)
    make_user(system, "safety", Role.SAFETY)  # the owner the demo files name
    make_risk(system, "safety")  # RSK-1, which the demo's safety change links
    return People(
        author=bearer(system, "author", Role.QUALITY, Role.SAFETY),
        quality=bearer(system, "qe", Role.QUALITY),
        safety=bearer(system, "se", Role.SAFETY),
        operator=bearer(system, "op", Role.OPERATOR, site_id=site.id, area_id=area.id),
        viewer=bearer(system, "vw", Role.VIEWER),
    )


def counts(system: Context) -> tuple[int, int, int]:
    with system.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (DocumentSignature, DocumentRevision, DocumentAttachment)
        )


def import_text(client: TestClient, auth: dict[str, str], text: str) -> Any:
    return client.post(
        f"{API}/import", content=text.encode(), headers={**auth, "Content-Type": "text/markdown"}
    )


def effective_loto(client: TestClient, people: People) -> None:
    assert import_text(client, people.author, TEXTS[LOTO]).status_code == 201
    assert client.post(f"{API}/{LOTO}/submit", json={}, headers=people.author).status_code == 200
    approved = client.post(
        f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.quality
    )
    assert approved.json()["status"] == "effective"


def in_review_change(client: TestClient, people: People) -> None:
    effective_loto(client, people)
    assert import_text(client, people.author, CHANGES[LOTO]).json()["revision"] == 2
    assert client.post(f"{API}/{LOTO}/submit", json={}, headers=people.author).status_code == 200


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in [e["loc"][-1] for e in body["errors"]], body
    return body


# --- the whole flow ------------------------------------------------------------------------


def test_a_safety_change_takes_effect_with_two_approvals(
    client: TestClient, people: People
) -> None:
    effective_loto(client, people)
    draft = import_text(client, people.author, CHANGES[LOTO])
    assert draft.json() == {
        "number": LOTO,
        "revision": 2,
        "status": "draft",
        "effective_on": None,
        "waiting": None,
    }
    client.post(f"{API}/{LOTO}/submit", json={}, headers=people.author)

    first = client.post(
        f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.quality
    )
    shown = client.get(f"{API}/{LOTO}", headers=people.viewer).json()
    second = client.post(
        f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.safety
    )

    assert first.json()["status"] == "in_review"
    assert shown["revision"] == 1  # the first stays in force until the change is approved
    assert (second.json()["revision"], second.json()["status"]) == (2, "effective")
    now = client.get(f"{API}/{LOTO}", headers=people.viewer).json()
    assert [r["status"] for r in now["revisions"]] == ["superseded", "effective"]
    assert {(s["username"], s["role"], s["valid"]) for s in now["signatures"]} == {
        ("qe", "quality", True),
        ("se", "safety", True),
    }
    assert all(s["content_sha256"] == now["content_sha256"] for s in now["signatures"])
    ack = client.post(
        f"{API}/{LOTO}/acknowledge", json={"password": PASSWORD}, headers=people.operator
    )
    assert ack.status_code == 200
    redline = client.get(f"{API}/{LOTO}/diff?from=1&to=2", headers=people.viewer).json()
    assert redline["changed"] is True
    assert any(step["kind"] != "unchanged" for step in redline["steps"])
    exported = client.get(f"{API}/{LOTO}/markdown?revision=2", headers=people.viewer)
    assert exported.headers["content-type"].startswith("text/markdown")
    assert exported.text == CHANGES[LOTO]


def test_a_structured_document_is_created_and_its_draft_rewritten(
    client: TestClient, people: People
) -> None:
    body = {
        "type": "SOP",
        "title": "Torque check",
        "owner": "qe",
        "area": "ASM",
        "content": {
            "purpose": "Every joint holds.",
            "hazards": ["Pinch points"],
            "steps": [{"text": "Set the wrench to 12 Nm.", "critical": "quality"}],
        },
    }
    made = client.post(API, json=body, headers=people.author)
    number = made.json()["number"]
    shown = client.get(f"{API}/{number}", headers=people.viewer).json()
    body["content"]["steps"].append({"text": "Mark the bolt."})  # type: ignore[index]
    saved = client.put(
        f"{API}/{number}/draft", json={**body, "version": shown["version"]}, headers=people.author
    )
    again = client.get(f"{API}/{number}", headers=people.viewer).json()

    assert made.status_code == 201
    assert number == "SOP-ASM-001"
    assert shown["content"]["steps"] == [
        {"text": "Set the wrench to 12 Nm.", "critical": "quality"}
    ]
    assert saved.status_code == 200
    assert len(again["content"]["steps"]) == 2
    assert again["version"] > shown["version"]
    listed = client.get(f"{API}?area=ASM&status=draft", headers=people.viewer).json()
    assert [row["number"] for row in listed] == [number]


def test_a_json_import_and_search_find_the_effective_revision(
    client: TestClient, people: People
) -> None:
    made = client.post(f"{API}/import", json={"markdown": TEXTS[LOTO]}, headers=people.author)
    client.post(f"{API}/{LOTO}/submit", json={}, headers=people.author)
    client.post(f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.quality)

    hits = client.get(f"{API}/search?q=lockout", headers=people.viewer).json()

    assert made.status_code == 201
    assert [h["number"] for h in hits] == [LOTO]
    assert "[" in hits[0]["snippet"]


def test_revise_then_obsolete(client: TestClient, people: People) -> None:
    effective_loto(client, people)
    revised = client.post(
        f"{API}/{LOTO}/revise", json={"reason": "typo in step 2"}, headers=people.author
    )
    refused = client.post(f"{API}/{LOTO}/obsolete", json={"reason": "x"}, headers=people.author)
    assert revised.status_code == 201
    assert revised.json()["revision"] == 2
    assert_problem(refused, 409)  # a change in flight


def test_periodic_review_confirms(client: TestClient, people: People) -> None:
    effective_loto(client, people)
    done = client.post(
        f"{API}/{LOTO}/review",
        json={"password": PASSWORD, "outcome": "confirm"},
        headers=people.quality,
    )
    assert done.json()["status"] == "effective"
    assert client.get(f"{API}/{LOTO}", headers=people.viewer).json()["next_review_on"]


# --- refusals ------------------------------------------------------------------------------


def test_a_wrong_password_is_401_on_password_and_signs_nothing(
    client: TestClient, people: People, system: Context
) -> None:
    in_review_change(client, people)
    before = counts(system)

    response = client.post(
        f"{API}/{LOTO}/approve", json={"password": "wrong"}, headers=people.quality
    )

    body = assert_problem(response, 401, "password")
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert "www-authenticate" not in response.headers  # the token itself was fine
    assert counts(system) == before


def test_a_role_not_required_is_403(client: TestClient, people: People, system: Context) -> None:
    assert import_text(client, people.author, TEXTS[LOTO]).status_code == 201
    client.post(f"{API}/{LOTO}/submit", json={}, headers=people.author)
    before = counts(system)

    response = client.post(
        f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.safety
    )

    assert_problem(response, 403)
    assert counts(system) == before


def test_self_approval_is_403(client: TestClient, people: People, system: Context) -> None:
    in_review_change(client, people)
    before = counts(system)

    response = client.post(
        f"{API}/{LOTO}/approve",
        json={"password": PASSWORD, "role": "quality"},
        headers=people.author,
    )

    assert_problem(response, 403)
    assert counts(system) == before


def test_a_second_signature_is_409(client: TestClient, people: People, system: Context) -> None:
    in_review_change(client, people)
    client.post(f"{API}/{LOTO}/approve", json={"password": PASSWORD}, headers=people.quality)
    before = counts(system)

    response = client.post(
        f"{API}/{LOTO}/approve",
        json={"password": PASSWORD, "role": "quality"},
        headers=people.quality,
    )

    assert_problem(response, 409)
    assert counts(system) == before


def test_editing_an_effective_revision_is_409(
    client: TestClient, people: People, system: Context
) -> None:
    effective_loto(client, people)
    shown = client.get(f"{API}/{LOTO}", headers=people.viewer).json()
    before = counts(system)

    response = client.put(
        f"{API}/{LOTO}/draft",
        json={
            "type": "SOP",
            "title": "Changed without a change",
            "owner": "safety",
            "content": {"steps": [{"text": "Do it."}]},
            "version": shown["version"],
        },
        headers=people.author,
    )

    assert_problem(response, 409)
    assert counts(system) == before
    assert client.get(f"{API}/{LOTO}", headers=people.viewer).json()["title"] == shown["title"]


def test_a_stale_edit_is_409(client: TestClient, people: People, system: Context) -> None:
    assert import_text(client, people.author, TEXTS[LOTO]).status_code == 201
    shown = client.get(f"{API}/{LOTO}", headers=people.viewer).json()
    draft = {
        "type": "SOP",
        "title": "Lockout",
        "owner": "safety",
        "content": {"steps": [{"text": "Do it."}]},
    }
    first = client.put(
        f"{API}/{LOTO}/draft", json={**draft, "version": shown["version"]}, headers=people.author
    )
    before = counts(system)

    stale = client.put(
        f"{API}/{LOTO}/draft",
        json={**draft, "title": "Other", "version": shown["version"]},
        headers=people.author,
    )

    assert first.status_code == 200
    assert_problem(stale, 409)
    assert counts(system) == before
    assert client.get(f"{API}/{LOTO}", headers=people.viewer).json()["title"] == "Lockout"


def test_a_bad_markdown_file_names_the_field_in_the_body(
    client: TestClient, people: People, system: Context
) -> None:
    text = TEXTS[LOTO].replace("owner: safety\n", "")

    response = import_text(client, people.author, text)
    as_json = client.post(f"{API}/import", json={"markdown": text}, headers=people.author)

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "body"
    assert "owner" in body["detail"]
    assert as_json.json()["errors"][0]["loc"][:2] == ["body", "markdown"]
    assert counts(system) == (0, 0, 0)


def test_a_safety_change_without_a_risk_is_422(
    client: TestClient, people: People, system: Context
) -> None:
    effective_loto(client, people)
    no_risk = "".join(
        line for line in CHANGES[LOTO].splitlines(keepends=True) if not line.startswith("risk:")
    )
    before = counts(system)

    response = import_text(client, people.author, no_risk)

    assert_problem(response, 422)
    assert "risk" in response.json()["detail"]
    assert counts(system) == before


def test_a_viewer_cannot_write(client: TestClient, people: People, system: Context) -> None:
    response = import_text(client, people.viewer, TEXTS[LOTO])
    assert_problem(response, 403)
    assert counts(system) == (0, 0, 0)


# --- OpenAPI -------------------------------------------------------------------------------


def test_openapi_lists_the_document_paths(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        "/api/v1/documents": {"get", "post"},
        "/api/v1/documents/search": {"get"},
        "/api/v1/documents/import": {"post"},
        "/api/v1/documents/{number}": {"get"},
        "/api/v1/documents/{number}/markdown": {"get"},
        "/api/v1/documents/{number}/diff": {"get"},
        "/api/v1/documents/{number}/draft": {"put"},
        "/api/v1/documents/{number}/attachments": {"get", "post"},
        "/api/v1/documents/attachments/{id}": {"get"},
        **{
            f"/api/v1/documents/{{number}}/{verb}": {"post"}
            for verb in (
                "submit",
                "approve",
                "reject",
                "acknowledge",
                "review",
                "revise",
                "obsolete",
            )
        },
    }
    assert {p: set(paths[p]) for p in expected if p in paths} == expected
    approve = paths["/api/v1/documents/{number}/approve"]["post"]
    assert "application/problem+json" in approve["responses"]["401"]["content"]
    imported = paths["/api/v1/documents/import"]["post"]["requestBody"]["content"]
    assert set(imported) == {"text/markdown", "application/json"}


# --- attachments ---------------------------------------------------------------------------


def upload(client: TestClient, auth: dict[str, str], name: str, data: bytes, kind: str) -> Any:
    return client.post(
        f"{API}/{LOTO}/attachments", files={"file": (name, data, kind)}, headers=auth
    )


def test_an_attachment_is_stored_listed_and_downloaded(
    client: TestClient, people: People, settings: Settings
) -> None:
    import_text(client, people.author, TEXTS[LOTO])

    made = upload(client, people.author, "ram block.pdf", PDF, "application/pdf")
    listed = client.get(f"{API}/{LOTO}/attachments", headers=people.viewer).json()
    got = client.get(f"{API}/attachments/{made.json()['id']}", headers=people.viewer)

    assert made.status_code == 201
    assert (made.json()["filename"], made.json()["content_type"]) == (
        "ram block.pdf",
        "application/pdf",
    )
    assert [a["id"] for a in listed] == [made.json()["id"]]
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert (settings.data_dir / "attachments" / made.json()["sha256"][:2]).is_dir()


def test_a_disguised_file_is_422_on_file(
    client: TestClient, people: People, system: Context, settings: Settings
) -> None:
    import_text(client, people.author, TEXTS[LOTO])
    before = counts(system)

    response = upload(
        client, people.author, "manual.pdf", b"<html><script>x</script></html>", "application/pdf"
    )

    assert_problem(response, 422, "file")
    assert counts(system) == before
    assert not (settings.data_dir / "attachments").exists()


def test_a_text_file_is_not_a_document_attachment(client: TestClient, people: People) -> None:
    import_text(client, people.author, TEXTS[LOTO])
    response = upload(client, people.author, "notes.txt", b"plain words\n", "text/plain")
    assert_problem(response, 422, "file")


@pytest.fixture
def small_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings.model_copy(update={"max_attachment_bytes": 4096}), db)
    with TestClient(app) as test_client:
        yield test_client


def test_an_oversize_attachment_is_refused(
    small_client: TestClient, people: People, system: Context, settings: Settings
) -> None:
    import_text(small_client, people.author, TEXTS[LOTO])
    before = counts(system)

    slightly = upload(small_client, people.author, "a.png", PNG + bytes(5000), "image/png")
    far = upload(small_client, people.author, "b.png", PNG + bytes(200_000), "image/png")

    assert_problem(slightly, 422, "file")
    assert "4096" in slightly.json()["errors"][0]["msg"]
    assert_problem(far, 413)
    assert counts(system) == before
    assert not (settings.data_dir / "attachments").exists()


def test_a_viewer_cannot_attach(client: TestClient, people: People, system: Context) -> None:
    import_text(client, people.author, TEXTS[LOTO])
    before = counts(system)
    assert_problem(upload(client, people.viewer, "a.png", PNG, "image/png"), 403)
    assert counts(system) == before


def test_pdf_of_a_revision_carries_signatures_and_the_uncontrolled_mark(
    client: TestClient, people: People
) -> None:
    import io

    from pypdf import PdfReader

    effective_loto(client, people)
    got = client.get(f"{API}/{LOTO}/pdf", headers=people.viewer)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(got.content)).pages)
    assert "UNCONTROLLED" in text
    assert "Qe" in text  # the approver's printed name
    assert "approved" in text


def test_change_plan_done_items_and_closing(client: TestClient, people: People) -> None:
    effective_loto(client, people)
    plan = {
        "quality_impact": False,
        "communication": "Toolbox talk on both shifts",
        "done": [{"text": "Poster at the press", "owner": "qe"}],
    }
    put = client.put(f"{API}/{LOTO}/plan", json=plan, headers=people.author)
    assert put.status_code == 200, put.text
    bad = client.put(f"{API}/{LOTO}/plan", json={"done": [{"text": "x"}]}, headers=people.author)
    assert bad.status_code == 422
    assert any("owner" in e["loc"] for e in bad.json()["errors"])
    early = client.post(f"{API}/{LOTO}/close", headers=people.author)
    assert early.status_code == 409
    assert "Poster" in early.json()["detail"]
    assert client.post(f"{API}/{LOTO}/plan/done/0", headers=people.operator).status_code == 403
    assert client.post(f"{API}/{LOTO}/plan/done/0", headers=people.quality).status_code == 200
    assert client.post(f"{API}/{LOTO}/close", headers=people.author).status_code == 200
    shown = client.get(f"{API}/{LOTO}", headers=people.viewer).json()
    assert shown["plan"]["done"][0]["done_by"] == "qe"
