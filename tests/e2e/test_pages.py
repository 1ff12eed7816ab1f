"""A person's paths through the pages in Chromium: sign in, administer, be refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from andon.plant import service as plant
from tests.e2e.conftest import SCREENSHOTS, LiveServer, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_sign_in_lands_on_the_home_page(page: Page) -> None:
    sign_in(page, "ada")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    expect(page.get_by_text("Signed in as")).to_contain_text("ada")


def test_wrong_password_is_told_plainly(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("otto")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


def test_admin_creates_a_user_and_sees_it_listed(page: Page) -> None:
    sign_in(page, "ada")
    page.goto("/admin/users")
    page.get_by_label("Username").fill("priya")
    page.get_by_label("Display name").fill("Priya Quality")
    page.get_by_label("Password").fill("long enough pw")
    page.get_by_role("checkbox", name="Quality").check()
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text("Created user priya.")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    row = page.get_by_role("row").filter(has_text="priya")
    expect(row).to_contain_text("Priya Quality")
    expect(row).to_contain_text("quality")


def test_operator_is_refused_the_user_admin_page(page: Page) -> None:
    sign_in(page, "otto")
    expect(page.get_by_role("navigation").get_by_role("link", name="Users")).to_have_count(0)
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")
    expect(page.get_by_text("otto may not user.read")).to_be_visible()


def test_a_form_posted_without_its_csrf_token_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "ada")
    response = page.request.post("/plant/enterprises", form={"name": "Sneaky Corp"})
    assert response.status == 403
    assert "security token" in response.text()
    names = [e.name for e in plant.list_enterprises(live_server.system).items]
    assert "Sneaky Corp" not in names


def test_tab_from_the_top_reaches_the_skip_link_first(page: Page) -> None:
    sign_in(page, "ada")
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_verify_chain_button_shows_the_result_in_place(page: Page) -> None:
    sign_in(page, "ada")
    page.goto("/audit")
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-result")).to_contain_text("Chain OK")
    assert page.url.endswith("/audit")


def test_home_page_screenshot(page: Page) -> None:
    sign_in(page, "ada")
    page.goto("/")
    expect(page.get_by_role("heading", name="Latest changes")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "home.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


MAIN_PAGES = [
    "/",
    "/work",
    "/work/mine",
    "/board",
    "/exceptions",
    "/processes",
    "/plant",
    "/audit",
    "/admin/users",
    "/analytics",
    "/account/tokens",
    "/metrics",
    "/sqdc",
]


# Added before any script of the page runs, so a violation while loading is caught too.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
    window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


def test_main_pages_break_no_content_security_policy_rule(page: Page) -> None:
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "ada")
    for path in MAIN_PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__cspViolations") == [], path
    assert [e for e in console_errors if "Content Security Policy" in e] == []


def test_api_docs_render_under_the_same_policy(page: Page) -> None:
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto("/api/docs")
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    # Swagger UI parses a 1.7 MB bundle and the whole OpenAPI document first: on two busy
    # cores that took longer than the default five seconds once.
    expect(page.get_by_role("heading", name="Andon")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("/api/v1/work-items").first).to_be_visible(timeout=20_000)
    assert page.evaluate("window.__cspViolations") == []
    assert console_errors == []
