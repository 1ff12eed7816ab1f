"""SLAs the calendar cannot reach: refused when published, and never an error on a clock."""

from __future__ import annotations

from datetime import time

import pytest
from fastapi.testclient import TestClient

from andon.calendars.service import ShiftInput, set_shifts
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import Floor, assembly_spec, bearer, make_floor

FIELDS = {"customer": "Globex", "order_ref": "SO-12345"}
TOO_LONG = "too long: a duration is at most 8760h (365 days of business time)"


@pytest.fixture
def admin(system: Context) -> dict[str, str]:
    return bearer(system, "ada", Role.ADMIN)


@pytest.fixture
def blink_floor(system: Context) -> Floor:
    """One working minute a week: the 40h end-to-end SLA cannot be reached in five years."""
    floor = make_floor(system, shifts=False)
    set_shifts(system, floor.site.id, [ShiftInput("Blink", (0,), time(6, 0), time(6, 1))])
    return floor


def test_publishing_an_sla_longer_than_a_year_is_422_naming_each_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    definition = assembly_spec(sla="50000h")
    definition["stages"][2]["sla"] = "9000h"

    response = client.post(
        "/api/v1/processes",
        json={"definition": definition, "reason": "long haul"},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {tuple(e["loc"]): e["msg"] for e in response.json()["errors"]}
    assert errors == {
        ("body", "definition", "sla"): f"50000h is {TOO_LONG}",
        ("body", "definition", "stages", 2, "sla"): f"9000h is {TOO_LONG}",
    }
    assert client.get("/api/v1/processes", headers=admin).json() == []


def test_an_item_on_a_calendar_too_sparse_for_its_sla_opens_with_no_due_time(
    client: TestClient, blink_floor: Floor, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/work-items",
        json={"process": "assembly", "line_id": blink_floor.line.id, "fields": FIELDS},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    item = created.json()

    clock = client.get(f"/api/v1/work-items/{item['id']}/clock", headers=admin)

    assert clock.status_code == 200
    process = clock.json()["process"]
    assert (process["due_at"], process["projected_due_at"], process["breached"]) == (
        None,
        None,
        False,
    )
    assert process["explanation"].startswith("No due time: 40h 00m of business time")
    assert item["due_at"] is None
    assert item["stage_due_at"] is not None  # the 2h intake SLA fits in 261 minutes


def test_retargeting_a_stage_beyond_a_year_is_422_naming_the_sla(
    client: TestClient, system: Context, admin: dict[str, str]
) -> None:
    floor = make_floor(system, shifts=False)
    item = client.post(
        "/api/v1/work-items",
        json={"process": "assembly", "line_id": floor.line.id, "fields": FIELDS},
        headers=admin,
    ).json()

    response = client.post(
        f"/api/v1/work-items/{item['id']}/retarget",
        json={"version": item["version"], "sla": "9000h", "reason": "customer waits a decade"},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", "sla"], "msg": f"9000h is {TOO_LONG}", "type": "value_error"}
    ]
