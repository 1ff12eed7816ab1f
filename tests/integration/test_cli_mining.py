"""`andon mine dfg|variants|report` and `andon kpi`, run in-process on the shared logs and on
their prepared forms (`andon log prepare`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from andon.cli.main import app
from andon.core.uow import Context
from tests.unit.analytics.conftest import data_file

runner = CliRunner()
PERFORMANCE_KEYS = {"mean", "median", "min", "max", "sum", "stdev"}


def andon(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = andon(*args, "--json")
    assert result.exit_code == 0, result.stderr
    document: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return document


def test_dfg_json_has_the_contract_shape_and_the_running_example_numbers() -> None:
    document = _json("mine", "dfg", str(data_file("running-example.xes")))
    assert set(document) == {"edges", "start_activities", "end_activities"}
    assert document["start_activities"] == {"register request": 6}
    assert document["end_activities"] == {"pay compensation": 3, "reject request": 3}
    assert len(document["edges"]) == 16
    assert document["edges"][0] == {"source": "check ticket", "target": "decide", "frequency": 6}


def test_dfg_performance_adds_seconds_per_edge() -> None:
    document = _json("mine", "dfg", str(data_file("running-example.xes")), "--performance")
    top = document["edges"][0]
    assert set(top["performance"]) == PERFORMANCE_KEYS
    assert top["performance"]["min"] == 1800.0  # 30 minutes, check ticket -> decide
    assert top["performance"]["sum"] == 1091760.0


def test_variants_json_is_sorted_by_cases_descending() -> None:
    document = _json("mine", "variants", str(data_file("receipt.csv")))
    counts = [v["cases"] for v in document["variants"]]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == 1434
    assert set(document["variants"][0]) == {"activities", "cases", "share", "mean_duration"}
    assert sum(v["share"] for v in document["variants"]) == pytest.approx(1.0)


def test_kpi_json_has_the_contract_keys() -> None:
    document = _json("kpi", str(data_file("running-example.xes")))
    assert (document["cases"], document["events"]) == (6, 42)
    assert set(document["case_duration"]) == {"mean", "median", "p90", "min", "max"}
    assert document["rework_cases"] == {
        "check ticket": 2,
        "decide": 2,
        "examine casually": 1,
        "reinitiate request": 1,
    }
    assert document["rework_rate"] == 2 / 6
    assert sum(day["cases"] for day in document["throughput_per_day"]) == 6


def test_report_is_the_three_commands_in_one_document() -> None:
    log = str(data_file("running-example.xes"))
    report = _json("mine", "report", log)
    assert set(report) == {"dfg", "variants", "kpi"}
    assert report["dfg"] == _json("mine", "dfg", log, "--performance")
    assert report["variants"] == _json("mine", "variants", log)
    assert report["kpi"] == _json("kpi", log)


def test_filters_apply_before_discovery() -> None:
    log = str(data_file("running-example.xes"))
    document = _json("mine", "variants", log, "--end-activity", "reject request")
    assert sum(v["cases"] for v in document["variants"]) == 3
    top = _json("mine", "variants", log, "--top-variants", "2")
    assert len(top["variants"]) == 2
    ranged = _json("kpi", log, "--from", "2011-01-01", "--to", "2011-01-10", "--time-mode",
                   "contained")  # fmt: skip
    assert ranged["cases"] == 0
    touching = _json("kpi", log, "--from", "2011-01-01", "--to", "2011-01-10")
    assert touching["cases"] == 6


def test_a_time_without_an_offset_is_read_in_andon_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Case 5 starts 2011-01-06 08:02 UTC, cases 4 and 6 at 14:02 UTC.
    log = str(data_file("running-example.xes"))
    contained = ("--time-mode", "contained")
    monkeypatch.setenv("ANDON_TIMEZONE", "America/Chicago")
    local = _json("kpi", log, "--from", "2011-01-06T06:00", *contained)
    explicit = _json("kpi", log, "--from", "2011-01-06T06:00:00Z", *contained)
    monkeypatch.delenv("ANDON_TIMEZONE")
    default = _json("kpi", log, "--from", "2011-01-06T06:00", *contained)

    assert (local["cases"], explicit["cases"], default["cases"]) == (2, 3, 3)


def test_a_time_without_an_offset_does_not_load_the_settings() -> None:
    code = (
        "import sys; from andon.cli.main import app\n"
        f"sys.argv = ['andon', 'mine', 'report', {str(data_file('running-example.xes'))!r}, "
        "'--from', '2011-01-06', '--json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', [m for m in ('pydantic', 'andon.core.config') if m in sys.modules], "
        "file=sys.stderr)"
    )
    run = fresh_python(code)

    assert json.loads(run.stdout)["kpi"]["cases"] == 6
    assert run.stderr.strip().splitlines()[-1] == "LOADED []"


def test_an_unknown_andon_timezone_is_refused_when_a_time_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = str(data_file("running-example.xes"))
    monkeypatch.setenv("ANDON_TIMEZONE", "Mars/Base")

    naive = andon("kpi", log, "--from", "2011-01-06T06:00")
    explicit = andon("kpi", log, "--from", "2011-01-06T06:00Z", "--json")

    assert naive.exit_code == 2
    assert naive.stderr.startswith("error: ANDON_TIMEZONE: unknown IANA time zone 'Mars/Base'")
    assert explicit.exit_code == 0, explicit.stderr


def test_a_time_that_is_no_time_is_one_clear_error() -> None:
    result = andon("kpi", str(data_file("running-example.xes")), "--from", "yesterday")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: time_from: 'yesterday' is not a time")


def test_tables_for_people_without_json() -> None:
    result = andon("mine", "report", str(data_file("running-example.xes")))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == [
        "SOURCE", "TARGET", "FREQUENCY", "MEAN", "MEDIAN", "MIN", "MAX", "TOTAL",
    ]  # fmt: skip
    assert "cases 6, events 42" in result.stdout


def test_bad_filter_is_one_clear_error() -> None:
    result = andon("mine", "dfg", str(data_file("running-example.xes")), "--attribute", "x")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: attribute: expected COL=VALUE")


def test_mapped_column_missing_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp\nA,cut,2024-01-01T08:00:00Z\n", encoding="utf-8")
    result = andon("mine", "dfg", str(path), "--case", "order")
    assert result.exit_code == 1
    assert "order" in result.stderr


def fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, where nothing is imported yet; fail if it fails."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_mining_commands_do_not_import_the_web_or_orm() -> None:
    code = (
        "import sys; from andon.cli import mining; "
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'ibis', 'duckdb') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    assert fresh_python(code).stdout.strip() == ""


def test_a_report_on_parquet_loads_only_what_it_uses() -> None:
    # Start-up is most of a 1M-event run: no Arrow (schemas come from DESCRIBE rows), no
    # pydantic, and only DuckDB's SQL compiler of Ibis's twenty.
    code = (
        "import sys; from andon.cli.main import app\n"
        f"sys.argv = ['andon', 'mine', 'report', {str(data_file('receipt.parquet'))!r}, '--json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "names = ('pyarrow', 'pydantic', 'pandas', 'ibis.backends.sql.compilers.postgres')\n"
        "print('LOADED', [m for m in names if m in sys.modules], file=sys.stderr)"
    )
    run = fresh_python(code)

    assert json.loads(run.stdout)["kpi"]["cases"] > 0
    assert run.stderr.strip().splitlines()[-1] == "LOADED []"


def test_pair_lifecycle_turns_starts_and_completes_into_intervals() -> None:
    log = str(data_file("reviewing.xes"))
    raw = _json("kpi", log)
    paired = _json("kpi", log, "--pair-lifecycle")

    assert (raw["events"], paired["events"]) == (3730, 2278)  # 1452 starts paired away
    assert raw["cases"] == paired["cases"] == 100
    # Time in stage is now start to completion: deciding takes days, not the wait until
    # the next event's completion.
    assert paired["time_in_stage"]["decide"]["median"] == 3 * 86_400
    assert raw["time_in_stage"]["decide"] != paired["time_in_stage"]["decide"]


def test_the_lazy_compilers_still_resolve_every_name() -> None:
    code = (
        "from andon.analytics.engines import connect; connect()\n"
        "from ibis.backends.sql.compilers import PostgresCompiler, __all__ as names\n"
        "import ibis.backends.sql.compilers as sc\n"
        "print(len(names), all(hasattr(sc, n) for n in names), PostgresCompiler.__name__)"
    )
    assert fresh_python(code).stdout.split() == ["20", "True", "PostgresCompiler"]


# --- Andon's own events (--db) ---------------------------------------------------------


def test_mining_andons_own_events_counts_each_stage_entry(system: Context, db_url: str) -> None:
    from andon.work import items
    from andon.work.schemas import ItemMove
    from tests.factories import make_floor, new_item
    from tests.integration.test_cli import andon as andon_at

    floor = make_floor(system, shifts=False)
    opened = [new_item(system, floor) for _ in range(3)]
    for item in opened[:2]:
        items.move_item(system, item.id, ItemMove(to="plan", version=item.version))

    kpi = andon_at(db_url, "kpi", "--db", "--process", "assembly", "--json")
    graph = andon_at(db_url, "mine", "dfg", "--db", "--json")

    assert kpi.exit_code == 0, kpi.stderr
    assert (json.loads(kpi.stdout)["cases"], json.loads(kpi.stdout)["events"]) == (3, 5)
    assert json.loads(graph.stdout)["edges"] == [
        {"source": "Intake", "target": "Plan", "frequency": 2}
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mine", "dfg"), "give either a LOG file or --db"),
        (("mine", "dfg", str(data_file("running-example.xes")), "--db"), "give either"),
        (("kpi", str(data_file("running-example.xes")), "--process", "x"), "--process goes with"),
    ],
)
def test_a_log_file_and_db_are_one_or_the_other(args: tuple[str, ...], message: str) -> None:
    result = andon(*args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_kpi_with_a_process_definition_adds_sla_attainment(tmp_path: Path) -> None:
    # Intake has a 2 h SLA and Plan 4 h in the demo process; a visit lasts until the next event.
    log = tmp_path / "orders.csv"
    log.write_text(
        "case_id,activity,timestamp\n"
        "A,Intake,2026-01-05T08:00:00Z\nA,Plan,2026-01-05T09:00:00Z\nA,Kit,2026-01-05T20:00:00Z\n"
        "B,Intake,2026-01-05T08:00:00Z\nB,Plan,2026-01-05T13:00:00Z\n"
    )
    spec = Path(__file__).resolve().parents[2] / "src" / "andon" / "demo" / "assembly.yaml"

    result = andon("kpi", str(log), "--spec", str(spec), "--json")

    assert result.exit_code == 0, result.stderr
    sla = json.loads(result.stdout)["sla_attainment"]
    by_stage = {row["stage"]: (row["visits"], row["within"]) for row in sla["stages"]}
    assert (by_stage["intake"], by_stage["plan"]) == ((2, 1), (1, 0))
    assert sla["stage_visits"]["visits"] == 3


def test_kpi_with_an_unreadable_definition_is_one_clear_error(tmp_path: Path) -> None:
    result = andon(
        "kpi", str(data_file("running-example.xes")), "--spec", str(tmp_path / "no.yaml")
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: spec: no process definition file")


# Each filter kind, and combinations; receipt.csv keeps cases under each.
PREPARED_FILTERS = {
    "nothing": (),
    "time window": ("--from", "2011-03-01", "--to", "2012-01-01"),
    "contained": ("--from", "2011-06-01", "--time-mode", "contained"),
    "resource": ("--attribute", "resource=Resource10", "--attribute", "resource=Resource21"),
    "through a stage": ("--attribute", "activity=T06 Determine necessity of stop advice"),
    "ends": ("--start-activity", "Confirmation of receipt", "--end-activity",
             "T10 Determine necessity to stop indication"),
    "variant": ("--variant", "Confirmation of receipt"),
    "excluded variant": ("--exclude-variant", "Confirmation of receipt"),
    "top variants": ("--top-variants", "7"),
    "time, resource and top variants": ("--from", "2011-06-01", "--time-mode", "contained",
                                        "--attribute", "resource=Resource10",
                                        "--top-variants", "4"),
}  # fmt: skip
# Each command's words, then its own options (LOG goes between).
PREPARED_COMMANDS = {
    "dfg": (("mine", "dfg"), ()),
    "dfg --performance": (("mine", "dfg"), ("--performance",)),
    "variants": (("mine", "variants"), ()),
    "variants --limit": (("mine", "variants"), ("--limit", "3")),
    "kpi": (("kpi",), ()),
    "report": (("mine", "report"), ()),
}


@pytest.fixture(scope="module")
def receipt_prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("receipt") / "prepared"
    result = andon("log", "prepare", str(data_file("receipt.csv")), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.parametrize("command", PREPARED_COMMANDS)
@pytest.mark.parametrize("name", PREPARED_FILTERS)
def test_a_prepared_directory_answers_as_the_log_does(
    name: str, command: str, receipt_prepared: Path
) -> None:
    words, options = PREPARED_COMMANDS[command]
    flags = PREPARED_FILTERS[name]
    on_log = _json(*words, str(data_file("receipt.csv")), *options, *flags)
    on_dir = _json(*words, str(receipt_prepared), *options, *flags)

    assert on_dir == on_log
    assert _kept(on_dir) > 0  # the filter keeps some cases, so the answers say something


def _kept(document: dict) -> int:  # type: ignore[type-arg]
    """The cases a dfg, variants, kpi or report document counts."""
    if "kpi" in document:
        return int(document["kpi"]["cases"])
    if "cases" in document:
        return int(document["cases"])
    if "variants" in document:
        return sum(v["cases"] for v in document["variants"])
    return sum(document["start_activities"].values())


def test_a_prepared_directory_prints_the_same_tables(receipt_prepared: Path) -> None:
    flags = ("--top-variants", "3")
    on_log = andon("mine", "report", str(data_file("receipt.csv")), *flags)
    on_dir = andon("mine", "report", str(receipt_prepared), *flags)

    assert on_dir.exit_code == 0, on_dir.stderr
    assert on_dir.stdout == on_log.stdout
    assert "BOTTLENECK EDGE" in on_dir.stdout


def test_a_prepared_interval_log_answers_as_the_log_does(tmp_path: Path) -> None:
    log, out = data_file("interval_event_log.xes"), tmp_path / "prepared"
    assert andon("log", "prepare", str(log), "-o", str(out)).exit_code == 0
    flags = ("--attribute", "activity=send reminder", "--top-variants", "3")

    for command in (("kpi",), ("mine", "report")):
        assert _json(*command, str(out), *flags) == _json(*command, str(log), *flags), command


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (("mine", "dfg"), ("--case", "x")),
        (("mine", "variants"), ("--timezone", "Europe/Berlin")),
        (("mine", "dfg"), ("--db",)),
        (("kpi",), ("--exception-attribute", "kind")),
        (("kpi",), ("--sla",)),
        (("kpi",), ("--spec", "assembly.yaml")),
        (("mine", "report"), ("--exception-attribute", "kind")),
    ],
)
def test_options_a_prepared_directory_cannot_answer_are_refused_by_name(
    command: tuple[str, ...], options: tuple[str, ...], receipt_prepared: Path
) -> None:
    result = andon(*command, str(receipt_prepared), *options)
    flag = options[0]

    assert result.exit_code == 2
    assert f"Invalid value for {flag}" in result.stderr


def test_a_bad_filter_on_a_prepared_directory_names_the_field(receipt_prepared: Path) -> None:
    result = andon("mine", "dfg", str(receipt_prepared), "--attribute", "line=L1")
    on_log = andon("mine", "dfg", str(data_file("receipt.csv")), "--attribute", "line=L1")

    assert result.exit_code == 1
    assert result.stderr == on_log.stderr == "error: attribute: the log has no column 'line'\n"


def test_a_directory_that_is_no_prepared_log_is_one_clear_error(tmp_path: Path) -> None:
    result = andon("mine", "variants", str(tmp_path))

    assert result.exit_code == 1
    assert "holds no prepared log" in result.stderr


@pytest.mark.postgresql
def test_a_prepared_directory_answers_on_postgres(
    receipt_prepared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.analytics.conftest import PG_DSN, connect_postgres

    connect_postgres().disconnect()  # skips when the server is down
    monkeypatch.setenv("ANDON_ANALYTICS_PG_URL", PG_DSN)
    for name in ("resource", "variant", "time, resource and top variants"):
        flags = PREPARED_FILTERS[name]
        for command in (("mine", "dfg", "--performance"), ("mine", "variants"), ("kpi",)):
            # PostgreSQL interpolates medians in another order than DuckDB (last digit):
            # the log's answer on PostgreSQL is the one to equal.
            on_dir = _json(*command, str(receipt_prepared), *flags, "--engine", "postgres")
            on_log = _json(*command, str(data_file("receipt.csv")), *flags, "--engine",
                           "postgres")  # fmt: skip
            assert on_dir == on_log, (name, command)


@pytest.mark.spark
def test_a_prepared_directory_answers_on_spark(
    receipt_prepared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark")
    # One core and few partitions: the log is small and each Spark task costs start-up.
    monkeypatch.setenv("ANDON_SPARK_MASTER", "local[1]")
    monkeypatch.setenv("ANDON_SPARK_PARTITIONS", "2")
    flags = PREPARED_FILTERS["time, resource and top variants"]
    # Spark's medians and percentiles differ from DuckDB's in the last digit: the log's
    # answer on Spark is the one to equal.
    on_dir = _json("mine", "report", str(receipt_prepared), *flags, "--engine", "spark")
    on_log = _json("mine", "report", str(data_file("receipt.csv")), *flags, "--engine", "spark")
    assert on_dir == on_log


def test_a_report_from_a_prepared_directory_loads_only_what_it_uses(
    receipt_prepared: Path,
) -> None:
    # Answering from DIR is worth it only if start-up stays as lean as on a Parquet log.
    code = (
        "import sys; from andon.cli.main import app\n"
        f"sys.argv = ['andon', 'mine', 'report', {str(receipt_prepared)!r}, '--top-variants', "
        "'3', '--json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "names = ('pyarrow', 'pydantic', 'pandas', 'sqlalchemy')\n"
        "print('LOADED', [m for m in names if m in sys.modules], file=sys.stderr)"
    )
    run = fresh_python(code)

    assert json.loads(run.stdout)["kpi"]["cases"] > 0
    assert run.stderr.strip().splitlines()[-1] == "LOADED []"
