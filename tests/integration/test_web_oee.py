"""The downtime and OEE page of a line: the weekly OEE, the entries and the entry form."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import downtime
from andon.metrics.oee_models import DowntimeEntry
from andon.metrics.oee_schemas import IdealCycleTimeSet
from tests.factories import Floor, make_floor, make_user
from tests.integration.test_oee import ship
from tests.integration.test_web_pages import csrf_token, sign_in


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def entries(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(DowntimeEntry)) or 0


def post(client: TestClient, floor: Floor, **fields: str) -> httpx.Response:
    path = f"/lines/{floor.line.id}/downtime"
    return client.post(
        path, data={**fields, "csrf_token": csrf_token(client, path)}, follow_redirects=False
    )


def test_a_supervisor_enters_downtime_and_sees_it_in_site_time(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    sign_in(client, "sue")

    response = post(
        client,
        floor,
        started_at="2026-11-23T09:00",
        ended_at="2026-11-23T09:40",
        reason_code="material_shortage",
        note="no castings",
    )

    assert response.status_code == 303
    page = client.get(f"/lines/{floor.line.id}/downtime").text
    assert "Recorded 40 min of material_shortage." in page
    assert "2026-11-23 09:00 CST" in page
    assert "no castings" in page
    assert '<option value="planned_maintenance">planned maintenance</option>' in page


def test_an_end_before_the_start_is_shown_on_its_field_and_nothing_is_written(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    sign_in(client, "sue")

    response = post(
        client,
        floor,
        started_at="2026-11-23T09:00",
        ended_at="2026-11-23T08:00",
        reason_code="breakdown",
    )

    assert response.status_code == 422
    assert 'id="downtime-end-error">must be after started_at' in response.text
    assert entries(system) == 0


def test_an_operator_sees_the_page_without_the_form(
    client: TestClient, system: Context, floor: Floor
) -> None:
    ship(system, floor, 0, rework=False)
    downtime.set_ideal_cycle_time(
        system, IdealCycleTimeSet(product="PH-100", line_id=None, seconds=2880)
    )
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")

    page = client.get(f"/lines/{floor.line.id}/downtime").text

    # One unit at 48 min ideal in a 40-hour week: 2.0 %.
    assert "2026-W48" in page
    assert "2.0%" in page
    assert "Enter downtime</h3>" not in page
