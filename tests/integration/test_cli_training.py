"""`andon training matrix|due` on both databases: text, JSON and XLSX."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import update

from andon.core.uow import Context
from andon.documents.models import TrainingAssignment
from tests.integration.test_cli import andon
from tests.integration.training_plant import TrainingPlant, build_training_plant


@pytest.fixture
def plant(system: Context) -> TrainingPlant:
    built = build_training_plant(system)
    # The CLI runs on today's date: move the due dates so the states do not depend on it.
    today = date.today()
    with system.write() as tx:
        tx.session.execute(
            update(TrainingAssignment)
            .where(TrainingAssignment.status == "due", TrainingAssignment.due_on > date(2026, 3, 9))
            .values(due_on=date(today.year + 1, 1, 1))
        )
        tx.session.execute(
            update(TrainingAssignment)
            .where(
                TrainingAssignment.status == "due", TrainingAssignment.due_on == date(2026, 3, 9)
            )
            .values(due_on=date(today.year - 1, 1, 1))
        )
    return built


def test_matrix_json_has_a_code_per_cell(db_url: str, plant: TrainingPlant) -> None:
    result = andon(db_url, "training", "matrix", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [p["username"] for p in data["people"]] == ["op1", "op2", "op3", "sup"]
    assert [d["number"] for d in data["documents"]] == ["SOP-ASM-001", "SOP-GEN-001", "SOP-PCK-001"]
    assert data["states"] == ["c--", "d--", "--c", "o--"]
    assert data["legend"]["o"] == "overdue"


def test_matrix_by_line_and_role_as_text(db_url: str, plant: TrainingPlant) -> None:
    result = andon(db_url, "training", "matrix", "--line", "CHI/ASM/L1", "--role", "supervisor")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["person", "SOP-ASM-001", "r2", "SOP-GEN-001", "r1"]
    assert lines[1].split() == ["sup", "OVERDUE", "-"]
    assert lines[2].startswith("0 current, 0 due, 1 overdue, 1 not required")


def test_matrix_xlsx_file(db_url: str, plant: TrainingPlant, tmp_path: Path) -> None:
    target = tmp_path / "matrix.xlsx"
    result = andon(db_url, "training", "matrix", "--xlsx", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {target}: 4 people × 3 documents"
    rows = list(openpyxl.load_workbook(target)["Training matrix"].iter_rows(values_only=True))
    assert rows[4] == ("sup", "Sup", "overdue", "not required", "not required")


def test_due_json_and_overdue(db_url: str, plant: TrainingPlant) -> None:
    result = andon(db_url, "training", "due", "--user", "op2", "--json")
    assert result.exit_code == 0, result.output
    (task,) = json.loads(result.stdout)
    assert (task["number"], task["revision"], task["previous_revision"], task["overdue"]) == (
        "SOP-ASM-001",
        2,
        1,
        False,
    )
    late = andon(db_url, "training", "due", "--overdue")
    assert late.exit_code == 0, late.output
    assert [line.split()[0] for line in late.stdout.splitlines()] == ["user", "sup"]


def test_unknown_role_is_refused(db_url: str, plant: TrainingPlant) -> None:
    result = andon(db_url, "training", "matrix", "--role", "wizard")
    assert result.exit_code == 1
    assert "wizard" in result.stderr
