"""`andon downtime`, `andon oee` and `andon product`: lost time with its reason, OEE per period,
ideal cycle times."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.lines import find_line, line_places, shown_time
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.metrics.downtime import OeePeriod
    from andon.metrics.oee_models import DowntimeEntry

downtime_app = typer.Typer(
    help="Enter downtime of a line with a reason code, and list it.", no_args_is_help=True
)
product_app = typer.Typer(help="Products: their ideal cycle times for OEE.", no_args_is_help=True)

LineOption = Annotated[
    str,
    typer.Option("--line", help="Line code, e.g. L1; CHI/L1 or CHI/ASM/L1 where codes repeat."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _instant(text: str, zone: tzinfo, option: str) -> datetime:
    """An ISO date-time; without an offset it is wall-clock time at the line's site."""
    from andon.core.errors import InvalidInput

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput.for_field(
            option, f"{text!r} is not a date and time; write e.g. 2026-11-23T07:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _entry_json(entry: DowntimeEntry, path: str) -> dict[str, object]:
    return {
        "id": entry.id,
        "line": path,
        "started_at": entry.started_at.isoformat(),
        "ended_at": entry.ended_at.isoformat(),
        "minutes": round((entry.ended_at - entry.started_at).total_seconds() / 60, 1),
        "reason_code": entry.reason_code,
        "note": entry.note,
        "recorded_by": entry.recorded_by,
    }


@downtime_app.command("record")
def record(
    line: LineOption,
    start: Annotated[
        str, typer.Option("--from", help="When the line stopped running (site time if no offset).")
    ],
    end: Annotated[str, typer.Option("--to", help="When it ran again.")],
    reason: Annotated[
        str, typer.Option("--reason", help="A reason code of ANDON_DOWNTIME_REASONS.")
    ],
    note: Annotated[str, typer.Option("--note", help="What happened, in words.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Enter downtime of LINE from --from to --to with a reason code."""
    from zoneinfo import ZoneInfo

    from andon.metrics import downtime
    from andon.metrics.oee_schemas import DowntimeCreate

    settings = read_settings()
    with operator_context(settings) as ctx:
        found = find_line(ctx, line)
        zone = ZoneInfo(found.timezone)
        data = DowntimeCreate(
            started_at=_instant(start, zone, "from"),
            ended_at=_instant(end, zone, "to"),
            reason_code=reason,
            note=note,
        )
        entry = downtime.record_downtime(
            ctx, found.id, data, reasons=settings.downtime_reason_codes
        )
    if as_json:
        echo_json(_entry_json(entry, found.path))
        return
    minutes = (entry.ended_at - entry.started_at).total_seconds() / 60
    typer.echo(
        f"Recorded downtime {entry.id} on {found.path}: {minutes:g} min of "
        f"{entry.reason_code}, {shown_time(entry.started_at, zone)} to "
        f"{shown_time(entry.ended_at, zone)}."
    )


@downtime_app.command("list")
def list_entries(
    line: Annotated[
        str | None, typer.Option("--line", help="Only this line (default: every line).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Entered downtime, newest first."""
    from zoneinfo import ZoneInfo

    from andon.metrics import downtime

    with operator_context() as ctx:
        line_id = find_line(ctx, line).id if line else None
        rows = downtime.list_downtime(ctx, line_id, limit=limit)
        places = line_places(ctx)
    if as_json:
        echo_json([_entry_json(e, places[e.line_id].path) for e in rows])
        return
    echo_table(
        ("ID", "LINE", "FROM", "TO", "MIN", "REASON", "NOTE", "BY"),
        (
            (
                e.id,
                places[e.line_id].path,
                shown_time(e.started_at, ZoneInfo(places[e.line_id].timezone)),
                shown_time(e.ended_at, ZoneInfo(places[e.line_id].timezone)),
                f"{(e.ended_at - e.started_at).total_seconds() / 60:g}",
                e.reason_code,
                e.note,
                e.recorded_by,
            )
            for e in rows
        ),
        empty="No downtime entered. Enter some with: andon downtime record",
    )


def oee(
    line: LineOption,
    period: Annotated[
        Literal["shift", "day", "week", "month"],
        typer.Option("--period", help="Period kind: shift, day, week or month."),
    ] = "week",
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Only this period, e.g. 2026-W47 (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """OEE of LINE per period with availability, performance and quality."""
    from andon.metrics import downtime

    with operator_context() as ctx:
        found = find_line(ctx, line)
        rows = downtime.line_oee(ctx, found.id, period, periods=key)
    if as_json:
        echo_json([row.as_json() for row in rows])
        return
    echo_table(
        ("PERIOD", "OEE", "AVAILABILITY", "PERFORMANCE", "QUALITY", "MADE", "GOOD", "NOTE"),
        (_oee_row(row) for row in rows),
        empty=f"Nothing recorded on {found.path} yet.",
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _oee_row(row: OeePeriod) -> tuple[object, ...]:
    r = row.result
    note = r.no_data or ("performance capped at 100%" if r.performance_capped else "")
    return (
        row.period,
        _percent(r.oee),
        _percent(r.availability),
        _percent(r.performance),
        _percent(r.quality),
        r.total_count,
        r.good_count,
        note,
    )


@product_app.command("cycle-time")
def cycle_time(
    product: Annotated[str, typer.Argument(help="Product code, as work items name it.")],
    seconds: Annotated[float, typer.Argument(help="Ideal seconds per unit.")],
    line: Annotated[
        str | None, typer.Option("--line", help="Only on this line (default: any line).")
    ] = None,
) -> None:
    """Set the ideal cycle time of PRODUCT: SECONDS per unit, on one line or any line."""
    from andon.metrics import downtime
    from andon.metrics.oee_schemas import IdealCycleTimeSet

    with operator_context() as ctx:
        found = find_line(ctx, line) if line else None
        data = IdealCycleTimeSet(
            product=product, line_id=found.id if found else None, seconds=seconds
        )
        row = downtime.set_ideal_cycle_time(ctx, data)
    where = f"on {found.path}" if found else "on any line without its own"
    typer.echo(f"Ideal cycle time of {row.product} {where}: {row.seconds:g} s per unit.")


@product_app.command("cycle-times")
def cycle_times(as_json: JsonOption = False) -> None:
    """Every ideal cycle time, by product."""
    from andon.metrics import downtime

    with operator_context() as ctx:
        rows = downtime.list_ideal_cycle_times(ctx)
        places = line_places(ctx)

    def where(line_id: int | None) -> str | None:
        return places[line_id].path if line_id is not None else None

    if as_json:
        echo_json(
            [{"product": r.product, "line": where(r.line_id), "seconds": r.seconds} for r in rows]
        )
        return
    echo_table(
        ("PRODUCT", "LINE", "SECONDS"),
        ((r.product, where(r.line_id) or "any", f"{r.seconds:g}") for r in rows),
        empty="No ideal cycle times. Set one with: andon product cycle-time PRODUCT SECONDS",
    )
