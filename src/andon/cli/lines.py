"""`andon line`: pull the cord, sign off a restart, the line board, stop-the-line rules.

Also where the other command groups find a line by its code: ``L1`` when only one line has
that code, else ``CHI/L1`` (site/line), ``ASM/L1`` (area/line, as `andon item import` reads
it) or ``CHI/ASM/L1`` (site/area/line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.core.uow import Context
    from andon.work.models import LineStop, LineStopRule

app = typer.Typer(
    help="Stop a line, sign off its restart, see every line's status, set stop-the-line rules.",
    no_args_is_help=True,
)
rule_app = typer.Typer(help="Rules that stop a line by themselves.", no_args_is_help=True)
app.add_typer(rule_app, name="rule")

LineArgument = Annotated[
    str,
    typer.Argument(
        metavar="LINE", help="Line code, e.g. L1; CHI/L1 or CHI/ASM/L1 where codes repeat."
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass(frozen=True)
class LinePlace:
    """Where a line is: its code, its full path and its site's time zone."""

    id: int
    code: str
    path: str
    timezone: str


def line_places(ctx: Context) -> dict[int, LinePlace]:
    """Every line by id, with the path and site time zone that tables show."""
    from andon.plant import service as plant

    tree = plant.plant_tree(ctx)
    places: dict[int, LinePlace] = {}
    for sites in tree.sites.values():
        for site in sites:
            for area in tree.areas.get(site.id, []):
                for line in tree.lines.get(area.id, []):
                    places[line.id] = LinePlace(
                        line.id, line.code, f"{site.code}/{area.code}/{line.code}", site.timezone
                    )
    return places


def find_line(ctx: Context, code: str) -> LinePlace:
    """The line named by ``L1``, ``CHI/L1``, ``ASM/L1`` or ``CHI/ASM/L1`` (any case).

    NotFound if no line matches; a name that fits several lines (a bare code that two sites
    use) is refused with their full paths to choose from.
    """
    from andon.core.errors import InvalidInput, NotFound

    parts = [p.strip().upper() for p in code.split("/")]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InvalidInput.for_field("line", f"{code!r} is not LINE, SITE/LINE or SITE/AREA/LINE")
    matches = [
        place for place in line_places(ctx).values() if _matches(place.path.split("/"), parts)
    ]
    if not matches:
        raise NotFound(f"no line {'/'.join(parts)!r}")
    if len(matches) > 1:
        paths = ", ".join(sorted(p.path for p in matches))
        raise InvalidInput.for_field(
            "line", f"{'/'.join(parts)!r} is more than one line ({paths}); give SITE/AREA/LINE"
        )
    return matches[0]


def _matches(path: list[str], parts: list[str]) -> bool:
    site, area, line = path
    if len(parts) == 1:
        return parts[0] == line
    if len(parts) == 2:
        return parts in ([site, line], [area, line])
    return parts == path


def shown_time(moment: datetime | None, zone: tzinfo) -> str:
    """An instant as wall-clock time in ``zone`` with the zone's abbreviation."""
    from andon.core.clock import to_local

    if moment is None:
        return "-"
    return to_local(moment, zone).strftime("%Y-%m-%d %H:%M %Z")


@app.command()
def stop(line: LineArgument, reason: ReasonOption) -> None:
    """Pull the cord: stop LINE now. Supervisors, quality and subscribers are notified."""
    from andon.work import line_stops

    with operator_context() as ctx:
        found = find_line(ctx, line)
        stopped = line_stops.pull_cord(ctx, found.id, reason)
    typer.echo(f"Line {found.path} stopped (stop {stopped.id}).")
    typer.echo(
        "Restart needs two sign-offs (supervisor and quality): "
        f"andon line signoff {found.path} --reason TEXT"
    )


@app.command()
def signoff(
    line: LineArgument,
    reason: ReasonOption,
    as_role: Annotated[
        Literal["supervisor", "quality"] | None,
        typer.Option(
            "--as",
            help="Which sign-off this is. Default: whichever is still missing, quality first.",
        ),
    ] = None,
) -> None:
    """Sign off the restart of a stopped LINE; with both sign-offs the line runs again."""
    from andon.work import line_stops

    with operator_context() as ctx:
        found = find_line(ctx, line)
        stop_record = line_stops.sign_off_restart(ctx, found.id, reason, as_role=as_role)
    typer.echo(_signoff_summary(found.path, stop_record))


def _signoff_summary(code: str, stop_record: LineStop) -> str:
    if stop_record.restarted_at is not None:
        return (
            f"Line {code} restarted: supervisor {stop_record.supervisor_signoff_by}, "
            f"quality {stop_record.quality_signoff_by} signed off."
        )
    missing = "quality" if stop_record.quality_signoff_by is None else "supervisor"
    given = "supervisor" if missing == "quality" else "quality"
    return f"Line {code}: {given} sign-off recorded; still stopped until {missing} signs off."


@app.command()
def board(as_json: JsonOption = False) -> None:
    """Every line's status with its open, late and exception counts."""
    from zoneinfo import ZoneInfo

    from andon.work import line_stops

    with operator_context() as ctx:
        rows = line_stops.board(ctx)
        places = line_places(ctx)
    if as_json:
        echo_json(
            [
                {
                    "line": r.line.code,
                    "path": places[r.line.id].path if r.line.id in places else r.line.code,
                    "name": r.line.name,
                    "status": r.status,
                    "since": r.since.isoformat() if r.since else None,
                    "open_items": r.open_items,
                    "late_items": r.late_items,
                    "open_exceptions": r.open_exceptions,
                    "stop_reason": r.stop.reason if r.stop else None,
                }
                for r in rows
            ]
        )
        return
    echo_table(
        ("LINE", "NAME", "STATUS", "SINCE", "OPEN", "LATE", "EXCEPTIONS", "STOP REASON"),
        (
            (
                places[r.line.id].path if r.line.id in places else r.line.code,
                r.line.name,
                r.status.upper() if r.status == "stopped" else r.status,
                shown_time(r.since, ZoneInfo(places[r.line.id].timezone))
                if r.since and r.line.id in places
                else r.since,
                r.open_items,
                r.late_items,
                r.open_exceptions,
                r.stop.reason if r.stop else None,
            )
            for r in rows
        ),
        empty="No lines yet. Add one with: andon plant add-line",
    )


@rule_app.command("add")
def rule_add(
    line: LineArgument,
    name: Annotated[str, typer.Option("--name", help="Name people will see, e.g. 'Safety'.")],
    exception: Annotated[
        bool,
        typer.Option(
            "--exception", help="Stop on an exception (give --min-severity and/or --category)."
        ),
    ] = False,
    min_severity: Annotated[
        Literal["low", "medium", "high", "critical"] | None,
        typer.Option("--min-severity", help="With --exception: this severity or worse."),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="With --exception: only this category.")
    ] = None,
    failed_checks: Annotated[
        int | None,
        typer.Option(
            "--failed-checks", min=1, metavar="N", help="Stop after N failed checklists..."
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", metavar="DURATION", help="...within this time, e.g. 30m or 1h."),
    ] = None,
) -> None:
    """Add a rule that stops LINE: a severe exception, or too many failed checks too fast."""
    from andon.processes.spec import Severity
    from andon.work import line_stops
    from andon.work.schemas import StopRuleCreate

    if exception == (failed_checks is not None):
        raise typer.BadParameter(
            "give either --exception or --failed-checks N --window DURATION",
            param_hint="--exception / --failed-checks",
        )
    if exception:
        data = StopRuleCreate(
            name=name,
            kind="exception",
            category=category,
            min_severity=Severity(min_severity) if min_severity else None,
        )
    else:
        if window is None:
            raise typer.BadParameter("--failed-checks needs --window", param_hint="--window")
        data = StopRuleCreate(
            name=name,
            kind="failed_checks",
            count=failed_checks,
            window_minutes=_minutes(window),
        )
    with operator_context() as ctx:
        found = find_line(ctx, line)
        rule = line_stops.add_rule(ctx, found.id, data)
    typer.echo(f"Added rule {rule.id} to line {found.path}: {_describe_rule(rule)}")


@rule_app.command("list")
def rule_list(line: LineArgument, as_json: JsonOption = False) -> None:
    """List the stop-the-line rules of LINE."""
    from andon.work import line_stops

    with operator_context() as ctx:
        found = find_line(ctx, line)
        rules = line_stops.list_rules(ctx, found.id)
    if as_json:
        echo_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "kind": r.kind,
                    "category": r.category,
                    "min_severity": r.min_severity,
                    "count": r.count,
                    "window_seconds": r.window_seconds,
                    "active": r.active,
                }
                for r in rules
            ]
        )
        return
    echo_table(
        ("ID", "NAME", "ACTIVE", "STOPS THE LINE ON"),
        ((r.id, r.name, r.active, _describe_rule(r)) for r in rules),
        empty=f"Line {found.path} has no stop-the-line rules.",
    )


@rule_app.command("remove")
def rule_remove(
    rule_id: Annotated[int, typer.Argument(metavar="RULE_ID", help="From `andon line rule list`.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the audit trail.")
    ] = None,
) -> None:
    """Remove a stop-the-line rule."""
    from andon.work import line_stops

    with operator_context() as ctx:
        line_stops.remove_rule(ctx, rule_id, reason=reason)
    typer.echo(f"Removed rule {rule_id}.")


def _minutes(window: str) -> int:
    from andon.processes.spec import parse_duration

    try:
        seconds = parse_duration(window)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--window") from None
    if seconds % 60:
        raise typer.BadParameter("give whole minutes, e.g. 30m or 1h", param_hint="--window")
    return seconds // 60


def _describe_rule(rule: LineStopRule) -> str:
    from andon.processes.spec import format_duration

    if rule.kind == "failed_checks":
        checks = f"{rule.count} failed check" + ("" if rule.count == 1 else "s")
        return f"{checks} within {format_duration(rule.window_seconds or 0)}"
    what = f"{rule.category} exception" if rule.category else "an exception"
    return f"{what} of severity {rule.min_severity} or worse" if rule.min_severity else what
