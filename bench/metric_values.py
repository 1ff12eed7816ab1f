"""KPI values benchmark: every built-in KPI for every week of a generated plant log.

Results go to bench/results/metric_values.json. A seeded generator writes a log in the shape
``read_andon_events(..., events="all")`` gives (stage entries, SLA breaches, exceptions; three
lines, five products, a year of items in America/Chicago, about one in ten reworked at
Inspect, the newest still open) straight into DuckDB, so the timing is the KPI computation
alone. Then each KPI of ``andon.metrics.kpi_values`` is computed for every week, once whole
and once per line, and one late event's week is recomputed alone (``periods=``), with the
check that it equals the full run's value. Nothing is asserted beyond that equality.

    python -m bench.metric_values                 # ANDON_BENCH_METRIC_EVENTS (1M)
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

RESULTS = Path(__file__).resolve().parent / "results" / "metric_values.json"
ROOT = Path(__file__).resolve().parents[1]
EVENTS = int(float(os.environ.get("ANDON_BENCH_METRIC_EVENTS", "1e6")))
ZONE = ZoneInfo("America/Chicago")
STRAIGHT = ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Pack", "Ship"]
REWORKED = ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Rework", "Inspect", "Pack", "Ship"]
SOURCES: list[dict[str, str]] = [
    {"kpi": "rework_rate", "stage": "inspect"},
    {"kpi": "first_pass_yield"},
    {"kpi": "time_in_stage", "stage": "assemble"},
    {"kpi": "cycle_time"},
    {"kpi": "throughput"},
    {"kpi": "wip"},
    {"kpi": "sla_attainment"},
    {"kpi": "exception_count", "category": "material"},
]


def generate(events: int, seed: int = 15) -> Any:
    """An Arrow table of about ``events`` events (see the module docstring)."""
    import numpy as np
    import pyarrow as pa

    from andon.analytics.andon_events import _arrow_schema

    rng = np.random.default_rng(seed)
    # Per item: 7 or 9 entries, 0.2 breaches and 0.1 exceptions on average.
    items = max(1, int(events / (7 + 0.1 * 2 + 0.3)))
    reworked = rng.random(items) < 0.1
    start = datetime(2026, 1, 5, 12, tzinfo=UTC).timestamp()
    created_s = np.sort(rng.uniform(0, 364 * 86_400, items)) + start
    lengths = np.where(reworked, len(REWORKED), len(STRAIGHT))
    open_items = created_s > start + 362 * 86_400  # the last two days' items are unfinished
    lengths = np.where(open_items, rng.integers(1, 5, items), lengths)
    status = np.where(open_items, "open", "done")
    lines = np.array(["L1", "L2", "L3"])[rng.integers(0, 3, items)]
    products = np.array([f"P{i}" for i in range(1, 6)])[rng.integers(0, 5, items)]
    columns: dict[str, list[Any]] = {
        k: []
        for k in ("case", "activity", "at", "kind", "category", "item")  # item: row index
    }
    elapsed = created_s.copy()
    for k in range(len(REWORKED)):
        alive = np.nonzero(lengths > k)[0]
        if k:
            elapsed[alive] += rng.exponential(2 * 3600, alive.size)
        names = np.where(reworked[alive], REWORKED[k], STRAIGHT[min(k, len(STRAIGHT) - 1)])
        columns["item"].append(alive)
        columns["activity"].append(names)
        columns["at"].append(elapsed[alive].copy())
        columns["kind"].append(np.full(alive.size, "created" if k == 0 else "moved"))
        columns["category"].append(np.full(alive.size, None))
    for kind, share in (("stage_breached", 0.2), ("exception", 0.1)):
        picked = np.nonzero(rng.random(items) < share)[0]
        offset = rng.uniform(0, 3600, picked.size)
        columns["item"].append(picked)
        columns["activity"].append(np.full(picked.size, "Assemble"))
        columns["at"].append(created_s[picked] + 3 * 3600 + offset)
        columns["kind"].append(np.full(picked.size, kind))
        categories = np.array(["material", "quality", "equipment"])[rng.integers(0, 3, picked.size)]
        none = np.full(picked.size, None)
        columns["category"].append(categories if kind == "exception" else none)
    item = np.concatenate(columns["item"])
    stamps = (np.concatenate(columns["at"]) * 1_000_000).astype("int64")
    order = np.lexsort((item, stamps))
    n = order.size
    schema = _arrow_schema()
    data = {
        "case_id": pa.array(item[order].astype(str)),
        "activity": pa.array(np.concatenate(columns["activity"])[order]),
        "timestamp": pa.array(stamps[order], pa.timestamp("us", tz="UTC")),
        "start_timestamp": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "resource": pa.array(np.full(n, "bench")),
        "lifecycle": pa.array(np.full(n, "start")),
        "event_order": pa.array(np.arange(1, n + 1, dtype="int64")),
        "kind": pa.array(np.concatenate(columns["kind"])[order]),
        "process_key": pa.array(np.full(n, "assembly")),
        "process_version": pa.array(np.ones(n, dtype="int64")),
        "line": pa.array(lines[item[order]]),
        "priority": pa.array(np.full(n, "normal")),
        "product": pa.array(products[item[order]]),
        "item_status": pa.array(status[item[order]]),
        "item_breached": pa.array(np.zeros(n, dtype=bool)),
        "category": pa.array(np.concatenate(columns["category"])[order], pa.string()),
    }
    return pa.table(data, schema=schema)


def measure(events: int) -> dict[str, Any]:
    import ibis

    from andon.analytics.log import EventLog
    from andon.metrics.definition import KpiSource
    from andon.metrics.kpi_values import affected_periods, kpi_values
    from andon.processes.spec_yaml import load_spec_yaml

    t0 = time.perf_counter()
    arrow = generate(events)
    generated = time.perf_counter() - t0
    backend = ibis.duckdb.connect()
    backend.con.from_arrow(arrow).create("plant_events")
    log = EventLog(backend.table("plant_events"), "bench")
    spec = load_spec_yaml((ROOT / "src" / "andon" / "demo" / "assembly.yaml").read_text())
    specs = {"assembly": spec}
    per_kpi: dict[str, Any] = {}
    total = 0.0
    for fields in SOURCES:
        source = KpiSource(**fields)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        values = kpi_values(log, source, "week", ZONE, specs=specs)
        whole = time.perf_counter() - t0
        t0 = time.perf_counter()
        by_line = kpi_values(log, source, "week", ZONE, specs=specs, by_line=True)
        per_line = time.perf_counter() - t0
        # One late event in week 20: only its week is recomputed.
        late = datetime.fromtimestamp(arrow["timestamp"][events // 2].as_py().timestamp(), UTC)
        weeks = affected_periods([late], "week", ZONE)
        t0 = time.perf_counter()
        again = kpi_values(log, source, "week", ZONE, specs=specs, periods=weeks)
        late_seconds = time.perf_counter() - t0
        key = "-".join(fields.values())
        per_kpi[key] = {
            "weeks": len(values),
            "seconds": round(whole, 3),
            "by_line_values": len(by_line),
            "by_line_seconds": round(per_line, 3),
            "late_event_periods": len(again),
            "late_event_seconds": round(late_seconds, 3),
            "late_event_equals_full_run": again
            == [v for v in values if v.period == again[0].period],
        }
        total += whole + per_line
    return {
        "events": arrow.num_rows,
        "generate_seconds": round(generated, 3),
        "kpis": per_kpi,
        "every_kpi_every_week_seconds": round(sum(k["seconds"] for k in per_kpi.values()), 3),
        "with_by_line_seconds": round(total, 3),
    }


def main() -> None:
    results = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "engine": "duckdb",
        "zone": str(ZONE),
        "case": measure(EVENTS),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
