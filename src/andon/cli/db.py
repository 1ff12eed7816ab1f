"""`andon db`: create, migrate and inspect the database schema; back it up and restore it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from andon.cli.context import migration_engine, read_settings, shown_url
from andon.cli.tables import plural

app = typer.Typer(
    help="Create and migrate the database schema (Alembic migrations); back up and restore.",
    no_args_is_help=True,
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


JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command()
def backup(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            dir_okay=False,
            help="Archive to write (.tar; .tar.gz or .tgz compresses it).",
        ),
    ],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace FILE if it exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Back up the database and its files (attachments, datasets) into one archive.

    Safe while the server runs: the database is copied as one consistent snapshot.
    """
    from andon.backup import create_backup

    settings = read_settings()
    result = create_backup(
        settings.resolved_database_url, settings.data_dir, file, overwrite=overwrite
    )
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
        return
    m = result.manifest
    head = f", newest {m.audit_head.seq} {m.audit_head.hash[:12]}…" if m.audit_head else ""
    typer.echo(
        f"Backed up {shown_url(settings.resolved_database_url)} at revision "
        f"{m.schema_revision} ({plural(m.audit_entries, 'audit entry', 'audit entries')}"
        f"{head}) and {plural(len(m.files), 'file', 'files')} to {result.path} "
        f"({result.size_bytes} bytes)"
    )
    for name in m.missing_files:
        typer.echo(f"warning: {name} is referred to but missing from the data directory", err=True)


@app.command()
def restore(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", dir_okay=False, help="Archive made by `andon db backup`."),
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a database that already holds data."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Restore an archive into the configured database and data directory.

    Checks the archive and the restored audit chain before replacing anything.

    An older backup is migrated up. Stop the server and workers first.
    """
    from andon.backup import restore_backup

    settings = read_settings()
    result = restore_backup(settings.resolved_database_url, settings.data_dir, file, force=force)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
        return
    m = result.manifest
    moved = (
        f"revision {m.schema_revision} -> {result.schema_revision}"
        if m.schema_revision != result.schema_revision
        else f"revision {result.schema_revision}"
    )
    typer.echo(
        f"Restored {file} (taken {m.created_at}) into "
        f"{shown_url(settings.resolved_database_url)}: {moved}, "
        f"{plural(result.audit_entries, 'audit entry', 'audit entries')} verified, "
        f"{plural(result.files, 'file', 'files')} in {settings.data_dir}"
    )
    for note in result.notes:
        typer.echo(f"warning: {note}", err=True)


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
