"""`andon`: the command line over the same services as the API and the pages.

Errors are mapped here, once: a domain error prints ``error: <detail>`` on stderr and exits 1;
bad settings or usage exit 2. Only a bug shows a traceback.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from andon import __version__
from andon.core.errors import AndonError, ConfigurationError, summarize

EXIT_ERROR = 1
EXIT_USAGE = 2


# Command groups and commands, imported only when used: `andon mine` or `andon log` must not
# pay for the ORM, the web app or the other domains at start-up. name -> (module, attribute).
LAZY_GROUPS: dict[str, tuple[str, str]] = {
    "db": ("andon.cli.db", "app"),
    "user": ("andon.cli.users", "app"),
    "token": ("andon.cli.tokens", "app"),
    "plant": ("andon.cli.plant", "app"),
    "audit": ("andon.cli.audit", "app"),
    "demo": ("andon.cli.demo", "app"),
    "process": ("andon.cli.processes", "app"),
    "calendar": ("andon.cli.calendars", "app"),
    "item": ("andon.cli.work", "app"),
    "exception": ("andon.cli.exceptions", "app"),
    "line": ("andon.cli.lines", "app"),
    "sla": ("andon.cli.sla", "app"),
    "log": ("andon.cli.logs", "app"),
    "mine": ("andon.cli.mining", "app"),
    "doc": ("andon.cli.documents", "app"),
    "training": ("andon.cli.training", "app"),
    "downtime": ("andon.cli.oee", "downtime_app"),
    "product": ("andon.cli.oee", "product_app"),
    "action": ("andon.cli.actions", "app"),
    "metric": ("andon.cli.metrics", "app"),
    "review": ("andon.cli.reviews", "app"),
    "rca": ("andon.cli.rca", "app"),
    "capa": ("andon.cli.capa", "app"),
    "postmortem": ("andon.cli.postmortems", "app"),
    "decision": ("andon.cli.decisions", "app"),
    "risk": ("andon.cli.risks", "app"),
}
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("andon.cli.serve", "serve"),
    "worker": ("andon.cli.worker", "worker"),
    "kpi": ("andon.cli.mining", "kpi"),
    "conformance": ("andon.cli.conformance", "conformance"),
    "oee": ("andon.cli.oee", "oee"),
}


class AndonGroup(TyperGroup):
    """The top-level group: every command runs inside its error mapping."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS, *LAZY_COMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command: Any
        if cmd_name in LAZY_GROUPS:
            module, attribute = LAZY_GROUPS[cmd_name]
            sub = getattr(importlib.import_module(module), attribute)
            command = typer.main.get_group(sub)
        elif cmd_name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[cmd_name]
            single = typer.Typer()
            single.command(cmd_name)(getattr(importlib.import_module(module), attribute))
            command = typer.main.get_command(single)
        else:
            return super().get_command(ctx, cmd_name)
        command.name = cmd_name
        return command

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


def run() -> None:
    """The ``andon`` console script: the app, then a prompt exit.

    Once a command has finished and its output is flushed, tearing the interpreter down
    module by module (Ibis, sqlglot, Arrow, DuckDB's buffers) only delays the shell: about
    0.2 s after an analysis. The exit handlers still run (temporary stores, log handlers);
    only the teardown is skipped, and only when no other thread is still working.
    """
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        raise SystemExit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(status)
