"""`andon rca`: root-cause analyses (open, link, ask why, verify, name roots, contain, close)
and the repeat-offender report they start from."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.improvement.rca_schemas import RcaDetailOut, RcaLinkIn

app = typer.Typer(
    help="Root-cause analyses: new, list, show, link, why, verify, root, contain, close; and "
    "the repeat offenders they start from.",
    no_args_is_help=True,
)

SixM = Literal["man", "machine", "method", "material", "measurement", "environment"]
Sort = Literal["count", "items", "business_hours", "stop_minutes"]
IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="RCA id.")]
CauseArgument = Annotated[int, typer.Argument(metavar="CAUSE", min=1, help="Cause id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
Day = Annotated[
    datetime | None,
    typer.Option(metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="A plant date."),
]


@app.command()
def new(
    title: Annotated[str, typer.Option("--title", help="A short name for the problem.")],
    what: Annotated[str, typer.Option("--what", help="What is wrong, as observed.")],
    owner: Annotated[str, typer.Option("--owner", metavar="USER", help="Who leads it.")],
    since: Annotated[
        datetime,
        typer.Option("--since", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="First day seen."),
    ],
    until: Day = None,
    where: Annotated[str, typer.Option("--where", help="Line, stage, station.")] = "",
    how_much: Annotated[str, typer.Option("--how-much", help="How much, how often.")] = "",
    line: Annotated[
        str | None, typer.Option("--line", metavar="LINE", help="The line (L1, CHI/L1).")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="The exception category.")
    ] = None,
    metric: Annotated[str | None, typer.Option("--metric", metavar="KEY")] = None,
    link: Annotated[
        list[str] | None,
        typer.Option(
            "--link",
            metavar="KIND:REF",
            help="Repeatable: exception:ID, work_item:ID, audit:SEQ, metric:KEY@PERIOD[/LINE].",
        ),
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an RCA with its problem statement (what, where, when, how much)."""
    from andon.cli.context import acting_as
    from andon.cli.lines import find_line
    from andon.improvement.rca import open_rca
    from andon.improvement.rca_schemas import RcaCreate

    zone = read_settings().zone
    with acting_as(as_user) as ctx:
        data = RcaCreate(
            title=title,
            what=what,
            location=where,
            how_much=how_much,
            started_at=_midnight(since.date(), zone),
            ended_at=_midnight(until.date() + timedelta(days=1), zone) if until else None,
            line_id=find_line(ctx, line).id if line else None,
            category=category,
            metric_key=metric,
            owner_user=owner,
            links=[_link(text) for text in link or []],
        )
        opened = open_rca(ctx, data)
    if as_json:
        echo_json(opened.model_dump(mode="json"))
        return
    typer.echo(f"Opened RCA {opened.id}: {opened.title} (owner {opened.owner_user}).")


@app.command("list")
def list_(
    status: Annotated[
        Literal["open", "closed"] | None, typer.Option("--status", help="open or closed.")
    ] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    owner: Annotated[str | None, typer.Option("--owner", metavar="USER")] = None,
    as_json: JsonOption = False,
) -> None:
    """List RCAs, newest first."""
    from andon.improvement.rca import list_rcas
    from andon.improvement.rca_schemas import RcaFilters

    with operator_context() as ctx:
        found = list_rcas(
            ctx, RcaFilters(status=status, category=category, owner_user=owner, limit=500)
        )
    if as_json:
        echo_json([r.model_dump(mode="json") for r in found])
        return
    echo_table(
        ("ID", "STATUS", "LINE", "CATEGORY", "OWNER", "TITLE"),
        ((r.id, r.status, r.line or "", r.category or "", r.owner_user, r.title) for r in found),
        empty="No RCAs match.",
    )


@app.command()
def show(rca_id: IdArgument, as_json: JsonOption = False) -> None:
    """An RCA: its problem statement, links, containment, cause tree and root causes."""
    from andon.improvement.rca import get_rca

    with operator_context() as ctx:
        detail = get_rca(ctx, rca_id)
    if as_json:
        echo_json(detail.model_dump(mode="json"))
        return
    typer.echo("\n".join(_describe(detail)))


@app.command()
def link(
    rca_id: IdArgument,
    ref: Annotated[str, typer.Argument(metavar="KIND:REF", help="e.g. exception:12.")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link an exception, work item, audit entry or metric signal to an RCA."""
    from andon.cli.context import acting_as
    from andon.improvement.rca import add_link

    found = _link(ref)
    with acting_as(as_user) as ctx:
        added = add_link(ctx, rca_id, found.model_copy(update={"note": note}))
    if as_json:
        echo_json(added.model_dump(mode="json"))
        return
    typer.echo(f"Linked {found.kind}:{found.ref} to RCA {rca_id}.")


@app.command()
def why(
    rca_id: IdArgument,
    text: Annotated[str, typer.Option("--text", help="Because…")],
    parent: Annotated[
        int | None,
        typer.Option("--under", metavar="CAUSE", help="The cause it answers; none: the problem."),
    ] = None,
    category: Annotated[SixM | None, typer.Option("--category", help="The 6M bone.")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a why under the problem or under a cause (two under one cause: a branch)."""
    from andon.cli.context import acting_as
    from andon.improvement.rca import add_cause
    from andon.improvement.rca_schemas import CauseCreate

    with acting_as(as_user) as ctx:
        cause = add_cause(ctx, rca_id, CauseCreate(text=text, parent_id=parent, category=category))
    if as_json:
        echo_json(cause.model_dump(mode="json"))
        return
    typer.echo(f"Added cause {cause.id} to RCA {rca_id}.")


@app.command()
def verify(
    rca_id: IdArgument,
    cause_id: CauseArgument,
    evidence: Annotated[str, typer.Option("--evidence", help="What shows it is real.")],
    query: Annotated[
        str | None,
        typer.Option("--query", metavar="PATH", help="A saved analytics query: /analytics/...?..."),
    ] = None,
    attachment: Annotated[int | None, typer.Option("--attachment", metavar="ID")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a cause with evidence."""
    from andon.cli.context import acting_as
    from andon.improvement.rca import verify_cause
    from andon.improvement.rca_schemas import CauseVerify

    data = CauseVerify(evidence=evidence, evidence_query=query, evidence_attachment_id=attachment)
    with acting_as(as_user) as ctx:
        cause = verify_cause(ctx, rca_id, cause_id, data)
    if as_json:
        echo_json(cause.model_dump(mode="json"))
        return
    typer.echo(f"Verified cause {cause_id} of RCA {rca_id}.")


@app.command()
def root(
    rca_id: IdArgument,
    cause_id: CauseArgument,
    unset: Annotated[bool, typer.Option("--unset", help="No longer a root cause.")] = False,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Name a verified cause a root cause (--unset: no longer one)."""
    from andon.cli.context import acting_as
    from andon.improvement.rca import set_root

    with acting_as(as_user) as ctx:
        cause = set_root(ctx, rca_id, cause_id, root=not unset)
    if as_json:
        echo_json(cause.model_dump(mode="json"))
        return
    state = "is no longer" if unset else "is now"
    typer.echo(f"Cause {cause_id} {state} a root cause of RCA {rca_id}.")


@app.command()
def contain(
    rca_id: IdArgument,
    title: Annotated[str, typer.Option("--title", help="What is to be done.")],
    owner: Annotated[
        str, typer.Option("--owner", metavar="USER_OR_ROLE", help="A username or a role.")
    ],
    due: Annotated[
        datetime,
        typer.Option("--due", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Due date."),
    ],
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a containment action (in the actions room, linked rca:ID)."""
    from andon.cli.context import acting_as
    from andon.core.permissions import Role
    from andon.improvement.rca import add_containment
    from andon.improvement.rca_schemas import ContainmentCreate

    roles = {r.value for r in Role}
    data = ContainmentCreate(
        title=title,
        owner_user=None if owner in roles else owner,
        owner_role=Role(owner) if owner in roles else None,
        due_on=due.date(),
    )
    with acting_as(as_user) as ctx:
        done = add_containment(ctx, rca_id, data)
    if as_json:
        echo_json(done.model_dump(mode="json"))
        return
    typer.echo(f"Opened containment action {done.action_id} for RCA {rca_id}.")


@app.command()
def close(
    rca_id: IdArgument,
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close an RCA: needs a verified root cause, and its CAPAs finished."""
    from andon.cli.context import acting_as
    from andon.improvement.rca import close_rca, get_rca
    from andon.improvement.rca_schemas import RcaClose

    with acting_as(as_user) as ctx:
        version = get_rca(ctx, rca_id).version
        closed = close_rca(ctx, rca_id, RcaClose(version=version, reason=note))
    if as_json:
        echo_json(closed.model_dump(mode="json"))
        return
    typer.echo(f"Closed RCA {closed.id}: {closed.title}.")


@app.command()
def offenders(
    since: Day = None,
    until: Day = None,
    line: Annotated[
        str | None, typer.Option("--line", metavar="LINE", help="Only this line (L1, CHI/L1).")
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    sort: Annotated[Sort, typer.Option("--sort", help="How to rank.")] = "count",
    as_json: JsonOption = False,
) -> None:
    """Exception categories ranked by count or impact (default: the last 28 days)."""
    from andon.cli.lines import find_line
    from andon.core.clock import to_local, utcnow
    from andon.improvement.offender_schemas import OffenderReportOut
    from andon.improvement.offenders import offenders as report_of

    zone = read_settings().zone
    last = until.date() if until else to_local(utcnow(), zone).date()
    first = since.date() if since else last - timedelta(days=27)
    with operator_context() as ctx:
        report = report_of(
            ctx,
            since=first,
            until=last,
            zone=zone,
            line_id=find_line(ctx, line).id if line else None,
            product=product,
            sort=sort,
        )
    if as_json:
        echo_json(OffenderReportOut.of(report).model_dump(mode="json"))
        return
    echo_table(
        ("CATEGORY", "EXCEPTIONS", "ITEMS", "BUSINESS_H", "STOP_MIN", "PER_WEEK", "ROOT_CAUSES"),
        (
            (
                r.category,
                r.count,
                r.items,
                f"{r.business_hours:.1f}",
                f"{r.stop_minutes:.0f}",
                " ".join(str(n) for n in r.weekly),
                "; ".join(text for text, _ in r.causes),
            )
            for r in report.rows
        ),
        empty=f"No exceptions were raised from {first} to {last}.",
    )


# --- helpers -------------------------------------------------------------------------------


def _midnight(day: date, zone: object) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type]


def _link(text: str) -> RcaLinkIn:
    from andon.improvement.rca_schemas import RcaLinkIn

    kind, sep, ref = text.partition(":")
    if not sep:
        raise typer.BadParameter(f"KIND:REF, e.g. exception:12, not {text!r}", param_hint="--link")
    return RcaLinkIn.model_validate({"kind": kind.strip(), "ref": ref.strip()})


def _describe(r: RcaDetailOut) -> list[str]:
    lines = [
        f"RCA {r.id}: {r.title} ({r.status})",
        f"What:      {r.what}",
        f"Where:     {r.location or '-'}",
        f"When:      {r.started_at:%Y-%m-%d %H:%MZ}"
        + (f" to {r.ended_at:%Y-%m-%d %H:%MZ}" if r.ended_at else ""),
        f"How much:  {r.how_much or '-'}",
        f"Owner:     {r.owner_user}",
    ]
    if r.line or r.category or r.metric_key:
        lines.append(
            f"About:     line {r.line or '-'}, category {r.category or '-'}, "
            f"metric {r.metric_key or '-'}"
        )
    if r.links:
        lines.append("Links:     " + " ".join(f"{x.kind}:{x.ref}" for x in r.links))
    for a in r.containment:
        lines.append(f"Contain:   action {a.action_id} {a.title} ({a.status}, due {a.due_on})")
    if r.causes:
        lines.append("Causes:")
        depth = {c.id: 0 for c in r.causes}
        for c in r.causes:
            if c.parent_id in depth:
                depth[c.id] = depth[c.parent_id] + 1
            marks = ("ROOT " if c.root else "") + ("verified " if c.verified else "")
            bone = f" [{c.category}]" if c.category else ""
            lines.append(f"  {'  ' * depth[c.id]}{c.id}. {c.text}{bone} {marks}".rstrip())
    lines.append("Root causes: " + ("; ".join(r.root_causes) if r.root_causes else "none named"))
    for capa in r.capas:
        lines.append(f"CAPA:      {capa.id} {capa.kind} {capa.title} ({capa.status})")
    return lines
