"""`andon sla`: run the SLA sweep by hand and list work items about to breach."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.lines import line_places, shown_time
from andon.cli.tables import echo_json, echo_table, instant, plural

if TYPE_CHECKING:
    from andon.work.models import WorkItem

app = typer.Typer(
    help="SLA clocks: sweep for breaches and due escalations, list what falls due soon.",
    no_args_is_help=True,
)

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="ISO",
        help="Act as if it were this instant (ISO 8601 with offset). Default: now.",
    ),
]


@app.command()
def sweep(
    now: NowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Record SLA breaches and fire every escalation tier that is due, once.

    Safe to run again at once: a tier fires only once and a breach is recorded once. The
    notifications it queues are sent by `andon worker` (which also runs this sweep).
    """
    from andon.core.clock import utcnow
    from andon.work.sweep import sweep_slas

    at = _instant(now, "--now") or utcnow()
    with operator_context() as ctx:
        report = sweep_slas(ctx, now=at)
    if as_json:
        echo_json(
            {
                "now": at.isoformat(),
                "stage_breaches": report.stage_breaches,
                "process_breaches": report.process_breaches,
                "fired": report.fired,
                "notifications": report.notifications,
            }
        )
        return
    typer.echo(
        f"Swept at {instant(at)}: "
        f"{plural(report.stage_breaches, 'stage breach', 'stage breaches')}, "
        f"{plural(report.process_breaches, 'end-to-end breach', 'end-to-end breaches')}, "
        f"{plural(report.fired, 'escalation tier')} fired, "
        f"{plural(report.notifications, 'notification')} queued."
    )


@app.command()
def due(
    within: Annotated[
        str,
        typer.Option(
            "--within", metavar="DURATION", help="How far ahead to look, e.g. 2h, 30m, 1h30m."
        ),
    ] = "2h",
    now: NowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List open work items whose stage or end-to-end SLA falls due within DURATION.

    Items already late are listed too, first. Due times are shown in each line's site time
    zone; LEFT is wall-clock time until then.
    """
    from zoneinfo import ZoneInfo

    from andon.core.clock import utcnow
    from andon.processes.spec import parse_duration
    from andon.work.queries import due_within

    try:
        horizon = timedelta(seconds=parse_duration(within))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--within") from None
    at = _instant(now, "--now") or utcnow()
    settings = read_settings()
    with operator_context(settings) as ctx:
        found = due_within(ctx, horizon, now=at)
        places = line_places(ctx)
    rows: list[dict[str, Any]] = []
    for item in found:
        clock, due_at = _first_due(item)
        place = places.get(item.line_id)
        zone = ZoneInfo(place.timezone) if place else settings.zone
        rows.append(
            {
                "item_id": item.id,
                "title": item.title,
                "stage": item.stage,
                "line": place.path if place else str(item.line_id),
                "clock": clock,
                "due_at": due_at.isoformat(),
                "due_local": shown_time(due_at, zone),
                "seconds_left": round((due_at - at).total_seconds()),
            }
        )
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ("ITEM", "STAGE", "LINE", "CLOCK", "DUE", "LEFT", "TITLE"),
        (
            (
                r["item_id"],
                r["stage"],
                r["line"],
                r["clock"],
                r["due_local"],
                _left(r["seconds_left"]),
                r["title"],
            )
            for r in rows
        ),
        empty=f"Nothing falls due within {within}.",
    )


def _first_due(item: WorkItem) -> tuple[str, datetime]:
    """The clock that runs out first: the stage's or the end-to-end one."""
    clocks = [
        (due_at, name)
        for name, due_at in (("stage", item.stage_due_at), ("end-to-end", item.due_at))
        if due_at is not None
    ]
    due_at, name = min(clocks)
    return name, due_at


def _left(seconds: int) -> str:
    """Wall-clock time left, to the minute: ``1h20m``, ``<1m``, ``late 15m``."""
    from andon.processes.spec import format_duration

    whole = abs(seconds) - abs(seconds) % 60
    shown = format_duration(whole) if whole else "<1m"
    return f"late {shown}" if seconds < 0 else shown


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T13:00:00Z", param_hint=option
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no offset; add Z or +01:00", param_hint=option)
    return moment
