"""The plant's prepared form (issue 17): incremental refresh after one more move, at 1M events.

Set-up (not measured): a scratch SQLite database with the bench floor (bench/work.py's
``build_floor``: one site, line and the assembly process, through the service functions),
then a generated history written straight into ``work_items`` and ``work_events`` with
``executemany``: seeded, about nine events an item (every stage entry of the assembly route,
a rework loop for a share of them, a ``completed`` row for the finished ones; some items
still open partway), resources ``cell-1``..``cell-9``, until ``--events`` rows. Then
``MOVES`` more items are created through the service layer.

Measured:

- ``full_read_seconds``: the first refresh, which reads every stage entry and prepares
  them (what a server does on its first plant request after a start);
- per move (``MOVES`` items, each moved once from Intake to Plan through
  ``andon.work.items.move_item``, which writes the event as a request would): the refresh
  that follows (``refresh_ms``: reading the new events, re-reading that item's history,
  rewriting its rows in the form) and a first-time answer after it (``answer_ms``: the
  plant's DFG with performance, its variants and its KPIs, ``prepared.documents``, no
  cache);
- ``events_read_seconds``: once, the same three documents the way plant datasets were
  answered before the form (every stage entry read from the database, ordered, mined).

    python -m bench.plant_refresh                    # 1M events
    python -m bench.plant_refresh --events 100000
    python -m bench.run --only plant                 # 1M, or ANDON_BENCH_PLANT_EVENTS

Writes bench/results/plant_refresh.json. Nothing is asserted about the times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "plant_refresh.json"
EVENTS = int(os.environ.get("ANDON_BENCH_PLANT_EVENTS", "1000000"))
MOVES = 50
ROUTE = ("intake", "plan", "kit", "assemble", "inspect", "pack", "ship")
NAMES = {
    "intake": "Intake",
    "plan": "Plan",
    "kit": "Kit",
    "assemble": "Assemble",
    "inspect": "Inspect",
    "rework": "Rework",
    "pack": "Pack",
    "ship": "Ship",
}
EVENT_COLUMNS = "case_id, process_key, activity, lifecycle, kind, timestamp, resource, attributes"
START = datetime(2025, 1, 6, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    # Naive UTC text with microseconds, as SQLAlchemy writes Andon's instants to SQLite.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def history(item_id: int, rng: random.Random) -> tuple[list[tuple[Any, ...]], str, str]:
    """One generated item's event rows, its current stage and its status."""
    stages = list(ROUTE)
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        at = stages.index("inspect") + 1
        stages[at:at] = ["rework", "inspect"]
    if rng.random() < 0.2:  # still open partway
        stages = stages[: rng.randint(1, len(stages) - 1)]
    done = stages[-1] == "ship"
    moment = START + timedelta(minutes=item_id * 5)
    rows = []
    for n, stage in enumerate(stages):
        kind = "created" if n == 0 else "moved"
        resource = f"cell-{rng.randint(1, 9)}"
        rows.append(
            (item_id, "assembly", NAMES[stage], "start", kind, _stamp(moment), resource, "{}")
        )
        moment += timedelta(minutes=rng.randint(5, 600))
    if done:
        rows.append(
            (item_id, "assembly", "Ship", "complete", "completed", _stamp(moment), "cell-1", "{}")
        )
    return rows, stages[-1], "done" if done else "open"


def load_history(path: str, ids: tuple[int, int, int], events: int) -> tuple[int, int]:
    """Write items and their events until ``events`` rows; (items, events) written."""
    from bench.work import ITEM_COLUMNS

    rng = random.Random(17)
    process_id, version_id, line_id = ids
    item_marks = ", ".join("?" * len(ITEM_COLUMNS.split(",")))
    written = items = 0
    with sqlite3.connect(path) as conn:
        conn.execute("BEGIN")
        item_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        while written < events:
            items += 1
            rows, stage, status = history(items, rng)
            rows = rows[: events - written]
            created = rows[0][5]
            item_rows.append(
                (items, process_id, version_id, line_id, f"Order {items}", "PH-100", 1,
                 "normal", "{}", stage, status, None, 0, created, "bench", created, created,
                 None, None, 1)
            )  # fmt: skip
            event_rows.extend(rows)
            written += len(rows)
            if len(event_rows) >= 100_000:
                _flush(conn, item_marks, item_rows, event_rows)
        _flush(conn, item_marks, item_rows, event_rows)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    return items, written


def _flush(
    conn: sqlite3.Connection,
    item_marks: str,
    item_rows: list[tuple[Any, ...]],
    event_rows: list[tuple[Any, ...]],
) -> None:
    from bench.work import ITEM_COLUMNS

    conn.executemany(f"INSERT INTO work_items ({ITEM_COLUMNS}) VALUES ({item_marks})", item_rows)  # noqa: S608
    conn.executemany(
        f"INSERT INTO work_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        event_rows,
    )
    item_rows.clear()
    event_rows.clear()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(events: int) -> dict[str, Any]:
    from andon.analytics.dataset_store import Dataset, open_log
    from andon.analytics.discovery import discover_dfg, discover_variants
    from andon.analytics.kpis import compute_kpis
    from andon.analytics.plant_form import PlantForm
    from andon.analytics.prepared import documents
    from andon.analytics.report import prepare, variants_json
    from andon.core.permissions import system_actor
    from andon.core.uow import Context
    from andon.work import items as work_items
    from andon.work.schemas import ItemMove
    from bench._databases import sqlite_database
    from bench.work import build_floor, create_items

    with sqlite_database() as db:
        ctx = Context(db, system_actor("bench"))
        floor = build_floor(ctx)
        path = db.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            row = conn.execute(
                "SELECT p.id, v.id FROM processes p JOIN process_versions v ON v.process_id = p.id"
            ).fetchone()
        t0 = time.perf_counter()
        item_count, written = load_history(path, (row[0], row[1], floor.line_id), events)
        load_seconds = time.perf_counter() - t0
        movers = create_items(ctx, floor, MOVES)

        form = PlantForm()
        t0 = time.perf_counter()
        built = form.refresh(db.engine)
        full_read = time.perf_counter() - t0
        with form.reading(None, None) as prepared:
            stage_entries = prepared.edges.count().execute() + prepared.cases.count().execute()

        refresh_ms: list[float] = []
        answer_ms: list[float] = []
        rewritten: list[int] = []
        for item_id, version in movers:
            work_items.move_item(ctx, item_id, ItemMove(to="plan", version=version))
            t0 = time.perf_counter()
            refresh = form.refresh(db.engine)
            refresh_ms.append(_ms(time.perf_counter() - t0))
            rewritten.append(refresh.cases)
            t0 = time.perf_counter()
            with form.reading(None, None) as prepared:
                answer = documents(prepared)
            answer_ms.append(_ms(time.perf_counter() - t0))

        t0 = time.perf_counter()
        log = open_log(ctx, Path("."), Dataset(id="plant", name="", kind="plant"))
        ordered = prepare(log)
        dfg = discover_dfg(ordered, performance=True)
        before = {
            "dfg": dfg.as_json(),
            "variants": variants_json(discover_variants(ordered)),
            "kpi": compute_kpis(ordered, dfg=dfg).as_json(),
        }
        events_read = time.perf_counter() - t0
        form.close()
    return {
        "work_events": written + 2 * MOVES,
        "stage_entries": stage_entries,
        "work_items": item_count + MOVES,
        "load_seconds": round(load_seconds, 2),
        "full_read_seconds": round(full_read, 3),
        "full_read_items": built.cases,
        "moves": MOVES,
        "items_rewritten_per_refresh": sorted(set(rewritten)),
        "refresh_ms": {
            "median": round(statistics.median(refresh_ms), 2),
            "p95": round(_p95(refresh_ms), 2),
            "all": refresh_ms,
        },
        "answer_after_refresh_ms": {
            "median": round(statistics.median(answer_ms), 2),
            "p95": round(_p95(answer_ms), 2),
        },
        "events_read_seconds": round(events_read, 3),
        "form_answer_equals_events_read": answer == before,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plant_refresh", description=__doc__)
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args(argv)
    # The machine may be shared: the load average says how busy it was around the run.
    load_before = [round(x, 2) for x in os.getloadavg()]
    case = measure(args.events)
    results = {
        "benchmark": "plant prepared form: incremental refresh after one more move",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "database": "sqlite",
        "load_average_before_after": [load_before, [round(x, 2) for x in os.getloadavg()]],
        "case": case,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
