"""`andon log`: check an event-log file's quality, convert it between formats, prepare it for
fast filtering."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from andon.cli.log_options import (
    ActivityOption,
    CaseOption,
    EncodingOption,
    EngineOption,
    JsonOption,
    LogArgument,
    LogOptions,
    ObjectTypeOption,
    PairLifecycleOption,
    QuarantineOption,
    ResourceOption,
    StartTimestampOption,
    StrictOption,
    TimestampFormatOption,
    TimestampOption,
    TimezoneOption,
    load_log,
    log_command,
)
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.analytics.quality import Issue, QualityReport

app = typer.Typer(
    help=(
        "Event-log files: the data-quality report, conversion between formats, and the "
        "prepared form that answers filters fast."
    ),
    no_args_is_help=True,
)


@app.command("check")
def check(
    log: LogArgument,
    as_json: JsonOption = False,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
    case: CaseOption = None,
    activity: ActivityOption = None,
    timestamp: TimestampOption = None,
    resource: ResourceOption = None,
    start_timestamp: StartTimestampOption = None,
    timestamp_format: TimestampFormatOption = None,
    timezone: TimezoneOption = "UTC",
    object_type: ObjectTypeOption = None,
    encoding: EncodingOption = None,
    engine: EngineOption = "duckdb",
) -> None:
    """Read LOG and report on its quality before any analysis.

    Rows rejected (missing case, activity or timestamp; unparsable or future timestamp)
    and findings about the rows kept (duplicates, out-of-order events, one-event cases,
    activity names differing only in case or spacing, suspected clock skew), each with
    a count and examples. docs/event-logs.md defines every kind.
    """
    loaded = load_log(
        log,
        engine=engine,
        case=case,
        activity=activity,
        timestamp=timestamp,
        resource=resource,
        start_timestamp=start_timestamp,
        timestamp_format=timestamp_format,
        timezone=timezone,
        object_type=object_type,
        encoding=encoding,
        strict=strict,
        quarantine=quarantine,
        warn=False,
    )
    if as_json:
        echo_json(loaded.report.to_dict())
        return
    _print_report(loaded.report, str(log), quarantine)


def _print_report(report: QualityReport, source: str, quarantine: Path | None) -> None:
    typer.echo(source)
    typer.echo(
        f"rows read {report.rows_read}, rejected {report.rows_rejected}, "
        f"kept {report.events} events in {report.cases} cases"
    )
    if quarantine is not None and report.rows_rejected:
        typer.echo(f"rejected rows written to {quarantine}")
    typer.echo("")
    echo_table(
        ["ISSUE", "COUNT", "REJECTS", "FIRST EXAMPLE"],
        ([i.kind, i.count, i.rejects, _example(i) if i.examples else None] for i in report.issues),
    )


def _example(issue: Issue) -> str:
    first: dict[str, Any] = issue.examples[0]
    return ", ".join(f"{k}={v}" for k, v in first.items() if v is not None)


@app.command("convert")
def convert(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="IN",
            help="Log to read (any format `andon log check` reads).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT",
            help="File to write: .parquet, .csv or .xes (the suffix decides).",
            show_default=False,
        ),
    ],
    standard_names: Annotated[
        bool,
        typer.Option(
            "--standard-names",
            help="CSV/Parquet: Andon's column names (case_id, activity, ...) "
            "instead of the XES keys (case:concept:name, concept:name, ...).",
        ),
    ] = False,
    strict: StrictOption = False,
    quarantine: QuarantineOption = None,
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
) -> None:
    """Convert IN to OUT: CSV, XES, Parquet or OCEL 2.0 in; Parquet, CSV or XES out.

    Rows the quality check rejects are left out (and counted on stderr); with --strict
    any rejection fails and nothing is written. OUT is replaced only once complete.
    """
    from andon.analytics.writers import write_format, write_log
    from andon.core.errors import InvalidInput

    write_format(out)
    if out.resolve() == source.resolve():
        raise InvalidInput.for_field("out", "OUT must differ from IN")
    loaded = load_log(
        source,
        case=case,
        activity=activity,
        timestamp=timestamp,
        resource=resource,
        start_timestamp=start_timestamp,
        timestamp_format=timestamp_format,
        timezone=timezone,
        object_type=object_type,
        encoding=encoding,
        strict=strict,
        quarantine=quarantine,
        pair_lifecycle=pair_lifecycle,
    )
    written = write_log(loaded.log, out, xes_names=not standard_names)
    typer.echo(f"wrote {written} events in {loaded.report.cases} cases to {out}")


@app.command("prepare")
@log_command
def prepare(
    source: LogOptions,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            file_okay=False,
            help="Directory to write the prepared form to (made if missing).",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the prepared form DIR already holds.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Prepare LOG for filtering: its cases, variants and directly-follows pairs, as Parquet
    files in DIR.

    `andon mine dfg DIR` and `andon mine variants DIR` then answer any filter from DIR
    without reading or ordering the events again. DIR is written whole or not at all; an
    existing DIR must be empty, or hold a prepared form that --force replaces.
    """
    import time

    from andon.analytics.dataset_analyses import write_prepared_form
    from andon.analytics.prepared import open_prepared, summarise
    from andon.analytics.report import prepare as order

    started = time.perf_counter()
    _check_destination(out, force=force)
    events = source.open_events()
    write_prepared_form(order(events), out, log=events)
    seconds = time.perf_counter() - started
    written = open_prepared(out)
    summary = summarise(written)
    size = sum(file.stat().st_size for file in out.iterdir())
    document: dict[str, Any] = {
        "directory": str(out),
        "source": written.source,
        "cases": summary.cases,
        "variants": summary.variants,
        "events": summary.events,
        "attributes": list(written.attributes),
        # Kept as a bit mask on each case (at most 63 values); the others as rows by value.
        "masked_attributes": sorted(written.masks),
        "bytes": size,
        "seconds": round(seconds, 3),
    }
    if as_json:
        echo_json(document)
        return
    typer.echo(
        f"prepared {summary.cases} cases, {summary.variants} variants, {summary.events} events "
        f"in {document['seconds']:.2f} s"
    )
    typer.echo(f"wrote {_size(size)} to {out}")
    typer.echo(f"filterable attributes: {', '.join(written.attributes) or '(none)'}")
    if written.masks:
        typer.echo(f"kept as value masks on the cases: {', '.join(sorted(written.masks))}")


def _check_destination(directory: Path, *, force: bool) -> None:
    """Refuse to write over anything but an empty directory or, with ``force``, a prepared
    form: the directory is replaced whole, and a person's other files must not go with it."""
    from andon.analytics.prepared import prepared_format
    from andon.core.errors import InvalidInput

    if not directory.exists():
        return
    if not directory.is_dir():
        raise InvalidInput.for_field("out", f"{directory} is a file, not a directory")
    if prepared_format(directory) is not None:
        if not force:
            raise InvalidInput.for_field(
                "out", f"{directory} holds a prepared log already; --force replaces it"
            )
        return
    if any(directory.iterdir()):
        raise InvalidInput.for_field(
            "out", f"{directory} is not empty and holds no prepared log: choose another DIR"
        )


def _size(count: int) -> str:
    """Bytes for a person, in powers of 1000 as file managers show them."""
    if count < 1000:
        return f"{count} bytes"
    amount = float(count)
    for unit in ("kB", "MB", "GB"):
        amount /= 1000
        if amount < 1000 or unit == "GB":
            break
    return f"{amount:.1f} {unit}"
