"""RCA through its adapters on both databases: the API (problem+json with the field), the CLI
(--json), and the pages from a Pareto bar to an RCA with its diagrams and forms."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient

from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import exceptions
from andon.work.schemas import ExceptionRaise
from tests.factories import bearer, make_floor, make_user, new_item
from tests.integration.test_cli import andon
from tests.integration.test_web_pages import csrf_token, sign_in


def test_api_opens_verifies_and_closes_an_rca_and_names_the_field_it_refuses(
    client: TestClient, system: Context
) -> None:
    headers = bearer(system, "quinn", Role.QUALITY)
    body = {
        "title": "Leaks",
        "what": "Housings leak at final test",
        "started_at": "2026-11-23T13:00:00Z",
        "owner_user": "quinn",
    }
    opened = client.post("/api/v1/rca", json=body, headers=headers).json()
    base = f"/api/v1/rca/{opened['id']}"

    dangling = client.post(
        f"{base}/links", json={"kind": "exception", "ref": "404"}, headers=headers
    )
    cause = client.post(f"{base}/causes", json={"text": "Seal worn"}, headers=headers).json()
    early = client.post(f"{base}/causes/{cause['id']}/root", json={}, headers=headers)
    client.post(
        f"{base}/causes/{cause['id']}/verify", json={"evidence": "Teardown"}, headers=headers
    )
    client.post(f"{base}/causes/{cause['id']}/root", json={"root": True}, headers=headers)
    closed = client.post(f"{base}/close", json={"version": opened["version"]}, headers=headers)

    assert dangling.status_code == 422
    assert dangling.headers["content-type"].startswith("application/problem+json")
    assert "ref" in json.dumps(dangling.json())
    assert early.status_code == 422
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert client.get(base, headers=headers).json()["root_causes"] == ["Seal worn"]
    report = client.get(
        "/api/v1/improvement/exceptions?since=2026-11-02&until=2026-11-29", headers=headers
    )
    assert report.json()["weeks"] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    backwards = client.get(
        "/api/v1/improvement/exceptions?since=2026-11-29&until=2026-11-02", headers=headers
    )
    assert backwards.status_code == 422
    assert "until" in json.dumps(backwards.json())


def test_cli_opens_an_rca_asks_why_and_shows_it_as_json(db: Database, system: Context) -> None:
    make_user(system, "quinn", Role.QUALITY)
    opened = andon(
        db.url, "rca", "new", "--title", "Leaks", "--what", "Housings leak",
        "--owner", "quinn", "--since", "2026-11-23", "--json",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.stderr
    rca_id = str(json.loads(opened.stdout)["id"])

    why = andon(db.url, "rca", "why", rca_id, "--text", "Seal worn", "--category", "material")
    refused = andon(db.url, "rca", "close", rca_id)
    shown = andon(db.url, "rca", "show", rca_id, "--json")

    assert why.exit_code == 0, why.stderr
    assert refused.exit_code == 1
    assert "root cause" in refused.stderr
    assert [(c["text"], c["category"]) for c in json.loads(shown.stdout)["causes"]] == [
        ("Seal worn", "material")
    ]


def test_a_pareto_bar_starts_a_prefilled_rca_whose_page_draws_its_causes(
    client: TestClient, system: Context
) -> None:
    floor = make_floor(system)
    item = new_item(system, floor)
    raised = [
        exceptions.raise_exception(
            system, ExceptionRaise(category="quality", description="leak", item_id=item.id)
        ).id
        for _ in range(2)
    ]
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "quinn")

    pareto = client.get("/exceptions/pareto").text
    bar = re.search(r'<a href="([^"]+)" class="pareto-bar-link" aria-label="([^"]+)"', pareto)
    assert bar is not None
    assert bar.group(2) == "Start an RCA on Quality defect"
    form = client.get(unescape(bar.group(1))).text
    assert f"exception:{raised[1]} exception:{raised[0]}" in form
    assert "2 exceptions, 1 work items affected" in form
    report = client.get("/improvement/exceptions").text
    assert 'aria-label="Start an RCA on Quality defect"' in report

    created = client.post(
        "/rca/new",
        data={
            "csrf_token": csrf_token(client, "/rca/new"),
            "title": "Leaks <at> test",
            "what": "Housings leak",
            "started_on": "2026-11-23",
            "owner_user": "quinn",
            "category": "quality",
            "links": f"exception:{raised[0]} exception:999999",
        },
    )
    assert created.status_code == 422
    assert "no exception 999999" in created.text
    created = client.post(
        "/rca/new",
        data={
            "csrf_token": csrf_token(client, "/rca/new"),
            "title": "Leaks <at> test",
            "what": "Housings leak",
            "started_on": "2026-11-23",
            "owner_user": "quinn",
            "links": f"exception:{raised[0]}",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page_path = created.headers["location"]
    why = client.post(
        f"{page_path}/causes",
        data={
            "csrf_token": csrf_token(client, page_path),
            "text": "Seal <worn>",
            "category": "material",
        },
        follow_redirects=False,
    )
    assert why.status_code == 303
    page = client.get(page_path).text
    assert "Leaks &lt;at&gt; test" in page
    assert 'class="chart why-tree"' in page
    assert 'data-bone="material"' in page
    assert "Seal &lt;worn&gt;" in page
    assert f'href="/exceptions/{raised[0]}"' in page
    # The timeline of the window is filled in from the plant's record.
    timeline = page[page.index('id="timeline-heading"') : page.index('id="causes-heading"')]
    assert f"Exception {raised[0]} raised on work item {item.id}: quality" in timeline
