"""`andon capa`: open CAPAs, link the changes they produced, check their effectiveness, close
(on an effective check) and cancel."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from andon.cli.context import acting_as, operator_context, read_settings
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.improvement.capa_schemas import CapaOut, CheckOut

app = typer.Typer(
    help="CAPAs: corrective and preventive actions that close on an effective check.",
    no_args_is_help=True,
)

IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="CAPA id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
NoteOption = Annotated[str, typer.Option("--note", help="What was done, or why not.")]
DateOption = Annotated[
    datetime | None,
    typer.Option(
        "--effective-at",
        metavar="YYYY-MM-DD",
        formats=["%Y-%m-%d"],
        help="The plant date the change took effect. Default: the latest linked change's.",
    ),
]
WindowOption = Annotated[
    int | None,
    typer.Option("--window-days", min=1, max=365, help="Days in each window (default 28)."),
]
LineOption = Annotated[
    str | None,
    typer.Option("--line", metavar="CODE", help="For a metric split by line: this line's series."),
]


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
    kind: Annotated[
        Literal["corrective", "preventive"], typer.Option("--kind", help="Default: corrective.")
    ] = "corrective",
    rca: Annotated[int | None, typer.Option("--rca", min=1, help="The RCA it answers.")] = None,
    cause: Annotated[
        int | None, typer.Option("--cause", min=1, help="The RCA's cause it addresses.")
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", metavar="KEY", help="What the check measures.")
    ] = None,
    line: LineOption = None,
    effective_at: DateOption = None,
    window_days: WindowOption = None,
    priority: Annotated[
        Literal["low", "normal", "high", "urgent"], typer.Option("--priority")
    ] = "normal",
    description: Annotated[str, typer.Option("--description", help="More detail.")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a CAPA: an action its owner is notified of, closed only here."""
    from andon.core.permissions import Role
    from andon.improvement.capa import open_capa
    from andon.improvement.capa_schemas import CapaCreate

    roles = {r.value for r in Role}
    data = CapaCreate(
        title=title,
        description=description,
        kind=kind,
        owner_user=None if owner in roles else owner,
        owner_role=Role(owner) if owner in roles else None,
        due_on=due.date(),
        priority=priority,
        rca_id=rca,
        cause_id=cause,
        metric_key=metric,
        metric_line=line,
        effective_on=effective_at.date() if effective_at else None,
        window_days=window_days or 28,
    )
    with acting_as(as_user) as ctx:
        capa = open_capa(ctx, data)
    if as_json:
        echo_json(capa.model_dump(mode="json"))
        return
    typer.echo(
        f"Opened CAPA {capa.id} ({capa.kind}), action {capa.action.id}: {capa.action.title}."
    )


@app.command("list")
def list_(
    status: Annotated[
        Literal["unfinished", "done", "cancelled"] | None,
        typer.Option("--status", help="unfinished (open or in progress), done or cancelled."),
    ] = None,
    rca: Annotated[int | None, typer.Option("--rca", min=1, help="Raised from this RCA.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List CAPAs, newest first, with their latest verdict."""
    from andon.improvement.capa import list_capas

    with operator_context() as ctx:
        found = list_capas(ctx, status=status, rca_id=rca)
    if as_json:
        echo_json([c.model_dump(mode="json") for c in found])
        return
    echo_table(
        ("ID", "KIND", "STATUS", "DUE", "OWNER", "METRIC", "VERDICT", "TITLE"),
        (
            (
                c.id,
                c.kind,
                c.action.status,
                c.action.due_on.isoformat(),
                c.action.owner_user or f"role {c.action.owner_role}",
                c.metric_key or "-",
                c.check.verdict if c.check else "-",
                c.action.title,
            )
            for c in found
        ),
        empty="No CAPAs match.",
    )


@app.command()
def show(capa_id: IdArgument, as_json: JsonOption = False) -> None:
    """A CAPA with its action, changes and latest effectiveness check."""
    from andon.improvement.capa import get_capa

    with operator_context() as ctx:
        capa = get_capa(ctx, capa_id)
    if as_json:
        echo_json(capa.model_dump(mode="json"))
        return
    typer.echo("\n".join(_describe(capa)))


@app.command()
def link(
    capa_id: IdArgument,
    kind: Annotated[
        Literal["document_revision", "process_version", "metric_version"],
        typer.Argument(help="document_revision, process_version or metric_version."),
    ],
    ref: Annotated[
        str,
        typer.Argument(help="SOP-ASM-001/3, assembly/4 or rework_rate/2 (name/number)."),
    ],
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link a change the CAPA produced; its effective time is read from the change."""
    from andon.improvement.capa import link_change
    from andon.improvement.capa_schemas import ChangeLink

    with acting_as(as_user) as ctx:
        capa = link_change(ctx, capa_id, ChangeLink(kind=kind, ref=ref))
    if as_json:
        echo_json(capa.model_dump(mode="json"))
        return
    change = next(c for c in capa.changes if c.kind == kind and c.ref == ref)
    when = change.effective_at.strftime("%Y-%m-%d %H:%MZ") if change.effective_at else "not yet"
    typer.echo(f"Linked {kind} {ref} to CAPA {capa.id} (effective {when}).")


@app.command()
def check(
    capa_id: Annotated[
        int | None,
        typer.Argument(metavar="[ID]", min=1, help="Record the check on this CAPA."),
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", metavar="KEY", help="The metric to test.")
    ] = None,
    effective_at: DateOption = None,
    window_days: WindowOption = None,
    line: LineOption = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Test the metric's window after the change against the window before it.

    With ID the check is recorded on that CAPA (the metric and date given are kept on it);
    without, it is only printed and needs --metric and --effective-at."""
    from andon.improvement.capa import check_metric, run_check

    settings = read_settings()
    if capa_id is None:
        if metric is None or effective_at is None:
            raise typer.BadParameter(
                "without a CAPA id, give --metric and --effective-at", param_hint="--metric"
            )
        with operator_context(settings) as ctx:
            found = check_metric(
                ctx,
                metric,
                effective_on=effective_at.date(),
                zone=settings.zone,
                window_days=window_days or 28,
                line=line,
            )
    else:
        if line is not None:
            raise typer.BadParameter(
                "the line of a CAPA's check is the CAPA's (set with capa new --line)",
                param_hint="--line",
            )
        with acting_as(as_user) as ctx:
            found = run_check(
                ctx,
                capa_id,
                zone=settings.zone,
                metric_key=metric,
                effective_on=effective_at.date() if effective_at else None,
                window_days=window_days,
            )
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo("\n".join(_verdict(found)))


@app.command()
def close(
    capa_id: IdArgument, note: NoteOption, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Close a CAPA and its action: only when its latest check says effective."""
    from andon.improvement.capa import close_capa

    with acting_as(as_user) as ctx:
        capa = close_capa(ctx, capa_id, note=note)
    if as_json:
        echo_json(capa.model_dump(mode="json"))
        return
    typer.echo(f"Closed CAPA {capa.id}: {capa.action.title}.")


@app.command()
def cancel(
    capa_id: IdArgument, note: NoteOption, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Cancel a CAPA and its action, saying why."""
    from andon.improvement.capa import cancel_capa

    with acting_as(as_user) as ctx:
        capa = cancel_capa(ctx, capa_id, note=note)
    if as_json:
        echo_json(capa.model_dump(mode="json"))
        return
    typer.echo(f"Cancelled CAPA {capa.id}: {capa.action.title}.")


# --- helpers -------------------------------------------------------------------------------


def _verdict(found: CheckOut) -> list[str]:
    def value(v: float | None) -> str:
        return "-" if v is None else f"{v:.6g}"

    p = "-" if found.p_value is None else f"{found.p_value:.3g}"
    lines = [
        f"{found.metric_key}: {found.verdict.replace('_', ' ')} "
        f"(effective {found.effective_on.isoformat()}, {found.window_days}-day windows)",
        f"Before: {found.before.n} periods, {value(found.before.value)}",
        f"After:  {found.after.n} periods, {value(found.after.value)}",
        f"p-value: {p}",
    ]
    if found.signals:
        better = sum(1 for s in found.signals if s["direction"] == "better")
        worse = sum(1 for s in found.signals if s["direction"] == "worse")
        rules = Counter(s["rule"] for s in found.signals)
        lines.append(
            f"Signals: {len(found.signals)} on the after window ({better} better, {worse} worse): "
            + ", ".join(f"{rule} ×{n}" for rule, n in sorted(rules.items()))
            + f"; first {found.signals[0]['period']}: {found.signals[0]['reason']}"
        )
    else:
        lines.append("Signals: none on the after window")
    lines += ["", found.method]
    return lines


def _describe(capa: CapaOut) -> list[str]:
    a = capa.action
    lines = [
        f"CAPA {capa.id} ({capa.kind}): {a.title}",
        f"Action:   {a.id}, {a.status}, owner {a.owner_user or 'role ' + str(a.owner_role)}, "
        f"due {a.due_on.isoformat()}",
    ]
    if capa.rca_id is not None:
        cause = f", cause {capa.cause_id}" if capa.cause_id is not None else ""
        lines.append(f"RCA:      {capa.rca_id}{cause}")
    if capa.metric_key:
        on = f" line {capa.metric_line}" if capa.metric_line else ""
        lines.append(f"Metric:   {capa.metric_key}{on}, {capa.window_days}-day windows")
    for c in capa.changes:
        when = c.effective_at.strftime("%Y-%m-%d %H:%MZ") if c.effective_at else "not yet"
        lines.append(f"Change:   {c.kind} {c.ref} (effective {when})")
    if a.closed_at is not None:
        label = "Closed" if a.status == "done" else "Cancelled"
        lines.append(f"{label}:   {a.closed_at:%Y-%m-%d %H:%MZ} by {a.closed_by}")
        lines.append(f"Note:     {a.close_note}")
    if capa.check is not None:
        lines += ["", *_verdict(capa.check)]
    if capa.closed_on is not None and capa.closed_on.id != (capa.check and capa.check.id):
        lines.append(f"Closed on check #{capa.closed_on.id}: {capa.closed_on.verdict}")
    return lines
