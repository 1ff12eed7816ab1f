"""Training pages: the matrix with filters and export, my training, and adoption."""

from __future__ import annotations

import re
from io import BytesIO

import openpyxl
import pytest
from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import make_user
from tests.integration.test_web_pages import sign_in
from tests.integration.training_plant import TrainingPlant, build_training_plant


@pytest.fixture
def plant(system: Context) -> TrainingPlant:
    return build_training_plant(system)


def test_matrix_page_shows_each_state_in_words(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    make_user(system, "lead", Role.OPS_MANAGER)
    sign_in(client, "lead")
    page = client.get("/training", params={"line": plant.line.id, "role": "operator"})
    assert page.status_code == 200
    cells = re.findall(r'<td class="tm-(\w+)">([^<]*)</td>', page.text)
    # op1 current, op2 overdue (every due date of the plant is in the past): ASM, then GEN.
    assert cells == [("current", "Current"), ("none", "—"), ("overdue", "Overdue"), ("none", "—")]
    assert 'href="/training/matrix.xlsx?line=' in page.text
    assert 'href="/training"' in page.text  # the nav link


def test_matrix_export_from_the_page(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    make_user(system, "lead", Role.OPS_MANAGER)
    sign_in(client, "lead")
    response = client.get("/training/matrix.xlsx", params={"role": "supervisor"})
    assert response.status_code == 200
    rows = list(
        openpyxl.load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True)
    )
    assert [r[0] for r in rows[1:]] == ["sup"]


def test_bad_filter_is_shown_on_the_page(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    make_user(system, "lead", Role.OPS_MANAGER)
    sign_in(client, "lead")
    page = client.get("/training", params={"role": "wizard"})
    assert page.status_code == 422
    assert "choose a role from the list" in page.text


def test_operator_sees_my_training_with_the_redline_link(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    sign_in(client, "op2")
    page = client.get("/training/me")
    assert page.status_code == 200
    assert 'href="/documents/SOP-ASM-001/redline?from=1&amp;to=2"' in page.text
    assert 'href="/documents/SOP-ASM-001#acknowledge"' in page.text
    assert 'href="/training/me"' in page.text
    assert client.get("/training").status_code == 403


def test_adoption_page_draws_both_curves(
    client: TestClient, system: Context, plant: TrainingPlant
) -> None:
    make_user(system, "qa", Role.QUALITY)
    sign_in(client, "qa")
    page = client.get("/training/adoption/SOP-ASM-001")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'data-series="Acknowledged" data-day="1" data-value="0.3333"' in page.text
    assert "1 of 3 (33%)" in page.text
