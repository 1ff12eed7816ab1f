"""Document pages: list and search, a revision, authoring, signing, redline, print and PDF."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents import queries, service
from andon.documents.models import DocumentRevision, DocumentSignature
from tests.factories import PASSWORD, make_plant, make_user
from tests.integration.risk_plant import make_risk
from tests.integration.test_web_pages import csrf_token, sign_in

TEXTS = dict(demo_document_texts())
CHANGES = dict(demo_change_texts())
LOTO = "SOP-SAF-001"
OTHER = "SOP-ASM-001"


@dataclass
class Plant:
    author: Context
    quality: Context
    line_id: int


@pytest.fixture
def plant(system: Context) -> Plant:
    _, _, _, line = make_plant(system)
    for name in ("safety", "quality", "supervisor", "ops-manager"):
        make_user(system, name, Role.QUALITY if name == "quality" else Role.SAFETY)
    make_risk(system, "safety")  # RSK-1, which the demo's safety change links
    make_user(system, "op", Role.OPERATOR)

    def ctx(username: str, *roles: Role) -> Context:
        return system.as_actor(actor_for(make_user(system, username, *roles)))

    return Plant(ctx("author", Role.QUALITY), ctx("qe", Role.QUALITY), line.id)


def effective(plant: Plant, number: str) -> None:
    service.import_markdown(plant.author, TEXTS[number])
    service.submit(plant.author, number)
    service.approve(plant.quality, number, PASSWORD)


def signature_count(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(DocumentSignature)) or 0


def post(client: TestClient, path: str, data: dict[str, object], page: str) -> object:
    return client.post(
        path, data={**data, "csrf_token": csrf_token(client, page)}, follow_redirects=False
    )


def test_list_filters_by_type_and_search_marks_matches_with_text_escaped(
    client: TestClient, plant: Plant
) -> None:
    effective(plant, LOTO)
    effective(plant, "WI-ASM-002")
    sign_in(client, "op")
    page = client.get("/documents").text
    assert re.findall(r'<a href="/documents/([A-Z0-9-]+)">', page) == ["SOP-SAF-001", "WI-ASM-002"]
    only_wi = client.get("/documents?type=WI").text
    assert 'href="/documents/WI-ASM-002"' in only_wi
    assert 'href="/documents/SOP-SAF-001"' not in only_wi
    hits = client.get("/documents", params={"q": "ram <b>"}).text
    assert 'href="/documents/SOP-SAF-001"' in hits
    assert 'href="/documents/WI-ASM-002"' not in hits
    assert re.search(r"<mark>ram</mark>", hits, re.IGNORECASE)
    assert "“ram &lt;b&gt;”" in hits  # the query is shown escaped, never as markup


def test_list_review_due_filter_and_bad_status_message(client: TestClient, plant: Plant) -> None:
    effective(plant, LOTO)
    sign_in(client, "op")
    due = client.get("/documents?review_due=1").text
    assert 'href="/documents/SOP-SAF-001"' not in due  # next review is a year away
    bad = client.get("/documents?status=lost")
    assert bad.status_code == 422
    assert "one of draft" in bad.text


def test_revision_page_shows_header_content_signatures_and_history(
    client: TestClient, plant: Plant
) -> None:
    effective(plant, LOTO)
    sign_in(client, "op")
    page = client.get(f"/documents/{LOTO}").text
    assert "Lockout/tagout of assembly line equipment" in page
    assert re.search(r"<dt>Revision</dt><dd>1</dd>", page)
    assert 'doc-status-effective">effective' in page
    assert "Qe</td>" in page  # printed name of the approver
    row = re.search(r"<tr>\s*<td>Qe</td>.*?</tr>", page, re.DOTALL)
    assert row is not None
    assert "approved" in row.group(0)
    assert "quality" in row.group(0)
    assert "Crushing by the 2 t pneumatic cover press ram" in page
    assert 'action="/documents/SOP-SAF-001/acknowledge"' in page
    assert "By signing you acknowledge" in page
    assert 'action="/documents/SOP-SAF-001/approve"' not in page


def step_form(**extra: object) -> dict[str, object]:
    return {
        "type": "WI",
        "title": "Torque the <cover> bolts",
        "owner": "author",
        "area": "ASM",
        "purpose": "Keep the cover tight.",
        "roles": "Operator: torques the bolts",
        "hazards": "Pinch point at the fixture",
        "ppe": "Gloves",
        "step_count": "3",
        "step-1-text": "Set the tool to 25 Nm.",
        "step-1-critical": "quality",
        "step-1-accept": "Tool display reads 25 Nm",
        "step-2-text": "Torque the bolts in a cross pattern.",
        "step-2-key_point": "Cross pattern, not a circle.",
        "step-3-text": "",
        **extra,
    }


def test_create_by_form_stores_a_draft_with_its_steps(
    client: TestClient, plant: Plant, system: Context
) -> None:
    sign_in(client, "author")
    data = step_form(lines=[str(plant.line_id)], quality_impact="yes", reason="New station")
    response = post(client, "/documents/new", data, "/documents/new")
    assert response.status_code == 303, response.text
    number = response.headers["location"].split("/")[2].split("?")[0]
    view = queries.show(system, number)
    assert view.revision.status == "draft"
    assert view.file.header.title == "Torque the <cover> bolts"
    assert [s.text for s in view.file.content.steps] == [
        "Set the tool to 25 Nm.",
        "Torque the bolts in a cross pattern.",
    ]
    assert view.file.content.steps[0].critical == "quality"
    assert view.file.content.roles[0].role == "Operator"
    assert view.revision.plan["lines"] == [plant.line_id]
    page = client.get(response.headers["location"]).text
    assert "Torque the &lt;cover&gt; bolts" in page


def test_add_a_step_rerenders_with_one_more_block_and_stores_nothing(
    client: TestClient, plant: Plant, system: Context
) -> None:
    sign_in(client, "author")
    response = post(client, "/documents/new", step_form(add_step="1"), "/documents/new")
    assert response.status_code == 200
    assert 'name="step-4-text"' in response.text
    assert 'value="Set the tool to 25 Nm."' in response.text
    assert queries.list_documents(system) == []


def test_form_errors_sit_at_the_field(client: TestClient, plant: Plant, system: Context) -> None:
    sign_in(client, "author")
    data = step_form(**{"step-1-text": "", "step-1-key_point": "orphan", "roles": "no colon"})
    response = post(client, "/documents/new", data, "/documents/new")
    assert response.status_code == 422
    assert 'id="step-1-text-error"' in response.text
    assert 'id="doc-roles-error"' in response.text
    assert queries.list_documents(system) == []


def test_stale_edit_is_refused_with_a_message(
    client: TestClient, plant: Plant, system: Context
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    sign_in(client, "author")
    form = client.get(f"/documents/{LOTO}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None
    # Someone else saves the draft in between.
    service.save_draft(
        plant.author, LOTO, queries.show(system, LOTO).file, version=int(version.group(1))
    )
    data = step_form(type="SOP", title="Changed title", version=version.group(1), area="")
    response = post(client, f"/documents/{LOTO}/edit", data, f"/documents/{LOTO}/edit")
    assert response.status_code == 409
    assert "changed by someone else" in response.text
    assert queries.show(system, LOTO).revision.title != "Changed title"


def test_edit_saves_the_draft(client: TestClient, plant: Plant, system: Context) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    sign_in(client, "author")
    form = client.get(f"/documents/{LOTO}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None
    assert 'value="Lockout/tagout of assembly line equipment"' in form
    data = step_form(type="SOP", title="Lockout, revised", version=version.group(1), area="")
    data["owner"] = "safety"
    response = post(client, f"/documents/{LOTO}/edit", data, f"/documents/{LOTO}/edit")
    assert response.status_code == 303, response.text
    assert queries.show(system, LOTO).revision.title == "Lockout, revised"


def test_submit_then_approve_with_password_makes_it_effective(
    client: TestClient, plant: Plant, system: Context
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    sign_in(client, "author")
    page = f"/documents/{LOTO}"
    response = post(client, f"{page}/submit", {"password": PASSWORD, "revision": "1"}, page)
    assert response.status_code == 303, response.text
    assert queries.show(system, LOTO).revision.status == "in_review"
    client.cookies.clear()
    sign_in(client, "qe")
    shown = client.get(page).text
    assert "By signing you approve revision 1 of SOP-SAF-001 as quality." in shown
    assert 'autocomplete="current-password"' in shown
    data = {"password": PASSWORD, "revision": "1", "role": "quality"}
    response = post(client, f"{page}/approve", data, page)
    assert response.status_code == 303, response.text
    view = queries.show(system, LOTO).to_json()
    assert view["status"] == "effective"
    assert [(s["username"], s["meaning"]) for s in view["signatures"]] == [
        ("author", "authored"),
        ("qe", "approved"),
    ]


def test_wrong_password_shows_a_message_and_signs_nothing(
    client: TestClient, plant: Plant, system: Context
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    service.submit(plant.author, LOTO)
    sign_in(client, "qe")
    before = signature_count(system)
    page = f"/documents/{LOTO}"
    data = {"password": "not my password", "revision": "1", "role": "quality"}
    response = post(client, f"{page}/approve", data, page)
    assert response.status_code == 422
    assert 'id="approve-password-error"' in response.text
    assert signature_count(system) == before
    assert queries.show(system, LOTO).revision.status == "in_review"


def test_reject_needs_a_comment(client: TestClient, plant: Plant, system: Context) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    service.submit(plant.author, LOTO)
    sign_in(client, "qe")
    page = f"/documents/{LOTO}"
    response = post(client, f"{page}/reject", {"password": PASSWORD, "comment": " "}, page)
    assert response.status_code == 422
    assert 'id="reject-comment-error"' in response.text
    response = post(
        client, f"{page}/reject", {"password": PASSWORD, "comment": "Step 4 unclear"}, page
    )
    assert response.status_code == 303
    assert queries.show(system, LOTO).revision.status == "draft"


def test_redline_marks_insertions_and_deletions(client: TestClient, plant: Plant) -> None:
    effective(plant, LOTO)
    service.import_markdown(plant.author, CHANGES[LOTO])
    sign_in(client, "op")
    page = client.get(f"/documents/{LOTO}/redline?from=1&to=2")
    assert page.status_code == 200
    assert ("<ins>" in page.text and "<del>" in page.text) or "redline-added" in page.text
    assert "revision 1 → 2" in page.text
    assert re.search(r"[1-9]\d* steps (added|changed)", page.text)
    bad = client.get(f"/documents/{LOTO}/redline?from=1&to=9")
    assert bad.status_code == 422
    assert "no revision 9" in bad.text


def test_print_page_and_pdf_carry_signatures_and_the_uncontrolled_mark(
    client: TestClient, plant: Plant
) -> None:
    effective(plant, LOTO)
    sign_in(client, "op")
    printed = client.get(f"/documents/{LOTO}/print")
    assert printed.status_code == 200
    assert "UNCONTROLLED WHEN PRINTED" in printed.text
    assert "Qe (qe)" in printed.text
    assert '<link rel="stylesheet" href="/static/print.css">' in printed.text
    pdf = client.get(f"/documents/{LOTO}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    pages = [p.extract_text() for p in reader.pages]
    text = "\n".join(pages)
    assert "Qe (qe)" in text
    assert "approved" in text
    assert all("UNCONTROLLED" in p for p in pages)


def test_markdown_download_is_the_file(client: TestClient, plant: Plant) -> None:
    effective(plant, LOTO)
    sign_in(client, "op")
    response = client.get(f"/documents/{LOTO}/markdown")
    assert response.status_code == 200
    assert response.text == TEXTS[LOTO]
    assert "attachment" in response.headers["content-disposition"]


def test_operator_cannot_open_the_editor(client: TestClient, plant: Plant) -> None:
    sign_in(client, "op")
    assert client.get("/documents/new").status_code == 403


def test_revise_starts_a_draft_and_opens_the_editor(
    client: TestClient, plant: Plant, system: Context
) -> None:
    effective(plant, LOTO)
    sign_in(client, "author")
    page = f"/documents/{LOTO}"
    data = {"reason": "Clarify step 2", "safety_impact": "no", "training": "no"}
    response = post(client, f"{page}/revise", data, page)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/documents/{LOTO}/edit"
    with system.read() as session:
        statuses = list(session.scalars(select(DocumentRevision.status)))
    assert sorted(statuses) == ["draft", "effective"]


QUESTIONS = {
    "questions": [
        {"question": "What holds the ram up?", "options": ["Air", "A spring"], "answer": 0},
        {"question": "Who removes your lock?", "options": ["Anyone", "You"], "answer": 1},
    ],
    "pass_mark": 100,
}


def test_acknowledge_asks_the_questions_and_a_failed_quiz_signs_nothing(
    client: TestClient, plant: Plant, system: Context
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO], plan=QUESTIONS)
    service.submit(plant.author, LOTO)
    service.approve(plant.quality, LOTO, PASSWORD)
    sign_in(client, "op")
    page = f"/documents/{LOTO}"
    shown = client.get(page).text
    assert "What holds the ram up?" in shown
    assert 'name="answer-1"' in shown
    before = signature_count(system)
    data = {"password": PASSWORD, "question_count": "2", "answer-0": "0", "answer-1": "0"}
    failed = post(client, f"{page}/acknowledge", data, page)
    assert failed.status_code == 422
    assert "pass mark is 100%" in failed.text
    assert signature_count(system) == before
    data["answer-1"] = "1"
    passed = post(client, f"{page}/acknowledge", data, page)
    assert passed.status_code == 303, passed.text
    assert signature_count(system) == before + 1
    assert "You have acknowledged revision 1" in client.get(page).text


def test_periodic_review_confirm_signs_and_sets_the_next_date(
    client: TestClient, plant: Plant, system: Context
) -> None:
    effective(plant, LOTO)
    sign_in(client, "qe")
    page = f"/documents/{LOTO}"
    assert "By signing you record your periodic review" in client.get(page).text
    data = {"password": PASSWORD, "outcome": "confirm"}
    response = post(client, f"{page}/review", data, page)
    assert response.status_code == 303, response.text
    meanings = [s["meaning"] for s in queries.show(system, LOTO).to_json()["signatures"]]
    assert meanings == ["approved", "reviewed"]
    change = post(client, f"{page}/review", {"password": PASSWORD, "outcome": "change"}, page)
    assert change.status_code == 422
    assert 'id="review-comment-error"' in change.text


def test_the_author_is_not_offered_approval_of_their_own_revision(
    client: TestClient, plant: Plant
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    service.submit(plant.author, LOTO)
    sign_in(client, "author")
    page = client.get(f"/documents/{LOTO}").text
    assert 'action="/documents/SOP-SAF-001/approve"' not in page
    assert "separation of duties" in page


def test_a_pasted_markdown_file_creates_the_document(
    client: TestClient, plant: Plant, system: Context
) -> None:
    sign_in(client, "author")
    data = {"markdown": TEXTS[LOTO], "step_count": "3"}
    response = post(client, "/documents/new", data, "/documents/new")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/documents/{LOTO}?revision=1"
    assert queries.export_markdown(system, LOTO) == TEXTS[LOTO]


def test_an_uploaded_file_with_a_mistake_names_its_line_and_stores_nothing(
    client: TestClient, plant: Plant, system: Context
) -> None:
    sign_in(client, "author")
    broken = TEXTS[LOTO].replace("type: SOP", "type: memo")
    response = client.post(
        "/documents/new",
        data={"step_count": "3", "csrf_token": csrf_token(client, "/documents/new")},
        files={"file": ("loto.md", broken.encode(), "text/markdown")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "line 3" in response.text
    assert queries.list_documents(system) == []


def test_an_operator_posting_an_approval_gets_the_error_page(
    client: TestClient, plant: Plant, system: Context
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    service.submit(plant.author, LOTO)
    sign_in(client, "op")
    page = f"/documents/{LOTO}"
    response = post(client, f"{page}/approve", {"password": PASSWORD}, page)
    assert response.status_code == 403
    assert signature_count(system) == 0


def test_definition_of_done_is_ticked_off_and_the_change_closed_on_the_page(
    client: TestClient, plant: Plant
) -> None:
    from andon.documents import changes

    effective(plant, LOTO)
    plan = {
        "communication": "Toolbox talk",
        "done": [{"text": "Poster at the press", "owner": "qe"}],
    }
    changes.update_plan(plant.author, LOTO, plan)
    sign_in(client, "qe")
    page = client.get(f"/documents/{LOTO}").text
    assert "Poster at the press" in page
    assert "Mark done" in page
    done = post(client, f"/documents/{LOTO}/done/0", {"revision": "1"}, f"/documents/{LOTO}")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "by qe" in client.get(f"/documents/{LOTO}").text
    closed = post(client, f"/documents/{LOTO}/close", {"revision": "1"}, f"/documents/{LOTO}")
    assert closed.status_code == 303  # type: ignore[attr-defined]
    assert "closed" in client.get(f"/documents/{LOTO}").text


def test_attachments_are_uploaded_checked_and_served_from_the_revision_page(
    client: TestClient, plant: Plant
) -> None:
    effective(plant, LOTO)
    sign_in(client, "author")
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    token = csrf_token(client, f"/documents/{LOTO}")
    sent = client.post(
        f"/documents/{LOTO}/attachments",
        data={"csrf_token": token, "revision": "1"},
        files={"file": ("lockout points.png", png, "image/png")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = client.get(f"/documents/{LOTO}").text
    link = re.search(r'href="(/documents/attachments/\d+)">lockout points.png<', page)
    assert link is not None
    got = client.get(link.group(1))
    assert got.content == png
    assert got.headers["content-type"] == "image/png"
    disguised = client.post(
        f"/documents/{LOTO}/attachments",
        data={"csrf_token": csrf_token(client, f"/documents/{LOTO}"), "revision": "1"},
        files={"file": ("manual.pdf", b"<html><script>x</script></html>", "application/pdf")},
        follow_redirects=False,
    )
    assert disguised.status_code == 422
    assert "not an allowed type" in disguised.text
    assert client.get(f"/documents/{LOTO}").text.count("/documents/attachments/") == 1


def test_the_revision_page_draws_the_adoption_of_its_change(
    client: TestClient, plant: Plant
) -> None:
    effective(plant, LOTO)
    sign_in(client, "qe")
    page = client.get(f"/documents/{LOTO}").text
    assert "Adoption of this change" in page
    assert "<svg" in page
    assert f'href="/training/adoption/{LOTO}?revision=1"' in page
    sign_in(client, "op")
    assert "Adoption of this change" not in client.get(f"/documents/{LOTO}").text


def test_an_editor_of_the_draft_is_not_offered_its_approval(
    client: TestClient, plant: Plant
) -> None:
    service.import_markdown(plant.author, TEXTS[LOTO])
    service.save_draft(plant.quality, LOTO, queries.show(plant.author, LOTO).file, version=None)
    service.submit(plant.author, LOTO)
    sign_in(client, "qe")
    page = client.get(f"/documents/{LOTO}").text
    assert "Sign approval" not in page
    assert "separation of duties" in page
