"""`andon action`: open, list, show, comment on, close and cancel actions."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import acting_as, operator_context, read_settings
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.actions.schemas import ActionLink, ActionOut

app = typer.Typer(
    help="Actions with an owner and a due date: open, list, show, comment, close, cancel.",
    no_args_is_help=True,
)

Priority = Literal["low", "normal", "high", "urgent"]
StatusFilter = Literal["open", "in_progress", "done", "cancelled", "unfinished"]
IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="Action id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
NoteOption = Annotated[str, typer.Option("--note", help="What was done, or why not.")]


@app.command()
def new(
    title: Annotated[str, typer.Option("--title", help="What is to be done.")],
    owner: Annotated[
        str,
        typer.Option("--owner", metavar="USER_OR_ROLE", help="A username, or a role (quality)."),
    ],
    due: Annotated[
        datetime,
        typer.Option("--due", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Due date."),
    ],
    priority: Annotated[Priority, typer.Option("--priority", help="Default: normal.")] = "normal",
    link: Annotated[
        list[str] | None,
        typer.Option(
            "--link",
            metavar="KIND:REF",
            help="What it is about, repeatable: metric:KEY, exception:ID, work_item:ID, "
            "document:NUMBER, review:WEEK, rca:ID, capa:ID, risk:ID, postmortem:ID, "
            "decision:ID.",
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="More detail.")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an action; its owner (the user, or everyone holding the role) is notified."""
    from andon.actions.schemas import ActionCreate
    from andon.actions.service import open_action
    from andon.core.permissions import Role

    roles = {r.value for r in Role}
    data = ActionCreate(
        title=title,
        description=description,
        owner_user=None if owner in roles else owner,
        owner_role=Role(owner) if owner in roles else None,
        due_on=due.date(),
        priority=priority,
        links=[_link(text) for text in link or []],
    )
    with acting_as(as_user) as ctx:
        action, _ = open_action(ctx, data)
    if as_json:
        echo_json(action.model_dump(mode="json"))
        return
    typer.echo(
        f"Opened action {action.id}: {action.title} (owner {_owner(action)}, "
        f"due {action.due_on.isoformat()}, {action.priority})."
    )


@app.command("list")
def list_(
    mine: Annotated[
        bool, typer.Option("--mine", help="Owned by --as USER or by a role they hold.")
    ] = False,
    status: Annotated[
        StatusFilter | None,
        typer.Option("--status", help="open, in_progress, done, cancelled or unfinished."),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Unfinished and due before today.")
    ] = False,
    link: Annotated[
        str | None,
        typer.Option("--link", metavar="KIND:REF", help="Linked to this, e.g. metric:KEY."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="USER_OR_ROLE", help="Owned by this.")
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List actions, soonest due first."""
    from andon.actions.schemas import ActionFilters
    from andon.actions.service import list_actions
    from andon.core.permissions import Role

    if mine and as_user is None:
        raise typer.BadParameter("--mine needs --as USERNAME: whose actions?", param_hint="--mine")
    today = _today()
    roles = {r.value for r in Role}
    filters = ActionFilters(
        mine=mine,
        status=status,
        overdue=overdue,
        today=today,
        link=_link(link) if link else None,
        owner_user=owner if owner and owner not in roles else None,
        owner_role=Role(owner) if owner in roles else None,
        limit=500,
    )
    with acting_as(as_user) as ctx:
        found = list_actions(ctx, filters)
    if as_json:
        echo_json([a.model_dump(mode="json") for a in found])
        return
    echo_table(
        ("ID", "DUE", "PRIORITY", "STATUS", "OWNER", "TITLE", "LINKS"),
        (
            (
                a.id,
                a.due_on.isoformat() + (" overdue" if _overdue(a, today) else ""),
                a.priority,
                a.status,
                _owner(a),
                a.title,
                " ".join(f"{x.kind}:{x.ref}" for x in a.links),
            )
            for a in found
        ),
        empty="No actions match.",
    )


@app.command()
def show(action_id: IdArgument, as_json: JsonOption = False) -> None:
    """An action with its links and comments."""
    from andon.actions.service import get_action

    with operator_context() as ctx:
        action = get_action(ctx, action_id)
    if as_json:
        echo_json(action.model_dump(mode="json"))
        return
    overdue = " (overdue)" if _overdue(action, _today()) else ""
    lines = [
        f"Action {action.id}: {action.title}",
        f"Status:   {action.status}{overdue}",
        f"Owner:    {_owner(action)}",
        f"Due:      {action.due_on.isoformat()}",
        f"Priority: {action.priority}",
        f"Opened:   {action.created_at:%Y-%m-%d %H:%MZ} by {action.created_by}",
    ]
    if action.links:
        lines.append("Links:    " + " ".join(f"{x.kind}:{x.ref}" for x in action.links))
    if action.closed_at is not None:
        lines.append(f"Closed:   {action.closed_at:%Y-%m-%d %H:%MZ} by {action.closed_by}")
        lines.append(f"Note:     {action.close_note}")
    if action.description:
        lines += ["", action.description]
    if action.comments:
        lines.append("")
        lines += [f"{c.created_at:%Y-%m-%d %H:%MZ} {c.author}: {c.body}" for c in action.comments]
    typer.echo("\n".join(lines))


@app.command()
def comment(
    action_id: IdArgument,
    text: Annotated[str, typer.Option("--text", help="The comment.")],
    as_user: AsOption = None,
) -> None:
    """Add a comment to an action."""
    from andon.actions.schemas import CommentCreate
    from andon.actions.service import comment_action

    with acting_as(as_user) as ctx:
        comment_action(ctx, action_id, CommentCreate(body=text))
    typer.echo(f"Commented on action {action_id}.")


@app.command()
def close(
    action_id: IdArgument, note: NoteOption, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Mark an action done, saying what was done: its owner, or a manager of actions."""
    from andon.actions.service import close_action

    with acting_as(as_user) as ctx:
        action = close_action(ctx, action_id, note=note)
    if as_json:
        echo_json(action.model_dump(mode="json"))
        return
    typer.echo(f"Closed action {action.id}: {action.title}.")


@app.command()
def cancel(
    action_id: IdArgument, note: NoteOption, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Cancel an action, saying why: a manager of actions (quality, safety, leads)."""
    from andon.actions.service import cancel_action

    with acting_as(as_user) as ctx:
        action = cancel_action(ctx, action_id, note=note)
    if as_json:
        echo_json(action.model_dump(mode="json"))
        return
    typer.echo(f"Cancelled action {action.id}: {action.title}.")


# --- helpers -------------------------------------------------------------------------------


def _link(text: str) -> ActionLink:
    from andon.actions.schemas import ActionLink

    kind, sep, ref = text.partition(":")
    if not sep:
        raise typer.BadParameter(
            f"KIND:REF, e.g. metric:rework-rate, not {text!r}", param_hint="--link"
        )
    return ActionLink.model_validate({"kind": kind.strip(), "ref": ref.strip()})


def _today() -> date:
    from andon.core.clock import to_local, utcnow

    return to_local(utcnow(), read_settings().zone).date()


def _overdue(action: ActionOut, today: date) -> bool:
    from andon.actions.service import is_overdue

    return is_overdue(action, today)


def _owner(action: ActionOut) -> str:
    return action.owner_user or f"role {action.owner_role}"
