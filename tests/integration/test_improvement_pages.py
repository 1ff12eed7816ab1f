"""Postmortem and decision pages on both databases: a postmortem from a line stop through
the form, its edit with blameless prompts, review by another person and search; a decision
recorded through the form, refused with the field, and reopened into a chain."""

from __future__ import annotations

from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import line_stops
from tests.factories import make_floor, make_user, minutes_after_monday
from tests.integration.test_web_pages import csrf_token, sign_in


def test_postmortem_pages_from_line_stop_to_published_and_found(
    client: TestClient, system: Context
) -> None:
    floor = make_floor(system)
    stop = line_stops.pull_cord(system, floor.line.id, "conveyor <jam>", at=minutes_after_monday(5))
    for role, minutes in (("supervisor", 15), ("quality", 20)):
        line_stops.sign_off_restart(
            system, floor.line.id, "cleared", as_role=role, at=minutes_after_monday(minutes)
        )
    make_user(system, "wanda", Role.SUPERVISOR)
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "wanda")
    board = client.get(f"/board/lines/{floor.line.id}").text
    assert f'href="/postmortems/new?line_stop={stop.id}"' in board
    form = client.get(f"/postmortems/new?line_stop={stop.id}")
    assert f'value="{stop.id}"' in form.text
    assert 'value="Line L1 stop: conveyor &lt;jam&gt;"' in form.text
    created = client.post(
        "/postmortems/new",
        data={
            "title": "Conveyor jam",
            "kind": "line_stop",
            "line_stop_id": str(stop.id),
            "csrf_token": csrf_token(client, "/postmortems/new"),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"]
    page = client.get(path).text
    assert "Line L1 stopped by cli:test: conveyor &lt;jam&gt;" in page
    fields = {
        "version": "1",
        "title": "Conveyor jam",
        "summary": "",
        "impact_items": "",
        "impact_hours": "0.25",
        "impact_cost": "1200",
        "impact_currency": "usd",
        "what_happened": "The operator should have cleared the guide rail.",
        "why": "",
        "rca_id": "",
        "changes": "Guide rail sensor.",
    }
    refused = client.post(
        f"{path}/edit",
        data={**fields, "rca_id": "88", "csrf_token": csrf_token(client, path)},
    )
    assert refused.status_code == 422
    assert "no root-cause analysis with id 88" in refused.text
    saved = client.post(f"{path}/edit", data={**fields, "csrf_token": csrf_token(client, path)})
    assert "Blameless wording prompts" in saved.text
    assert "should have" in saved.text
    assert "1,200.00 USD" in saved.text
    client.post(f"{path}/submit", data={"version": "", "csrf_token": csrf_token(client, path)})
    assert "Publish</button>" not in client.get(path).text

    sign_in(client, "quinn")
    review = client.get(path).text
    assert "Publish</button>" in review
    assert "Return to draft" in review
    published = client.post(
        f"{path}/publish", data={"version": "", "csrf_token": csrf_token(client, path)}
    )
    assert "Published" in published.text
    assert "Edit the draft" not in published.text
    found = client.get("/postmortems?q=guide").text
    assert f'href="{path}"' in found


def test_decision_pages_record_refuse_and_reopen(client: TestClient, system: Context) -> None:
    make_floor(system)
    make_user(system, "mo", Role.OPS_MANAGER)
    sign_in(client, "mo")
    data = {
        "title": "Two-bin kanban",
        "decision": "Two bins for M8 bolts.",
        "context": "",
        "options": "One bin | simple | runs out\nTwo bins | never empty | space",
        "decides": "role:ops_manager",
        "consulted": "",
        "informed": "role:operator",
        "decided_on": "2026-11-02",
        "revisit_on": "",
        "metrics": "",
        "document_revisions": "",
        "process_versions": "assembly/7",
        "rcas": "",
    }
    refused = client.post(
        "/decisions/new", data={**data, "csrf_token": csrf_token(client, "/decisions/new")}
    )
    assert refused.status_code == 422
    assert "no process version &#39;assembly/7&#39;" in refused.text
    created = client.post(
        "/decisions/new",
        data={
            **data,
            "process_versions": "assembly/1",
            "csrf_token": csrf_token(client, "/decisions/new"),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"]
    assert "never empty" in client.get(path).text

    reopened = client.post(
        f"{path}/reopen",
        data={
            "version": "1",
            "reason": "Space is short",
            "title": "",
            "csrf_token": csrf_token(client, path),
        },
    )

    assert "Chain of decisions" in reopened.text
    assert "Space is short" in reopened.text
    assert "Settle</button>" in reopened.text
