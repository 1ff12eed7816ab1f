"""The background worker: cycles, failures, stopping, and no duplicate notifications."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import ConfigurationError
from andon.core.uow import Context
from andon.notifications.models import Notification
from andon.work.worker import run_worker
from tests.factories import make_floor, new_item
from tests.integration.test_cli import andon

# Monday 23 Nov 2026, 07:00 in Chicago (CST, UTC-6): inside the 06:00-14:00 day shift.
MONDAY_7AM = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return MONDAY_7AM + timedelta(minutes=minutes)


class Receiver:
    """A local webhook endpoint that counts what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


def test_restarting_the_worker_never_sends_a_notification_twice(
    db: Database, system: Context, settings: Settings, receiver: Receiver
) -> None:
    tiers = [{"name": "Line lead", "at": "75%", "notify": {"webhooks": [receiver.url]}}]
    floor = make_floor(system, escalation={"tiers": tiers})
    new_item(system, floor, at=MONDAY_7AM)  # 75 % of the 2 h intake SLA is at 08:30

    first = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: at(95))
    restarted = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: at(96))
    # Long after the delivery lease would have run out, too.
    later = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: at(119))

    assert (first.fired, first.queued, first.sent) == (1, 1, 1)
    assert (restarted.fired, restarted.sent, later.fired, later.sent) == (0, 0, 0, 0)
    assert len(receiver.bodies) == 1
    assert b'"event":"escalation"' in receiver.bodies[0]
    with db.read_session() as session:
        stored = session.scalars(select(Notification)).one()
    assert (stored.status, stored.attempts) == ("sent", 1)


def test_a_failed_cycle_is_logged_and_the_next_one_runs(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    calls = iter(range(100))

    def now() -> datetime:
        if next(calls) == 0:
            raise RuntimeError("database went away")
        stop.set()  # stop after this (second) cycle
        return at(0)

    with caplog.at_level(logging.INFO, logger="andon.worker"):
        stats = run_worker(db, settings, interval_seconds=0, stop=stop, now_fn=now)

    assert (stats.cycles, stats.failed_cycles) == (2, 1)
    messages = [r.getMessage() for r in caplog.records if r.name == "andon.worker"]
    assert messages[0] == "cycle 1 failed; the next cycle runs as usual"
    assert messages[1].startswith("cycle 2: 0 stage breaches")


def test_a_configuration_error_stops_the_worker(db: Database, settings: Settings) -> None:
    def now() -> datetime:
        raise ConfigurationError("ANDON_SMTP_HOST: nowhere")

    with pytest.raises(ConfigurationError):
        run_worker(db, settings, interval_seconds=0, now_fn=now)


def test_a_stop_request_ends_the_wait_between_cycles(db: Database, settings: Settings) -> None:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_worker(db, settings, interval_seconds=3600, stop=stop).cycles
        )
    )

    thread.start()
    stop.set()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert result == [1]


def test_worker_once_from_the_cli_logs_one_cycle(db: Database) -> None:
    result = andon(db.url, "worker", "--once")

    assert result.exit_code == 0, result.stderr
    lines = [line.split(" ", 2)[2] for line in result.stderr.splitlines()]
    assert lines[0].startswith("worker started")
    assert lines[1] == (
        "cycle 1: 0 stage breaches, 0 process breaches, 0 tiers fired; documents: "
        "0 took effect, 0 newcomer tasks, 0 reminders, 0 escalations; "
        "actions: 0 overdue escalated; metrics: 0 computed, 0 crossings, 0 actions opened; "
        "0 notifications queued; 0 sent, 0 to retry, 0 dead"
    )
    assert lines[2].startswith("worker stopped after 1 cycles (0 failed)")


def test_worker_with_bad_settings_exits_2(db: Database) -> None:
    result = andon(db.url, "worker", "--once", port="abc")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ANDON_PORT: ")


def test_sigterm_lets_the_cycle_finish_and_exits_0(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "worker.db"
    shutil.copy(sqlite_template, database)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANDON_")},
        "ANDON_DATABASE_URL": f"sqlite:///{database}",
    }
    command = [str(Path(sys.executable).parent / "andon"), "worker", "--interval", "0.2"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr or []], daemon=True
    )
    reader.start()
    try:
        seen = []
        while not any("cycle 2:" in line for line in seen):
            seen.append(lines.get(timeout=30))
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=5)
    while not lines.empty():
        seen.append(lines.get())

    assert code == 0
    assert any("SIGTERM received: finishing this cycle, then stopping" in line for line in seen)
    assert "worker stopped after" in seen[-1]
