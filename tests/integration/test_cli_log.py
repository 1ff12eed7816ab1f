"""`andon log check`, `andon log convert` and `andon log prepare`, run in-process on files."""

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
from andon.core.uow import Context
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


def _prepare(log: Path, out: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = andon("log", "prepare", str(log), "-o", str(out), "--json", *args)
    assert result.exit_code == 0, result.stderr
    document: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return document


def test_prepare_writes_the_prepared_form_and_says_what_it_holds(tmp_path: Path) -> None:
    out = tmp_path / "receipt.prepared"

    document = _prepare(data_file("receipt.csv"), out)

    assert (document["cases"], document["variants"], document["events"]) == (1434, 116, 8577)
    assert document["directory"] == str(out)
    assert "resource" in document["attributes"]
    # 48 resources and a few departments as masks; dates and instance ids (hundreds of
    # values) as rows by value.
    assert "resource" in document["masked_attributes"]
    assert "case:department" in document["masked_attributes"]
    assert "case:deadline" not in document["masked_attributes"]
    assert set(document["masked_attributes"]) < set(document["attributes"])
    assert document["bytes"] == sum(f.stat().st_size for f in out.iterdir())
    assert document["seconds"] > 0
    assert sorted(f.name for f in out.iterdir()) == [
        "case_attributes.parquet", "cases.parquet", "edges.parquet", "prepared.json",
        "variant_edges.parquet", "variants.parquet",
    ]  # fmt: skip
    assert list(tmp_path.iterdir()) == [out]  # nothing left beside it


def test_prepare_prints_what_it_wrote_for_people(tmp_path: Path) -> None:
    out = tmp_path / "prepared"

    result = andon("log", "prepare", str(data_file("running-example.xes")), "-o", str(out))

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("prepared 6 cases, 6 variants, 42 events in ")
    assert lines[1].startswith("wrote ")
    assert lines[1].endswith(f" to {out}")


def test_prepare_reads_the_log_as_the_mapping_flags_say(tmp_path: Path) -> None:
    log = tmp_path / "orders.csv"
    log.write_text(
        "order,step,done\nA,cut,2024-01-01T08:00:00Z\nA,weld,2024-01-01T09:00:00Z\n"
        "B,cut,2024-01-01T08:30:00Z\n"
    )
    args = ("--case", "order", "--activity", "step", "--timestamp", "done")

    document = _prepare(log, tmp_path / "out", *args)

    assert (document["cases"], document["variants"], document["events"]) == (2, 2, 3)


def test_prepare_refuses_a_directory_holding_other_files(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")

    for extra in ((), ("--force",)):
        result = andon("log", "prepare", str(data_file("running-example.xes")), "-o",
                       str(tmp_path), *extra)  # fmt: skip
        assert result.exit_code == 1
        assert "is not empty and holds no prepared log" in result.stderr
    assert [f.name for f in tmp_path.iterdir()] == ["notes.txt"]


def test_prepare_replaces_a_prepared_form_only_with_force(tmp_path: Path) -> None:
    out = tmp_path / "prepared"
    _prepare(data_file("receipt.csv"), out)

    refused = andon("log", "prepare", str(data_file("running-example.xes")), "-o", str(out))
    assert refused.exit_code == 1
    assert "holds a prepared log already; --force replaces it" in refused.stderr

    replaced = _prepare(data_file("running-example.xes"), out, "--force")
    assert replaced["cases"] == 6
    assert json.loads((out / "prepared.json").read_text())["source"].endswith("running-example.xes")


def test_prepare_refuses_a_file_as_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")

    result = andon("log", "prepare", str(data_file("running-example.xes")), "-o", str(target))

    assert result.exit_code != 0
    assert target.read_text() == "x"


@pytest.mark.postgresql
def test_prepare_on_postgres_answers_as_the_log_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.analytics.conftest import PG_DSN, connect_postgres

    connect_postgres().disconnect()  # skips when the server is down
    monkeypatch.setenv("ANDON_ANALYTICS_PG_URL", PG_DSN)
    log, out = data_file("running-example.xes"), tmp_path / "prepared"

    document = _prepare(log, out, "--engine", "postgres")

    assert document["cases"] == 6
    for command in (("mine", "dfg", "--performance"), ("mine", "variants")):
        on_log = andon(*command, str(log), "--top-variants", "2", "--json")
        on_dir = andon(*command, str(out), "--top-variants", "2", "--json")
        assert on_dir.exit_code == 0, on_dir.stderr
        assert json.loads(on_dir.stdout) == json.loads(on_log.stdout)


def test_prepare_reads_andons_own_events_with_db(
    system: Context, db_url: str, tmp_path: Path
) -> None:
    from andon.work import items
    from andon.work.schemas import ItemMove
    from tests.factories import make_floor, new_item
    from tests.integration.test_cli import andon as andon_at

    floor = make_floor(system, shifts=False)
    opened = [new_item(system, floor) for _ in range(3)]
    items.move_item(system, opened[0].id, ItemMove(to="plan", version=opened[0].version))
    out = tmp_path / "plant.prepared"

    prepared = andon_at(db_url, "log", "prepare", "--db", "--process", "assembly", "-o",
                        str(out), "--json")  # fmt: skip

    assert prepared.exit_code == 0, prepared.stderr
    assert (json.loads(prepared.stdout)["cases"], json.loads(prepared.stdout)["events"]) == (3, 4)
    graph = andon("mine", "dfg", str(out), "--json")
    assert json.loads(graph.stdout)["edges"] == [
        {"source": "Intake", "target": "Plan", "frequency": 1}
    ]
