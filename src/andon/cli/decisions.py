"""`andon decision`: record, list, show, reopen and settle decisions; list those due."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import acting_as, operator_context, read_settings
from andon.cli.tables import echo_json, echo_table, instant

if TYPE_CHECKING:
    from andon.improvement.decision_schemas import DecisionDetailOut, DecisionOut

app = typer.Typer(
    help="The decision log: how the plant decided something: new, list, show, reopen, settle, due.",
    no_args_is_help=True,
)

IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="Decision id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
PartyHelp = "user:NAME or role:NAME, repeatable."


@app.command()
def new(
    title: Annotated[str, typer.Option("--title")],
    decision: Annotated[str, typer.Option("--decision", help="What was decided.")],
    decides: Annotated[list[str], typer.Option("--decides", help=f"Who decides: {PartyHelp}")],
    decided_on: Annotated[
        datetime, typer.Option("--decided-on", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"])
    ],
    context: Annotated[str, typer.Option("--context", help="Why it came up.")] = "",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", metavar="'NAME|PROS|CONS'", help="An option considered."),
    ] = None,
    consulted: Annotated[list[str] | None, typer.Option("--consulted", help=PartyHelp)] = None,
    informed: Annotated[list[str] | None, typer.Option("--informed", help=PartyHelp)] = None,
    revisit_on: Annotated[
        datetime | None,
        typer.Option("--revisit-on", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"]),
    ] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Metric key.")] = None,
    document_revision: Annotated[
        list[str] | None, typer.Option("--doc-revision", metavar="NUMBER/REV")
    ] = None,
    process_version: Annotated[
        list[str] | None, typer.Option("--process-version", metavar="KEY/VERSION")
    ] = None,
    rca: Annotated[list[int] | None, typer.Option("--rca", help="RCA id.")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a settled decision; every link and person named must exist."""
    from andon.improvement.decision_schemas import DecisionCreate
    from andon.improvement.decisions import record_decision

    data = DecisionCreate.model_validate(
        {
            "title": title,
            "decision": decision,
            "context": context,
            "options": [_option(text) for text in option or []],
            "decides": decides,
            "consulted": consulted or [],
            "informed": informed or [],
            "decided_on": decided_on.date(),
            "revisit_on": revisit_on.date() if revisit_on else None,
            "metrics": metric or [],
            "document_revisions": document_revision or [],
            "process_versions": process_version or [],
            "rcas": rca or [],
        }
    )
    with acting_as(as_user) as ctx:
        found = record_decision(ctx, data)
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo(f"Recorded decision {found.id}: {found.title}.")


@app.command("list")
def list_(
    status: Annotated[
        Literal["settled", "reopened", "superseded"] | None, typer.Option("--status")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List decisions, newest first."""
    from andon.improvement.decisions import list_decisions

    with operator_context() as ctx:
        found = list_decisions(ctx, status=status)
    _list(found, as_json, "No decisions.")


@app.command()
def due(as_json: JsonOption = False) -> None:
    """Settled decisions whose revisit date has come."""
    from andon.core.clock import to_local, utcnow
    from andon.improvement.decisions import due_for_revisit

    today = to_local(utcnow(), read_settings().zone).date()
    with operator_context() as ctx:
        found = due_for_revisit(ctx, today=today)
    _list(found, as_json, "No decision is due a revisit.")


@app.command()
def show(decision_id: IdArgument, as_json: JsonOption = False) -> None:
    """A decision with its options, rights, links and chain of reopened decisions."""
    from andon.improvement.decisions import get_decision

    with operator_context() as ctx:
        found = get_decision(ctx, decision_id)
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo(_text(found))


@app.command()
def reopen(
    decision_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why it is reopened.")],
    title: Annotated[str | None, typer.Option("--title", help="A new title.")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reopen a settled decision: a new one supersedes it, to be settled."""
    from andon.improvement.decision_schemas import DecisionReopen
    from andon.improvement.decisions import reopen_decision

    with acting_as(as_user) as ctx:
        found = reopen_decision(ctx, decision_id, DecisionReopen(reason=reason, title=title))
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo(f"Reopened decision {decision_id} as decision {found.id} (to be settled).")


@app.command()
def settle(
    decision_id: IdArgument,
    decision: Annotated[str, typer.Option("--decision", help="What was decided now.")],
    decided_on: Annotated[
        datetime, typer.Option("--decided-on", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"])
    ],
    revisit_on: Annotated[
        datetime | None,
        typer.Option("--revisit-on", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"]),
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Settle a reopened decision."""
    from andon.improvement.decision_schemas import DecisionSettle
    from andon.improvement.decisions import settle_decision

    data = DecisionSettle(
        decision=decision,
        decided_on=decided_on.date(),
        revisit_on=revisit_on.date() if revisit_on else None,
    )
    with acting_as(as_user) as ctx:
        found = settle_decision(ctx, decision_id, data)
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo(f"Settled decision {found.id}: {found.title}.")


# --- helpers -------------------------------------------------------------------------------


def _option(text: str) -> dict[str, str]:
    name, _, rest = text.partition("|")
    pros, _, cons = rest.partition("|")
    return {"name": name.strip(), "pros": pros.strip(), "cons": cons.strip()}


def _day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def _list(found: list[DecisionOut], as_json: bool, empty: str) -> None:
    if as_json:
        echo_json([d.model_dump(mode="json") for d in found])
        return
    echo_table(
        ("ID", "DECIDED", "REVISIT", "STATUS", "TITLE"),
        ((d.id, _day(d.decided_on), _day(d.revisit_on), d.status, d.title) for d in found),
        empty=empty,
    )


def _text(d: DecisionDetailOut) -> str:
    lines = [
        f"Decision {d.id}: {d.title} ({d.status})",
        f"Decided:   {_day(d.decided_on)}   Revisit: {_day(d.revisit_on)}",
        f"Decides:   {', '.join(d.decides) or '—'}",
        f"Consulted: {', '.join(d.consulted) or '—'}",
        f"Informed:  {', '.join(d.informed) or '—'}",
        f"Recorded:  {instant(d.created_at)} by {d.created_by}",
    ]
    if d.reopen_reason:
        lines.append(f"Reopens:   decision {d.supersedes_id}: {d.reopen_reason}")
    if d.links:
        lines.append("Links:     " + " ".join(f"{x.kind}:{x.ref}" for x in d.links))
    if d.context:
        lines += ["", "Context:", d.context]
    lines += ["", "Decision:", d.decision or "—"]
    if d.options:
        lines += ["", "Options considered:"]
        lines += [f"  {o.name} — pros: {o.pros or '—'}; cons: {o.cons or '—'}" for o in d.options]
    if len(d.chain) > 1:
        lines += ["", "Chain:"]
        lines += [
            f"  {'→' if c.id == d.id else ' '} {c.id} {c.status:<10} {c.title}"
            + (f" (reopened: {c.reopen_reason})" if c.reopen_reason else "")
            for c in d.chain
        ]
    return "\n".join(lines)
