"""Benchmarks: `make bench` runs them all; results go to bench/results/*.json.

Foundation (here): audited write rate and chain verification rate, SQLite and PostgreSQL,
written to bench/results/foundation.json. Work engine (bench/work.py): item moves through
the HTTP API and the SLA sweep over a million open items, written to bench/results/work.json.
Analytics (bench/analytics.py): `andon mine report` against pm4py and hand-written DuckDB SQL
on synthetic logs of 10k to 10M events, written to bench/results/analytics.json. Documents
(bench/documents.py): search over 20,000 effective revisions, approval with its signature, and
the training matrix's data, written to bench/results/documents.json. Metric values
(bench/metric_values.py): every built-in KPI for every week of a 1M-event plant log, written
to bench/results/metric_values.json. Metrics (bench/metrics.py): compute_all of every demo
metric on the demo's database, one late event, and every demo KPI over 10M events on DuckDB,
written to bench/results/metrics.json. Interactive filters (bench/analytics_filters.py, issue
17's baseline): 20 first-time filters through the API against pm4py on a DataFrame in memory,
written to bench/results/analytics_filters.json. Plant form (bench/plant_refresh.py, issue 17):
the plant's prepared form refreshed after one more move at 1M work events, written to
bench/results/plant_refresh.json.
Figures are measured on whatever machine runs `make bench`; nothing here is asserted.

    python -m bench.run                      # everything
    python -m bench.run --only foundation    # or: --only work, or one work case:
    python -m bench.run --only sweep         #     transitions, profile, sweep, sqlite-sweep
    python -m bench.run --only analytics     # the analytics engine (knobs: bench/analytics.py)
    python -m bench.run --only documents     # search, approval, matrix (bench/documents.py)
    python -m bench.run --only metrics       # KPI values per week (bench/metric_values.py) and
                                             # every demo metric, a late event, 10M events
                                             # (bench/metrics.py)
    python -m bench.run --only filters       # 20 first-time filters, API vs pm4py, 100k
                                             # events (bench/analytics_filters.py --events)
    python -m bench.run --only plant         # the plant form's refresh after a move, 1M
                                             # events (bench/plant_refresh.py --events)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from andon.core import audit_queries, migrations
from andon.core.database import Database, create_db_engine
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import EnterpriseCreate, EnterpriseUpdate

RESULTS = Path(__file__).resolve().parent / "results" / "foundation.json"
WRITES = int(os.environ.get("ANDON_BENCH_WRITES", "2000"))
PG_DSN = os.environ.get("ANDON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def measure(db: Database) -> dict[str, float]:
    ctx = Context(db, system_actor("bench"))
    latencies = []
    start = time.perf_counter()
    for n in range(WRITES):
        t0 = time.perf_counter()
        enterprise = plant.create_enterprise(ctx, EnterpriseCreate(name=f"E{n}"))
        plant.update_enterprise(ctx, enterprise.id, EnterpriseUpdate(version=1, description="x"))
        latencies.append(time.perf_counter() - t0)
    write_seconds = time.perf_counter() - start
    t0 = time.perf_counter()
    result = audit_queries.verify(ctx)
    verify_seconds = time.perf_counter() - t0
    assert result.ok
    assert result.count == 2 * WRITES
    latencies.sort()
    return {
        "audited_changes": 2 * WRITES,
        "audited_changes_per_second": round(2 * WRITES / write_seconds, 1),
        "create_plus_update_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "create_plus_update_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "verify_entries_per_second": round(result.count / verify_seconds, 1),
    }


def measure_at(url: str) -> dict[str, float]:
    """Migrate an empty database at ``url`` and measure it."""
    engine = create_db_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    db = Database(url)
    try:
        return measure(db)
    finally:
        db.dispose()


def sqlite_case() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return measure_at(f"sqlite:///{tmp}/bench.db")


def postgresql_case() -> dict[str, float] | str:
    name = f"andon_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        return f"skipped: {exc}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    try:
        return measure_at(url)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def foundation() -> None:
    results = {
        "benchmark": "foundation: audited writes and audit-chain verification",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sqlite": sqlite_case(),
        "postgresql": postgresql_case(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def main(argv: list[str] | None = None) -> None:
    from bench import (
        analytics,
        analytics_filters,
        documents,
        metric_values,
        metrics,
        plant_refresh,
        sqdc_board,
        work,
    )

    everything = ("foundation", "work", "analytics", "documents", "metrics", "filters", "plant")
    choices = (*everything, *work.CASES)
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", action="append", choices=choices, help="run only this")
    chosen = parser.parse_args(argv).only or list(everything)
    if "foundation" in chosen:
        foundation()
    cases = [c for c in work.CASES if c in chosen or ("work" in chosen and c in work.DEFAULT_CASES)]
    if cases:
        work.main([f"--only={c}" for c in cases])
    if "analytics" in chosen:
        analytics.main([])
    if "documents" in chosen:
        documents.main([])
    if "metrics" in chosen:
        metric_values.main()
        metrics.main([])
        sqdc_board.main()
    if "filters" in chosen:
        analytics_filters.main([])
    if "plant" in chosen:
        plant_refresh.main([])


if __name__ == "__main__":
    main()
