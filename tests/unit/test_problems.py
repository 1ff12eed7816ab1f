"""The API's mapping of domain errors: field paths placed in body or query, refusals' extras."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel

from andon.api import problems
from andon.core.errors import FieldError, InvalidInput, Refused, summarize


class Renamed(BaseModel):
    name: str


def _since(since: Annotated[str | None, Query()] = None) -> str | None:
    return since


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.post("/api/things")
    def create(data: Renamed, reason: Annotated[str | None, Query()] = None) -> None:
        raise InvalidInput(
            "two fields",
            [FieldError(("name",), "taken"), FieldError(("reason",), "say why")],
        )

    @app.get("/api/things")
    def search(since: Annotated[str | None, Depends(_since)]) -> None:
        raise InvalidInput("since: time zone missing", [FieldError(("since",), "zone")])

    @app.post("/api/documents")
    def publish(reason: Annotated[str | None, Query()] = None) -> None:
        # A document's own key that happens to share a query parameter's name.
        parsed = InvalidInput("reason: unknown key", [FieldError(("reason",), "unknown key")])
        raise problems.relocated(parsed, "definition")

    @app.get("/api/whole")
    def whole() -> None:
        raise InvalidInput("body: not UTF-8", [FieldError((), "not UTF-8")])

    @app.post("/api/moves")
    def move() -> None:
        raise Refused("cannot move to done", field="to", allowed=["check"], kind="move_refused")

    return TestClient(app)


def _locs(response: Any) -> list[list[str | int]]:
    return [e["loc"] for e in response.json()["errors"]]


def test_a_path_is_placed_in_the_body_unless_it_names_a_query_parameter(
    client: TestClient,
) -> None:
    response = client.post("/api/things", json={"name": "x"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _locs(response) == [["body", "name"], ["query", "reason"]]


def test_a_query_parameter_read_by_a_dependency_places_the_path_in_the_query(
    client: TestClient,
) -> None:
    response = client.get("/api/things?since=yesterday")

    assert _locs(response) == [["query", "since"]]


def test_a_relocated_document_stays_in_the_body_whatever_its_keys(client: TestClient) -> None:
    response = client.post("/api/documents?reason=why")

    assert _locs(response) == [["body", "definition", "reason"]]


def test_an_empty_path_is_the_whole_body(client: TestClient) -> None:
    response = client.get("/api/whole")

    assert _locs(response) == [["body"]]


def test_a_refusal_names_its_field_and_what_is_allowed(client: TestClient) -> None:
    response = client.post("/api/moves")

    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"loc": ["body", "to"], "msg": "cannot move to done", "type": "move_refused"}
    ]
    assert response.json()["allowed"] == ["check"]


def test_the_cli_summary_names_fields_by_their_path_alone() -> None:
    error = InvalidInput(
        "grants.0.role: unknown",
        [FieldError(("grants", 0, "role"), "unknown"), FieldError(("name",), "taken")],
    )

    assert summarize(error).fields == ["grants.0.role: unknown", "name: taken"]
