"""Andon's in-process compute for the analytics benchmark: what ``andon mine report`` does,
timed phase by phase after the imports.

``andon mine report`` prints no timings, and its wall clock includes Python, Typer, Ibis
and DuckDB starting up. To hold the engine's compute against the hand-written SQL's (the
issue's 1.25× target), this child imports what the command imports, then times the same
calls the command makes on the same file:

    python -m bench.analytics_andon LOG.parquet [ENGINE]

Prints ``{"timings": {...seconds}}`` on stdout: ``imports`` (Ibis and the DuckDB backend,
as the command loads them), then ``read`` (staging and judging the file, with the
rejection counts), ``order`` (the case-ordered tables), ``report`` (DFG, variants, KPIs
and their JSON document) and ``compute`` (the sum of the last three).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    path = Path(argv[0])
    engine = argv[1] if len(argv) > 1 else "duckdb"
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    import ibis

    from andon.analytics.report import mine_report, prepare
    from andon.analytics.sources import read_log

    ibis.duckdb  # noqa: B018 - the backend's import is part of what the command pays for
    timings["imports"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    loaded = read_log(path, engine=engine, findings=False)  # type: ignore[arg-type]
    timings["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ordered = prepare(loaded.log)
    timings["order"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    document = mine_report(ordered).as_json()
    json.dumps(document)
    timings["report"] = time.perf_counter() - t0

    timings["compute"] = timings["read"] + timings["order"] + timings["report"]
    print(json.dumps({"timings": timings}))


if __name__ == "__main__":
    main(sys.argv[1:])
