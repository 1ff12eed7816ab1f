"""`andon metric`: the fixed contract of issue 15 (define, import, chart --json) and the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from andon.core.database import Database
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.metrics.models import MetricValue, MetricVersion
from tests.factories import make_floor, new_item
from tests.integration.test_cli import andon

DEFINITION = """\
key: near_misses
name: Near misses
owner: quality
unit: count
direction: lower_is_better
kind: leading
source: manual
period: week
chart: xmr
rules: [WE1, WE2]
baseline: {points: 5}
thresholds:
  - level: warning
    above: 14
    decision: walk the floor with the safety lead
"""
CSV = "period,value\n2026-W40,10\n2026-W41,12\n2026-W42,11\n2026-W43,13\n2026-W44,12\n2026-W45,20\n"


def stored(db: Database, model: object) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    yaml_file = tmp_path / "near_misses.yaml"
    yaml_file.write_text(DEFINITION, encoding="utf-8")
    csv_file = tmp_path / "near_misses.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    return yaml_file, csv_file


def test_define_import_and_chart_json(db: Database, files: tuple[Path, Path]) -> None:
    yaml_file, csv_file = files
    defined = andon(db.url, "metric", "define", str(yaml_file))
    assert defined.exit_code == 0, defined.stderr
    assert defined.stdout.strip() == "defined near_misses version 1"
    imported = andon(db.url, "metric", "import", "near_misses", str(csv_file))
    assert imported.exit_code == 0, imported.stderr
    assert "imported 6 values" in imported.stdout
    drawn = andon(db.url, "metric", "chart", "near_misses", "--json")
    assert drawn.exit_code == 0, drawn.stderr
    data = json.loads(drawn.stdout)
    assert {"chart", "center", "ucl", "lcl", "points"} <= set(data)
    assert data["chart"] == "xmr"
    # Baseline W40-W44: mean 11.6, MR-bar (2+1+2+1)/4 = 1.5, limits 11.6 ± 2.66·1.5.
    assert data["center"] == pytest.approx(11.6)
    assert data["ucl"] == pytest.approx(15.59)
    assert data["lcl"] == pytest.approx(7.61)
    points = data["points"]
    assert [p["period"] for p in points] == [f"2026-W{w}" for w in range(40, 46)]
    assert {"period", "value", "ucl", "lcl", "signals"} <= set(points[0])
    assert [p["signals"] for p in points] == [[], [], [], [], [], ["WE1"]]
    assert points[-1]["value"] == 20


def test_redefine_identical_is_a_no_op(db: Database, files: tuple[Path, Path]) -> None:
    yaml_file, _ = files
    andon(db.url, "metric", "define", str(yaml_file))
    again = andon(db.url, "metric", "define", str(yaml_file))
    assert again.exit_code == 0, again.stderr
    assert "unchanged (version 1)" in again.stdout
    assert stored(db, MetricVersion) == 1


def test_invalid_definition_names_field_and_line(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFINITION.replace("rules: [WE1, WE2]", "rules: [WE1, WE9]"), encoding="utf-8")
    result = andon(db.url, "metric", "define", str(bad))
    assert result.exit_code == 1
    assert "rules.1" in result.stderr
    assert "line 10" in result.stderr
    assert stored(db, MetricVersion) == 0


def test_bad_csv_row_names_its_line_and_stores_nothing(
    db: Database, files: tuple[Path, Path], tmp_path: Path
) -> None:
    yaml_file, _ = files
    andon(db.url, "metric", "define", str(yaml_file))
    bad = tmp_path / "bad.csv"
    bad.write_text("period,value\n2026-W40,10\n2026-W41,12\n2026-13,4\n", encoding="utf-8")
    result = andon(db.url, "metric", "import", "near_misses", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid CSV: line 4:")
    assert stored(db, MetricValue) == 0


def test_export_round_trips(db: Database, files: tuple[Path, Path], tmp_path: Path) -> None:
    yaml_file, _ = files
    andon(db.url, "metric", "define", str(yaml_file))
    out = tmp_path / "out.yaml"
    exported = andon(db.url, "metric", "export", "near_misses", "-o", str(out))
    assert exported.exit_code == 0, exported.stderr
    again = andon(db.url, "metric", "define", str(out))
    assert "unchanged" in again.stdout
    printed = andon(db.url, "metric", "export", "near_misses")
    assert printed.stdout == out.read_text(encoding="utf-8")


def test_list_show_and_compute_json(db: Database, files: tuple[Path, Path]) -> None:
    yaml_file, csv_file = files
    andon(db.url, "metric", "define", str(yaml_file))
    andon(db.url, "metric", "import", "near_misses", str(csv_file))
    listed = json.loads(andon(db.url, "metric", "list", "--json").stdout)
    assert [(m["key"], m["owner"], m["chart"]) for m in listed] == [
        ("near_misses", "quality", "xmr")
    ]
    shown = json.loads(andon(db.url, "metric", "show", "near_misses", "--json").stdout)
    assert shown["definition"]["baseline"] == {"points": 5}
    assert [v["period"] for v in shown["latest_values"]][-1] == "2026-W45"
    assert shown["limits"][0]["center"] == pytest.approx(11.6)
    computed = andon(db.url, "metric", "compute", "--all", "--json")
    assert computed.exit_code == 0, computed.stderr
    assert json.loads(computed.stdout)[0]["skipped"] == "manual values"


def test_rebaseline_moves_the_limits(db: Database, files: tuple[Path, Path]) -> None:
    yaml_file, csv_file = files
    andon(db.url, "metric", "define", str(yaml_file))
    andon(db.url, "metric", "import", "near_misses", str(csv_file))
    result = andon(
        db.url, "metric", "rebaseline", "near_misses", "--points", "6", "--reason", "new scale"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(andon(db.url, "metric", "chart", "near_misses", "--json").stdout)
    assert data["center"] == pytest.approx(13.0)


def test_chart_of_unknown_metric_fails(db: Database) -> None:
    result = andon(db.url, "metric", "chart", "nope", "--json")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no metric 'nope'"


def test_compute_all_carries_on_past_a_metric_it_cannot_compute(
    db: Database, files: tuple[Path, Path], tmp_path: Path
) -> None:
    # A site working around the clock has no shifts: a per-shift KPI cannot be placed.
    system = Context(db, system_actor("cli:test"))
    new_item(system, make_floor(system, shifts=False), at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    yaml_file, _ = files
    andon(db.url, "metric", "define", str(yaml_file))
    for key, period in (("per_shift", "shift"), ("wip", "day")):
        kpi = tmp_path / f"{key}.yaml"
        kpi.write_text(
            DEFINITION.replace("key: near_misses", f"key: {key}")
            .replace("source: manual", "source: {kpi: wip}")
            .replace("period: week", f"period: {period}"),
            encoding="utf-8",
        )
        assert andon(db.url, "metric", "define", str(kpi)).exit_code == 0
    result = andon(db.url, "metric", "compute", "--all")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "near_misses: skipped (manual values)"
    assert result.stdout.splitlines()[1].startswith("wip: 1 period recomputed (full)")
    assert result.stderr.startswith("error: per_shift: period: ")


def test_show_prints_the_status_per_line_and_the_crossings(
    db: Database, files: tuple[Path, Path]
) -> None:
    yaml_file, csv_file = files
    andon(db.url, "metric", "define", str(yaml_file))
    imported = andon(db.url, "metric", "import", "near_misses", str(csv_file))
    assert imported.stdout.strip().endswith(
        "control limits frozen; 1 threshold crossing found; 1 action opened (#1)"
    )
    shown = json.loads(andon(db.url, "metric", "show", "near_misses", "--json").stdout)
    assert shown["status"] == [
        {
            "line": None,
            "status": "warning",
            "period": "2026-W45",
            "value": 20.0,
            "level": "warning",
            "action_id": 1,
            "stale": False,
        }
    ]
    [crossing] = shown["crossings"]
    assert (crossing["period"], crossing["level"], crossing["action_id"]) == (
        "2026-W45",
        "warning",
        1,
    )
    assert crossing["decision"] == "walk the floor with the safety lead"
    text = andon(db.url, "metric", "show", "near_misses").stdout
    assert (
        "status:\nLINE  STATUS   PERIOD    VALUE  LEVEL    ACTION\n*     warning  2026-W45" in text
    )
    again = andon(db.url, "metric", "compute", "near_misses")
    assert again.stdout == "near_misses: skipped (manual values)\n"
