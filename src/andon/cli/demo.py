"""`andon demo`: load the seeded demo plant and its sign-ins."""

from __future__ import annotations

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_table

app = typer.Typer(
    help="Try Andon with a ready-made plant and one user per role.", no_args_is_help=True
)


@app.command()
def load(
    items: int = typer.Option(3000, min=0, max=50_000, help="Work items in the simulated history."),
    days: int = typer.Option(30, min=1, max=365, help="Days of history, ending now."),
    seed: int = typer.Option(2026, help="Random seed: the same seed gives the same history."),
) -> None:
    """Create the demo plant (Acme Manufacturing: Chicago and Charlotte) and demo users.

    Runs once: if the demo plant already exists nothing is changed. Every demo user has
    the password `andon-demo`; do not load the demo into a database real people use.
    """
    from andon.demo.plant import DEMO_ENTERPRISE, load_demo
    from andon.demo.work import HistoryOptions

    settings = read_settings()
    history = HistoryOptions(items=items, days=days, seed=seed) if items else None
    with operator_context(settings) as ctx:
        summary = load_demo(ctx, history)
    if summary.created:
        typer.echo(
            f"Loaded the demo plant '{DEMO_ENTERPRISE}': {summary.sites} sites, "
            f"{summary.areas} areas, {summary.lines} lines, {summary.work_centres} work centres, "
            f"{len(summary.users)} users."
        )
        if summary.history is not None:
            h = summary.history
            typer.echo(
                f"Simulated {h.items} work items over {days} days ({h.open_items} still open, "
                f"{h.reworked_items} reworked, {sum(h.exceptions.values())} exceptions, "
                f"{h.escalations_fired} escalations, {h.line_stops} line stop)."
            )
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
