"""/api/v1/training: who may read the matrix and whose tasks, and what they get."""

from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest
from fastapi.testclient import TestClient

from andon.accounts.schemas import TokenCreate
from andon.accounts.service import create_token_for
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer
from tests.integration.training_plant import TrainingPlant, build_training_plant


@pytest.fixture
def plant(system: Context) -> TrainingPlant:
    return build_training_plant(system)


def _headers_of(system: Context, username: str) -> dict[str, str]:
    from sqlalchemy import select

    from andon.accounts.models import User

    with system.read() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    _, raw = create_token_for(system, user_id, TokenCreate(name="test"))
    return {"Authorization": f"Bearer {raw}"}


def test_operator_sees_own_tasks_not_the_matrix(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    headers = _headers_of(system, "op2")
    mine = client.get("/api/v1/training/me", headers=headers)
    assert mine.status_code == 200, mine.text
    assert [(t["number"], t["previous_revision"]) for t in mine.json()] == [("SOP-ASM-001", 1)]
    own = client.get("/api/v1/training/due", params={"user": "op2"}, headers=headers)
    assert own.status_code == 200
    assert own.json() == mine.json()
    assert client.get("/api/v1/training/matrix", headers=headers).status_code == 403
    assert client.get("/api/v1/training/matrix.xlsx", headers=headers).status_code == 403
    others = client.get("/api/v1/training/due", params={"user": "sup"}, headers=headers)
    assert others.status_code == 403
    assert client.get("/api/v1/training/due", headers=headers).status_code == 403
    adoption = client.get("/api/v1/training/adoption/SOP-ASM-001", headers=headers)
    assert adoption.status_code == 403


def test_supervisor_reads_the_matrix_and_its_workbook(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    headers = bearer(system, "lead", Role.SUPERVISOR)
    response = client.get(
        "/api/v1/training/matrix", params={"line": plant.line.id}, headers=headers
    )
    assert response.status_code == 200, response.text
    data = response.json()
    # "lead" is a supervisor too, and plant-wide: on the line, with no task. The API judges
    # on today's date, after every due date of the plant (March 2026).
    assert [p["username"] for p in data["people"]] == ["lead", "op1", "op2", "sup"]
    assert data["states"] == ["--", "c-", "o-", "o-"]
    workbook = client.get("/api/v1/training/matrix.xlsx", headers=headers)
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(BytesIO(workbook.content))["Training matrix"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "lead",
        "op1",
        "op2",
        "op3",
        "sup",
    ]


def test_bad_filters_are_422_and_unknown_line_404(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    headers = bearer(system, "lead", Role.SUPERVISOR)
    role = client.get("/api/v1/training/matrix", params={"role": "wizard"}, headers=headers)
    assert role.status_code == 422
    assert role.json()["errors"][0]["loc"][-1] == "role"
    line = client.get("/api/v1/training/matrix", params={"line": 999999}, headers=headers)
    assert line.status_code == 404


def test_adoption_endpoint(client: TestClient, system: Context, plant: TrainingPlant) -> None:
    headers = bearer(system, "qa", Role.QUALITY)
    response = client.get("/api/v1/training/adoption/SOP-ASM-001", headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["revision"], data["people"]) == (2, 3)
    assert data["days"][0]["acknowledged"] == 0
    assert data["days"][1]["acknowledged"] == 1
    never = client.get(
        "/api/v1/training/adoption/SOP-ASM-001", params={"revision": 9}, headers=headers
    )
    assert never.status_code == 404
