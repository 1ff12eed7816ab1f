"""The hand-written DuckDB baseline of the analytics benchmark: one child process, one task.

The fastest plain SQL we could write for the results pm4py and ``andon mine report`` compute:
the Parquet log is read once into a temporary table (with its row number, which breaks
timestamp ties as pm4py does); one window pass ordered by case, timestamp and row gives
every directly-follows pair with its waiting time; one grouping by case gives each case's
trace (an ordered list aggregate) and duration; variants, rework and the duration statistics
are small aggregates over those.

    python -m bench.analytics_sql report|dfg|variants|kpi LOG.parquet

Prints ``{"timings": {...seconds}, "results": {...}}`` on stdout, in the shape
bench/analytics.py compares across implementations.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

TASKS = ("report", "dfg", "variants", "kpi")

LOAD = """
CREATE TEMP TABLE ev AS
SELECT case_id, activity, "timestamp" AS ts, file_row_number AS ord
FROM read_parquet(?, file_row_number = true)
"""

# Waiting times in integer microseconds, divided once at the end, so sums are exact.
PAIRS = """
CREATE TEMP TABLE pairs AS
SELECT activity,
       lead(activity) OVER w AS next_activity,
       lead(epoch_us(ts)) OVER w - epoch_us(ts) AS wait_us,
       row_number() OVER w AS position
FROM ev
WINDOW w AS (PARTITION BY case_id ORDER BY ts, ord)
"""

DFG = """
SELECT activity, next_activity, count(*) AS frequency,
       avg(wait_us) / 1e6, median(wait_us) / 1e6, min(wait_us) / 1e6, max(wait_us) / 1e6,
       sum(wait_us) / 1e6, stddev_samp(wait_us) / 1e6
FROM pairs WHERE next_activity IS NOT NULL GROUP BY ALL
"""
STARTS = "SELECT activity, count(*) FROM pairs WHERE position = 1 GROUP BY ALL"
ENDS = "SELECT activity, count(*) FROM pairs WHERE next_activity IS NULL GROUP BY ALL"

CASES = """
CREATE TEMP TABLE cases AS
SELECT case_id,
       array_to_string(list(activity ORDER BY ts, ord), ',') AS trace,
       epoch_us(max(ts)) - epoch_us(min(ts)) AS duration_us
FROM ev GROUP BY case_id
"""
VARIANTS = """
SELECT trace, count(*) AS cases, avg(duration_us) / 1e6 FROM cases
GROUP BY trace ORDER BY cases DESC, trace
"""
DURATIONS = """
SELECT count(*), avg(duration_us) / 1e6, median(duration_us) / 1e6,
       quantile_cont(duration_us, 0.9) / 1e6, min(duration_us) / 1e6, max(duration_us) / 1e6
FROM cases
"""
REWORK = """
SELECT activity, count(*) FROM (
    SELECT case_id, activity FROM ev GROUP BY ALL HAVING count(*) > 1
) GROUP BY activity
"""


def main(argv: list[str]) -> None:
    task, path = argv
    if task not in TASKS:
        raise SystemExit(f"task must be one of {', '.join(TASKS)}")
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    t0 = time.perf_counter()
    import duckdb

    timings["import_duckdb"] = time.perf_counter() - t0
    con = duckdb.connect()
    if limit := os.environ.get("ANDON_BENCH_DUCKDB_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = '{limit}'")
    # Order of rows in a temporary table is irrelevant here; letting DuckDB drop it is faster.
    con.execute("SET preserve_insertion_order = false")

    def timed(name: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        t0 = time.perf_counter()
        rows = con.execute(sql, params or []).fetchall()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return rows

    timed("load", LOAD, [path])

    if task in ("report", "dfg"):
        timed("pairs", PAIRS)
        dfg = timed("dfg", DFG)
        starts = timed("dfg", STARTS)
        ends = timed("dfg", ENDS)
        results["dfg"] = {
            "frequency": {f"{a} -> {b}": int(n) for a, b, n, *_ in dfg},
            "performance": {
                f"{a} -> {b}": {"mean": m, "median": md, "min": lo, "max": hi, "sum": s}
                for a, b, _, m, md, lo, hi, s, _sd in dfg
            },
            "start_activities": {a: int(n) for a, n in starts},
            "end_activities": {a: int(n) for a, n in ends},
        }

    if task in ("report", "variants", "kpi"):
        timed("cases", CASES)

    if task in ("report", "variants"):
        variants = timed("variants", VARIANTS)
        results["variants"] = {
            trace: {"cases": int(n), "mean_duration": float(d)} for trace, n, d in variants
        }

    if task in ("report", "kpi"):
        ((count, mean, median, p90, lo, hi),) = timed("case_durations", DURATIONS)
        rework = timed("rework", REWORK)
        results["case_duration"] = {
            "cases": int(count),
            "mean": float(mean),
            "median": float(median),
            "p90": float(p90),
            "min": float(lo),
            "max": float(hi),
        }
        results["rework_cases"] = {a: int(n) for a, n in rework}
        ((events,),) = timed("events", "SELECT count(*) FROM ev")
        results["events"] = int(events)

    timings["total_in_process"] = sum(timings.values())
    print(json.dumps({"timings": timings, "results": results}))


if __name__ == "__main__":
    main(sys.argv[1:])
