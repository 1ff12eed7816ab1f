"""`andon mine dfg|variants|report` and `andon kpi`: process discovery and KPIs of a log file.

Each command reads the log (the shared log options), orders it within cases once, applies
the filter flags, and prints tables, or with ``--json`` one JSON document on stdout. The
analytics modules are imported when a command runs, so ``andon --help`` stays fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.analytics.units import human_seconds
from andon.cli.log_options import (
    ActivityOption,
    CaseOption,
    DbOption,
    EncodingOption,
    EngineOption,
    JsonOption,
    ObjectTypeOption,
    PairLifecycleOption,
    ProcessOption,
    QuarantineOption,
    ResourceOption,
    SourceArgument,
    StartTimestampOption,
    StrictOption,
    TimestampFormatOption,
    TimestampOption,
    TimezoneOption,
    open_events,
)
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.analytics.discovery import Dfg, Performance, Variant
    from andon.analytics.filters import CaseFilters
    from andon.analytics.kpis import Kpis
    from andon.analytics.ordering import CaseOrderedLog

app = typer.Typer(
    help=(
        "Process discovery on an event-log file or Andon's own events (--db): "
        "directly-follows graph, variants, report."
    ),
    no_args_is_help=True,
)

# Filter flags, shared by every command here.
FromOption = Annotated[
    datetime | None,
    typer.Option(
        "--from",
        metavar="INSTANT",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        help="Keep cases in the time range from this instant (UTC unless it has an offset).",
    ),
]
ToOption = Annotated[
    datetime | None,
    typer.Option(
        "--to",
        metavar="INSTANT",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        help="... up to this instant, included (UTC unless it has an offset).",
    ),
]
TimeModeOption = Annotated[
    Literal["intersecting", "contained"],
    typer.Option(
        "--time-mode",
        help="intersecting: cases with any time in the range; contained: wholly inside it.",
    ),
]
AttributeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--attribute",
        metavar="COL=VALUE",
        help="Keep cases with an event whose COL is VALUE (repeat; same COL means any of).",
    ),
]
StartActivityOption = Annotated[
    list[str] | None,
    typer.Option("--start-activity", metavar="A", help="Keep cases starting with A (repeat)."),
]
EndActivityOption = Annotated[
    list[str] | None,
    typer.Option("--end-activity", metavar="A", help="Keep cases ending with A (repeat)."),
]
VariantOption = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        metavar="A,B,C",
        help="Keep cases with exactly this comma-separated activity sequence (repeat).",
    ),
]
ExcludeVariantOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-variant", metavar="A,B,C", help="Drop cases with this sequence (repeat)."
    ),
]
TopVariantsOption = Annotated[
    int | None,
    typer.Option(
        "--top-variants", metavar="K", min=1, help="Keep the cases of the K most frequent variants."
    ),
]


def _filters(
    time_from: datetime | None,
    time_to: datetime | None,
    time_mode: Literal["intersecting", "contained"],
    attribute: list[str] | None,
    start_activity: list[str] | None,
    end_activity: list[str] | None,
    variant: list[str] | None,
    exclude_variant: list[str] | None,
    top_variants: int | None,
) -> CaseFilters:
    from datetime import UTC

    from andon.analytics.filters import CaseFilters
    from andon.core.errors import InvalidInput

    attributes: dict[str, tuple[str, ...]] = {}
    for pair in attribute or []:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise InvalidInput.for_field("attribute", f"expected COL=VALUE, got {pair!r}")
        attributes[column] = (*attributes.get(column, ()), value)

    def aware(moment: datetime | None) -> datetime | None:
        if moment is None or moment.tzinfo is not None:
            return moment
        return moment.replace(tzinfo=UTC)

    def sequences(specs: list[str] | None) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(part.strip() for part in spec.split(",")) for spec in specs or [])

    return CaseFilters(
        time_from=aware(time_from),
        time_to=aware(time_to),
        time_mode=time_mode,
        attributes=attributes,
        start_activities=tuple(start_activity or ()),
        end_activities=tuple(end_activity or ()),
        variants=sequences(variant),
        exclude_variants=sequences(exclude_variant),
        top_variants=top_variants,
    )


def _prepare(
    log: Path | None,
    filters: CaseFilters,
    *,
    attributes: tuple[str, ...] = (),
    **load: Any,
) -> CaseOrderedLog:
    from andon.analytics.report import prepare

    return prepare(open_events(log, **load), filters=filters, attributes=attributes)


@app.command("dfg")
def dfg(
    log: SourceArgument = None,
    db: DbOption = False,
    process: ProcessOption = None,
    performance: Annotated[
        bool,
        typer.Option(
            "--performance", help="Add waiting-time statistics per edge (seconds in --json)."
        ),
    ] = False,
    as_json: JsonOption = False,
    engine: EngineOption = "duckdb",
    time_from: FromOption = None,
    time_to: ToOption = None,
    time_mode: TimeModeOption = "intersecting",
    attribute: AttributeOption = None,
    start_activity: StartActivityOption = None,
    end_activity: EndActivityOption = None,
    variant: VariantOption = None,
    exclude_variant: ExcludeVariantOption = None,
    top_variants: TopVariantsOption = None,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    start_timestamp: StartTimestampOption = None,
    pair_lifecycle: PairLifecycleOption = False,
    timestamp_format: TimestampFormatOption = None,
    timezone: TimezoneOption = "UTC",
    object_type: ObjectTypeOption = None,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
) -> None:
    """The directly-follows graph of LOG: edges with their frequency, start and end activities.

    With --performance each edge also gets the mean, median, min, max, sum and sample
    standard deviation of the time from the source event to the target event.
    """
    from andon.analytics.discovery import discover_dfg

    filters = _filters(
        time_from, time_to, time_mode, attribute, start_activity, end_activity,
        variant, exclude_variant, top_variants,
    )  # fmt: skip
    ordered = _prepare(
        log, filters, db=db, process=process, engine=engine, case=case, activity=activity,
        timestamp=timestamp,
        resource=resource, start_timestamp=start_timestamp, timestamp_format=timestamp_format,
        pair_lifecycle=pair_lifecycle,
        timezone=timezone, object_type=object_type, encoding=encoding, strict=strict,
        quarantine=quarantine,
    )  # fmt: skip
    graph = discover_dfg(ordered, performance=performance)
    if as_json:
        echo_json(graph.as_json())
        return
    _print_dfg(graph)


@app.command("variants")
def variants(
    log: SourceArgument = None,
    db: DbOption = False,
    process: ProcessOption = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", min=1, help="Show only the N most frequent."),
    ] = None,
    as_json: JsonOption = False,
    engine: EngineOption = "duckdb",
    time_from: FromOption = None,
    time_to: ToOption = None,
    time_mode: TimeModeOption = "intersecting",
    attribute: AttributeOption = None,
    start_activity: StartActivityOption = None,
    end_activity: EndActivityOption = None,
    variant: VariantOption = None,
    exclude_variant: ExcludeVariantOption = None,
    top_variants: TopVariantsOption = None,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    start_timestamp: StartTimestampOption = None,
    pair_lifecycle: PairLifecycleOption = False,
    timestamp_format: TimestampFormatOption = None,
    timezone: TimezoneOption = "UTC",
    object_type: ObjectTypeOption = None,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
) -> None:
    """The variants of LOG (distinct activity sequences), most frequent first.

    Each with its number of cases, share of all cases and mean case duration.
    """
    from andon.analytics.discovery import discover_variants
    from andon.analytics.report import variants_json

    filters = _filters(
        time_from, time_to, time_mode, attribute, start_activity, end_activity,
        variant, exclude_variant, top_variants,
    )  # fmt: skip
    ordered = _prepare(
        log, filters, db=db, process=process, engine=engine, case=case, activity=activity,
        timestamp=timestamp,
        resource=resource, start_timestamp=start_timestamp, timestamp_format=timestamp_format,
        pair_lifecycle=pair_lifecycle,
        timezone=timezone, object_type=object_type, encoding=encoding, strict=strict,
        quarantine=quarantine,
    )  # fmt: skip
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


def kpi(
    log: SourceArgument = None,
    db: DbOption = False,
    process: ProcessOption = None,
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
    engine: EngineOption = "duckdb",
    time_from: FromOption = None,
    time_to: ToOption = None,
    time_mode: TimeModeOption = "intersecting",
    attribute: AttributeOption = None,
    start_activity: StartActivityOption = None,
    end_activity: EndActivityOption = None,
    variant: VariantOption = None,
    exclude_variant: ExcludeVariantOption = None,
    top_variants: TopVariantsOption = None,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    start_timestamp: StartTimestampOption = None,
    pair_lifecycle: PairLifecycleOption = False,
    timestamp_format: TimestampFormatOption = None,
    timezone: TimezoneOption = "UTC",
    object_type: ObjectTypeOption = None,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
) -> None:
    """KPIs of LOG: cases, events, case durations, rework, first-pass yield, throughput,
    WIP, time in stage and bottlenecks (docs/analytics.md defines each)."""
    from andon.analytics.kpis import compute_kpis

    filters = _filters(
        time_from, time_to, time_mode, attribute, start_activity, end_activity,
        variant, exclude_variant, top_variants,
    )  # fmt: skip
    from andon.analytics.report import prepare
    from andon.processes.spec_yaml import read_spec_file

    if sla and not db:
        raise typer.BadParameter(
            "--sla goes with --db; for a file, --spec P.yaml adds SLA attainment",
            param_hint="--sla",
        )
    # The definition is read before the log, so a bad file fails fast.
    definition = read_spec_file(spec, field="spec") if spec is not None else None
    business = db and (sla or definition is not None)
    if business:
        from andon.cli.conformance import database_events

        # Every event of the process's items: the stage entries for the KPIs, the breach
        # records for the SLA verdicts; --spec's definition is judged against as read.
        definition, events, sla_events = database_events(
            process, engine, with_sla=True, spec=definition
        )
    else:
        events = open_events(
            log, db=db, process=process,
            engine=engine, case=case, activity=activity, timestamp=timestamp,
            resource=resource, start_timestamp=start_timestamp,
            timestamp_format=timestamp_format, pair_lifecycle=pair_lifecycle,
            timezone=timezone, object_type=object_type, encoding=encoding, strict=strict,
            quarantine=quarantine,
        )  # fmt: skip
        sla_events = events
    ordered = prepare(
        events,
        filters=filters,
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
def report(
    log: SourceArgument = None,
    db: DbOption = False,
    process: ProcessOption = None,
    exception_attribute: ExceptionAttributeOption = None,
    as_json: JsonOption = False,
    engine: EngineOption = "duckdb",
    time_from: FromOption = None,
    time_to: ToOption = None,
    time_mode: TimeModeOption = "intersecting",
    attribute: AttributeOption = None,
    start_activity: StartActivityOption = None,
    end_activity: EndActivityOption = None,
    variant: VariantOption = None,
    exclude_variant: ExcludeVariantOption = None,
    top_variants: TopVariantsOption = None,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    start_timestamp: StartTimestampOption = None,
    pair_lifecycle: PairLifecycleOption = False,
    timestamp_format: TimestampFormatOption = None,
    timezone: TimezoneOption = "UTC",
    object_type: ObjectTypeOption = None,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
) -> None:
    """Everything of `mine dfg --performance`, `mine variants` and `kpi` in one run.

    The log is read and ordered once; --json prints {"dfg": ..., "variants": ..., "kpi": ...}
    with the same objects as those commands.
    """
    from andon.analytics.report import mine_report

    filters = _filters(
        time_from, time_to, time_mode, attribute, start_activity, end_activity,
        variant, exclude_variant, top_variants,
    )  # fmt: skip
    ordered = _prepare(
        log, filters, db=db, process=process,
        attributes=(exception_attribute,) if exception_attribute else (),
        engine=engine, case=case, activity=activity, timestamp=timestamp,
        resource=resource, start_timestamp=start_timestamp, timestamp_format=timestamp_format,
        pair_lifecycle=pair_lifecycle,
        timezone=timezone, object_type=object_type, encoding=encoding, strict=strict,
        quarantine=quarantine,
    )  # fmt: skip
    result = mine_report(ordered, exception_attribute=exception_attribute)
    if as_json:
        echo_json(result.as_json())
        return
    _print_dfg(result.dfg)
    typer.echo("")
    _print_variants(result.variants)
    typer.echo("")
    _print_kpis(result.kpis)


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
