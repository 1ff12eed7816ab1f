"""`andon`: the command line over the same services as the API and the pages.

Errors are mapped here, once: a domain error prints ``error: <detail>`` on stderr and exits 1;
bad settings or usage exit 2. Only a bug shows a traceback.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from andon import __version__
from andon.cli import (
    audit,
    calendars,
    db,
    demo,
    exceptions,
    lines,
    plant,
    processes,
    serve,
    sla,
    tokens,
    users,
    work,
    worker,
)
from andon.core.errors import AndonError, ConfigurationError, summarize

EXIT_ERROR = 1
EXIT_USAGE = 2


class AndonGroup(TyperGroup):
    """The top-level group: every command runs inside its error mapping."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            code = report(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None


def report(exc: BaseException) -> int | None:
    """Print a known error for a person and return the exit code; None for anything else."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, ConfigurationError):
        _error(exc.detail)
        return EXIT_USAGE
    if isinstance(exc, AndonError):
        summary = summarize(exc)
        # One field at fault is already named by the detail; list them only when several.
        _error(summary.detail, summary.fields if len(summary.fields) > 1 else [])
        return EXIT_ERROR
    if isinstance(exc, ValidationError):
        problems = [_validation_line(e) for e in exc.errors()]
        _error(problems[0] if problems else "invalid input", problems[1:])
        return EXIT_ERROR
    if isinstance(exc, DBAPIError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        _error(
            f"database: {first}",
            ["is the database reachable and migrated? (`andon db upgrade`)"],
        )
        return EXIT_ERROR
    return None


def _validation_line(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _error(detail: str, more: list[str] | None = None) -> None:
    typer.echo(f"error: {detail}", err=True)
    for line in more or []:
        typer.echo(f"  {line}", err=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"andon {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="andon",
    cls=AndonGroup,
    help=(
        "Andon: operations standards for manufacturing plants.\n\n"
        "Settings come from ANDON_* environment variables (ANDON_DATABASE_URL, ANDON_DATA_DIR, "
        "ANDON_SECRET_KEY, ANDON_DEMO, ...). Commands act as the local operator, with full "
        "rights, and are recorded in the audit trail as cli:<your login>."
    ),
    epilog="Start with: andon db upgrade && andon demo load && ANDON_DEMO=1 andon serve",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Andon: operations standards for manufacturing plants."""


app.add_typer(db.app, name="db")
app.command("serve")(serve.serve)
app.add_typer(users.app, name="user")
app.add_typer(tokens.app, name="token")
app.add_typer(plant.app, name="plant")
app.add_typer(audit.app, name="audit")
app.add_typer(demo.app, name="demo")
app.add_typer(processes.app, name="process")
app.add_typer(calendars.app, name="calendar")
app.add_typer(work.app, name="item")
app.add_typer(exceptions.app, name="exception")
app.add_typer(lines.app, name="line")
app.add_typer(sla.app, name="sla")
app.command("worker")(worker.worker)
