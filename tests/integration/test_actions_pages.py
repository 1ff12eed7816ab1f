"""Action pages on both databases: my actions (tabs), opening one through the form, the
detail page with comments, update, close and their refusals, escaping, and the nav link."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from andon.actions import service
from andon.actions.schemas import ActionCreate, ActionFilters
from andon.actions.service import open_action
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import make_user
from tests.integration.test_web_pages import csrf_token, sign_in

FAR = date.today() + timedelta(days=30)
PAST = date.today() - timedelta(days=3)


def _open(system: Context, **overrides: object) -> int:
    data: dict[str, object] = {"title": "Fix the jig", "owner_user": "sue", "due_on": FAR}
    data.update(overrides)
    action, _ = open_action(system, ActionCreate.model_validate(data))
    return action.id


def test_my_actions_lists_mine_and_my_roles_with_links(client: TestClient, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    make_user(system, "qe", Role.QUALITY)
    late = _open(
        system,
        due_on=PAST,
        links=[{"kind": "work_item", "ref": "42"}, {"kind": "metric", "ref": "fpy"}],
    )
    role = _open(system, owner_user=None, owner_role="supervisor", title="Walk <the> line")
    other = _open(system, owner_user="qe", title="Not for sue")
    sign_in(client, "sue")
    page = client.get("/actions").text
    assert '<a href="/actions" aria-current="page">Actions</a>' in page
    assert f'href="/actions/{late}"' in page
    assert f'href="/actions/{role}"' in page
    assert f'href="/actions/{other}"' not in page
    assert '<a href="/work/42">work item 42</a>' in page
    assert '<a href="/metrics/fpy">metric fpy</a>' in page
    assert "Walk &lt;the&gt; line" in page
    assert 'tag tag-warn">overdue' in page
    overdue = client.get("/actions?tab=overdue").text
    assert f'href="/actions/{late}"' in overdue
    assert f'href="/actions/{other}"' not in overdue
    everyone = client.get("/actions?tab=all").text
    assert f'href="/actions/{other}"' in everyone


def test_opening_an_action_through_the_form(client: TestClient, system: Context) -> None:
    make_user(system, "otto", Role.OPERATOR)
    make_user(system, "sue", Role.SUPERVISOR)
    sign_in(client, "otto")
    form = client.get("/actions/new?link=metric:fpy")
    assert 'value="metric:fpy"' in form.text
    response = client.post(
        "/actions/new",
        data={
            "title": "Recalibrate the gauge",
            "description": "",
            "owner_user": "sue",
            "owner_role": "",
            "due_on": FAR.isoformat(),
            "priority": "high",
            "links": "metric:fpy document:SOP-ASM-001",
            "csrf_token": csrf_token(client, "/actions/new"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    (action,) = service.list_actions(system, ActionFilters())
    assert response.headers["location"] == f"/actions/{action.id}"
    assert (action.owner_user, action.priority, action.created_by) == ("sue", "high", "otto")
    page = client.get(response.headers["location"]).text
    assert "its owner is notified" in page
    assert '<a href="/documents/SOP-ASM-001">document SOP-ASM-001</a>' in page


def test_the_form_shows_errors_next_to_their_fields_and_writes_nothing(
    client: TestClient, system: Context
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    token = csrf_token(client, "/actions/new")
    both = client.post(
        "/actions/new",
        data={
            "title": "Recalibrate",
            "owner_user": "otto",
            "owner_role": "quality",
            "due_on": FAR.isoformat(),
            "priority": "normal",
            "links": "",
            "csrf_token": token,
        },
    )
    assert both.status_code == 422
    assert 'id="new-owner-user-error"' in both.text
    bad_link = client.post(
        "/actions/new",
        data={
            "title": "Recalibrate",
            "owner_user": "otto",
            "due_on": FAR.isoformat(),
            "priority": "normal",
            "links": "widget:1",
            "csrf_token": token,
        },
    )
    assert bad_link.status_code == 422
    assert 'id="new-links-error"' in bad_link.text
    assert service.list_actions(system, ActionFilters()) == []


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, system: Context) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(
        "/actions/new",
        data={"title": "T", "owner_user": "otto", "due_on": FAR.isoformat()},
    )
    assert response.status_code == 403
    assert service.list_actions(system, ActionFilters()) == []


def test_the_owner_updates_comments_and_closes(client: TestClient, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    action_id = _open(system)
    sign_in(client, "sue")
    url = f"/actions/{action_id}"
    token = csrf_token(client, url)
    moved = client.post(
        f"{url}/update",
        data={
            "version": "1",
            "status": "in_progress",
            "due_on": FAR.isoformat(),
            "priority": "normal",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    stale = client.post(
        f"{url}/update",
        data={"version": "1", "status": "open", "csrf_token": token},
    )
    assert stale.status_code == 409
    assert "version 2, not 1" in stale.text
    commented = client.post(
        f"{url}/comments",
        data={"body": "<b>bits</b> ordered", "csrf_token": token},
        follow_redirects=False,
    )
    assert commented.status_code == 303
    no_note = client.post(f"{url}/close", data={"version": "2", "note": "", "csrf_token": token})
    assert no_note.status_code == 422
    assert 'id="close-note-error"' in no_note.text
    closed = client.post(
        f"{url}/close",
        data={"version": "2", "note": "Jig fixed", "csrf_token": token},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    page = client.get(url).text
    assert "&lt;b&gt;bits&lt;/b&gt; ordered" in page
    assert "Jig fixed" in page
    assert 'action="/actions/1/close"' not in page
    assert service.get_action(system, action_id).status == "done"


def test_someone_else_sees_no_forms_and_is_refused(client: TestClient, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    make_user(system, "vic", Role.VIEWER)
    action_id = _open(system)
    sign_in(client, "vic")
    url = f"/actions/{action_id}"
    page = client.get(url).text
    assert f'action="{url}/close"' not in page
    assert f'action="{url}/comments"' not in page
    token = csrf_token(client, url)
    refused = client.post(f"{url}/close", data={"note": "mine now", "csrf_token": token})
    assert refused.status_code == 403
    assert service.get_action(system, action_id).status == "open"
