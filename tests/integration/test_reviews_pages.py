"""Review pages on both databases: the weeks list, the meeting page used during the review
(open, attendance checkboxes, decisions and actions per metric, close), the pack downloads,
CSRF, and what a reader who does not chair the review sees and may not do."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from andon.core.uow import Context
from andon.reviews import service
from tests.integration.review_plant import WEEK, review_plant
from tests.integration.test_reviews_service import counts
from tests.integration.test_web_pages import csrf_token, sign_in

FAR = (date.today() + timedelta(days=10)).isoformat()
PAGE = f"/reviews/{WEEK}"


def test_reviews_list_links_weeks_and_jumps_to_a_week(client: TestClient, system: Context) -> None:
    review_plant(system)
    service.open_meeting(system, WEEK)
    sign_in(client, "otto")
    page = client.get("/reviews")
    assert page.status_code == 200
    assert '<a href="/reviews" aria-current="page">Review</a>' in page.text
    assert f'<a href="/reviews/{WEEK}">{WEEK}</a>' in page.text
    assert f'href="/reviews/{WEEK}/pack.pdf"' in page.text
    jump = client.get("/reviews?week=2026-W45", follow_redirects=False)
    assert (jump.status_code, jump.headers["location"]) == (303, "/reviews/2026-W45")
    bad = client.get("/reviews?week=soon")
    assert bad.status_code == 422
    assert 'id="review-week-error"' in bad.text


def test_meeting_page_flow_during_the_review(client: TestClient, system: Context) -> None:
    review_plant(system)
    sign_in(client, "sue")
    first = client.get(PAGE).text
    assert "No meeting has been opened" in first
    assert f'href="/reviews/{WEEK}/pack.pdf"' in first

    def post(path: str, **data: str) -> None:
        response = client.post(
            f"{PAGE}/{path}",
            data={**data, "area": "", "csrf_token": csrf_token(client, PAGE)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    post("open")
    meeting = service.get_meeting(system, WEEK)
    assert meeting.chair == "sue"
    page = client.get(PAGE).text
    assert 'id="attend-qe" name="users" value="qe"' in page
    response = client.post(
        f"{PAGE}/attendance",
        data={
            "users": ["sue", "qe"],
            "guests": "Jo Auditor\n",
            "version": str(meeting.version),
            "area": "",
            "csrf_token": csrf_token(client, PAGE),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert 'id="attend-qe" name="users" value="qe" checked' in client.get(PAGE).text
    post("decisions", metric_key="near_misses", text="Walk line 2 with <safety>")
    post(
        "actions",
        metric_key="near_misses",
        title="Walk line 2",
        owner_user="qe",
        owner_role="",
        due_on=FAR,
    )
    page = client.get(PAGE).text
    assert "Walk line 2 with &lt;safety&gt;" in page
    assert "Walk line 2</a> (qe, due" in page
    meeting = service.get_meeting(system, WEEK)
    assert [a.label for a in meeting.attendees] == ["sue", "qe", "Jo Auditor (guest)"]
    assert [(d.metric_key, d.decided_by) for d in meeting.decisions] == [("near_misses", "sue")]
    post("close", notes="Done in 20 minutes", version=str(meeting.version))
    closed = client.get(PAGE).text
    assert "Meeting: closed" in closed
    assert 'action="/reviews/2026-W47/decisions"' not in closed


def test_meeting_form_errors_are_shown_on_the_field(client: TestClient, system: Context) -> None:
    review_plant(system)
    service.open_meeting(system, WEEK)
    sign_in(client, "sue")
    before = counts(system)
    response = client.post(
        f"{PAGE}/actions",
        data={
            "metric_key": "scrap_cost",
            "title": "",
            "owner_user": "qe",
            "due_on": FAR,
            "area": "",
            "csrf_token": csrf_token(client, PAGE),
        },
    )
    assert response.status_code == 422
    assert 'id="action-scrap_cost-title-error"' in response.text
    assert counts(system) == before


def test_posts_without_csrf_or_by_a_reader_are_refused(client: TestClient, system: Context) -> None:
    review_plant(system)
    service.open_meeting(system, WEEK)
    before = counts(system)
    sign_in(client, "sue")
    no_token = client.post(f"{PAGE}/decisions", data={"text": "x", "area": ""})
    assert no_token.status_code == 403
    client.cookies.clear()
    sign_in(client, "otto")
    page = client.get(PAGE).text
    assert 'action="/reviews/2026-W47/decisions"' not in page
    refused = client.post(
        f"{PAGE}/decisions",
        data={"text": "x", "area": "", "csrf_token": csrf_token(client, PAGE)},
    )
    assert refused.status_code == 403
    # Signing in is audited; the review's rows are untouched.
    assert counts(system)[:3] == before[:3]


def test_pack_downloads_from_the_page(client: TestClient, system: Context) -> None:
    review_plant(system)
    sign_in(client, "otto")
    html = client.get(f"{PAGE}/pack.html")
    assert html.status_code == 200
    assert "Near misses" in html.text
    assert "download the PDF" in html.text
    pdf = client.get(f"{PAGE}/pack.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
