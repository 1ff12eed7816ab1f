"""`andon postmortem`: start, list, show, edit, submit, publish and search postmortems."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.cli.context import acting_as
from andon.cli.tables import echo_json, echo_table, instant

if TYPE_CHECKING:
    from andon.improvement.postmortem_schemas import PostmortemDetailOut

app = typer.Typer(
    help="Postmortems of line stops and missed shipments: new, list, show, edit, submit, "
    "publish, search.",
    no_args_is_help=True,
)

IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="Postmortem id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
InstantOption = Annotated[
    str | None,
    typer.Option(metavar="YYYY-MM-DDTHH:MM+HH:MM", help="An instant with its UTC offset."),
]


@app.command()
def new(
    title: Annotated[str, typer.Option("--title", help="What failed, in a few words.")],
    kind: Annotated[
        Literal["line_stop", "missed_shipment", "other"], typer.Option("--kind")
    ] = "other",
    line_stop: Annotated[
        int | None, typer.Option("--line-stop", min=1, help="The line stop it is about.")
    ] = None,
    item: Annotated[
        int | None, typer.Option("--item", min=1, help="The work item (missed shipment).")
    ] = None,
    line: Annotated[int | None, typer.Option("--line", min=1, help="Line id.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start (with UTC offset).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (with UTC offset).")] = None,
    summary: Annotated[str, typer.Option("--summary", help="One paragraph.")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a draft; from a line stop the window, impact and timeline are filled in."""
    from andon.improvement.postmortem_schemas import PostmortemCreate
    from andon.improvement.postmortems import create_postmortem

    data = PostmortemCreate.model_validate(
        {
            "title": title,
            "kind": kind,
            "line_stop_id": line_stop,
            "work_item_id": item,
            "line_id": line,
            "started_at": _instant(start, "--from"),
            "ended_at": _instant(end, "--to"),
            "summary": summary,
        }
    )
    with acting_as(as_user) as ctx:
        pm = create_postmortem(ctx, data)
    if as_json:
        echo_json(pm.model_dump(mode="json"))
        return
    typer.echo(
        f"Started postmortem {pm.id}: {pm.title} (draft, {len(pm.timeline)} timeline entries, "
        f"{instant(pm.started_at)} to {instant(pm.ended_at)})."
    )


@app.command("list")
def list_(
    status: Annotated[
        Literal["draft", "in_review", "published"] | None, typer.Option("--status")
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List postmortems, newest incident first (drafts: for their writers only)."""
    from andon.improvement.postmortems import list_postmortems

    with acting_as(as_user) as ctx:
        found = list_postmortems(ctx, status=status)
    if as_json:
        echo_json([p.model_dump(mode="json") for p in found])
        return
    echo_table(
        ("ID", "STARTED", "KIND", "LINE", "STATUS", "TITLE"),
        ((p.id, p.started_at, p.kind, p.line, p.status, p.title) for p in found),
        empty="No postmortems.",
    )


@app.command()
def show(postmortem_id: IdArgument, as_user: AsOption = None, as_json: JsonOption = False) -> None:
    """A postmortem with its timeline, blameless prompts and follow-up actions."""
    from andon.improvement.postmortems import get_postmortem

    with acting_as(as_user) as ctx:
        pm = get_postmortem(ctx, postmortem_id)
    if as_json:
        echo_json(pm.model_dump(mode="json"))
        return
    typer.echo(_text(pm))


@app.command()
def edit(
    postmortem_id: IdArgument,
    title: Annotated[str | None, typer.Option("--title")] = None,
    summary: Annotated[str | None, typer.Option("--summary")] = None,
    what_happened: Annotated[str | None, typer.Option("--what-happened")] = None,
    why: Annotated[str | None, typer.Option("--why")] = None,
    changes: Annotated[str | None, typer.Option("--changes", help="What changes.")] = None,
    rca: Annotated[int | None, typer.Option("--rca", min=0, help="RCA id (0 unlinks).")] = None,
    impact_items: Annotated[int | None, typer.Option("--impact-items", min=0)] = None,
    impact_hours: Annotated[float | None, typer.Option("--impact-hours", min=0)] = None,
    impact_cost: Annotated[float | None, typer.Option("--impact-cost", min=0)] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="e.g. USD.")] = None,
    add_entry: Annotated[
        list[str] | None,
        typer.Option(
            "--add-entry",
            metavar="'INSTANT TEXT'",
            help="Add a timeline entry: an instant with offset, a space, what happened.",
        ),
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a draft (fields given), add timeline entries, and print its prompts."""
    from andon.improvement.postmortem_schemas import EntryIn, PostmortemUpdate
    from andon.improvement.postmortems import add_entry as add
    from andon.improvement.postmortems import get_postmortem, update_postmortem

    changes_given: dict[str, Any] = {
        name: value
        for name, value in {
            "title": title,
            "summary": summary,
            "what_happened": what_happened,
            "why": why,
            "changes": changes,
            "rca_id": rca,
            "impact_items": impact_items,
            "impact_hours": impact_hours,
            "impact_cost": impact_cost,
            "impact_currency": currency,
        }.items()
        if value is not None
    }
    entries = [_entry(text) for text in add_entry or []]
    if not changes_given and not entries:
        raise typer.BadParameter("give something to change", param_hint="--title")
    with acting_as(as_user) as ctx:
        if changes_given:
            current = get_postmortem(ctx, postmortem_id)
            update_postmortem(
                ctx,
                postmortem_id,
                PostmortemUpdate.model_validate({"version": current.version, **changes_given}),
            )
        for at, text in entries:
            add(ctx, postmortem_id, EntryIn(at=at, title=text))
        pm = get_postmortem(ctx, postmortem_id)
    if as_json:
        echo_json(pm.model_dump(mode="json"))
        return
    typer.echo(f"Postmortem {pm.id} saved (version {pm.version}).")
    for p in pm.prompts:
        typer.echo(f"Prompt ({p.field}): {p.phrase!r}: {p.suggestion}")


@app.command()
def submit(
    postmortem_id: IdArgument, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Send a draft for review (it needs "what happened")."""
    from andon.improvement.postmortems import submit_postmortem

    with acting_as(as_user) as ctx:
        pm = submit_postmortem(ctx, postmortem_id)
    if as_json:
        echo_json(pm.model_dump(mode="json"))
        return
    typer.echo(f"Postmortem {pm.id} is in review.")


@app.command()
def publish(
    postmortem_id: IdArgument, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Publish a postmortem under review: a reviewer who is not its author."""
    from andon.improvement.postmortems import publish_postmortem

    with acting_as(as_user) as ctx:
        pm = publish_postmortem(ctx, postmortem_id)
    if as_json:
        echo_json(pm.model_dump(mode="json"))
        return
    typer.echo(f"Published postmortem {pm.id}: {pm.title}.")


@app.command()
def search(
    query: Annotated[str, typer.Argument(metavar="WORDS", help="Words; prefixes count.")],
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the published postmortems."""
    from andon.improvement.postmortems import search_postmortems

    with acting_as(as_user) as ctx:
        hits = search_postmortems(ctx, query)
    if as_json:
        echo_json([h.model_dump(mode="json") for h in hits])
        return
    echo_table(
        ("ID", "TITLE", "SNIPPET"),
        ((h.id, h.title, " ".join(h.snippet.split())) for h in hits),
        empty="No published postmortem matches.",
    )


# --- helpers -------------------------------------------------------------------------------


def _instant(text: str | None, hint: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise typer.BadParameter(
            f"an instant with its UTC offset, e.g. 2026-11-23T13:00Z, not {text!r}",
            param_hint=hint,
        )
    return moment


def _entry(text: str) -> tuple[datetime, str]:
    at, _, what = text.strip().partition(" ")
    moment = _instant(at, "--add-entry")
    if not what.strip():
        raise typer.BadParameter(
            "write the instant, a space, then what happened", param_hint="--add-entry"
        )
    assert moment is not None
    return moment, what.strip()


def _text(pm: PostmortemDetailOut) -> str:
    impact = []
    if pm.impact_items is not None:
        impact.append(f"{pm.impact_items} items")
    if pm.impact_hours is not None:
        impact.append(f"{pm.impact_hours:g} h")
    if pm.impact_cost is not None:
        impact.append(f"{pm.impact_cost:,.2f} {pm.impact_currency or ''}".rstrip())
    lines = [
        f"Postmortem {pm.id}: {pm.title} ({pm.status})",
        f"Kind:     {pm.kind}" + (f", line stop {pm.line_stop_id}" if pm.line_stop_id else ""),
        f"Line:     {pm.line or '—'}",
        f"Window:   {instant(pm.started_at)} to {instant(pm.ended_at)}",
        f"Impact:   {', '.join(impact) or '—'}",
        f"RCA:      {pm.rca_id or '—'}",
        f"Written:  by {pm.created_by}"
        + (
            f"; published {instant(pm.published_at)} by {pm.published_by}"
            if pm.published_by
            else ""
        ),
    ]
    for label, value in (
        ("Summary", pm.summary),
        ("What happened", pm.what_happened),
        ("Why", pm.why),
        ("What changes", pm.changes),
    ):
        if value:
            lines += ["", f"{label}:", value]
    lines += ["", "Timeline:"]
    for e in pm.timeline:
        note = f"  — {e.note}" if e.note else ""
        lines.append(f"  {instant(e.at)}  {e.kind:<18} {e.title}{note}")
    if pm.follow_ups:
        lines += ["", "Follow-up actions: " + ", ".join(f"#{a}" for a in pm.follow_ups)]
    if pm.prompts:
        lines += ["", "Blameless wording prompts:"]
        lines += [f"  {p.field}: {p.phrase!r}: {p.suggestion}" for p in pm.prompts]
    return "\n".join(lines)
