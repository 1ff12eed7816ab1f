"""`andon conformance` on a log file with a YAML process, and on Andon's own events."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from andon.core.uow import Context
from tests.integration.test_andon_events_log import history  # noqa: F401 - a fixture
from tests.integration.test_cli import andon

DEMO = Path(__file__).resolve().parents[2] / "src" / "andon" / "demo" / "assembly.yaml"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CASES = {
    "A1": ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Pack", "Ship"],
    "A2": ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Rework", "Inspect", "Pack", "Ship"],
    "A3": ["Intake", "Plan", "Kit", "Assemble", "Pack", "Ship"],
    "A4": ["Intake", "Plan", "Kit"],
}
# Both illegal A3 and open A4: fitness (1 + 1 + 9/11 + 3/4) / 4.
EXPECTED = {
    "cases": 4,
    "conforming_cases": 2,
    "incomplete_cases": 1,
    "deviations": [
        {"kind": "illegal_move", "source": "assemble", "target": "pack", "cases": 1,
         "examples": ["A3"]},
        {"kind": "incomplete", "source": "kit", "target": None, "cases": 1, "examples": ["A4"]},
        {"kind": "missing_stage", "source": None, "target": "inspect", "cases": 1,
         "examples": ["A3"]},
    ],
}  # fmt: skip


def rows() -> list[tuple[str, str, str]]:
    return [
        (case, activity, (T0 + timedelta(hours=i)).isoformat())
        for case, activities in CASES.items()
        for i, activity in enumerate(activities)
    ]


@pytest.fixture
def csv_log(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["order", "step", "done_at"])
        writer.writerows(rows())
    return path


def run(*args: str) -> tuple[int, str, str]:
    # File logs need no database; the URL only keeps the command off any real settings.
    result = andon("sqlite:///unused.db", "conformance", *args)
    return result.exit_code, result.stdout, result.stderr


def test_csv_log_against_a_yaml_process(csv_log: Path) -> None:
    code, out, err = run(
        str(csv_log), "--process", str(DEMO), "--json",
        "--case", "order", "--activity", "step", "--timestamp", "done_at",
    )  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert report.pop("fitness") == pytest.approx((1 + 1 + 9 / 11 + 3 / 4) / 4)
    assert report == EXPECTED


def test_parquet_log_with_standard_columns(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    cases, activities, stamps = zip(*rows(), strict=True)
    pq.write_table(
        pa.table(
            {
                "case_id": list(cases),
                "activity": list(activities),
                "timestamp": pa.array(
                    [datetime.fromisoformat(s) for s in stamps], pa.timestamp("us", tz="UTC")
                ),
            }
        ),
        path,
    )

    code, out, err = run(str(path), "--process", str(DEMO), "--json", "--exclude-incomplete")

    assert code == 0, err
    report = json.loads(out)
    assert (report["cases"], report["conforming_cases"], report["incomplete_cases"]) == (3, 2, 1)


def test_table_for_people_with_sla_attainment(csv_log: Path) -> None:
    code, out, err = run(
        str(csv_log), "--process", str(DEMO), "--sla",
        "--case", "order", "--activity", "step", "--timestamp", "done_at",
    )  # fmt: skip

    assert code == 0, err
    assert "cases 4, conforming 2 (50.0%), incomplete 1, fitness 0.892" in out
    assert "illegal_move   assemble  pack     1      A3" in out
    assert "SLA attainment (elapsed time)" in out
    assert "end to end (cases)  144000    3       3       100.0%" in out


def test_rejected_rows_warn_on_stderr_and_keep_stdout_one_document(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["case_id", "activity", "timestamp"])
        writer.writerows(rows())
        writer.writerow(["A9", "", T0.isoformat()])

    code, out, err = run(str(path), "--process", str(DEMO), "--json")

    assert code == 0, err
    assert json.loads(out)["cases"] == 4
    assert "1 of 26 rows rejected" in err


def test_log_and_db_together_is_a_usage_error(csv_log: Path) -> None:
    code, _, err = run(str(csv_log), "--db")

    assert code == 2
    assert "not both" in err


def test_neither_log_nor_db_is_a_usage_error() -> None:
    code, _, err = run("--process", str(DEMO))

    assert code == 2
    assert "give a LOG file or --db" in err


def test_missing_process_file_is_one_clear_error(csv_log: Path, tmp_path: Path) -> None:
    code, out, err = run(str(csv_log), "--process", str(tmp_path / "nope.yaml"))

    assert (code, out) == (1, "")
    assert err.startswith("error: process: no process definition file")


def test_andons_own_events_against_the_published_process(
    system: Context,
    db_url: str,
    history: dict[str, int],  # noqa: F811 - the fixture imported above
) -> None:
    result = andon(db_url, "conformance", "--db", "--json", "--sla")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["cases"], report["conforming_cases"]) == (3, 2)
    assert report["deviations"][0]["examples"] == [str(history["late"])]
    assert report["sla"]["basis"] == "business"
    assert report["sla"]["stage_visits"]["visits"] == 16


def test_unknown_process_in_andon_is_one_clear_error(
    system: Context,
    db_url: str,
    history: dict[str, int],  # noqa: F811 - the fixture imported above
) -> None:
    result = andon(db_url, "conformance", "--db", "--process", "paint")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no process 'paint'"


def test_kpi_on_andons_own_events_gives_the_business_time_sla(
    system: Context,
    db_url: str,
    history: dict[str, int],  # noqa: F811 - the fixture imported above
) -> None:
    kpi = andon(db_url, "kpi", "--db", "--sla", "--json")
    conformance = andon(db_url, "conformance", "--db", "--sla", "--json")

    assert kpi.exit_code == 0, kpi.stderr
    figures = json.loads(kpi.stdout)
    assert figures["cases"] == 3
    # The same verdicts as conformance: Andon's own breach records, in business time.
    assert figures["sla_attainment"] == json.loads(conformance.stdout)["sla"]
    assert figures["sla_attainment"]["basis"] == "business"
    printed = andon(db_url, "kpi", "--db", "--sla")
    assert "SLA attainment (business time)" in printed.stdout


def test_kpi_on_andons_own_events_against_a_spec_file(
    system: Context,
    db_url: str,
    history: dict[str, int],  # noqa: F811 - the fixture imported above
) -> None:
    # The items are those of the definition's key unless --process names others.
    judged = andon(db_url, "kpi", "--db", "--spec", str(DEMO), "--json")
    elsewhere = andon(db_url, "kpi", "--db", "--spec", str(DEMO), "--process", "paint")

    assert judged.exit_code == 0, judged.stderr
    figures = json.loads(judged.stdout)
    assert figures["cases"] == 3
    assert figures["sla_attainment"]["basis"] == "business"
    assert elsewhere.exit_code == 1
    assert elsewhere.stderr.strip() == "error: no process 'paint'"


def test_kpi_sla_needs_the_database(csv_log: Path) -> None:
    result = andon("sqlite:///unused.db", "kpi", str(csv_log), "--sla")

    assert result.exit_code == 2
    assert "--sla goes with --db" in result.stderr
