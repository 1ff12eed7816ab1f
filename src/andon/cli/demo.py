"""`andon demo`: load the seeded demo plant and its sign-ins."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_table

app = typer.Typer(
    help="Try Andon with a ready-made plant and one user per role.", no_args_is_help=True
)


def _end_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "write it like 2026-11-25T06:00 (UTC unless it says +hh:mm)", param_hint="--end"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def load(
    items: Annotated[
        int,
        typer.Option(
            min=0, max=50_000, help="Work items to simulate; 0 sets up the process, no history."
        ),
    ] = 3600,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of history.")] = 42,
    seed: Annotated[int, typer.Option(help="Same seed and end, same history.")] = 2026,
    end: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN", help="When the history ends (ISO, UTC); default: now, to the hour."
        ),
    ] = None,
) -> None:
    """Create the demo plant, its users, the assembly process and six weeks of simulated work.

    Acme Manufacturing: Chicago and Charlotte, one user per role; the history (items, checks,
    rework, exceptions, escalations, one line stop) runs on Chicago's three assembly lines and
    ends now, so the queue shows live SLA clocks.

    Runs once: if the demo plant already exists nothing is changed. Every demo user has the
    password `andon-demo`; do not load the demo into a database real people use.
    """
    from andon.demo.plant import DEMO_ENTERPRISE, load_demo
    from andon.demo.work import HistoryOptions

    history = HistoryOptions(items=items, days=days, seed=seed, end_at=_end_at(end))
    settings = read_settings()
    started = time.perf_counter()
    with operator_context(settings) as ctx:
        summary = load_demo(ctx, history)
    seconds = time.perf_counter() - started
    if summary.created:
        typer.echo(
            f"Loaded the demo plant '{DEMO_ENTERPRISE}': {summary.sites} sites, "
            f"{summary.areas} areas, {summary.lines} lines, {summary.work_centres} work centres, "
            f"{len(summary.users)} users."
        )
        papers = summary.documents
        if papers is not None:
            waiting = ", ".join(papers.waiting) or "none"
            typer.echo(
                f"Loaded {papers.documents} controlled documents ({papers.revisions} revisions, "
                f"{papers.acknowledgements} acknowledgements); waiting in review: {waiting}."
            )
        done = summary.history
        if done is not None and done.items:
            categories = ", ".join(f"{n} {key}" for key, n in done.exceptions.items())
            typer.echo(
                f"Simulated {days} days of work, {done.start_at:%Y-%m-%d %H:%M} to "
                f"{done.end_at:%Y-%m-%d %H:%M} UTC: {done.items} work items ({done.open_items} "
                f"open, {done.paused_items} paused, {done.late_items} late), {done.events} events, "
                f"{done.rework_share:.1%} reworked, {sum(done.exceptions.values())} exceptions "
                f"({categories}), {done.stage_breaches} stage SLA breaches, "
                f"{done.escalations_fired} escalations fired, "
                f"{done.line_stops} line stop{'' if done.line_stops == 1 else 's'}."
            )
        oee = summary.oee
        if oee is not None:
            typer.echo(
                f"Set {oee.cycle_times} ideal cycle times and entered {oee.downtime_entries} "
                "downtime entries for OEE."
            )
        counted = summary.metrics
        if counted is not None:
            typer.echo(
                f"Defined {counted.defined} metrics, entered {counted.values_entered} weekly "
                f"values by hand and computed {counted.computed} metrics from the history; "
                f"{counted.actions_opened} threshold crossings opened actions; the review of "
                f"{counted.review_week} recorded {counted.decisions} decisions."
            )
            for key, error in counted.errors.items():
                typer.echo(f"warning: metric {key} was not computed: {error}", err=True)
        improved = summary.improvement
        if improved is not None:
            verdict = (
                f" (its check: {improved.verdict.replace('_', ' ')})" if improved.verdict else ""
            )
            typer.echo(
                f"Recorded {improved.rcas} root-cause analysis, {improved.capas} CAPAs{verdict}, "
                f"{improved.postmortems} postmortem, {improved.decisions} decisions and "
                f"{improved.risks} more risks in the register."
            )
        typer.echo(f"Done in {seconds:.1f} s.")
    else:
        typer.echo(
            f"The demo plant '{DEMO_ENTERPRISE}' is already loaded "
            f"(enterprise {summary.enterprise_id}); nothing was changed."
        )
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    typer.echo("")
    typer.echo(f"Sign in at http://{host}:{settings.port}/ with password '{summary.password}':")
    typer.echo("")
    echo_table(
        ("USERNAME", "NAME", "ROLE", "WHERE"),
        ((u.username, u.display_name, u.role.value, u.scope) for u in summary.users),
    )
