"""The options every command that reads an event-log file shares, and the one call behind them.

A command declares the parameters it wants with these annotated types and passes them to
:func:`load_log`, e.g.::

    def dfg(log: LogArgument, engine: EngineOption = "duckdb", case: CaseOption = None, ...):
        loaded = load_log(log, engine=engine, case=case, ...)

Nothing here imports Ibis, DuckDB or the ORM; :func:`load_log` imports the readers when run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from andon.analytics.log import EventLog
    from andon.analytics.sources import LoadedLog

Engine = Literal["duckdb", "postgres", "spark"]

LogArgument = Annotated[
    Path,
    typer.Argument(
        metavar="LOG",
        help="Event log: .csv/.tsv, .xes/.xes.gz, .parquet, OCEL 2.0 .jsonocel/.xmlocel.",
        show_default=False,
    ),
]
SourceArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="[LOG]",
        help=(
            "Event log: .csv/.tsv, .xes/.xes.gz, .parquet, OCEL 2.0 .jsonocel/.xmlocel. "
            "Omit it with --db."
        ),
        show_default=False,
    ),
]
DbOption = Annotated[
    bool,
    typer.Option(
        "--db",
        help="Analyse Andon's own work events (one event per stage entry) instead of a file.",
    ),
]
ProcessOption = Annotated[
    str | None,
    typer.Option("--process", metavar="KEY", help="With --db: only items of this process."),
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="Where the analysis runs: duckdb (embedded), postgres or spark.",
    ),
]
CaseOption = Annotated[
    str | None,
    typer.Option(
        "--case", metavar="COL", help="Column of the case id. Default: case_id, case:concept:name."
    ),
]
ActivityOption = Annotated[
    str | None,
    typer.Option(
        "--activity", metavar="COL", help="Column of the activity. Default: activity, concept:name."
    ),
]
TimestampOption = Annotated[
    str | None,
    typer.Option(
        "--timestamp",
        metavar="COL",
        help="Column of the (completion) timestamp. Default: timestamp, time:timestamp.",
    ),
]
ResourceOption = Annotated[
    str | None,
    typer.Option(
        "--resource", metavar="COL", help="Column of the resource. Default: resource, org:resource."
    ),
]
StartTimestampOption = Annotated[
    str | None,
    typer.Option(
        "--start-timestamp",
        metavar="COL",
        help="Column of the start time (interval logs). Default: start_timestamp.",
    ),
]
PairLifecycleOption = Annotated[
    bool,
    typer.Option(
        "--pair-lifecycle",
        help="Lifecycle logs: pair each start event with its complete into one event with "
        "a start time, as pm4py's interval conversion does; other transitions are dropped.",
    ),
]
TimestampFormatOption = Annotated[
    str | None,
    typer.Option(
        "--timestamp-format",
        metavar="F",
        help="strptime format for timestamps that are not ISO 8601, e.g. '%d/%m/%Y %H:%M'.",
    ),
]
TimezoneOption = Annotated[
    str,
    typer.Option(
        "--timezone",
        metavar="TZ",
        help="Zone of timestamps written without an offset (IANA name, e.g. Europe/Berlin).",
    ),
]
ObjectTypeOption = Annotated[
    str | None,
    typer.Option(
        "--object-type",
        metavar="T",
        help="OCEL logs: the object type whose objects become the cases.",
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="E",
        help="CSV text encoding. Default: from a byte-order mark, else UTF-8.",
    ),
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Fail, writing nothing, if any row is rejected.")
]
QuarantineOption = Annotated[
    Path | None,
    typer.Option(
        "--quarantine",
        metavar="FILE",
        help="Write rejected rows here as CSV, with a reason column.",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def load_log(
    log: Path,
    *,
    engine: Engine = "duckdb",
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    resource: str | None = None,
    start_timestamp: str | None = None,
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    object_type: str | None = None,
    encoding: str | None = None,
    strict: bool = False,
    quarantine: Path | None = None,
    warn: bool = True,
    findings: bool = True,
    pair_lifecycle: bool = False,
) -> LoadedLog:
    """Read ``log`` as the options say. With ``warn``, rejected rows are mentioned on stderr
    (never stdout, which a ``--json`` command keeps for its one document). Without
    ``findings`` the quality report holds only the rejections (cheaper: one scan). With
    ``pair_lifecycle`` the log's start/complete pairs become interval events."""
    from andon.analytics.sources import ColumnMapping, read_log

    mapping = ColumnMapping(
        case=case,
        activity=activity,
        timestamp=timestamp,
        resource=resource,
        start_timestamp=start_timestamp,
    )
    loaded = read_log(
        log,
        engine=engine,
        mapping=mapping,
        strict=strict,
        quarantine=quarantine,
        timestamp_format=timestamp_format,
        timezone=timezone,
        ocel_object_type=object_type,
        encoding=encoding,
        findings=findings,
    )
    if pair_lifecycle:
        from dataclasses import replace

        from andon.analytics.lifecycle import pair_lifecycle as pair

        loaded = replace(loaded, log=pair(loaded.log))
    report = loaded.report
    if warn and report.rows_rejected:
        where = f"; written to {quarantine}" if quarantine else f"; see `andon log check {log}`"
        typer.echo(
            f"warning: {report.rows_rejected} of {report.rows_read} rows rejected and left out"
            + where,
            err=True,
        )
    return loaded


def open_events(
    log: Path | None,
    *,
    db: bool = False,
    process: str | None = None,
    engine: Engine = "duckdb",
    **file_options: object,
) -> EventLog:
    """The events a command analyses: the file ``log`` (read by :func:`load_log` with
    ``file_options``), or with ``db`` Andon's own work events, optionally of one process.

    Exactly one of ``log`` and ``db``; ``process`` only with ``db``. A wrong combination is a
    usage error (exit 2).
    """
    if (log is None) == (not db):
        raise typer.BadParameter("give either a LOG file or --db", param_hint="LOG / --db")
    if not db:
        if process is not None:
            raise typer.BadParameter("--process goes with --db", param_hint="--process")
        assert log is not None
        # An analysis only warns about rejected rows: the quality findings are not needed.
        return load_log(log, engine=engine, findings=False, **file_options).log  # type: ignore[arg-type]
    from andon.analytics.andon_events import read_andon_events
    from andon.cli.context import read_settings

    return read_andon_events(read_settings().resolved_database_url, process=process, engine=engine)
