"""The pages: sign-in, CSRF, permissions, plant forms, audit trail and CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from andon.accounts import service as accounts
from andon.core import audit_queries
from andon.core.audit_queries import AuditFilter
from andon.core.errors import NotFound
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import SiteUpdate
from tests.factories import PASSWORD, make_plant, make_user

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The form token a page hands out (and the cookie that goes with it)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = _TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def audit_count(system: Context) -> int:
    return len(audit_queries.list_entries(system, AuditFilter(), limit=500).items)


def test_sign_in_sets_a_session_cookie_and_goes_to_next(
    client: TestClient, system: Context
) -> None:
    make_user(system, "ada", Role.ADMIN)
    response = client.post(
        "/login",
        data={
            "username": "Ada",
            "password": PASSWORD,
            "next": "/plant",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/plant"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "andon_session=" in c)
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=" in cookie
    assert "Hello, Ada" in client.get("/").text


def test_wrong_password_shows_a_message_and_opens_no_session(
    client: TestClient, system: Context
) -> None:
    make_user(system, "ada", Role.ADMIN)
    response = client.post(
        "/login",
        data={"username": "ada", "password": "not the one", "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert "andon_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_repeated_failures_show_the_throttling_message(client: TestClient, system: Context) -> None:
    make_user(system, "ada", Role.ADMIN)
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login", data={"username": "ada", "password": "nope nope", "csrf_token": token}
        ).status_code
        for _ in range(5)
    ]
    locked = client.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert statuses == [401, 401, 401, 401, 429]
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 min." in locked.text


def test_sign_in_never_redirects_to_another_host(client: TestClient, system: Context) -> None:
    make_user(system, "ada", Role.ADMIN)
    response = client.post(
        "/login",
        data={
            "username": "ada",
            "password": PASSWORD,
            "next": "//evil.example/steal",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_page_without_a_session_redirects_to_login_with_next(client: TestClient) -> None:
    response = client.get("/audit?actor=ada", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faudit%3Factor%3Dada"


def test_pages_name_an_icon_that_is_served(client: TestClient) -> None:
    # Without one every page view asks for /favicon.ico and logs a 404.
    page = client.get("/login")
    match = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page.text)
    assert match is not None
    icon = client.get(match.group(1))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_login_without_its_csrf_token_is_refused(client: TestClient, system: Context) -> None:
    make_user(system, "ada", Role.ADMIN)
    csrf_token(client)
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 403
    assert "andon_session" not in client.cookies


def test_form_without_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, system: Context
) -> None:
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    before = audit_count(system)
    missing = client.post("/plant/enterprises", data={"name": "Acme"})
    forged = client.post("/plant/enterprises", data={"name": "Acme", "csrf_token": "forged"})
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "security token" in missing.text
    assert plant.list_enterprises(system).items == []
    assert audit_count(system) == before


def test_operator_gets_a_403_page_on_user_admin(client: TestClient, system: Context) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Forbidden" in response.text
    assert "otto may not user.read" in response.text


def test_operator_cannot_create_a_user_through_the_form(
    client: TestClient, system: Context
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(
        "/admin/users",
        data={
            "username": "mallory",
            "display_name": "Mallory",
            "password": "long enough pw",
            "role": "admin",
            "csrf_token": csrf_token(client, "/"),
        },
    )
    assert response.status_code == 403
    with pytest.raises(NotFound):
        accounts.find_user(system, "mallory")


def test_admin_creates_a_user_with_a_site_role_through_the_form(
    client: TestClient, system: Context
) -> None:
    _, site, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    response = client.post(
        "/admin/users",
        data={
            "username": "Sam",
            "display_name": "Sam Supervisor",
            "email": "",
            "password": "long enough pw",
            "role": "supervisor",
            "scope_supervisor": f"site:{site.id}",
            "csrf_token": csrf_token(client, "/admin/users"),
        },
    )
    assert response.status_code == 200
    assert "Created user sam." in response.text
    user = accounts.find_user(system, "sam")
    assert [(g.role, g.site_id) for g in user.grants] == [("supervisor", site.id)]


def test_plant_forms_create_an_enterprise_then_a_site(client: TestClient, system: Context) -> None:
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    token = csrf_token(client, "/plant")
    created = client.post(
        "/plant/enterprises",
        data={"name": "Acme", "description": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303
    enterprise = plant.find_enterprise_by_name(system, "Acme")
    page = client.post(
        "/plant/sites",
        data={
            "enterprise_id": str(enterprise.id),
            "name": "Berlin",
            "code": "ber",
            "timezone": "Europe/Berlin",
            "csrf_token": token,
        },
    )
    site = plant.find_site_by_code(system, "BER")
    assert (site.name, site.timezone, site.enterprise_id) == (
        "Berlin",
        "Europe/Berlin",
        enterprise.id,
    )
    assert "Created site “Berlin”." in page.text
    assert "Europe/Berlin" in page.text


def test_a_bad_time_zone_is_reported_next_to_its_field(client: TestClient, system: Context) -> None:
    enterprise, _, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    response = client.post(
        "/plant/sites",
        data={
            "enterprise_id": str(enterprise.id),
            "name": "Nowhere",
            "code": "NOW",
            "timezone": "Mars/Olympus",
            "csrf_token": csrf_token(client, "/plant"),
        },
    )
    assert response.status_code == 422
    assert (
        '<p class="field-error" id="new-sites-timezone-error">'
        "unknown IANA time zone &#39;Mars/Olympus&#39;</p>" in response.text
    )
    assert [s.code for s in plant.list_sites(system).items] == ["CHI"]


def test_operator_sees_no_plant_forms(client: TestClient, system: Context) -> None:
    make_plant(system)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/plant").text
    assert "Chicago" in page
    assert 'action="/plant/sites"' not in page


def test_stale_version_edit_shows_a_conflict_and_keeps_the_newer_value(
    client: TestClient, system: Context
) -> None:
    _, site, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    token = csrf_token(client, f"/plant/sites/{site.id}")
    plant.update_site(system, site.id, SiteUpdate(version=site.version, name="Chicago North"))
    response = client.post(
        f"/plant/sites/{site.id}",
        data={
            "version": str(site.version),
            "name": "Chicago South",
            "code": "CHI",
            "timezone": "America/Chicago",
            "description": "",
            "csrf_token": token,
        },
    )
    assert response.status_code == 409
    assert "Not saved: site" in response.text
    assert "is at version 2, not 1" in response.text
    assert plant.get_site(system, site.id).name == "Chicago North"


def test_user_text_is_escaped_on_pages(client: TestClient, system: Context) -> None:
    enterprise, _, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    client.post(
        "/plant/sites",
        data={
            "enterprise_id": str(enterprise.id),
            "name": "<script>alert(1)</script>",
            "code": "XSS",
            "timezone": "UTC",
            "csrf_token": csrf_token(client, "/plant"),
        },
    )
    page = client.get("/plant").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_audit_page_shows_entries_in_the_display_zone(client: TestClient, system: Context) -> None:
    make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    page = client.get("/audit?entity_type=site").text
    assert "Chicago" in page
    assert ">create<" in page
    # The test settings show times in America/Chicago.
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T", page)
    assert ">user 1<" not in page


def test_audit_filter_reads_local_times(client: TestClient, system: Context) -> None:
    make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    future = client.get("/audit", params={"since": "2999-01-01T00:00"}).text
    past = client.get("/audit", params={"since": "2000-01-01T00:00", "entity_type": "line"}).text
    assert "No entries." in future
    assert "Line 1" in past


def test_audit_verify_works_without_javascript(client: TestClient, system: Context) -> None:
    make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    count = audit_count(system)
    page = client.get("/audit/verify")
    fragment = client.get("/audit/verify", headers={"HX-Request": "true"})
    assert f"Chain OK: all {count} entries are intact." in page.text
    assert "<html" in page.text
    assert fragment.text.strip().startswith('<p class="verify verify-ok"')


def test_csv_export_neutralises_formulas(client: TestClient, system: Context) -> None:
    _, site, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    formula = '=HYPERLINK("http://evil.example","click")'
    saved = client.post(
        f"/plant/sites/{site.id}",
        data={
            "version": str(site.version),
            "name": site.name,
            "code": site.code,
            "timezone": site.timezone,
            "description": formula,
            "reason": formula,
            "csrf_token": csrf_token(client, f"/plant/sites/{site.id}"),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    response = client.get("/audit/export.csv", params={"entity_type": "site", "action": "update"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert rows[0]["reason"] == "'" + formula
    assert formula.replace('"', '\\"') in rows[0]["changes"]
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_token_secret_is_shown_once(client: TestClient, system: Context) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    created = client.post(
        "/account/tokens",
        data={"name": "scanner", "csrf_token": csrf_token(client, "/account/tokens")},
    )
    secret = re.search(r'value="(andon_[^"]+)"', created.text)
    assert created.status_code == 201
    assert secret is not None
    assert accounts.actor_from_token(system.db, secret.group(1)) is not None
    assert secret.group(1) not in client.get("/account/tokens").text


def test_revoking_a_token_through_the_form_stops_it(client: TestClient, system: Context) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    token = csrf_token(client, "/account/tokens")
    created = client.post("/account/tokens", data={"name": "scanner", "csrf_token": token})
    secret = re.search(r'value="(andon_[^"]+)"', created.text)
    assert secret is not None
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', created.text)
    assert token_id is not None
    client.post(f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token})
    assert accounts.actor_from_token(system.db, secret.group(1)) is None


def test_sign_out_ends_the_session(client: TestClient, system: Context) -> None:
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    session = client.cookies["andon_session"]
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert "You are signed out." in response.text
    assert accounts.actor_from_session(system.db, session) is None


def test_an_invalid_edit_keeps_what_was_typed(client: TestClient, system: Context) -> None:
    _, site, _, _ = make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    sign_in(client, "ada")
    response = client.post(
        f"/plant/sites/{site.id}",
        data={
            "version": str(site.version),
            "name": "",
            "code": "CHI",
            "timezone": "America/Chicago",
            "description": "typed before the mistake",
            "csrf_token": csrf_token(client, f"/plant/sites/{site.id}"),
        },
    )
    assert response.status_code == 422
    assert "typed before the mistake</textarea>" in response.text
    assert 'id="edit-name-error"' in response.text
    assert plant.get_site(system, site.id).description == ""
