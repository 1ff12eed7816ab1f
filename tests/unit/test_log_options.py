"""The mining commands' shared flags: declared once by log_command, handed over as objects."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from andon.cli.log_options import FilterFlags, JsonOption, LogOptions, log_command

runner = CliRunner()


def _app(seen: list[object]) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.command()
    @log_command
    def show(source: LogOptions, filters: FilterFlags, as_json: JsonOption = False) -> None:
        seen.extend([source, filters, as_json])

    return app


def test_the_flags_arrive_as_one_log_options_and_one_filter_flags() -> None:
    seen: list[object] = []

    result = runner.invoke(
        _app(seen),
        ["log.csv", "--engine", "postgres", "--case", "order", "--timezone", "Europe/Berlin",
         "--strict", "--from", "2024-01-01", "--variant", "a,b", "--variant", "c",
         "--top-variants", "2", "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert seen == [
        LogOptions(
            log=Path("log.csv"),
            engine="postgres",
            case="order",
            timezone="Europe/Berlin",
            strict=True,
        ),
        FilterFlags(time_from="2024-01-01", variant=["a,b", "c"], top_variants=2),
        True,
    ]


def test_unset_flags_take_the_dataclass_defaults() -> None:
    seen: list[object] = []

    result = runner.invoke(_app(seen), ["--db", "--process", "assembly"])

    assert result.exit_code == 0, result.output
    assert seen == [LogOptions(db=True, process="assembly"), FilterFlags(), False]


def test_help_lists_the_source_then_own_options_then_engine_filters_and_reading() -> None:
    result = runner.invoke(_app([]), ["--help"], env={"COLUMNS": "200"})

    flags = [line.split()[1] for line in result.output.splitlines() if line.startswith("│ --")]
    assert flags[:6] == ["--db", "--process", "--json", "--engine", "--from", "--to"]
    assert flags[-4:] == ["--encoding", "--strict", "--quarantine", "--help"]
    assert flags.index("--top-variants") < flags.index("--case")
