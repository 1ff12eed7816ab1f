"""`andon mine dfg|variants|report` and `andon kpi`: process discovery and KPIs of a log file.

Each command reads the log (the shared log options), orders it within cases once, applies
the filter flags, and prints tables, or with ``--json`` one JSON document on stdout. Given a
directory that ``andon log prepare`` wrote instead of a log, each command selects the cases
in its prepared form and answers from it, with the same output.
The analytics modules are imported when a command runs, so ``andon --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from andon.analytics.units import human_seconds
from andon.cli.log_options import FilterFlags, JsonOption, LogOptions, log_command
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.analytics.discovery import Dfg, Performance, Variant
    from andon.analytics.kpis import Kpis
    from andon.analytics.ordering import CaseOrderedLog
    from andon.analytics.prepared import PreparedLog
    from andon.analytics.report import MiningReport

app = typer.Typer(
    help=(
        "Process discovery on an event-log file or Andon's own events (--db): "
        "directly-follows graph, variants, report."
    ),
    no_args_is_help=True,
)


def _prepare(
    source: LogOptions, filters: FilterFlags, *, attributes: tuple[str, ...] = ()
) -> CaseOrderedLog:
    """The events ordered within cases once, after the filters (read before the log, so a
    bad filter fails fast)."""
    from andon.analytics.report import prepare

    case_filters = filters.case_filters()
    return prepare(source.open_events(), filters=case_filters, attributes=attributes)


def _prepared_directory(source: LogOptions) -> Path | None:
    """LOG when it is a directory: a prepared form (``andon log prepare``), not a log file."""
    if source.log is not None and source.log.is_dir():
        return source.log
    return None


def _open_prepared(directory: Path, source: LogOptions) -> PreparedLog:
    """The prepared form in ``directory`` on the chosen engine, refusing the flags that say
    how to read a log: the log was read, mapped and ordered when it was prepared."""
    from dataclasses import fields

    from andon.analytics.prepared import open_prepared

    for field in fields(source):
        if field.name in ("log", "engine"):
            continue
        if getattr(source, field.name) != field.default:
            flag = "--" + field.name.replace("_", "-")
            raise typer.BadParameter(
                f"{directory} is a prepared log, read when it was prepared "
                f"(andon log prepare); {flag} goes with a log file",
                param_hint=flag,
            )
    if source.engine == "duckdb":
        return open_prepared(directory)
    from andon.analytics.engines import connect

    return open_prepared(directory, backend=connect(source.engine))


def _refuse_on_prepared(directory: Path, flag: str, why: str) -> None:
    raise typer.BadParameter(
        f"{flag} {why}; a prepared log ({directory}) does not hold them: give the log file instead",
        param_hint=flag,
    )


@app.command("dfg")
@log_command
def dfg(
    source: LogOptions,
    filters: FilterFlags,
    performance: Annotated[
        bool,
        typer.Option(
            "--performance", help="Add waiting-time statistics per edge (seconds in --json)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The directly-follows graph of LOG: edges with their frequency, start and end activities.

    With --performance each edge also gets the mean, median, min, max, sum and sample
    standard deviation of the time from the source event to the target event.
    """
    directory = _prepared_directory(source)
    if directory is not None:
        from andon.analytics.prepared import dfg_frequency, dfg_performance, kept_cases

        case_filters = filters.case_filters()
        prepared = _open_prepared(directory, source)
        with kept_cases(prepared, case_filters) as kept:
            answer = dfg_performance if performance else dfg_frequency
            graph = answer(prepared, kept)
    else:
        from andon.analytics.discovery import discover_dfg

        ordered = _prepare(source, filters)
        graph = discover_dfg(ordered, performance=performance)
    if as_json:
        echo_json(graph.as_json())
        return
    _print_dfg(graph)


@app.command("variants")
@log_command
def variants(
    source: LogOptions,
    filters: FilterFlags,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", min=1, help="Show only the N most frequent."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The variants of LOG (distinct activity sequences), most frequent first.

    Each with its number of cases, share of all cases and mean case duration.
    """
    from andon.analytics.report import variants_json

    directory = _prepared_directory(source)
    if directory is not None:
        from andon.analytics.prepared import kept_cases
        from andon.analytics.prepared import variants as prepared_variants

        case_filters = filters.case_filters()
        prepared = _open_prepared(directory, source)
        with kept_cases(prepared, case_filters) as kept:
            found = prepared_variants(prepared, kept, limit=limit)
    else:
        from andon.analytics.discovery import discover_variants

        ordered = _prepare(source, filters)
        found = discover_variants(ordered, limit=limit)
    if as_json:
        echo_json(variants_json(found))
        return
    _print_variants(found)


ExceptionAttributeOption = Annotated[
    str | None,
    typer.Option(
        "--exception-attribute",
        metavar="COL",
        help="Event attribute marking exceptions (its value is the kind): adds the Pareto.",
    ),
]


@log_command
def kpi(
    source: LogOptions,
    filters: FilterFlags,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            metavar="P.yaml",
            dir_okay=False,
            help=(
                "Add SLA attainment: stage visits and cases within the SLAs of this process "
                "definition (elapsed time, whole log, before filters)."
            ),
        ),
    ] = None,
    sla: Annotated[
        bool,
        typer.Option(
            "--sla",
            help=(
                "With --db: add SLA attainment in business time (shifts, holidays and pauses "
                "excluded), from the breaches Andon recorded, against --spec or the process's "
                "current definition."
            ),
        ),
    ] = False,
    exception_attribute: ExceptionAttributeOption = None,
    as_json: JsonOption = False,
) -> None:
    """KPIs of LOG: cases, events, case durations, rework, first-pass yield, throughput,
    WIP, time in stage and bottlenecks (docs/analytics.md defines each)."""
    from andon.analytics.kpis import compute_kpis
    from andon.analytics.report import prepare
    from andon.processes.spec_yaml import read_spec_file

    case_filters = filters.case_filters()
    directory = _prepared_directory(source)
    if directory is not None:
        if spec is not None:
            _refuse_on_prepared(directory, "--spec", "judges stage visits")
        if sla:
            _refuse_on_prepared(directory, "--sla", "judges stage visits")
        if exception_attribute:
            _refuse_on_prepared(directory, "--exception-attribute", "counts events")
        from andon.analytics.prepared import kept_cases
        from andon.analytics.prepared_kpis import prepared_kpis

        prepared = _open_prepared(directory, source)
        with kept_cases(prepared, case_filters) as kept:
            figures = prepared_kpis(prepared, kept)
        if as_json:
            echo_json(figures.as_json())
            return
        _print_kpis(figures)
        return
    if sla and not source.db:
        raise typer.BadParameter(
            "--sla goes with --db; for a file, --spec P.yaml adds SLA attainment",
            param_hint="--sla",
        )
    # The definition is read before the log, so a bad file fails fast.
    definition = read_spec_file(spec, field="spec") if spec is not None else None
    business = source.db and (sla or definition is not None)
    if business:
        from andon.cli.conformance import database_events

        # Every event of the process's items: the stage entries for the KPIs, the breach
        # records for the SLA verdicts; --spec's definition is judged against as read.
        definition, events, sla_events = database_events(
            source.process, source.engine, with_sla=True, spec=definition
        )
    else:
        events = source.open_events()
        sla_events = events
    ordered = prepare(
        events,
        filters=case_filters,
        attributes=(exception_attribute,) if exception_attribute else (),
    )
    figures = compute_kpis(ordered, exception_attribute=exception_attribute)
    document = figures.as_json()
    if definition is not None:
        from andon.analytics.sla import sla_attainment

        document["sla_attainment"] = sla_attainment(
            sla_events, definition, basis="business" if business else "elapsed"
        )
    if as_json:
        echo_json(document)
        return
    _print_kpis(figures)
    if definition is not None:
        _print_sla(document["sla_attainment"])


def _print_sla(sla: dict[str, Any]) -> None:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    typer.echo("")
    basis = "business time" if sla["basis"] == "business" else "elapsed time"
    typer.echo(f"SLA attainment ({basis})")
    echo_table(
        ["STAGE", "SLA", "VISITS", "WITHIN", "ATTAINMENT"],
        (
            [
                row["name"],
                human_seconds(row["target_seconds"]),
                row["visits"],
                row["within"],
                share(row["attainment"]),
            ]
            for row in sla["stages"]
        ),
        empty="(no stage has an SLA)",
    )
    visits = sla["stage_visits"]
    typer.echo(f"stage visits within SLA: {share(visits['attainment'])} of {visits['visits']}")
    end_to_end = sla.get("process")
    if end_to_end:
        typer.echo(
            f"cases within the end-to-end SLA: {share(end_to_end['attainment'])} "
            f"of {end_to_end['cases']}"
        )


@app.command("report")
@log_command
def report(
    source: LogOptions,
    filters: FilterFlags,
    exception_attribute: ExceptionAttributeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything of `mine dfg --performance`, `mine variants` and `kpi` in one run.

    The log is read and ordered once; --json prints {"dfg": ..., "variants": ..., "kpi": ...}
    with the same objects as those commands.
    """
    directory = _prepared_directory(source)
    if directory is not None:
        result = _prepared_report(directory, source, filters, exception_attribute)
    else:
        from andon.analytics.report import mine_report

        attributes = (exception_attribute,) if exception_attribute else ()
        ordered = _prepare(source, filters, attributes=attributes)
        result = mine_report(ordered, exception_attribute=exception_attribute)
    if as_json:
        echo_json(result.as_json())
        return
    _print_dfg(result.dfg)
    typer.echo("")
    _print_variants(result.variants)
    typer.echo("")
    _print_kpis(result.kpis)


def _prepared_report(
    directory: Path, source: LogOptions, filters: FilterFlags, exception_attribute: str | None
) -> MiningReport:
    """``mine report`` from a prepared form: the kept cases selected once for all three."""
    from andon.analytics.prepared import dfg_performance, kept_cases
    from andon.analytics.prepared import variants as prepared_variants
    from andon.analytics.prepared_kpis import prepared_kpis
    from andon.analytics.report import MiningReport

    case_filters = filters.case_filters()
    if exception_attribute:
        _refuse_on_prepared(directory, "--exception-attribute", "counts events")
    prepared = _open_prepared(directory, source)
    with kept_cases(prepared, case_filters) as kept:
        graph = dfg_performance(prepared, kept)
        found = prepared_variants(prepared, kept)
        figures = prepared_kpis(prepared, kept, dfg=graph, variants=found)
    return MiningReport(graph, found, figures)


def _print_dfg(graph: Dfg) -> None:
    with_performance = any(edge.performance is not None for edge in graph.edges)
    headers = ["SOURCE", "TARGET", "FREQUENCY"]
    if with_performance:
        headers += ["MEAN", "MEDIAN", "MIN", "MAX", "TOTAL"]
    rows: list[list[object]] = []
    for edge in graph.edges:
        row: list[object] = [edge.source, edge.target, edge.frequency]
        if edge.performance is not None:
            row += _performance_cells(edge.performance)
        rows.append(row)
    echo_table(headers, rows, empty="(no edges)")
    typer.echo("")
    echo_table(["START ACTIVITY", "CASES"], graph.start_activities.items())
    typer.echo("")
    echo_table(["END ACTIVITY", "CASES"], graph.end_activities.items())


def _performance_cells(perf: Performance) -> list[object]:
    return [
        human_seconds(perf.mean),
        human_seconds(perf.median),
        human_seconds(perf.min),
        human_seconds(perf.max),
        human_seconds(perf.sum),
    ]


def _print_variants(found: list[Variant]) -> None:
    echo_table(
        ["#", "CASES", "SHARE", "MEAN DURATION", "ACTIVITIES"],
        (
            [
                rank,
                v.cases,
                f"{v.share:.1%}",
                human_seconds(v.mean_duration),
                " → ".join(v.activities),
            ]
            for rank, v in enumerate(found, start=1)
        ),
        empty="(no variants)",
    )


def _print_kpis(figures: Kpis) -> None:
    d = figures.case_duration
    typer.echo(f"cases {figures.cases}, events {figures.events}")
    typer.echo(
        f"case duration: mean {human_seconds(d.mean)}, median {human_seconds(d.median)}, "
        f"p90 {human_seconds(d.p90)}, min {human_seconds(d.min)}, max {human_seconds(d.max)}"
    )
    typer.echo(
        f"rework rate {figures.rework_rate:.1%}, first-pass yield {figures.first_pass_yield:.1%}"
    )
    days = figures.throughput_per_day
    if days:
        mean_per_day = sum(day["cases"] for day in days) / len(days)
        typer.echo(f"throughput: {mean_per_day:.1f} cases per day with completions")
    if figures.wip_per_day:
        peak = max(figures.wip_per_day, key=lambda day: day["open_cases"])
        typer.echo(f"WIP: peak {peak['open_cases']} open cases on {peak['date']}")
    typer.echo("")
    echo_table(["REWORKED ACTIVITY", "CASES"], figures.rework_cases.items(), empty="(no rework)")
    typer.echo("")
    echo_table(
        ["STAGE", "OCCURRENCES", "MEAN", "MEDIAN", "MIN", "MAX", "TOTAL"],
        (
            [activity, count, *_performance_cells(perf)]
            for activity, (count, perf) in figures.time_in_stage.items()
        ),
    )
    typer.echo("")
    echo_table(
        ["BOTTLENECK EDGE (BY TOTAL WAIT)", "OCCURRENCES", "TOTAL", "MEDIAN"],
        (
            [f"{b.source} → {b.target}", b.occurrences, human_seconds(b.total_seconds),
             human_seconds(b.median_seconds)]
            for b in figures.bottlenecks["edges_by_total_wait"]
        ),
    )  # fmt: skip
    if figures.exceptions is not None:
        typer.echo("")
        echo_table(
            ["EXCEPTION", "EVENTS", "CASES", "CUMULATIVE"],
            (
                [k["kind"], k["events"], k["cases"], f"{k['cumulative_share']:.1%}"]
                for k in figures.exceptions["pareto"]
            ),
        )
