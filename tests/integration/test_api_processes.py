"""Process definitions over the JSON API: publish JSON or YAML, read versions, export."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import DEMO_PROCESS, assembly_spec, bearer, make_plant

YAML = {"content-type": "application/yaml"}


@pytest.fixture
def admin(system: Context) -> dict[str, str]:
    return bearer(system, "ada", Role.ADMIN)


def publish_yaml(
    client: TestClient, auth: dict[str, str], text: str, reason: str | None = "first cut"
) -> httpx.Response:
    query = f"?reason={reason}" if reason is not None else ""
    return client.post(f"/api/v1/processes{query}", content=text, headers={**auth, **YAML})


def test_publishing_yaml_creates_version_one(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/processes?reason=first cut",
        content=DEMO_PROCESS.read_text(),
        headers={**admin, **YAML},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["process"]["key"], body["version"]["number"]) == (
        True,
        "assembly",
        1,
    )
    stored = client.get("/api/v1/processes/assembly", headers=admin).json()
    assert [s["key"] for s in stored["definition"]["stages"]][:2] == ["intake", "plan"]
    version = client.get("/api/v1/processes/assembly/versions/1", headers=admin).json()
    assert version["source"] == DEMO_PROCESS.read_text()
    assert version["reason"] == "first cut"


def test_a_yaml_error_names_the_field_path_and_the_line(
    client: TestClient, admin: dict[str, str]
) -> None:
    text = DEMO_PROCESS.read_text().replace("{from: intake, to: plan}", "{from: intake, to: plam}")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "to: plam" in t)

    response = client.post("/api/v1/processes?reason=x", content=text, headers={**admin, **YAML})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "transitions", 0, "to"]
    assert error["msg"] == f"line {line}: unknown stage 'plam'"
    assert client.get("/api/v1/processes", headers=admin).json() == []


def test_broken_yaml_is_refused_with_its_line(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/processes?reason=x",
        content="key: assembly\nstages: [\n  {key: a\n",
        headers={**admin, **YAML},
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "yaml"]
    assert error["msg"].startswith("line ")


def test_yaml_without_a_reason_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/processes", content=DEMO_PROCESS.read_text(), headers={**admin, **YAML}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "reason"]


def test_json_errors_are_located_under_the_definition(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/processes",
        json={"definition": assembly_spec(start="nowhere"), "reason": "x"},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "definition", "start"]


def test_json_body_with_an_unknown_member_names_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/processes",
        json={"definition": assembly_spec(), "reason": "x", "sneaky": 1},
        headers=admin,
    )

    assert response.status_code == 422
    assert ["body", "sneaky"] in [e["loc"] for e in response.json()["errors"]]


def test_nul_inside_a_definition_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/processes",
        json={"definition": assembly_spec(name="Assembly\x00"), "reason": "x"},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "definition"]


def test_an_unknown_media_type_is_415(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/processes?reason=x",
        content=b"key: x",
        headers={**admin, "content-type": "application/octet-stream"},
    )

    assert response.status_code == 415
    assert response.json()["title"] == "Unsupported media type"


def test_publishing_again_adds_a_version_and_the_same_text_is_a_conflict(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = {"definition": assembly_spec(), "reason": "first"}
    client.post("/api/v1/processes", json=first, headers=admin)
    second = {"definition": assembly_spec(name="Assembly v2"), "reason": "renamed"}

    again = client.post("/api/v1/processes", json=second, headers=admin)
    same = client.post("/api/v1/processes", json=second, headers=admin)

    assert (again.status_code, again.json()["created"]) == (201, False)
    assert same.status_code == 409
    versions = client.get("/api/v1/processes/assembly/versions", headers=admin).json()
    assert [(v["number"], v["reason"]) for v in versions] == [(2, "renamed"), (1, "first")]


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("yaml", "application/yaml"), ("json", "application/json"), ("bpmn", "application/xml")],
)
def test_export_gives_each_format_its_media_type(
    client: TestClient, admin: dict[str, str], fmt: str, media_type: str
) -> None:
    client.post(
        "/api/v1/processes", json={"definition": assembly_spec(), "reason": "x"}, headers=admin
    )

    response = client.get(f"/api/v1/processes/assembly/export?format={fmt}", headers=admin)

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["content-disposition"].startswith("attachment;")
    if fmt == "yaml":
        assert yaml.safe_load(response.text)["key"] == "assembly"
    elif fmt == "json":
        assert response.json()["start"] == "intake"
    else:
        root = ET.fromstring(response.text)  # noqa: S314 - our own export
        assert root.tag.endswith("definitions")


def test_an_unknown_process_is_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/api/v1/processes/nothing", headers=admin).status_code == 404
    assert client.get("/api/v1/processes/Bad-Key", headers=admin).status_code == 422


def test_operator_may_read_processes_but_not_publish(client: TestClient, system: Context) -> None:
    auth = bearer(system, "otto", Role.OPERATOR)

    refused = publish_yaml(client, auth, DEMO_PROCESS.read_text())

    assert refused.status_code == 403
    assert client.get("/api/v1/processes", headers=auth).status_code == 200


def test_a_deactivated_process_takes_no_new_items(
    client: TestClient, system: Context, admin: dict[str, str]
) -> None:
    _, _, _, line = make_plant(system)
    client.post(
        "/api/v1/processes", json={"definition": assembly_spec(), "reason": "x"}, headers=admin
    )

    off = client.post(
        "/api/v1/processes/assembly/deactivate", json={"reason": "retired"}, headers=admin
    )
    created = client.post(
        "/api/v1/work-items",
        json={
            "process": "assembly",
            "line_id": line.id,
            "fields": {"customer": "Globex", "order_ref": "SO-12345"},
        },
        headers=admin,
    )

    assert off.json()["active"] is False
    assert created.status_code == 422
    assert created.json()["errors"][0]["loc"] == ["body", "process"]
    on = client.post("/api/v1/processes/assembly/activate", json={"reason": "back"}, headers=admin)
    assert on.json()["active"] is True


def test_switching_escalation_off_is_reported(client: TestClient, admin: dict[str, str]) -> None:
    client.post(
        "/api/v1/processes", json={"definition": assembly_spec(), "reason": "x"}, headers=admin
    )

    response = client.post(
        "/api/v1/processes/assembly/escalation",
        json={"active": False, "reason": "pilot"},
        headers=admin,
    )

    assert response.json() == {"key": "assembly", "escalation_active": False, "items_recomputed": 0}
    assert (
        client.get("/api/v1/processes/assembly", headers=admin).json()["escalation_active"] is False
    )
