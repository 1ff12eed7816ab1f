"""The pm4py side of the analytics benchmark: one child process, one task, one JSON document.

pm4py is a test-only dependency (AGPL) and only this script, run as a separate process by
bench/analytics.py, imports it. It does what a pm4py user would: load the Parquet log with
pandas, ``pm4py.format_dataframe``, then call the simplified API.

    python -m bench.analytics_pm4py report LOG.parquet   # dfg, performance dfg, variants,
                                                         # rework, case durations
    python -m bench.analytics_pm4py dfg|kpi LOG.parquet  # parts of the report
    python -m bench.analytics_pm4py variants LOG.parquet # variants with mean case duration
    python -m bench.analytics_pm4py read-xes LOG.xes

Prints ``{"timings": {...seconds}, "results": {...}}`` on stdout (pm4py's banner goes to
stderr); the results have the shape bench/analytics.py compares across implementations.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

TASKS = ("report", "dfg", "variants", "kpi", "read-xes")


def _edge(pair: tuple[str, str]) -> str:
    return f"{pair[0]} -> {pair[1]}"


def main(argv: list[str]) -> None:
    task, path = argv
    if task not in TASKS:
        raise SystemExit(f"task must be one of {', '.join(TASKS)}")
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the welcome banner
        import pm4py
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    timings["import_pm4py"] = time.perf_counter() - t0

    if task == "read-xes":
        t0 = time.perf_counter()
        df = pm4py.read_xes(path)
        timings["read_xes"] = time.perf_counter() - t0
        results["read_xes"] = {"events": len(df), "cases": int(df["case:concept:name"].nunique())}
        print(json.dumps({"timings": timings, "results": results}))
        return

    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    df = pm4py.format_dataframe(
        df, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )
    timings["load"] = time.perf_counter() - t0

    if task in ("report", "dfg"):
        t0 = time.perf_counter()
        dfg, start, end = pm4py.discover_dfg(df)
        timings["dfg"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        performance, _, _ = pm4py.discover_performance_dfg(df)
        timings["performance_dfg"] = time.perf_counter() - t0
        results["dfg"] = {
            "frequency": {_edge(k): int(v) for k, v in dfg.items()},
            "performance": {
                _edge(k): {m: float(v[m]) for m in ("mean", "median", "min", "max", "sum")}
                for k, v in performance.items()
            },
            "start_activities": {k: int(v) for k, v in start.items()},
            "end_activities": {k: int(v) for k, v in end.items()},
        }

    if task in ("report", "variants"):
        from pm4py.statistics.traces.generic.pandas import case_statistics

        t0 = time.perf_counter()
        variants = pm4py.get_variants(df)
        timings["variants"] = time.perf_counter() - t0
        results["variants"] = {",".join(k): {"cases": int(v)} for k, v in variants.items()}
        if task == "variants":
            # pm4py's simplified API has no mean duration per variant; its case statistics
            # give one row per case with variant and duration, which a groupby finishes. Only
            # here: the report script is the (variants without durations), which
            # keeps the report comparison conservative.
            t0 = time.perf_counter()
            per_case = case_statistics.get_variants_df_with_case_duration(df)
            # Under pandas 3 the variant is an Arrow list, which pandas cannot group by.
            key = pc.binary_join(pa.array(per_case["variant"]), ",").to_pandas()
            mean_duration = per_case["caseDuration"].groupby(key.to_numpy()).mean()
            timings["variant_durations"] = time.perf_counter() - t0
            for trace, variant in results["variants"].items():
                variant["mean_duration"] = float(mean_duration[trace])

    if task in ("report", "kpi"):
        t0 = time.perf_counter()
        rework = pm4py.get_rework_cases_per_activity(df)
        timings["rework"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        durations = np.asarray(pm4py.get_all_case_durations(df), dtype=float)
        timings["case_durations"] = time.perf_counter() - t0
        results["rework_cases"] = {k: int(v) for k, v in rework.items()}
        results["case_duration"] = {
            "cases": int(durations.size),
            "mean": float(durations.mean()),
            "median": float(np.median(durations)),
            "min": float(durations.min()),
            "max": float(durations.max()),
        }
        results["events"] = len(df)

    timings["total_in_process"] = sum(timings.values())
    print(json.dumps({"timings": timings, "results": results}))


if __name__ == "__main__":
    main(sys.argv[1:])
