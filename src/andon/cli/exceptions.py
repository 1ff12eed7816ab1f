"""`andon exception`: raise, list and resolve exceptions on the floor; their Pareto chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.lines import LinePlace, find_line, line_places, shown_time
from andon.cli.tables import echo_json, echo_table, instant

if TYPE_CHECKING:
    from datetime import tzinfo

    from andon.work.models import PlantException

app = typer.Typer(
    help="Exceptions on work items or lines: raise, list, resolve, and their Pareto chart.",
    no_args_is_help=True,
)

BAR_WIDTH = 40
Severity = Literal["low", "medium", "high", "critical"]


@app.command("raise")
def raise_(
    category: Annotated[
        str, typer.Option("--category", help="A category of the process, e.g. safety, material.")
    ],
    description: Annotated[str, typer.Option("--description", help="What happened.")],
    item: Annotated[
        int | None, typer.Option("--item", metavar="ID", help="The work item it is about.")
    ] = None,
    line: Annotated[
        str | None,
        typer.Option("--line", metavar="LINE", help="Or the line it is about (L1, CHI/L1)."),
    ] = None,
    severity: Annotated[
        Severity | None,
        typer.Option("--severity", help="low, medium, high or critical. Default: the category's."),
    ] = None,
) -> None:
    """Raise an exception on a work item (--item) or a line (--line).

    Severities a process escalates at once are escalated now, and the line's stop-the-line
    rules are applied: a matching rule stops the line.
    """
    from andon.processes.spec import Severity as Level
    from andon.work import line_stops
    from andon.work.exceptions import raise_exception
    from andon.work.schemas import ExceptionRaise

    if (item is None) == (line is None):
        raise typer.BadParameter("give either --item ID or --line LINE", param_hint="--item")
    with operator_context() as ctx:
        line_id = find_line(ctx, line).id if line is not None else None
        data = ExceptionRaise(
            category=category,
            severity=Level(severity) if severity else None,
            description=description,
            item_id=item,
            line_id=line_id,
        )
        raised = raise_exception(ctx, data)
        places = line_places(ctx)
        # The line's stop rules ran inside the same transaction; say if this stopped it.
        stopped = next(
            (
                row.stop
                for row in line_stops.board(ctx)
                if row.line.id == raised.line_id
                and row.stop is not None
                and row.stop.exception_id == raised.id
            ),
            None,
        )
    shown_line = _line_text(places, raised.line_id)
    where = f"line {shown_line}" if item is None else f"work item {item} (line {shown_line})"
    typer.echo(f"Raised exception {raised.id}: {raised.severity} {raised.category} on {where}.")
    if stopped is not None:
        typer.echo(f"Line {shown_line} STOPPED by rule {stopped.rule}: {stopped.reason}")
        typer.echo(
            f"Restart needs two sign-offs (supervisor and quality): "
            f"andon line signoff {shown_line} --reason TEXT"
        )


@app.command("list")
def list_(
    open_only: Annotated[bool, typer.Option("--open", help="Only those not resolved yet.")] = False,
    line: Annotated[
        str | None, typer.Option("--line", metavar="LINE", help="Only this line.")
    ] = None,
    item: Annotated[
        int | None, typer.Option("--item", metavar="ID", help="Only this item.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List exceptions, newest first."""
    from andon.work.exceptions import list_exceptions
    from andon.work.schemas import ExceptionOut

    found: list[PlantException] = []
    with operator_context() as ctx:
        line_id = find_line(ctx, line).id if line is not None else None
        cursor: str | None = None
        while True:
            page = list_exceptions(
                ctx,
                status="unresolved" if open_only else None,
                line_id=line_id,
                item_id=item,
                cursor=cursor,
                limit=500,
            )
            found.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        places = line_places(ctx)
    if as_json:
        echo_json([ExceptionOut.model_validate(e).model_dump(mode="json") for e in found])
        return
    echo_table(
        ("ID", "RAISED", "LINE", "ITEM", "CATEGORY", "SEVERITY", "STATUS", "DESCRIPTION"),
        (
            (
                e.id,
                _raised_text(places, e),
                _line_text(places, e.line_id),
                e.item_id,
                e.category,
                e.severity,
                e.status,
                e.description,
            )
            for e in found
        ),
        empty="No exceptions match.",
    )


@app.command()
def resolve(
    exception_id: Annotated[int, typer.Argument(metavar="ID", help="Exception id.")],
    resolution: Annotated[str, typer.Option("--resolution", help="What was done about it.")],
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            metavar="N",
            min=1,
            help="The version you saw; refused if it changed. Default: the current, read first.",
        ),
    ] = None,
) -> None:
    """Resolve an exception with what was done about it."""
    from andon.work.exceptions import get_exception, resolve_exception
    from andon.work.schemas import ExceptionResolve

    with operator_context() as ctx:
        current = version or get_exception(ctx, exception_id).version
        resolved = resolve_exception(
            ctx, exception_id, ExceptionResolve(version=current, resolution=resolution)
        )
    typer.echo(f"Resolved exception {resolved.id} ({resolved.category}).")


@app.command()
def pareto(
    by: Annotated[
        Literal["category", "line", "severity"],
        typer.Option("--by", help="What to count exceptions by."),
    ] = "category",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="From this date (midnight in ANDON_TIMEZONE) or instant (ISO 8601) on.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a chart.")] = False,
) -> None:
    """Count exceptions by category, line or severity, largest first, as a text bar chart."""
    from andon.work.exceptions import pareto as pareto_bars

    settings = read_settings()
    start = _since(since, settings.zone) if since is not None else None
    with operator_context(settings) as ctx:
        bars = pareto_bars(ctx, by=by, since=start)
    if as_json:
        echo_json(
            [
                {
                    "key": b.key,
                    "count": b.count,
                    "share": round(b.share, 4),
                    "cumulative_share": round(b.cumulative_share, 4),
                }
                for b in bars
            ]
        )
        return
    if not bars:
        typer.echo("No exceptions" + (f" since {since}." if since else "."))
        return
    top = bars[0].count
    key_width = max(len(b.key) for b in bars)
    count_width = len(str(top))
    total = sum(b.count for b in bars)
    typer.echo(f"Exceptions by {by}" + (f" since {since}" if since else "") + f": {total}")
    for b in bars:
        bar = "#" * max(1, round(BAR_WIDTH * b.count / top))
        typer.echo(
            f"{b.key.ljust(key_width)}  {bar.ljust(BAR_WIDTH)}  {str(b.count).rjust(count_width)}"
            f"  {b.share * 100:5.1f}%  cum {b.cumulative_share * 100:5.1f}%"
        )


def _raised_text(places: dict[int, LinePlace], exception: PlantException) -> str:
    from zoneinfo import ZoneInfo

    place = places.get(exception.line_id)
    if place is None:
        return instant(exception.raised_at)
    return shown_time(exception.raised_at, ZoneInfo(place.timezone))


def _line_text(places: dict[int, LinePlace], line_id: int) -> str:
    place = places.get(line_id)
    return place.path if place else str(line_id)


def _since(value: str, zone: tzinfo) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (2026-01-31) or an ISO 8601 instant", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
