"""Downtime, ideal cycle times and OEE over the JSON API, on both databases."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics.oee_models import DowntimeEntry
from tests.factories import Floor, bearer, make_floor
from tests.integration.test_oee import at, ship


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


@pytest.fixture
def lead(system: Context) -> dict[str, str]:
    return bearer(system, "sue", Role.SUPERVISOR)


def post_downtime(
    client: TestClient, auth: dict[str, str], floor: Floor, start: float, end: float, **extra: str
) -> httpx.Response:
    return client.post(
        f"/api/v1/lines/{floor.line.id}/downtime",
        json={
            "started_at": at(start).isoformat(),
            "ended_at": at(end).isoformat(),
            "reason_code": "breakdown",
        }
        | extra,
        headers=auth,
    )


def entries(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(DowntimeEntry)) or 0


def test_recorded_downtime_is_listed(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    created = post_downtime(client, lead, floor, 0, 30, note="gearbox")
    assert created.status_code == 201, created.text

    listed = client.get(f"/api/v1/lines/{floor.line.id}/downtime", headers=lead).json()

    assert [(e["reason_code"], e["note"], e["recorded_by"]) for e in listed] == [
        ("breakdown", "gearbox", "sue")
    ]
    assert listed[0]["started_at"].startswith("2026-11-23T13:00:00")


def test_overlapping_downtime_is_a_conflict_and_writes_nothing(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    post_downtime(client, lead, floor, 0, 30)

    response = post_downtime(client, lead, floor, 10, 20)

    assert response.status_code == 409
    assert entries(system) == 1


def test_an_unknown_reason_code_is_a_422_naming_the_field(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    response = post_downtime(client, lead, floor, 0, 30, reason_code="lunch")

    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert locs == [["body", "reason_code"]]
    assert entries(system) == 0


def test_an_operator_may_not_record_downtime(
    client: TestClient, system: Context, floor: Floor
) -> None:
    response = post_downtime(client, bearer(system, "otto", Role.OPERATOR), floor, 0, 30)

    assert response.status_code == 403
    assert entries(system) == 0


def test_oee_of_the_line_per_day_with_its_components(
    client: TestClient, system: Context, floor: Floor
) -> None:
    manager = bearer(system, "olga", Role.OPS_MANAGER)
    ship(system, floor, 0, rework=False)
    ship(system, floor, 40, rework=True)
    put = client.put(
        "/api/v1/ideal-cycle-times",
        json={"product": "PH-100", "line_id": floor.line.id, "seconds": 1440},
        headers=manager,
    )
    assert put.status_code == 200, put.text
    assert post_downtime(client, manager, floor, 100, 148).status_code == 201

    rows = client.get(f"/api/v1/lines/{floor.line.id}/oee?period=day", headers=manager).json()

    # 480 min planned, 48 min down: 432 min run. 2 units × 24 min = 48 min ideal; 1 good.
    (row,) = rows
    assert row["period"] == "2026-11-23"
    assert row["availability"] == pytest.approx(432 / 480)
    assert row["performance"] == pytest.approx(48 / 432)
    assert row["quality"] == pytest.approx(0.5)
    assert row["oee"] == pytest.approx(48 / 480 * 0.5)
    assert row["no_data"] is None


def test_oee_of_a_chosen_week_without_output_is_no_data(
    client: TestClient, system: Context, floor: Floor, lead: dict[str, str]
) -> None:
    rows = client.get(
        f"/api/v1/lines/{floor.line.id}/oee?period=week&key=2026-W48", headers=lead
    ).json()

    assert [(r["period"], r["oee"], r["no_data"]) for r in rows] == [
        ("2026-W48", None, "nothing was made")
    ]
    assert rows[0]["planned_seconds"] == 5 * 8 * 3600
