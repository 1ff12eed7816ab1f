"""Security headers on every response: pages, API, static files, errors, the API docs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from andon.api.middleware import CONTENT_SECURITY_POLICY
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def assert_secured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers["x-request-id"]


def test_the_policy_forbids_inline_script_and_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_a_page_has_the_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert_secured(response)


def test_an_api_response_has_the_security_headers(client: TestClient, system: Context) -> None:
    response = client.get("/api/v1/me", headers=bearer(system, "ada", Role.ADMIN))
    assert response.status_code == 200
    assert response.json()["username"] == "ada"
    assert_secured(response)


def test_a_static_file_has_the_security_headers(client: TestClient) -> None:
    response = client.get("/static/andon.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert_secured(response)


def test_health_check_has_the_security_headers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_secured(response)


@pytest.mark.parametrize("path", ["/no/such/page", "/api/v1/no-such-thing", "/static/nope.js"])
def test_a_404_has_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert_secured(response)


def test_an_api_error_has_the_security_headers(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert_secured(response)


def test_a_url_refused_before_routing_has_the_security_headers(client: TestClient) -> None:
    response = client.get("/api/v1/me?x=%00")
    assert response.status_code == 400
    assert_secured(response)


@pytest.fixture
def failing_client(app: FastAPI) -> Iterator[TestClient]:
    def explode() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/explode", explode)
    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/api/v1/explode", "/explode"])
def test_an_internal_error_has_the_security_headers(failing_client: TestClient, path: str) -> None:
    response = failing_client.get(path)
    assert response.status_code == 500
    assert_secured(response)


def test_a_response_with_its_own_policy_keeps_it(app: FastAPI) -> None:
    from fastapi.responses import PlainTextResponse

    def sandboxed() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Content-Security-Policy": "sandbox"})

    app.add_api_route("/api/v1/sandboxed", sandboxed)
    with TestClient(app) as client:
        response = client.get("/api/v1/sandboxed")
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_api_docs_load_swagger_ui_from_this_server(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert_secured(response)
    page = response.text
    assert 'data-openapi-url="/api/v1/openapi.json"' in page
    assert "<script>" not in page
    assert "cdn." not in page
    for asset in (
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "/static/api-docs.js",
    ):
        assert asset in page
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Andon"
