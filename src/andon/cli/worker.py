"""`andon worker`: the background service: SLA, document and action sweeps, notifications."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from andon.cli.context import operator_name, read_settings, shown_url


def worker(
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, metavar="SECONDS", help="Time between cycles."),
    ] = 30,
    once: Annotated[
        bool, typer.Option("--once", help="Run one cycle and exit (1 if it failed); for cron.")
    ] = False,
) -> None:
    """Run the background worker: each cycle sweeps SLAs, documents and overdue actions, then
    sends notifications.

    Logs one line per cycle on standard error. SIGTERM or Ctrl-C lets the cycle under way
    finish, then exits 0. A cycle that fails (say, the database is briefly away) is logged
    and the next one runs as usual; bad settings exit 2 at once. Restarting the worker, or
    running two, never sends a notification twice.
    """
    from andon.core.database import Database
    from andon.work.worker import run_worker

    settings = read_settings()
    db = Database(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    stop = threading.Event()
    with _log_to_stderr() as log, _stop_on_signals(stop):
        log.info(
            "worker started (database %s, every %gs)",
            shown_url(settings.resolved_database_url),
            interval,
        )
        try:
            stats = run_worker(
                db,
                settings,
                interval_seconds=interval,
                once=once,
                stop=stop,
                actor_name=operator_name(),
            )
        finally:
            db.dispose()
        log.info(
            "worker stopped after %d cycles (%d failed): %d tiers fired, %d notifications sent",
            stats.cycles,
            stats.failed_cycles,
            stats.fired,
            stats.sent,
        )
    if once and stats.failed_cycles:
        raise typer.Exit(1)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` instead of killing the process mid-cycle."""
    log = logging.getLogger("andon.worker")

    def request_stop(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            log.info(
                "%s received: finishing this cycle, then stopping", signal.Signals(signum).name
            )
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _log_to_stderr() -> Iterator[logging.Logger]:
    """The worker's log lines on standard error for as long as the command runs."""
    logger = logging.getLogger("andon.worker")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
