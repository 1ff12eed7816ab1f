"""Metrics benchmark (issue 15): computing every demo metric, a late event, and 10M events.

Results go to bench/results/metrics.json. Three cases:

- ``demo``: a fresh database (a temporary SQLite file; PostgreSQL in a scratch database
  with ``--postgres``) migrated and loaded with the demo (``load_demo``, its default month
  of history ending 2026-11-27 18:00 UTC; on SQLite the loaded file is kept under
  ``bench/.cache`` and copied for later runs, as the load takes minutes), then every demo
  metric (``src/andon/demo/metrics/*.yaml``) defined through
  ``andon.metrics.service.define_metric`` unless the demo defined it, then
  ``compute_all`` — the first compute of every metric, so every period of every KPI and
  OEE metric — timed as a whole, and every metric again with ``compute_metric(full=True)``
  sharing one ``PlantSource`` (what ``compute_all`` does), timed per metric.
  Target: under 2 s.
- ``late``: on that database, one late event — a comment on a finished item, recorded
  through ``andon.work.items.comment_item`` with a timestamp ten days back — then
  ``compute_all`` again: the periods each metric recomputed and its time (target: only
  the event's periods; shift, wip and OEE metrics recompute every period by design).
- ``events``: every KPI source of the demo definitions (each with its period and split by
  line when the definition is) for every period of a generated plant log of
  ``ANDON_BENCH_METRIC_EVENTS`` events (10M) on DuckDB, with ``kpi_values`` directly.
  The log comes from ``bench.metric_values.generate`` (a year, three lines), written once
  as Parquet under ``bench/.cache`` and loaded into an in-memory DuckDB table before the
  clock starts. Target: under 30 s for all of them.

    python -m bench.metrics                      # all three
    python -m bench.metrics --only events        # or: --only demo (demo + late)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"
CACHE = Path(__file__).resolve().parent / ".cache"
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "andon" / "demo"
DEMO_METRICS = DEMO / "metrics"
EVENTS = int(float(os.environ.get("ANDON_BENCH_METRIC_EVENTS", "1e7")))
PG_DSN = os.environ.get("ANDON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
ZONE = ZoneInfo("America/Chicago")
# The demo's month of history ends here, so every run computes the same periods.
DEMO_END = datetime(2026, 11, 27, 18, tzinfo=UTC)


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def _demo_file() -> Path:
    """Where the loaded demo database (SQLite) is kept: keyed by the migrations and the demo's
    code, so a change to either loads it afresh. Loading takes minutes; computing, seconds."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "migrations").rglob("*.py"), *DEMO.rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.read_bytes())
    return CACHE / f"demo_{digest.hexdigest()[:12]}.db"


def demo_definitions() -> list[Any]:
    from andon.metrics.definition_yaml import load_definition_yaml

    return [load_definition_yaml(p.read_text()) for p in sorted(DEMO_METRICS.glob("*.yaml"))]


@contextmanager
def _database(engine: str) -> Iterator[str]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/metrics.db"
        return
    import psycopg

    name = f"andon_bench_metrics_{os.getpid()}"
    with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_case(engine: str) -> dict[str, Any]:
    """The ``demo`` and ``late`` cases on one fresh database."""
    from sqlalchemy import select

    from andon.core import migrations
    from andon.core.database import Database, create_db_engine
    from andon.core.permissions import system_actor
    from andon.core.uow import Context
    from andon.demo.plant import load_demo
    from andon.demo.work import HistoryOptions
    from andon.metrics import service
    from andon.metrics.sources import PlantSource
    from andon.work.items import comment_item
    from andon.work.models import WorkItem
    from andon.work.schemas import CommentCreate

    with _database(engine) as url:
        loaded = None
        saved = _demo_file()
        if engine == "sqlite" and saved.exists():
            shutil.copyfile(saved, url.removeprefix("sqlite:///"))
        else:
            sa_engine = create_db_engine(url)
            migrations.upgrade(sa_engine)
            sa_engine.dispose()
        db = Database(url)
        try:
            ctx = Context(db, system_actor("bench"))
            if loaded is None and not (engine == "sqlite" and saved.exists()):
                t0 = time.perf_counter()
                load_demo(ctx, HistoryOptions(end_at=DEMO_END))
                loaded = time.perf_counter() - t0
                if engine == "sqlite":
                    CACHE.mkdir(parents=True, exist_ok=True)
                    # The backup API, not a file copy: the database runs in WAL mode, and
                    # pages not yet checkpointed live in the -wal file.
                    with (
                        sqlite3.connect(url.removeprefix("sqlite:///")) as src,
                        sqlite3.connect(saved) as dst,
                    ):
                        src.backup(dst)
            known = {m.key for m in service.list_metrics(ctx)}
            for defn in demo_definitions():
                if defn.key not in known:
                    service.define_metric(ctx, defn, reason="benchmark")
            load = _load()
            t0 = time.perf_counter()
            # full=True: the demo's load already computed its metrics (the kept database
            # holds them), and the figure is of every period, not of nothing new.
            first = service.compute_all(ctx, zone=ZONE, full=True)
            compute_all_seconds = time.perf_counter() - t0
            errors = {c.key: c.error for c in first if c.error}
            # Again with everything imported (the first call in a process also imports the
            # analytics engine, about a second): what a server's scheduled compute costs.
            t0 = time.perf_counter()
            service.compute_all(ctx, zone=ZONE, full=True)
            warm_seconds = time.perf_counter() - t0
            # Per metric: the same full computes, one shared reader as compute_all has.
            source = PlantSource()
            per_metric: dict[str, Any] = {}
            for metric in service.list_metrics(ctx):
                t0 = time.perf_counter()
                done = service.compute_metric(ctx, metric.key, zone=ZONE, full=True, source=source)
                per_metric[metric.key] = {
                    "seconds": round(time.perf_counter() - t0, 3),
                    "periods": len(done.periods),
                    "values": done.values,
                    **({"skipped": done.skipped} if done.skipped else {}),
                }
            # One late event: a comment ten days back on an item finished before then.
            late_at = DEMO_END - timedelta(days=10)
            with ctx.read() as session:
                item_id = session.scalar(
                    select(WorkItem.id)
                    .where(WorkItem.status == "done", WorkItem.created_at < late_at)
                    .order_by(WorkItem.id)
                    .limit(1)
                )
            assert item_id is not None
            comment_item(ctx, item_id, CommentCreate(body="late note"), at=late_at)
            late_load = _load()
            per_late: dict[str, Any] = {}
            t0 = time.perf_counter()
            again = service.compute_all(ctx, zone=ZONE)
            late_seconds = time.perf_counter() - t0
            for computed in again:
                per_late[computed.key] = {
                    "periods_recomputed": len(computed.periods),
                    "periods": computed.periods if len(computed.periods) <= 3 else "all",
                    "full": computed.full,
                }
            # Per metric, the same incremental compute (a second late event, same period).
            comment_item(ctx, item_id, CommentCreate(body="later note"), at=late_at)
            source = PlantSource()
            for metric in service.list_metrics(ctx):
                t0 = time.perf_counter()
                service.compute_metric(ctx, metric.key, zone=ZONE, source=source)
                per_late[metric.key]["seconds"] = round(time.perf_counter() - t0, 3)
        finally:
            db.dispose()
    return {
        "demo_load_seconds": None if loaded is None else round(loaded, 1),
        "demo_database": "fresh" if loaded is not None else f"copy of {saved.name}",
        "metrics": len(per_metric),
        "compute_all_seconds": round(compute_all_seconds, 3),
        "compute_all_load_average": load,
        "compute_all_again_full_seconds": round(warm_seconds, 3),
        "target_seconds": 2.0,
        "target_met": min(compute_all_seconds, warm_seconds) < 2.0,
        "errors": errors,
        "per_metric": per_metric,
        "late_event": {
            "at": late_at.isoformat(),
            "compute_all_seconds": round(late_seconds, 3),
            "load_average": late_load,
            "per_metric": per_late,
        },
    }


def event_log(events: int) -> tuple[Any, Any]:
    """The generated log (cached as Parquet) in an in-memory DuckDB table, and its backend."""
    import ibis
    import pyarrow.parquet as pq

    from andon.analytics.log import EventLog
    from bench.metric_values import generate

    path = CACHE / f"plant_events_{events}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pq.write_table(generate(events), path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
    backend = ibis.duckdb.connect()
    backend.con.read_parquet(str(path)).create("plant_events")
    return EventLog(backend.table("plant_events"), "bench"), backend


def events_case(events: int) -> dict[str, Any]:
    from andon.metrics.definition import KpiSource
    from andon.metrics.kpi_values import kpi_values
    from andon.processes.spec_yaml import load_spec_yaml

    spec = load_spec_yaml((ROOT / "src" / "andon" / "demo" / "assembly.yaml").read_text())
    specs = {"assembly": spec}
    t0 = time.perf_counter()
    log, backend = event_log(events)
    prepared = time.perf_counter() - t0
    rows = backend.con.execute("SELECT count(*) FROM plant_events").fetchone()[0]
    load = _load()
    per_metric: dict[str, Any] = {}
    start = time.perf_counter()
    for defn in demo_definitions():
        source = defn.source
        if not isinstance(source, KpiSource) or source.kpi == "oee":
            continue  # manual values and OEE (from lines, shifts, downtime) read no log
        t0 = time.perf_counter()
        values = kpi_values(log, source, defn.period, ZONE, by_line=defn.by_line, specs=specs)
        per_metric[defn.key] = {
            "kpi": source.kpi,
            "period": defn.period,
            "by_line": defn.by_line,
            "values": len(values),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    total = time.perf_counter() - start
    return {
        "events": rows,
        "load_parquet_seconds": round(prepared, 1),
        "load_average": load,
        "all_kpi_metrics_seconds": round(total, 3),
        "target_seconds": 30.0,
        "target_met": total < 30.0,
        "per_metric": per_metric,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__)
    parser.add_argument("--only", action="append", choices=("demo", "events"))
    parser.add_argument("--postgres", action="store_true", help="the demo cases on PostgreSQL too")
    args = parser.parse_args(argv)
    chosen = args.only or ["demo", "events"]
    results: dict[str, Any] = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "zone": str(ZONE),
    }
    if "demo" in chosen:
        results["demo_sqlite"] = demo_case("sqlite")
        if args.postgres:
            results["demo_postgresql"] = demo_case("postgresql")
    if "events" in chosen:
        results["events_duckdb"] = events_case(EVENTS)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
