"""`andon db`: create, migrate and inspect the database schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from andon.cli.context import migration_engine, read_settings, shown_url

app = typer.Typer(
    help="Create and migrate the database schema (Alembic migrations).", no_args_is_help=True
)

NO_SCHEMA = "empty (no Andon tables yet)"


@app.command()
def upgrade(
    revision: Annotated[
        str,
        typer.Argument(metavar="REVISION", help="Revision to migrate to; `head` is the newest."),
    ] = "head",
) -> None:
    """Migrate the database up to REVISION (default: the newest). Safe to run repeatedly."""
    from andon.core import migrations

    settings = read_settings()
    with migration_engine(settings) as engine:
        before = migrations.current(engine)
        _run(lambda: migrations.upgrade(engine, revision))
        after = migrations.current(engine)
    _report_move(shown_url(settings.resolved_database_url), before, after)


@app.command()
def downgrade(
    revision: Annotated[
        str,
        typer.Argument(
            metavar="REVISION", help="Revision to migrate down to; `base` removes every table."
        ),
    ],
) -> None:
    """Migrate the database down to REVISION. `base` drops all Andon tables and their data."""
    from andon.core import migrations

    settings = read_settings()
    with migration_engine(settings) as engine:
        before = migrations.current(engine)
        _run(lambda: migrations.downgrade(engine, revision))
        after = migrations.current(engine)
    _report_move(shown_url(settings.resolved_database_url), before, after)


@app.command()
def current() -> None:
    """Print the revision the database is at."""
    from andon.core import migrations

    settings = read_settings()
    with migration_engine(settings) as engine:
        revision = migrations.current(engine)
    typer.echo(f"{shown_url(settings.resolved_database_url)}: {revision or NO_SCHEMA}")


def _run(step: Callable[[], None]) -> None:
    """Run one Alembic command; an unknown revision is a usage error, not a traceback."""
    from alembic.util.exc import CommandError

    try:
        step()
    except CommandError as exc:
        raise typer.BadParameter(str(exc), param_hint="REVISION") from None


def _report_move(url: str, before: str | None, after: str | None) -> None:
    if before == after:
        typer.echo(f"{url}: already at {after or NO_SCHEMA}")
    else:
        typer.echo(f"{url}: {before or NO_SCHEMA} -> {after or NO_SCHEMA}")
