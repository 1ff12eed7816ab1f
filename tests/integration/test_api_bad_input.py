"""Bad input to every writing endpoint: a 4xx problem naming the field, and nothing written."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.accounts.models import User
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer, make_plant

# (method, path template, a valid body) per writing endpoint; ids come from make_plant.
Endpoint = tuple[str, str, dict[str, object]]
ENDPOINTS: list[Endpoint] = [
    ("POST", "/api/v1/enterprises", {"name": "Other"}),
    ("PATCH", "/api/v1/enterprises/{enterprise}", {"version": 1, "name": "X"}),
    (
        "POST",
        "/api/v1/sites",
        {"enterprise_id": "{enterprise}", "name": "S", "code": "S1", "timezone": "UTC"},
    ),
    ("PATCH", "/api/v1/sites/{site}", {"version": 1, "name": "X"}),
    ("POST", "/api/v1/areas", {"site_id": "{site}", "name": "A", "code": "A1"}),
    ("PATCH", "/api/v1/areas/{area}", {"version": 1, "name": "X"}),
    ("POST", "/api/v1/lines", {"area_id": "{area}", "name": "L", "code": "L9"}),
    ("PATCH", "/api/v1/lines/{line}", {"version": 1, "name": "X"}),
    (
        "POST",
        "/api/v1/users",
        {"username": "new.user", "display_name": "N", "password": "0123456789"},
    ),
    ("PATCH", "/api/v1/users/{user}", {"version": 1, "display_name": "X"}),
    ("PUT", "/api/v1/users/{user}/roles", {"grants": [{"role": "viewer"}]}),
    ("PUT", "/api/v1/users/{user}/password", {"password": "0123456789"}),
    ("POST", "/api/v1/tokens", {"name": "t"}),
]


def audit_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def user_id(db: Database, name: str) -> int:
    with db.read_session() as session:
        found = session.scalar(select(User.id).where(User.username == name))
        assert found is not None
        return found


@pytest.fixture
def setup(
    client: TestClient, system: Context, db: Database
) -> tuple[dict[str, str], Callable[[Endpoint], tuple[str, str, dict[str, object]]]]:
    enterprise, site, area, line = make_plant(system)
    auth = bearer(system, "ada", Role.ADMIN)
    bearer(system, "otto", Role.OPERATOR)
    ids = {
        "enterprise": enterprise.id,
        "site": site.id,
        "area": area.id,
        "line": line.id,
        "user": user_id(db, "otto"),
    }

    def fill(endpoint: Endpoint) -> tuple[str, str, dict[str, object]]:
        method, path, body = endpoint
        filled = {
            k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
            for k, v in body.items()
        }
        return method, path.format(**ids), filled

    return auth, fill


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_unknown_field_is_refused_by_name(
    setup, client: TestClient, db: Database, endpoint: Endpoint
) -> None:  # type: ignore[no-untyped-def]
    auth, fill = setup
    method, path, body = fill(endpoint)
    before = audit_count(db)
    response = client.request(method, path, json={**body, "sneaky": 1}, headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert ["body", "sneaky"] in [e["loc"] for e in response.json()["errors"]]
    assert audit_count(db) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_wrong_type_is_refused_by_name(
    setup, client: TestClient, db: Database, endpoint: Endpoint
) -> None:  # type: ignore[no-untyped-def]
    auth, fill = setup
    method, path, body = fill(endpoint)
    field = next(iter(body))
    before = audit_count(db)
    response = client.request(method, path, json={**body, field: {"not": "scalar"}}, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", field]
    assert audit_count(db) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_malformed_json_is_refused(
    setup, client: TestClient, db: Database, endpoint: Endpoint
) -> None:  # type: ignore[no-untyped-def]
    auth, fill = setup
    method, path, _ = fill(endpoint)
    before = audit_count(db)
    response = client.request(
        method, path, content=b'{"name": "x",', headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert audit_count(db) == before


def test_oversized_body_gets_413(setup, client: TestClient, db: Database) -> None:  # type: ignore[no-untyped-def]
    auth, _ = setup
    before = audit_count(db)
    response = client.post(
        "/api/v1/enterprises", json={"name": "x", "description": "y" * 2_000_000}, headers=auth
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert audit_count(db) == before


def test_oversized_chunked_body_gets_413(setup, client: TestClient, db: Database) -> None:  # type: ignore[no-untyped-def]
    auth, _ = setup

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "x", "description": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    before = audit_count(db)
    response = client.post(
        "/api/v1/enterprises",
        content=chunks(),
        headers={**auth, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert audit_count(db) == before


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_foreign_cursor_names_the_parameter(setup, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    auth, _ = setup
    response = client.get("/api/v1/sites?cursor=bm9wZQ", headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_nul_character_in_a_body_is_refused_by_name(
    setup, client: TestClient, db: Database
) -> None:  # type: ignore[no-untyped-def]
    auth, _ = setup
    before = audit_count(db)
    response = client.post("/api/v1/tokens", json={"name": "a\x00b"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
    assert audit_count(db) == before


def test_nul_character_in_a_query_is_refused(setup, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    auth, _ = setup
    response = client.get("/api/v1/audit?actor=a%00b", headers=auth)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
