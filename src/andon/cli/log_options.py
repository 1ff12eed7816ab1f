"""The options every command that reads an event-log file shares, and the one call behind them.

A command declares the parameters it wants with these annotated types and passes them to
:func:`load_log`, e.g.::

    def check(log: LogArgument, engine: EngineOption = "duckdb", case: CaseOption = None, ...):
        loaded = load_log(log, engine=engine, case=case, ...)

The analyses (``mine``, ``kpi``) take them all at once: :func:`log_command` declares the
source, reading and filter flags for the command and hands it one :class:`LogOptions` (and
one :class:`FilterFlags`)::

    @log_command
    def dfg(source: LogOptions, filters: FilterFlags, as_json: JsonOption = False): ...

Nothing here imports Ibis, DuckDB, pydantic or the ORM; the readers are imported when run.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from andon.analytics.filters import CaseFilters
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


# Filter flags of the analyses. Times stay text here: analytics.filters.parse_case_filters
# reads them, as it reads the API's query, so both agree on zones and formats.
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="INSTANT",
        help=(
            "Keep cases in the time range from this instant (in ANDON_TIMEZONE unless it "
            "has an offset)."
        ),
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="INSTANT",
        help="... up to this instant, included (in ANDON_TIMEZONE unless it has an offset).",
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


@dataclass(frozen=True)
class LogOptions:
    """Where an analysis's events come from: a log file read as the flags say, or with ``db``
    Andon's own work events (optionally of one ``process``)."""

    log: Path | None = None
    db: bool = False
    process: str | None = None
    engine: Engine = "duckdb"
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    start_timestamp: str | None = None
    pair_lifecycle: bool = False
    timestamp_format: str | None = None
    timezone: str = "UTC"
    object_type: str | None = None
    encoding: str | None = None
    strict: bool = False
    quarantine: Path | None = None

    def open_events(self) -> EventLog:
        """The events to analyse: the file (rejected rows only warned about on stderr), or
        with ``db`` Andon's work events.

        Exactly one of ``log`` and ``db``; ``process`` only with ``db``. A wrong combination
        is a usage error (exit 2).
        """
        if (self.log is None) == (not self.db):
            raise typer.BadParameter("give either a LOG file or --db", param_hint="LOG / --db")
        if not self.db:
            if self.process is not None:
                raise typer.BadParameter("--process goes with --db", param_hint="--process")
            assert self.log is not None
            # An analysis only warns about rejected rows: the quality findings are not needed.
            return load_log(
                self.log,
                engine=self.engine,
                case=self.case,
                activity=self.activity,
                timestamp=self.timestamp,
                resource=self.resource,
                start_timestamp=self.start_timestamp,
                timestamp_format=self.timestamp_format,
                timezone=self.timezone,
                object_type=self.object_type,
                encoding=self.encoding,
                strict=self.strict,
                quarantine=self.quarantine,
                findings=False,
                pair_lifecycle=self.pair_lifecycle,
            ).log
        from andon.analytics.andon_events import read_andon_events
        from andon.cli.context import read_settings

        return read_andon_events(
            read_settings().resolved_database_url, process=self.process, engine=self.engine
        )


@dataclass(frozen=True)
class FilterFlags:
    """The filter flags as typed; :meth:`case_filters` reads them."""

    time_from: str | None = None
    time_to: str | None = None
    time_mode: Literal["intersecting", "contained"] = "intersecting"
    attribute: list[str] | None = None
    start_activity: list[str] | None = None
    end_activity: list[str] | None = None
    variant: list[str] | None = None
    exclude_variant: list[str] | None = None
    top_variants: int | None = None

    def case_filters(self) -> CaseFilters:
        """The filters, read as the API reads its query: a time without an offset is in the
        site's zone (ANDON_TIMEZONE). InvalidInput (exit 1) names the field at fault."""
        from andon.analytics.filters import parse_case_filters

        return parse_case_filters(
            time_from=self.time_from,
            time_to=self.time_to,
            time_mode=self.time_mode,
            attribute=self.attribute or (),
            start_activity=self.start_activity or (),
            end_activity=self.end_activity or (),
            variant=self.variant or (),
            exclude_variant=self.exclude_variant or (),
            top_variants=self.top_variants,
            zone=site_zone,
        )


def site_zone() -> tzinfo:
    """The site's zone, ``ANDON_TIMEZONE`` (default UTC); asked for only when a time has no
    offset. Read from the environment as the settings read it, with the same refusal (exit 2),
    but without loading them: pydantic alone costs an analysis more start-up than reading a
    small log."""
    from andon.core.clock import zone_named
    from andon.core.errors import ConfigurationError

    name = os.environ.get("ANDON_TIMEZONE", "UTC")
    try:
        return zone_named(name)
    except ValueError as exc:
        raise ConfigurationError(f"ANDON_TIMEZONE: {exc}") from None


# How log_command lays the flags out, in --help order: the source, the command's own options,
# the engine, the filters, then how a file is read.
_SOURCE_FLAGS: tuple[tuple[str, Any], ...] = (
    ("log", SourceArgument),
    ("db", DbOption),
    ("process", ProcessOption),
)
_ENGINE_FLAGS: tuple[tuple[str, Any], ...] = (("engine", EngineOption),)
_FILTER_FLAGS: tuple[tuple[str, Any], ...] = (
    ("time_from", FromOption),
    ("time_to", ToOption),
    ("time_mode", TimeModeOption),
    ("attribute", AttributeOption),
    ("start_activity", StartActivityOption),
    ("end_activity", EndActivityOption),
    ("variant", VariantOption),
    ("exclude_variant", ExcludeVariantOption),
    ("top_variants", TopVariantsOption),
)
_FILE_FLAGS: tuple[tuple[str, Any], ...] = (
    ("case", CaseOption),
    ("activity", ActivityOption),
    ("timestamp", TimestampOption),
    ("resource", ResourceOption),
    ("start_timestamp", StartTimestampOption),
    ("pair_lifecycle", PairLifecycleOption),
    ("timestamp_format", TimestampFormatOption),
    ("timezone", TimezoneOption),
    ("object_type", ObjectTypeOption),
    ("encoding", EncodingOption),
    ("strict", StrictOption),
    ("quarantine", QuarantineOption),
)


def log_command(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the shared flags declared for Typer and gathered into objects.

    ``command`` takes ``source: LogOptions`` and, if it filters, ``filters: FilterFlags``,
    beside its own options (all with defaults). The command Typer sees has, in this order:
    LOG, ``--db``, ``--process``, the command's own options, ``--engine``, the filter flags,
    then the file-reading flags; each with the default of the dataclass field it fills.
    """
    own = dict(inspect.signature(command, eval_str=True).parameters)
    if "source" not in own:
        raise TypeError(f"{command.__name__} takes no source: LogOptions")
    del own["source"]
    takes_filters = own.pop("filters", None) is not None
    log_defaults = {f.name: f.default for f in fields(LogOptions)}
    filter_defaults = {f.name: f.default for f in fields(FilterFlags)}

    def declared(flags: tuple[tuple[str, Any], ...], defaults: dict[str, Any]) -> list[Any]:
        return [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=defaults[name]
            )
            for name, kind in flags
        ]

    parameters = [
        *declared(_SOURCE_FLAGS, log_defaults),
        *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own.values()),
        *declared(_ENGINE_FLAGS, log_defaults),
        *(declared(_FILTER_FLAGS, filter_defaults) if takes_filters else []),
        *declared(_FILE_FLAGS, log_defaults),
    ]

    @functools.wraps(command)
    def run(**values: Any) -> None:
        source = LogOptions(**{name: values.pop(name) for name in log_defaults})
        if takes_filters:
            values["filters"] = FilterFlags(**{name: values.pop(name) for name in filter_defaults})
        command(source=source, **values)

    run.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    del run.__wrapped__  # Typer must read the signature above, not the command's
    return run
