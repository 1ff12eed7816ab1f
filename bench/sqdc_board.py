"""SQDC board benchmark: the board page for 3 lines × 12 metrics, as the server renders it.

Results go to bench/results/sqdc_board.json. Twelve metrics split by line (three per SQDC
letter), each with a year of daily values on lines L1, L2 and L3 stored through
``andon.metrics.service.compute_metric`` (a seeded source stands in for the plant's events),
their limits frozen from the first 20 points, and an open action on every other metric. Then
``andon.metrics.board.sqdc_board`` alone and ``GET /sqdc`` (in-process, no network, signed in
as a viewer; server time from the call into the app to its last byte) are timed, 20 runs each
after an uncounted warm-up. Target: the page under
150 ms server time. On SQLite and, when it can be reached, PostgreSQL.

    python -m bench.sqdc_board
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from andon.accounts import service as accounts
from andon.accounts.schemas import GrantIn, UserCreate
from andon.actions.schemas import ActionCreate
from andon.actions.service import open_action
from andon.core.database import Database
from andon.core.permissions import Role, system_actor
from andon.core.uow import Context
from andon.metrics import board, service
from andon.metrics.definition import MetricDefinition, parse_definition
from andon.metrics.series import PeriodValue
from bench import _pg
from bench._databases import postgresql_database, sqlite_database

RESULTS = Path(__file__).resolve().parent / "results" / "sqdc_board.json"
ZONE = ZoneInfo("America/Chicago")
LINES = ("L1", "L2", "L3")
METRICS = 12
DAYS = 365
RUNS = 20
TARGET_MS = 150.0
PASSWORD = "bench password 1234"  # noqa: S105 - scratch databases only
LETTERS = ("safety", "quality", "delivery", "cost")


def definition(i: int) -> MetricDefinition:
    return parse_definition(
        {
            "key": f"rework_{i:02d}",
            "name": f"Rework rate {i}",
            "unit": "%",
            "direction": "lower_is_better",
            "kind": "lagging",
            "owner": "quality",
            "sqdc": LETTERS[i % 4],
            "by_line": True,
            "source": {"kpi": "rework_rate", "stage": f"stage{i}"},
            "period": "day",
            "chart": "p",
            "baseline": {"points": 20},
            "thresholds": [
                {"level": "warning", "above": 0.15, "min_points": 3, "decision": "Look."},
                {"level": "critical", "above": 0.2, "min_points": 3, "decision": "Hold."},
            ],
        }
    )


class YearOfDays:
    """A seeded year of daily rework counts per line (out of 40 inspected)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, session: Any, defn: Any, zone: Any, periods: Any) -> list[PeriodValue]:
        rng = random.Random(self.seed)
        first = date(2025, 12, 1)
        out = []
        for day in range(DAYS):
            key = (first + timedelta(days=day)).isoformat()
            for line in LINES:
                bad = rng.randint(0, 8)
                out.append(PeriodValue(key, line, bad / 40, bad, 40))
        return out


def load(db: Database) -> float:
    started = time.perf_counter()
    ctx = Context(db, system_actor("bench"))
    accounts.create_user(
        ctx,
        UserCreate(
            username="board-viewer",
            display_name="Board Viewer",
            password=PASSWORD,
            grants=[GrantIn(role=Role.VIEWER)],
        ),
    )
    for i in range(METRICS):
        defn = definition(i)
        service.define_metric(ctx, defn, reason="bench")
        service.compute_metric(ctx, defn.key, zone=ZONE, source=YearOfDays(i))
        if i % 2 == 0:
            open_action(
                ctx,
                ActionCreate(
                    title=f"Look at {defn.key}",
                    owner_role=Role.QUALITY,
                    due_on=date(2030, 1, 1),
                    links=[{"kind": "metric", "ref": defn.key}],  # type: ignore[list-item]
                ),
            )
    return time.perf_counter() - started


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


class Timed:
    """The app, timing each HTTP request from the call into the app to its last byte: the
    server's time, without the test client's thread hand-offs (tens of ms on a busy box)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.last = time.perf_counter() - started


def measure(db: Database) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from andon.api.app import create_app
    from andon.core.config import Settings
    from andon.web.session import COOKIE

    result: dict[str, Any] = {"load_seconds": round(load(db), 2)}
    ctx = Context(db, system_actor("bench"))
    tiles = board.sqdc_board(ctx, zone=ZONE).tiles  # warm-up
    result["tiles"] = len(tiles)
    calls = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        board.sqdc_board(ctx, zone=ZONE)
        calls.append(time.perf_counter() - t0)
    result["sqdc_board"] = {"runs": RUNS, **_ms(calls)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=db.url, secret_key="b" * 64, data_dir=Path(tmp), timezone=ZONE.key
        )
        app = Timed(create_app(settings, db))
        client = TestClient(app)
        signed = accounts.sign_in(db, "board-viewer", PASSWORD, accounts.LoginPolicy(), "bench")
        client.cookies.set(COOKIE, signed.session_token)
        for path in ("/sqdc", "/sqdc?line=L2"):
            pages, trips = [], []
            for _ in range(RUNS + 1):
                t0 = time.perf_counter()
                got = client.get(path)
                trips.append(time.perf_counter() - t0)
                pages.append(app.last)
                assert got.status_code == 200, got.text[:200]
            # The first request fills the app's caches; the rest are what a wall screen waits.
            result[path] = {
                "runs": RUNS,
                "server": _ms(pages[1:]),
                "with_test_client": _ms(trips[1:]),
            }
    return result


def run(opener: Callable[[], Any]) -> dict[str, Any] | str:
    try:
        with opener() as db:
            return measure(db)
    except _pg.Unavailable as exc:
        return f"skipped: {exc}"


def main() -> None:
    out: dict[str, Any] = {
        "how": __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        "target_ms": TARGET_MS,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    out["sqlite"] = run(sqlite_database)
    print(f"sqlite: {json.dumps(out['sqlite'])}", flush=True)
    out["postgresql"] = run(lambda: postgresql_database("sqdc"))
    print(f"postgresql: {json.dumps(out['postgresql'])}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
