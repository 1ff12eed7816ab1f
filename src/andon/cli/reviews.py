"""`andon review`: the weekly review pack (HTML, PDF, JSON) and the review meeting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_json

if TYPE_CHECKING:
    from andon.reviews.schemas import MeetingOut

app = typer.Typer(
    help="The weekly review: its pack (values, signals, crossings, actions, decisions) and "
    "the meeting (attendance, decisions, actions).",
    no_args_is_help=True,
)
meeting_app = typer.Typer(
    help="Record the review meeting of a week: open, attend, decide, action, close.",
    no_args_is_help=True,
)
app.add_typer(meeting_app, name="meeting")

WeekOption = Annotated[
    str, typer.Option("--week", metavar="YYYY-Www", help="The ISO week, e.g. 2026-W47.")
]
AreaOption = Annotated[
    str | None,
    typer.Option("--area", metavar="CODE", help="An area's review (default: the plant's)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
MetricOption = Annotated[
    str | None, typer.Option("--metric", metavar="KEY", help="The metric it is about.")
]
Priority = Literal["low", "normal", "high", "urgent"]


@app.command()
def pack(
    week: WeekOption,
    area: AreaOption = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE.pdf", help="Write the pack as PDF."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE.html", help="Write the pack as HTML.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pack's data as JSON.")] = False,
) -> None:
    """Build the review pack of a week: each metric's values against target, control-chart
    signals, threshold crossings, open and overdue actions, and last week's decisions.

    Without -o, --html or --json it prints a summary per metric.
    """
    from andon.reviews import service

    settings = read_settings()
    with operator_context(settings) as ctx:
        built = service.build_pack(ctx, week, area=area, zone=settings.zone)
    if html is not None or output is not None:
        from andon.web.review_print import pack_html, pack_pdf

        if html is not None:
            html.write_text(pack_html(built, settings.zone, screen_links=False), encoding="utf-8")
            typer.echo(f"wrote {html}", err=as_json)
        if output is not None:
            output.write_bytes(pack_pdf(built, settings.zone))
            typer.echo(f"wrote {output}", err=as_json)
    if as_json:
        echo_json(built.model_dump(mode="json"))
        return
    if html is not None or output is not None:
        return
    typer.echo(f"Weekly review {built.week} ({built.first_day} to {built.last_day})")
    for group in built.groups:
        typer.echo(f"\n{group.title}")
        for m in group.metrics:
            signals = sum(len(s.signals) for s in m.series)
            crossed = sum(len(s.crossings) for s in m.series)
            values = ", ".join(
                f"{s.line or 'whole'} {'-' if s.value is None else f'{s.value:.4g}'}"
                for s in m.series
            )
            typer.echo(
                f"  {m.key}: {values or 'no values'}; target "
                f"{'-' if m.target is None else f'{m.target:g}'}; {signals} signal(s), "
                f"{crossed} crossing(s), {len(m.open_actions)} open action(s) "
                f"({len(m.overdue_actions)} overdue)"
            )
    if not built.groups:
        typer.echo("(no metrics)")


@meeting_app.command("open")
def open_(
    week: WeekOption,
    area: AreaOption = None,
    chair: Annotated[
        str | None, typer.Option("--chair", metavar="USERNAME", help="Default: you.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Open the review meeting of a week (returns the one already open)."""
    from andon.reviews import service

    with operator_context() as ctx:
        meeting, created = service.open_meeting(ctx, week, area, chair=chair)
    _echo(meeting, as_json, "opened" if created else "already open:")


@meeting_app.command()
def attend(
    week: WeekOption,
    user: Annotated[
        list[str] | None,
        typer.Option("--user", metavar="USERNAME", help="Who attended, repeatable."),
    ] = None,
    guest: Annotated[
        list[str] | None, typer.Option("--guest", metavar="NAME", help="A guest, repeatable.")
    ] = None,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record who attended (replaces the list recorded before)."""
    from andon.reviews import service

    with operator_context() as ctx:
        meeting = service.get_meeting(ctx, week, area)
        meeting = service.record_attendance(
            ctx, meeting.id, users=user or [], guests=guest or [], version=meeting.version
        )
    _echo(meeting, as_json, "recorded attendance of")


@meeting_app.command()
def decide(
    week: WeekOption,
    text: Annotated[str, typer.Option("--text", help="What was decided.")],
    metric: MetricOption = None,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a decision of the review, about a metric or in general."""
    from andon.reviews import service

    with operator_context() as ctx:
        meeting = service.get_meeting(ctx, week, area)
        decision = service.add_decision(ctx, meeting.id, metric, text)
    if as_json:
        echo_json(decision.model_dump(mode="json"))
        return
    about = f" on {decision.metric_key}" if decision.metric_key else ""
    typer.echo(f"recorded decision #{decision.id}{about} in the review of {meeting.week}")


@meeting_app.command()
def action(
    week: WeekOption,
    title: Annotated[str, typer.Option("--title", help="What is to be done.")],
    owner: Annotated[
        str,
        typer.Option("--owner", metavar="USER_OR_ROLE", help="A username, or a role (quality)."),
    ],
    due: Annotated[
        datetime,
        typer.Option("--due", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Due date."),
    ],
    metric: MetricOption = None,
    priority: Annotated[Priority, typer.Option("--priority", help="Default: normal.")] = "normal",
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an action in the review, linked to it (review:WEEK) and to the metric."""
    from andon.core.permissions import Role
    from andon.reviews import service
    from andon.reviews.schemas import ReviewActionIn

    roles = {r.value for r in Role}
    data = ReviewActionIn(
        title=title,
        owner_user=None if owner in roles else owner,
        owner_role=Role(owner) if owner in roles else None,
        due_on=due.date(),
        priority=priority,
        metric_key=metric,
    )
    with operator_context() as ctx:
        meeting = service.get_meeting(ctx, week, area)
        opened = service.add_action(ctx, meeting.id, data)
    if as_json:
        echo_json(opened.model_dump(mode="json"))
        return
    typer.echo(
        f"opened action #{opened.id} for {opened.owner_user or opened.owner_role}, "
        f"due {opened.due_on}"
    )


@meeting_app.command()
def close(
    week: WeekOption,
    notes: Annotated[str | None, typer.Option("--notes", help="The meeting's notes.")] = None,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close the review meeting; it takes no more changes."""
    from andon.reviews import service

    with operator_context() as ctx:
        meeting = service.get_meeting(ctx, week, area)
        meeting = service.close_meeting(ctx, meeting.id, notes=notes, version=meeting.version)
    _echo(meeting, as_json, "closed")


@meeting_app.command()
def show(week: WeekOption, area: AreaOption = None, as_json: JsonOption = False) -> None:
    """Show the review meeting of a week: chair, attendance, decisions."""
    from andon.reviews import service

    with operator_context() as ctx:
        meeting = service.get_meeting(ctx, week, area)
    if as_json:
        echo_json(meeting.model_dump(mode="json"))
        return
    _echo(meeting, False, "review")
    for d in meeting.decisions:
        typer.echo(f"  #{d.id} {d.metric_key or '(general)'}: {d.text} ({d.decided_by})")


def _echo(meeting: MeetingOut, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(meeting.model_dump(mode="json"))
        return
    where = f" area {meeting.area}" if meeting.area else ""
    people = ", ".join(a.label for a in meeting.attendees) or "no attendance recorded"
    typer.echo(
        f"{verb} {meeting.week}{where} ({meeting.status}, chair {meeting.chair}): {people}; "
        f"{len(meeting.decisions)} decision(s)"
    )
