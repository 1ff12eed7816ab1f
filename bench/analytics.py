"""Analytics benchmark: `andon mine report` against pm4py and hand-written DuckDB SQL.

Results go to bench/results/analytics.json. For each size of a seeded synthetic
manufacturing log (bench/analytics_logs.py) three separate processes compute the same
results — directly-follows graph with frequency and performance, start and end activities,
variants with counts and mean case duration, rework cases per activity, case durations —
and each is timed from the outside (wall clock, and peak RSS from ``os.wait4``):

- the pm4py script (bench/analytics_pm4py.py): pandas loads the Parquet file, then pm4py;
- hand-written DuckDB SQL (bench/analytics_sql.py), the fastest plain query we could write;
- ``andon mine report LOG --json``, the product.

At one size (1M by default) the single commands ``andon mine dfg --performance``,
``andon mine variants`` and ``andon kpi`` are timed against the same parts of the pm4py
script and the SQL, and ``andon log check`` on the log written as XES against
``pm4py.read_xes``. The results of every implementation are compared (edges, frequencies,
waiting times, variants, rework, case durations) and the comparison is recorded, as are the
ratios against the issue's targets. Nothing is asserted.

    python -m bench.analytics                         # sizes from ANDON_BENCH_ANALYTICS_SIZES
    python -m bench.analytics --only report           # or: single, xes, huge

Knobs (environment): ANDON_BENCH_ANALYTICS_SIZES (``10k,100k,1M,10M``),
ANDON_BENCH_ANALYTICS_PM4PY_MAX (``10M``: no pm4py run above this size),
ANDON_BENCH_ANALYTICS_SINGLE_AT (``1M``: size for the single commands and the XES import),
ANDON_BENCH_ANALYTICS_TIMEOUT (1800 s per child), ANDON_BENCH_ANALYTICS_REPEAT (1: runs
per child, the fastest kept), ANDON_BENCH_ANALYTICS_ENGINE (``duckdb``),
ANDON_BENCH_ANALYTICS_HUGE (``1`` adds the 100M-event case), ANDON_BENCH_ANALYTICS_BYTECODE
(``cache``: children share a warmed bytecode cache; ``none``: the environment as is),
ANDON_BENCH_LOG_DIR (``/tmp/andon-bench-logs``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import analytics_logs as logs

RESULTS = Path(__file__).resolve().parent / "results" / "analytics.json"
PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]

SIZES = [
    logs.parse_size(s)
    for s in os.environ.get("ANDON_BENCH_ANALYTICS_SIZES", "10k,100k,1M,10M").split(",")
]
PM4PY_MAX = logs.parse_size(os.environ.get("ANDON_BENCH_ANALYTICS_PM4PY_MAX", "10M"))
SINGLE_AT = logs.parse_size(os.environ.get("ANDON_BENCH_ANALYTICS_SINGLE_AT", "1M"))
TIMEOUT = float(os.environ.get("ANDON_BENCH_ANALYTICS_TIMEOUT", "1800"))
REPEAT = int(os.environ.get("ANDON_BENCH_ANALYTICS_REPEAT", "1"))
ENGINE = os.environ.get("ANDON_BENCH_ANALYTICS_ENGINE", "duckdb")
HUGE = os.environ.get("ANDON_BENCH_ANALYTICS_HUGE") == "1"
# "cache": children compile their imports once into PYCACHE (warmed before timing), as an
# installed tool would have its bytecode; "none": children inherit the environment as is
# (with PYTHONDONTWRITEBYTECODE set, every run compiles pm4py, pandas and Ibis from source).
BYTECODE = os.environ.get("ANDON_BENCH_ANALYTICS_BYTECODE", "cache")
PYCACHE = Path(os.environ.get("ANDON_BENCH_PYCACHE", tempfile.gettempdir())) / "andon-bench-pycache"
HUGE_EVENTS = 100_000_000
HUGE_FREE_GB = 20.0
HUGE_RSS_LIMIT_MB = 8 * 1024

# The targets: `andon mine report` against the pm4py script, per size.
SPEEDUP_TARGETS = {1_000_000: 5.0, 10_000_000: 8.0}
RSS_SHARE_TARGET = 1 / 3
HAND_WRITTEN_TARGET = 1.25
# Waiting times and durations agree when within 1e-6 s, or 1e-12 relative for the large sums
# (a float64 sum of a million waits of hours is only that precise).
ABS_TOLERANCE = 1e-6
REL_TOLERANCE = 1e-12

CASES = ("report", "single", "xes", "huge")
DEFAULT_CASES = ("report", "single", "xes")

METHOD = {
    "report": (
        "Each size: the seeded log is generated once (cached by size and seed) and read once "
        "to warm the page cache; then three separate processes each load the Parquet file "
        "and compute DFG (frequency and performance), start/end activities, variants with "
        "counts, rework cases per activity and case durations: the pm4py script of the issue "
        "(pandas load + format_dataframe + discover_dfg, discover_performance_dfg, "
        "get_variants, get_rework_cases_per_activity, get_all_case_durations), hand-written "
        "DuckDB SQL, and `andon mine report LOG --json`. Wall clock from spawn to reap and "
        "peak RSS (ru_maxrss from os.wait4) of each process; start-up and imports included."
    ),
    "single": (
        "At one size, the single commands `andon mine dfg --performance`, `andon mine "
        "variants` and `andon kpi` against the pm4py script and the SQL doing only the same "
        "part (dfg + performance dfg + start/end; variants with mean case duration, for "
        "pm4py get_variants plus case_statistics.get_variants_df_with_case_duration and a "
        "groupby; rework + case durations), each a separate process timed the same way."
    ),
    "xes": (
        "The same log written as XES (Andon's writer when present, else bench's streaming "
        "writer); `andon log check LOG.xes --json` against pm4py.read_xes, wall and peak "
        "RSS; bounded memory is the point."
    ),
    "huge": (
        "100M events generated in 1M-event chunks to Parquet (never held in memory); "
        "the SQL (memory_limit 6GB) and `andon mine report` (its default DuckDB limit, a "
        "quarter of RAM) on it, Andon's peak RSS against 8 GB; pm4py only if "
        "ANDON_BENCH_ANALYTICS_PM4PY_MAX allows."
    ),
    "agreement": (
        "Results are compared to pm4py's (else to the SQL's): DFG edges, frequencies, "
        "start/end activities exactly; mean/median/min/max/sum waiting times within 1e-6 s "
        "or 1e-12 relative; variants and their case counts exactly, mean durations within the "
        "same tolerance; rework cases per activity exactly; case count and mean/median/min/"
        "max case duration within tolerance."
    ),
}


# ---------------------------------------------------------------------------------------
# Child processes


@dataclass
class Run:
    """One child process: how long it took, how much memory, and what it printed."""

    argv: list[str]
    wall_seconds: float
    peak_rss_mb: float
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    load_average_before: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def document(self) -> Any:
        """The one JSON document the child printed, or None."""
        if not self.ok:
            return None
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            return None

    def summary(self, *, prints_json: bool = True) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "command": " ".join(Path(a).name if "/" in a else a for a in self.argv),
            "wall_seconds": round(self.wall_seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "load_average_before": self.load_average_before,
        }
        if self.timed_out:
            facts["error"] = f"timed out after {TIMEOUT:.0f} s"
        elif self.returncode != 0:
            tail = self.stderr.strip().splitlines()[-3:]
            facts["error"] = f"exit {self.returncode}: " + " | ".join(tail)
        elif prints_json and self.document() is None:
            facts["error"] = "stdout was not one JSON document: " + self.stdout[:200]
        return facts


# Linux starts a process's peak RSS at the peak of the process it was forked from (exec
# keeps the old high-water mark), so a child spawned straight from this runner, which holds
# numpy and Arrow, could never report less than the runner's own peak. Each child is
# therefore spawned by this small launcher, which times it and reads its rusage.
LAUNCHER = """
import json, os, subprocess, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
child = subprocess.Popen(argv)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as out:
    json.dump({"wall": wall, "maxrss_kib": usage.ru_maxrss, "status": status}, out)
"""


def _child_environment(extra: dict[str, str] | None) -> dict[str, str]:
    environment = {**os.environ, **(extra or {})}
    if BYTECODE == "cache":
        # A cache outside the repository and the venv: nothing of theirs changes.
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        environment["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return environment


def warm_bytecode() -> dict[str, Any]:
    """One untimed run of every child on the 10k log, so timed runs find compiled imports."""
    if BYTECODE != "cache":
        return {"bytecode": "as the environment has it", **_bytecode_environment()}
    small = logs.log_path(10_000)
    t0 = time.perf_counter()
    argvs = [pm4py_argv("report", small), pm4py_argv("variants", small), sql_argv("report", small)]
    argvs += [andon_argv(task, small) for task in ("report", "dfg", "variants", "kpi")]
    argvs.append([ANDON, "log", "check", str(small), "--json"])
    for argv in argvs:
        run_child(argv)
    return {
        "bytecode": f"cached in {PYCACHE} (PYTHONPYCACHEPREFIX), warmed by one untimed run "
        "of each child on the 10k log",
        "warm_up_seconds": round(time.perf_counter() - t0, 1),
        **_bytecode_environment(),
    }


def _bytecode_environment() -> dict[str, Any]:
    return {
        "PYTHONDONTWRITEBYTECODE_in_environment": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    }


def run_child(argv: list[str], *, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to completion (or ``TIMEOUT``); wall clock and peak RSS of that child."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "rusage.json"
        load = round(os.getloadavg()[0], 2)
        launcher = subprocess.Popen(
            [PYTHON, "-c", LAUNCHER, str(report), *argv],
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=_child_environment(env),
            start_new_session=True,  # a timeout kills the launcher and the child together
        )
        try:
            launcher.wait(timeout=TIMEOUT)
            timed_out = False
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
            timed_out = True
        measured = json.loads(report.read_text()) if report.exists() else {}
        out.seek(0)
        err.seek(0)
        status = measured.get("status")
        return Run(
            argv=argv,
            wall_seconds=measured.get("wall", math.nan),
            peak_rss_mb=measured.get("maxrss_kib", math.nan) / 1024,  # KiB on Linux
            returncode=None if status is None else os.waitstatus_to_exitcode(status),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out,
            load_average_before=load,
        )


def best_of(argv: list[str], *, env: dict[str, str] | None = None) -> tuple[Run, list[float]]:
    """``REPEAT`` runs; the fastest successful one, and every wall time."""
    runs = [run_child(argv, env=env) for _ in range(max(1, REPEAT))]
    good = [r for r in runs if r.ok] or runs
    return min(good, key=lambda r: r.wall_seconds), [round(r.wall_seconds, 3) for r in runs]


ANDON = str(Path(sys.executable).with_name("andon"))


def andon_in_process(path: Path) -> dict[str, float] | None:
    """Andon's phases timed in process (the fastest of ``REPEAT`` runs), or None."""
    runs = [
        run_child([PYTHON, "-m", "bench.analytics_andon", str(path)]) for _ in range(max(1, REPEAT))
    ]
    timings = [doc["timings"] for r in runs if r.ok and (doc := r.document()) is not None]
    if not timings:
        return None
    best = min(timings, key=lambda t: float(t["compute"]))
    return {k: round(float(v), 3) for k, v in best.items()}


def pm4py_argv(task: str, path: Path) -> list[str]:
    return [PYTHON, "-m", "bench.analytics_pm4py", task, str(path)]


def sql_argv(task: str, path: Path) -> list[str]:
    return [PYTHON, "-m", "bench.analytics_sql", task, str(path)]


ANDON_COMMANDS = {
    "report": ["mine", "report"],
    "dfg": ["mine", "dfg", "--performance"],
    "variants": ["mine", "variants"],
    "kpi": ["kpi"],
    "check": ["log", "check"],
    "convert": ["log", "convert"],
}


def andon_argv(task: str, path: Path) -> list[str]:
    return [ANDON, *ANDON_COMMANDS[task], str(path), "--json", "--engine", ENGINE]


_missing: dict[str, str | None] = {}


def andon_missing(task: str) -> str | None:
    """Why the andon command for ``task`` cannot run yet (not registered), or None."""
    if task not in _missing:
        probe = run_child([ANDON, *ANDON_COMMANDS[task], "--help"])
        if probe.returncode == 0:
            _missing[task] = None
        else:
            # Typer draws its usage errors in a box; keep the words.
            words = (line.strip(" │╭╮╰╯─") for line in probe.stderr.splitlines())
            tail = " ".join(w for w in words if w and not w.startswith(("Usage:", "Try ")))
            _missing[task] = f"missing: `andon {' '.join(ANDON_COMMANDS[task])}` ({tail})"
    return _missing[task]


# ---------------------------------------------------------------------------------------
# Results in one shape, and their comparison


def from_andon(task: str, document: Any) -> dict[str, Any]:
    """Andon's JSON (the CLI contract of issue 5) in the shape the scripts print."""
    if task == "report":
        merged: dict[str, Any] = {}
        for part in ("dfg", "variants", "kpi"):
            merged.update(from_andon(part, document[part]))
        return merged
    if task == "dfg":
        edges = document["edges"]
        return {
            "dfg": {
                "frequency": {f"{e['source']} -> {e['target']}": e["frequency"] for e in edges},
                "performance": {
                    f"{e['source']} -> {e['target']}": e["performance"]
                    for e in edges
                    if "performance" in e
                },
                "start_activities": document["start_activities"],
                "end_activities": document["end_activities"],
            }
        }
    if task == "variants":
        return {
            "variants": {
                ",".join(v["activities"]): {
                    "cases": v["cases"],
                    "mean_duration": v["mean_duration"],
                }
                for v in document["variants"]
            }
        }
    if task == "kpi":
        duration = document["case_duration"]
        return {
            "case_duration": {"cases": document["cases"], **duration},
            "rework_cases": document["rework_cases"],
            "events": document["events"],
        }
    raise ValueError(task)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= max(ABS_TOLERANCE, REL_TOLERANCE * max(abs(a), abs(b)))


def compare(mine: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """What agrees between two result sets (only the parts both computed)."""
    differences: list[str] = []
    facts: dict[str, Any] = {}
    if "dfg" in mine and "dfg" in reference:
        a, b = mine["dfg"], reference["dfg"]
        facts["edges"] = [len(a["frequency"]), len(b["frequency"])]
        facts["total_frequency"] = [sum(a["frequency"].values()), sum(b["frequency"].values())]
        for key in ("frequency", "start_activities", "end_activities"):
            if a[key] != b[key]:
                differences.append(f"dfg {key} differ")
        worst = 0.0
        for edge, theirs in b["performance"].items():
            ours = a["performance"].get(edge)
            if ours is None:
                differences.append(f"performance of {edge} missing")
                continue
            for measure in ("mean", "median", "min", "max", "sum"):
                worst = max(worst, abs(ours[measure] - theirs[measure]))
                if not _close(ours[measure], theirs[measure]):
                    differences.append(f"{measure} of {edge}: {ours[measure]} vs {theirs[measure]}")
        facts["performance_max_abs_difference_seconds"] = worst
    if "variants" in mine and "variants" in reference:
        a, b = mine["variants"], reference["variants"]
        facts["variants"] = [len(a), len(b)]
        facts["variant_cases"] = [
            sum(v["cases"] for v in a.values()),
            sum(v["cases"] for v in b.values()),
        ]
        if {k: v["cases"] for k, v in a.items()} != {k: v["cases"] for k, v in b.items()}:
            differences.append("variants or their case counts differ")
        both = [
            (a[k]["mean_duration"], v["mean_duration"])
            for k, v in b.items()
            if k in a and "mean_duration" in a[k] and "mean_duration" in v
        ]
        if both:
            worst = max(abs(x - y) for x, y in both)
            facts["variant_duration_max_abs_difference_seconds"] = worst
            if not all(_close(x, y) for x, y in both):
                differences.append("variant mean durations differ")
    if "rework_cases" in mine and "rework_cases" in reference:
        facts["rework_cases"] = [mine["rework_cases"], reference["rework_cases"]]
        if mine["rework_cases"] != reference["rework_cases"]:
            differences.append("rework cases per activity differ")
    if "case_duration" in mine and "case_duration" in reference:
        a, b = mine["case_duration"], reference["case_duration"]
        facts["cases"] = [a["cases"], b["cases"]]
        if a["cases"] != b["cases"]:
            differences.append("case counts differ")
        for measure in ("mean", "median", "min", "max"):
            if not _close(a[measure], b[measure]):
                differences.append(f"case duration {measure}: {a[measure]} vs {b[measure]}")
    return {"agree": not differences, "differences": differences[:20], **facts}


# ---------------------------------------------------------------------------------------
# Cases


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _warm(path: Path) -> None:
    """Read the file once so every timed child finds it in the page cache."""
    with path.open("rb") as stream:
        while stream.read(1 << 24):
            pass


def _log(events: int) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    cached = (logs.CACHE / f"manufacturing-{logs.label(events)}-seed{logs.SEED}.parquet").exists()
    path = logs.log_path(events)
    facts = {
        "events": events,
        "log": str(path),
        "log_mb": round(path.stat().st_size / 2**20, 1),
        "generated_seconds": None if cached else round(time.perf_counter() - t0, 2),
    }
    _warm(path)
    return path, facts


def compare_three(
    task: str,
    path: Path,
    *,
    with_pm4py: bool,
    sql_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """pm4py, SQL and andon on one task; their runs, agreement and ratios."""
    out: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    runs: dict[str, Run] = {}
    argvs = {"sql": sql_argv(task, path)}
    if with_pm4py:
        argvs = {"pm4py": pm4py_argv(task, path), **argvs}
    else:
        out["pm4py"] = {"skipped": "above ANDON_BENCH_ANALYTICS_PM4PY_MAX"}
    for name, argv in argvs.items():
        run, walls = best_of(argv, env=sql_env if name == "sql" else None)
        runs[name] = run
        out[name] = {**run.summary(), "walls": walls}
        if (document := run.document()) is not None:
            out[name]["in_process_seconds"] = {
                k: round(v, 3) for k, v in document["timings"].items()
            }
            results[name] = document["results"]
    if reason := andon_missing(task):
        out["andon"] = {"skipped": reason}
    else:
        run, walls = best_of(andon_argv(task, path))
        runs["andon"] = run
        out["andon"] = {**run.summary(), "walls": walls}
        if (document := run.document()) is not None:
            try:
                results["andon"] = from_andon(task, document)
            except (KeyError, TypeError) as exc:
                out["andon"]["error"] = f"JSON not in the documented shape: missing {exc}"
        if task == "report" and ENGINE == "duckdb":
            out["andon"]["in_process_seconds"] = andon_in_process(path)

    reference = "pm4py" if "pm4py" in results else "sql"
    out["agreement"] = {
        f"{name}_vs_{reference}": compare(results[name], results[reference])
        for name in results
        if name != reference
    }
    out["agreement"]["reference"] = reference

    def wall(name: str) -> float | None:
        return runs[name].wall_seconds if name in runs and runs[name].ok else None

    def rss(name: str) -> float | None:
        return runs[name].peak_rss_mb if name in runs and runs[name].ok else None

    andon_wall = wall("andon")
    sql_compute = out["sql"].get("in_process_seconds", {})
    sql_seconds = (
        round(sql_compute["total_in_process"] - sql_compute["import_duckdb"], 3)
        if sql_compute
        else None
    )
    measured = out.get("andon", {}).get("in_process_seconds", {}).get("compute")
    if measured is not None:
        # Timed inside a process that made the same calls after the same imports.
        andon_compute, how = measured, "measured in process (bench/analytics_andon.py)"
    else:
        # Otherwise estimated as the wall clock less the CLI's start-up (`andon --version`),
        # which leaves Ibis's import inside it.
        andon_compute = andon_wall - start_up()["wall_seconds"] if andon_wall else None
        how = "estimated: wall clock less `andon --version`"
    out["ratios"] = {
        "pm4py_wall_over_andon_wall": _ratio(wall("pm4py"), wall("andon")),
        "andon_rss_over_pm4py_rss": _ratio(rss("andon"), rss("pm4py")),
        "andon_wall_over_sql_wall": _ratio(wall("andon"), wall("sql")),
        "sql_wall_over_pm4py_wall": _ratio(wall("sql"), wall("pm4py")),
        "sql_compute_seconds": sql_seconds,
        "andon_compute_seconds": None if andon_compute is None else round(andon_compute, 3),
        "andon_compute_how": how,
        "andon_compute_over_sql_compute": _ratio(andon_compute, sql_seconds),
    }
    return out


def _verdicts(events: int, ratios: dict[str, Any]) -> dict[str, Any]:
    target = SPEEDUP_TARGETS.get(events)
    speedup = ratios["pm4py_wall_over_andon_wall"]
    share = ratios["andon_rss_over_pm4py_rss"]
    hand = ratios["andon_wall_over_sql_wall"]
    compute = ratios["andon_compute_over_sql_compute"]
    return {
        "speedup_target": target,
        "speedup_met": None if target is None or speedup is None else speedup >= target,
        "rss_share_target": round(RSS_SHARE_TARGET, 3) if target else None,
        "rss_share_met": None if target is None or share is None else share <= RSS_SHARE_TARGET,
        "hand_written_target": HAND_WRITTEN_TARGET,
        "hand_written_met_by_wall": None if hand is None else hand <= HAND_WRITTEN_TARGET,
        "hand_written_met_by_compute": None if compute is None else compute <= HAND_WRITTEN_TARGET,
    }


def report_case() -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for events in SIZES:
        path, facts = _log(events)
        print(f"analytics report: {logs.label(events)} events", file=sys.stderr, flush=True)
        outcome = compare_three("report", path, with_pm4py=events <= PM4PY_MAX)
        outcome["targets"] = _verdicts(events, outcome["ratios"])
        sizes[logs.label(events)] = {**facts, **outcome}
    return sizes


def single_case() -> dict[str, Any]:
    path, facts = _log(SINGLE_AT)
    out: dict[str, Any] = {**facts}
    for task in ("dfg", "variants", "kpi"):
        print(f"analytics single: {task}", file=sys.stderr, flush=True)
        out[task] = compare_three(task, path, with_pm4py=SINGLE_AT <= PM4PY_MAX)
    return out


def xes_case() -> dict[str, Any]:
    path, facts = _log(SINGLE_AT)
    xes, written = _xes_copy(path)
    out: dict[str, Any] = {
        **facts,
        "xes": str(xes),
        "xes_mb": round(xes.stat().st_size / 2**20, 1),
        **written,
    }
    _warm(xes)
    print("analytics xes import", file=sys.stderr, flush=True)
    pm4py_run, walls = best_of(pm4py_argv("read-xes", xes))
    out["pm4py_read_xes"] = {**pm4py_run.summary(), "walls": walls}
    if (document := pm4py_run.document()) is not None:
        out["pm4py_read_xes"]["result"] = document["results"]["read_xes"]
        out["pm4py_read_xes"]["in_process_seconds"] = document["timings"]
    if reason := andon_missing("check"):
        out["andon_log_check"] = {"skipped": reason}
        return out
    run, walls = best_of([ANDON, "log", "check", str(xes), "--json"])
    out["andon_log_check"] = {**run.summary(), "walls": walls}
    if (document := run.document()) is not None:
        out["andon_log_check"]["result"] = {
            k: document.get(k) for k in ("rows_read", "rows_rejected", "cases", "events")
        }
    if run.ok and pm4py_run.ok:
        out["ratios"] = {
            "pm4py_wall_over_andon_wall": _ratio(pm4py_run.wall_seconds, run.wall_seconds),
            "andon_rss_over_pm4py_rss": _ratio(run.peak_rss_mb, pm4py_run.peak_rss_mb),
        }
    return out


def _xes_copy(parquet: Path) -> tuple[Path, dict[str, Any]]:
    """The log as XES: written by `andon log convert` as a user would, else by bench's writer.

    Each writer's output is cached under its own name, so a figure always says whose XES it
    read.
    """
    stem = parquet.with_suffix("")
    andon_xes, bench_xes = stem.with_suffix(".andon.xes"), stem.with_suffix(".xes")
    for xes, writer in ((andon_xes, "andon log convert"), (bench_xes, "bench")):
        if xes.exists():
            return xes, {"written_by": writer, "write": "cached"}
    if andon_missing("convert") is None:
        run = run_child([ANDON, "log", "convert", str(parquet), str(andon_xes)])
        if run.ok and andon_xes.exists():
            return andon_xes, {
                "written_by": "andon log convert",
                "write": run.summary(prints_json=False),
            }
        failure = run.summary(prints_json=False)
    else:
        failure = {"error": andon_missing("convert")}
    t0 = time.perf_counter()
    logs.write_xes(parquet, bench_xes)
    return bench_xes, {
        "written_by": "bench (andon log convert failed)",
        "andon_convert": failure,
        "write": {"wall_seconds": round(time.perf_counter() - t0, 2)},
    }


def huge_case() -> dict[str, Any]:
    free = logs.free_gb(logs.CACHE)
    target = logs.CACHE / f"manufacturing-{logs.label(HUGE_EVENTS)}-seed{logs.SEED}.parquet"
    if not target.exists() and free < HUGE_FREE_GB:
        return {
            "refused": f"{free:.1f} GB free under {logs.CACHE}; the 100M case needs "
            f"{HUGE_FREE_GB:.0f} GB"
        }
    path, facts = _log(HUGE_EVENTS)
    outcome = compare_three(
        "report",
        path,
        with_pm4py=HUGE_EVENTS <= PM4PY_MAX,
        sql_env={"ANDON_BENCH_DUCKDB_MEMORY_LIMIT": "6GB"},
    )
    andon = outcome.get("andon", {})
    outcome["rss_limit_mb"] = HUGE_RSS_LIMIT_MB
    if "peak_rss_mb" in andon and "error" not in andon:
        outcome["andon_within_rss_limit"] = andon["peak_rss_mb"] <= HUGE_RSS_LIMIT_MB
    return {**facts, **outcome}


# ---------------------------------------------------------------------------------------
# Machine facts and the run


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            p: _version(p)
            for p in ("andon", "pm4py", "duckdb", "ibis-framework", "pandas", "pyarrow")
        },
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "busiest_other_processes_at_start": _busiest(),
    }


def _busiest(limit: int = 5) -> list[str]:
    """The processes using most CPU when the run starts: what else shares the machine."""
    with suppress(OSError, subprocess.SubprocessError):
        listing = subprocess.run(
            ["ps", "-eo", "pcpu,rss,comm", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()
        return [" ".join(line.split()) for line in listing[:limit]]
    return []


_start_up: dict[str, Any] = {}


def start_up() -> dict[str, Any]:
    """Wall clock of ``andon --version`` (best of 3): the CLI's fixed cost in every figure."""
    if not _start_up:
        runs = [run_child([ANDON, "--version"]) for _ in range(3)]
        fastest = min(runs, key=lambda r: r.wall_seconds)
        _start_up.update(fastest.summary(prints_json=False))
        _start_up["walls"] = [round(r.wall_seconds, 3) for r in runs]
    return _start_up


def run(only: tuple[str, ...] = DEFAULT_CASES) -> dict[str, Any]:
    """Run the chosen cases and write them into RESULTS.

    A partial run (``--only huge``) replaces only its own cases in an existing file; each
    case carries the start of the run that measured it, and ``runs`` keeps each run's
    machine load, knobs and start-up figures.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    this_run: dict[str, Any] = {
        "started_at": started_at,
        "cases": list(only),
        "engine": ENGINE,
        "knobs": {
            "sizes": [logs.label(s) for s in SIZES],
            "pm4py_max": logs.label(PM4PY_MAX),
            "single_at": logs.label(SINGLE_AT),
            "timeout_seconds": TIMEOUT,
            "repeat": REPEAT,
        },
        "machine": machine(),
        "python_bytecode": warm_bytecode(),
        "andon_start_up": start_up(),
    }
    measured: dict[str, Any] = {}
    if "report" in only:
        measured["report"] = report_case()
    if "single" in only:
        measured["single_commands"] = single_case()
    if "xes" in only:
        measured["xes_import"] = xes_case()
    if "huge" in only:
        measured["huge"] = huge_case()
    for case in measured.values():
        case["run_started_at"] = started_at
    this_run["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    this_run["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    previous: dict[str, Any] = {}
    with suppress(OSError, json.JSONDecodeError):
        previous = json.loads(RESULTS.read_text())
    results = {
        **previous,
        "benchmark": "analytics: andon mine report against pm4py and hand-written DuckDB SQL",
        "method": {**previous.get("method", {}), **{k: METHOD[k] for k in (*only, "agreement")}},
        **measured,
        "runs": [*previous.get("runs", []), this_run][-5:],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


def table(results: dict[str, Any]) -> str:
    """The headline figures, one line per size, for the terminal."""
    lines = ["size   pm4py s  pm4py MB   sql s  sql MB  andon s  andon MB  speed-up  RSS share"]
    for size, row in results.get("report", {}).items():
        if not isinstance(row, dict):
            continue  # run_started_at
        cells = []
        for name in ("pm4py", "sql", "andon"):
            part = row.get(name, {})
            cells.append(f"{part.get('wall_seconds', math.nan):7.2f}")
            cells.append(f"{part.get('peak_rss_mb', math.nan):8.0f}")
        ratios = row["ratios"]
        speed = ratios["pm4py_wall_over_andon_wall"]
        share = ratios["andon_rss_over_pm4py_rss"]
        lines.append(
            f"{size:<5} " + " ".join(cells) + f"  {speed if speed is not None else '-':>8}"
            f"  {share if share is not None else '-':>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analytics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", action="append", choices=CASES, help="run only this case")
    args = parser.parse_args(argv)
    cases = tuple(args.only or DEFAULT_CASES)
    results = run((*cases, "huge") if HUGE and "huge" not in cases else cases)
    print(json.dumps(results, indent=2))
    print(table(results), file=sys.stderr)


if __name__ == "__main__":
    main()
