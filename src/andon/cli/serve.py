"""`andon serve`: run the web pages and the API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from andon.cli.context import read_settings, shown_url


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on.  [default: ANDON_HOST, else 127.0.0.1]"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on.  [default: ANDON_PORT, else 8000]"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Server processes; one per core uses them all.  [default: ANDON_WORKERS, else 1]",
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (method, path, status) to stderr.")
    ] = True,
) -> None:
    """Serve the web pages and the JSON API (/api/v1, docs at /api/docs)."""
    from andon.core.config import DEMO_SECRET_FILE

    settings = read_settings()
    listen_host = host or settings.host
    listen_port = port or settings.port
    processes = workers or settings.workers
    demo_key = settings.data_dir / DEMO_SECRET_FILE
    uses_demo_key = settings.demo and not settings.secret_key
    generates_key = uses_demo_key and not demo_key.exists()

    # FastAPI and uvicorn are imported only here: no other command pays for them.
    import uvicorn

    from andon.api.app import create_app

    # Built here even when worker processes build their own: a bad setting fails before any
    # process starts, and the demo key exists before they read it.
    application = create_app(settings)
    if generates_key:
        typer.echo(f"Demo mode: generated a secret key and stored it in {demo_key}")
    elif uses_demo_key:
        typer.echo(f"Demo mode: using the secret key stored in {demo_key}")
    if uses_demo_key:
        typer.echo("Demo mode is for trying Andon out; set ANDON_SECRET_KEY for real use.")
    shown_host = f"[{listen_host}]" if ":" in listen_host else listen_host
    typer.echo(
        f"Serving Andon at http://{shown_host}:{listen_port}/ "
        f"(database {shown_url(settings.resolved_database_url)}"
        + (f", {processes} processes)" if processes > 1 else ")")
    )
    if processes == 1:
        uvicorn.run(
            application,
            host=listen_host,
            port=listen_port,
            server_header=False,
            access_log=access_log,
        )
    else:
        # Each process builds the app from the same ANDON_* environment.
        uvicorn.run(
            "andon.api.app:create_app",
            factory=True,
            workers=processes,
            host=listen_host,
            port=listen_port,
            server_header=False,
            access_log=access_log,
        )
