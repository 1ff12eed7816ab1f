"""Exception pages: raise, filter, triage, resolve, and the Pareto chart."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import exceptions
from andon.work.models import PlantException
from andon.work.schemas import ExceptionRaise
from tests.factories import Floor, make_floor, make_user
from tests.integration.test_web_pages import csrf_token, sign_in


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def raise_on_line(
    system: Context, floor: Floor, category: str = "quality", description: str = "burr on edge"
) -> PlantException:
    data = ExceptionRaise(line_id=floor.line.id, category=category, description=description)
    return exceptions.raise_exception(system, data)


def test_raising_an_exception_through_the_form(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(
        "/exceptions",
        data={
            "line_id": str(floor.line.id),
            "category": "material",
            "severity": "",
            "description": "out of M6 bolts",
            "csrf_token": csrf_token(client, "/exceptions"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    (raised,) = exceptions.list_exceptions(system).items
    assert response.headers["location"] == f"/exceptions/{raised.id}"
    assert (raised.category, raised.severity, raised.raised_by) == ("material", "medium", "otto")
    page = client.get(response.headers["location"]).text
    assert f"Raised exception #{raised.id}." in page
    assert "out of M6 bolts" in page
    assert "Material shortage" in page


def test_an_unknown_category_is_shown_next_to_its_field(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(
        "/exceptions",
        data={
            "line_id": str(floor.line.id),
            "category": "gremlins",
            "description": "odd noise",
            "csrf_token": csrf_token(client, "/exceptions"),
        },
    )
    assert response.status_code == 422
    assert 'id="raise-category-error"' in response.text
    assert "odd noise</textarea>" in response.text
    assert exceptions.list_exceptions(system).items == []


def test_a_viewer_gets_no_raise_form_and_cannot_raise(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    assert 'method="post" action="/exceptions"' not in client.get("/exceptions").text
    response = client.post(
        "/exceptions",
        data={
            "line_id": str(floor.line.id),
            "category": "quality",
            "description": "x",
            "csrf_token": csrf_token(client, "/exceptions"),
        },
    )
    assert response.status_code == 403
    assert exceptions.list_exceptions(system).items == []


def test_raise_without_csrf_token_is_refused(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(
        "/exceptions",
        data={"line_id": str(floor.line.id), "category": "quality", "description": "forged"},
    )
    assert response.status_code == 403
    assert exceptions.list_exceptions(system).items == []


def test_triage_then_resolve_through_the_forms(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raised = raise_on_line(system, floor)
    quinn = make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "quinn")
    path = f"/exceptions/{raised.id}"
    token = csrf_token(client, path)
    triaged = client.post(
        f"{path}/triage",
        data={
            "version": str(raised.version),
            "owner_id": str(quinn.id),
            "category": "equipment",
            "severity": "high",
            "reason": "the press, not the part",
            "csrf_token": token,
        },
    )
    assert f"Exception #{raised.id} triaged." in triaged.text
    assert "quinn (you)" in triaged.text
    after = exceptions.get_exception(system, raised.id)
    assert (after.status, after.category, after.severity, after.owner_id) == (
        "triaged",
        "equipment",
        "high",
        quinn.id,
    )
    resolved = client.post(
        f"{path}/resolve",
        data={"version": str(after.version), "resolution": "die re-shimmed", "csrf_token": token},
    )
    assert f"Exception #{raised.id} resolved." in resolved.text
    done = exceptions.get_exception(system, raised.id)
    assert (done.status, done.resolution, done.resolved_by) == (
        "resolved",
        "die re-shimmed",
        "quinn",
    )
    assert f'action="/exceptions/{raised.id}/resolve"' not in resolved.text


def test_a_stale_triage_shows_the_conflict_and_changes_nothing(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raised = raise_on_line(system, floor)
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "quinn")
    path = f"/exceptions/{raised.id}"
    response = client.post(
        f"{path}/triage",
        data={
            "version": str(raised.version + 1),
            "severity": "critical",
            "category": "quality",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 409
    assert f"exception {raised.id} is at version {raised.version}" in response.text
    assert exceptions.get_exception(system, raised.id).status == "open"


def test_resolving_needs_a_resolution(client: TestClient, system: Context, floor: Floor) -> None:
    raised = raise_on_line(system, floor)
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "quinn")
    path = f"/exceptions/{raised.id}"
    response = client.post(
        f"{path}/resolve",
        data={
            "version": str(raised.version),
            "resolution": "",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 422
    assert 'id="resolve-resolution-error"' in response.text
    assert exceptions.get_exception(system, raised.id).status == "open"


def test_the_list_filters_by_status_and_category(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raise_on_line(system, floor, "quality", "first: scratched cover")
    raise_on_line(system, floor, "material", "second: no gaskets")
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/exceptions", params={"status": "unresolved", "category": "material"}).text
    assert "second: no gaskets" in page
    assert "first: scratched cover" not in page
    bad = client.get("/exceptions", params={"status": "sideways"})
    assert bad.status_code == 422
    assert 'id="f-status-error"' in bad.text


def test_pareto_page_shows_bars_largest_first_with_cumulative_share(
    client: TestClient, system: Context, floor: Floor
) -> None:
    for category, count in (("safety", 1), ("quality", 3), ("material", 2)):
        for _ in range(count):
            raise_on_line(system, floor, category)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/exceptions/pareto").text
    assert re.findall(r'<g class="pareto-bar" data-key="([^"]+)"', page) == [
        "Quality defect",
        "Material shortage",
        "Safety",
    ]
    assert re.findall(r'<text class="pareto-count"[^>]*>(\d+)</text>', page) == ["3", "2", "1"]
    table = re.findall(r"<td>([\d.]+)%</td>\s*</tr>", page)
    assert table == ["50.0", "83.3", "100.0"]
    assert '<polyline class="pareto-line"' in page


def test_pareto_by_line_and_an_empty_period(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raise_on_line(system, floor)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    by_line = client.get("/exceptions/pareto", params={"by": "line"}).text
    assert 'data-key="L1 · Line 1"' in by_line
    empty = client.get("/exceptions/pareto", params={"since": "2001-01-01", "until": "2001-01-31"})
    assert "No exceptions were raised in this period." in empty.text
    backwards = client.get(
        "/exceptions/pareto", params={"since": "2001-02-01", "until": "2001-01-01"}
    )
    assert backwards.status_code == 422
    assert 'id="p-until-error"' in backwards.text


def test_exception_description_is_escaped(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raised = raise_on_line(system, floor, description="<script>alert(1)</script>")
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    for path in ("/exceptions", f"/exceptions/{raised.id}"):
        page = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page


def test_a_site_supervisor_triaging_is_offered_the_people_of_that_site(
    client: TestClient, system: Context, floor: Floor
) -> None:
    raised = raise_on_line(system, floor)
    make_user(system, "sam", Role.SUPERVISOR, site_id=floor.site.id)
    quinn = make_user(system, "quinn", Role.QUALITY, site_id=floor.site.id)
    make_user(system, "otto", Role.OPERATOR, area_id=floor.area.id)
    sign_in(client, "sam")

    page = client.get(f"/exceptions/{raised.id}").text

    picker = page[
        page.index('id="triage-owner"') : page.index("</select>", page.index('id="triage-owner"'))
    ]
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', picker)
    assert [label for _, label in options] == [
        "Keep the current owner",
        "Me (sam)",
        "Otto (otto)",
        "Quinn (quinn)",
    ]
    assert (str(quinn.id), "Quinn (quinn)") in options
