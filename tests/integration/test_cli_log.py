"""`andon log check` and `andon log convert`, run in-process on files (no database)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from andon.cli.main import app
from tests.unit.analytics.conftest import data_file

runner = CliRunner()
BAD_ROW_CSV = (
    "case_id,activity,timestamp,resource\n"
    "A,cut,2024-01-01T08:00:00Z,ann\nA,weld,2024-01-01T09:00:00Z,bob\nB,cut,whenever,ann\n"
)


def andon(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_check_json_is_one_document_with_the_contract_keys() -> None:
    result = andon("log", "check", str(data_file("receipt.csv")), "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"rows_read", "rows_rejected", "cases", "events", "issues"}
    assert (document["rows_read"], document["cases"], document["events"]) == (8577, 1434, 8577)
    single = next(i for i in document["issues"] if i["kind"] == "single_event_case")
    assert single["count"] > 0
    assert set(single["examples"][0]) == {"case_id", "activity"}


def test_check_prints_a_table_for_people(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(BAD_ROW_CSV, encoding="utf-8")

    result = andon("log", "check", str(path))

    assert result.exit_code == 0, result.stderr
    assert "rows read 3, rejected 1, kept 2 events in 1 cases" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("unparsable_timestamp"))
    assert line.split()[:3] == ["unparsable_timestamp", "1", "yes"]
    assert "timestamp=whenever" in line


def test_check_with_quarantine_writes_the_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(BAD_ROW_CSV, encoding="utf-8")
    quarantine = tmp_path / "rejected.csv"

    result = andon("log", "check", str(path), "--quarantine", str(quarantine), "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_rejected"] == 1
    rejected = pd.read_csv(quarantine, dtype=str)
    assert rejected[["row", "reason", "case_id"]].values.tolist() == [
        ["2", "unparsable_timestamp", "B"]
    ]


def test_strict_check_fails_with_one_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(BAD_ROW_CSV, encoding="utf-8")
    quarantine = tmp_path / "rejected.csv"

    result = andon("log", "check", str(path), "--strict", "--quarantine", str(quarantine), "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: log.csv: 1 of 3 rows rejected")
    assert not quarantine.exists()


def test_missing_mapped_column_is_named_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(BAD_ROW_CSV, encoding="utf-8")

    result = andon("log", "check", str(path), "--resource", "operator")

    assert result.exit_code == 1
    assert "error: --resource 'operator': no such column; the log has 'case_id'" in result.stderr


def test_convert_csv_to_xes_is_read_back_by_pm4py_with_the_same_events(tmp_path: Path) -> None:
    out = tmp_path / "receipt.xes"

    result = andon("log", "convert", str(data_file("receipt.csv")), str(out))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"wrote 8577 events in 1434 cases to {out}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        back = pm4py.read_xes(str(out), show_progress_bar=False)
    source = pd.read_csv(data_file("receipt.csv"), dtype=str)
    assert len(back) == 8577
    key = ["case:concept:name", "concept:name"]
    expected = source.assign(t=pd.to_datetime(source["time:timestamp"], utc=True, format="ISO8601"))
    left = sorted(zip(back[key[0]], back[key[1]], back["time:timestamp"], strict=True))
    right = sorted(zip(expected[key[0]], expected[key[1]], expected["t"], strict=True))
    assert left == right
    assert set(back["case:channel"].dropna()) == set(source["case:channel"].dropna())


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xes"])
def test_convert_round_trips_through_every_output_format(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"log{suffix}"
    assert andon("log", "convert", str(data_file("running-example.xes")), str(out)).exit_code == 0

    before = json.loads(
        andon("log", "check", str(data_file("running-example.xes")), "--json").stdout
    )
    after = json.loads(andon("log", "check", str(out), "--json").stdout)

    assert after == before


def test_convert_ocel_needs_an_object_type_and_then_writes(tmp_path: Path) -> None:
    source = str(data_file("ocel20_example.jsonocel"))
    out = tmp_path / "orders.csv"

    refused = andon("log", "convert", source, str(out))
    done = andon("log", "convert", source, str(out), "--object-type", "Purchase Order")

    assert refused.exit_code == 1
    assert "Purchase Order" in refused.stderr
    assert done.exit_code == 0, done.stderr
    assert pd.read_csv(out)["case:concept:name"].nunique() == 2


def test_convert_refuses_an_output_format_it_cannot_write(tmp_path: Path) -> None:
    result = andon("log", "convert", str(data_file("receipt.csv")), str(tmp_path / "x.jsonocel"))

    assert result.exit_code == 1
    assert "can write .parquet, .csv or .xes" in result.stderr
    assert not (tmp_path / "x.jsonocel").exists()


def test_csv_output_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "case_id,activity,timestamp\n=1+1,@cmd,2024-01-01T08:00:00Z\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"

    assert andon("log", "convert", str(path), str(out), "--standard-names").exit_code == 0

    written = pd.read_csv(out, dtype=str)
    assert written[["case_id", "activity"]].values.tolist() == [["'=1+1", "'@cmd"]]


def test_log_commands_do_not_load_the_web_or_orm_or_engine_at_import() -> None:
    code = (
        "import sys, andon.cli.logs, andon.cli.log_options;"
        "print(sorted(m for m in ('fastapi','sqlalchemy','ibis','duckdb','pyarrow') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"
