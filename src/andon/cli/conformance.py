"""`andon conformance`: how closely a log, or Andon's own work events, follows a process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from andon.cli.log_options import (
    ActivityOption,
    CaseOption,
    EngineOption,
    JsonOption,
    ResourceOption,
    TimestampOption,
    load_log,
)
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.analytics.log import EventLog
    from andon.processes.spec import ProcessSpec

YAML_SUFFIXES = (".yaml", ".yml")


def conformance(
    log: Annotated[
        Path | None,
        typer.Argument(
            metavar="LOG",
            help="Event log file (CSV, XES, .xes.gz, OCEL 2.0, Parquet). Omit with --db.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        bool, typer.Option("--db", help="Check Andon's own work events instead of a file.")
    ] = False,
    process: Annotated[
        str | None,
        typer.Option(
            "--process",
            metavar="P",
            help=(
                "The process definition: a YAML file (required with LOG), or with --db a "
                "process key in Andon (default: the only process there is)."
            ),
        ),
    ] = None,
    engine: EngineOption = "duckdb",
    exclude_incomplete: Annotated[
        bool,
        typer.Option(
            "--exclude-incomplete",
            help="Leave out cases that have not reached an end stage (e.g. items still open).",
        ),
    ] = False,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Example case ids per deviation.")
    ] = 5,
    sla: Annotated[
        bool,
        typer.Option(
            "--sla",
            help=(
                "Add SLA attainment against the definition's targets: wall-clock time for a "
                "file, Andon's business-time breach records with --db."
            ),
        ),
    ] = False,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check each case against a process definition: allowed moves, start, end, mandatory stages.

    Prints the cases, how many conform, the mean fitness and the deviations grouped by kind and
    edge with example cases. docs/conformance.md defines every term.
    """
    from andon.analytics.conformance import check_conformance

    if (log is None) == (not db):
        raise typer.BadParameter(
            "give a LOG file or --db, not both" if db else "give a LOG file or --db",
            param_hint="LOG",
        )
    if db:
        spec, event_log, sla_log = database_events(process, engine, with_sla=sla)
    else:
        assert log is not None
        if process is None:
            raise typer.BadParameter("a LOG needs --process P.yaml", param_hint="--process")
        from andon.processes.spec_yaml import read_spec_file

        spec = read_spec_file(Path(process))
        event_log = load_log(
            log,
            engine=engine,
            case=case,
            activity=activity,
            timestamp=timestamp,
            resource=resource,
            findings=False,
        ).log
        sla_log = event_log
    report = check_conformance(
        event_log,
        spec,
        incomplete="exclude" if exclude_incomplete else "deviation",
        examples=examples,
    )
    if sla:
        from andon.analytics.sla import sla_attainment

        report["sla"] = sla_attainment(sla_log, spec, basis="business" if db else "elapsed")
    if as_json:
        echo_json(report)
        return
    _print_report(report, spec, event_log.source)


def database_events(
    process: str | None, engine: str, *, with_sla: bool, spec: ProcessSpec | None = None
) -> tuple[ProcessSpec, EventLog, EventLog]:
    """The spec (``process`` names a YAML file, or a process whose current version in Andon
    is taken; None: the only process there is), the stage entries of its items, and with
    ``with_sla`` every event of them (what business-time SLA attainment reads).

    A ``spec`` already read is used as it is, for the items of process ``process`` (a key)
    or, without one, of the spec's own key.
    """
    from andon.analytics.andon_events import read_andon_events, stage_entries
    from andon.cli.context import read_settings

    settings = read_settings()
    if spec is None:
        spec = _spec_of(process, settings)
        items_of = spec.key
    else:
        items_of = process or spec.key
    events = read_andon_events(
        settings.resolved_database_url,
        process=items_of,
        engine=engine,  # type: ignore[arg-type]
        events="all" if with_sla else "stages",
    )
    return spec, stage_entries(events) if with_sla else events, events


def _spec_of(process: str | None, settings: Any) -> ProcessSpec:
    """The definition ``process`` names: a YAML file, or a process in Andon (its current
    version); None: the only process Andon has."""
    from andon.cli.context import operator_context
    from andon.processes.spec_yaml import read_spec_file

    if process is not None and (process.endswith(YAML_SUFFIXES) or Path(process).is_file()):
        return read_spec_file(Path(process))
    from andon.processes.service import get_version, list_processes

    with operator_context(settings) as ctx:
        if process is None:
            keys = [p.key for p in list_processes(ctx)]
            if len(keys) != 1:
                raise typer.BadParameter(
                    f"Andon has {len(keys)} processes ({', '.join(keys) or 'none'}); "
                    "name one with --process KEY",
                    param_hint="--process",
                )
            process = keys[0]
        _, _, spec = get_version(ctx, process)
    return spec


def _print_report(report: dict[str, Any], spec: ProcessSpec, source: str) -> None:
    cases = report["cases"]
    share = f" ({report['conforming_cases'] / cases:.1%})" if cases else ""
    fitness = "-" if report["fitness"] is None else f"{report['fitness']:.3f}"
    typer.echo(f"{source} against {spec.key} ({spec.name})")
    typer.echo(
        f"cases {cases}, conforming {report['conforming_cases']}{share}, "
        f"incomplete {report['incomplete_cases']}, fitness {fitness}"
    )
    typer.echo("")
    echo_table(
        ["KIND", "SOURCE", "TARGET", "CASES", "EXAMPLES"],
        (
            [d["kind"], d["source"], d["target"], d["cases"], ", ".join(d["examples"])]
            for d in report["deviations"]
        ),
        empty="No deviations.",
    )
    if "sla" in report:
        attainment = report["sla"]
        typer.echo("")
        typer.echo(f"SLA attainment ({attainment['basis']} time)")
        rows = [
            [r["name"], r["target_seconds"], r["visits"], r["within"], _share(r["attainment"])]
            for r in attainment["stages"]
        ]
        total = attainment["stage_visits"]
        rows.append(
            ["all stages", "", total["visits"], total["within"], _share(total["attainment"])]
        )
        whole = attainment["process"]
        if whole is not None:
            rows.append(
                [
                    "end to end (cases)",
                    whole["target_seconds"],
                    whole["cases"],
                    whole["within"],
                    _share(whole["attainment"]),
                ]
            )
        echo_table(["STAGE", "TARGET S", "VISITS", "WITHIN", "ATTAINMENT"], rows)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
