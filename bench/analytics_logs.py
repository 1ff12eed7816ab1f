"""Seeded synthetic manufacturing event logs for the analytics benchmark, as Parquet and XES.

A work order (case ``WO-0000123``) follows a fixed route of ten stages:

    Intake → Plan → Kit → Assemble → Test → Inspect → (Rework → Inspect)* → Pack → Label → Ship

with skips (5% skip Plan, 10% Test, 8% Label), rework loops after Inspect (about 10% of
orders, up to three loops), and 3% of orders still open at the end of the log (cut after a
random stage). Each stage takes a lognormal amount of *working* time (its own median, σ 0.8,
at least one second, so no two events of a case share a timestamp); working time runs only
in two shifts, 06:00–22:00 UTC Monday to Friday, so events cluster in shifts and orders wait
over nights and weekends. Orders arrive uniformly over one working year (2024) whatever the
size, so a bigger log is a busier plant, not a longer one.

Generation is vectorised with numpy, one chunk of about a million events at a time written
through ``pyarrow.parquet.ParquetWriter``; rows are sorted by timestamp within a chunk, as an
MES export in daily batches would be. Files are cached under ``/tmp/andon-bench-logs/``
keyed by size and seed, so reruns are cheap.

    python -m bench.analytics_logs 1M            # writes (or finds) the 1M-event Parquet log
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# A cache of generated inputs only; nothing there is trusted beyond being a benchmark log.
CACHE = Path(os.environ.get("ANDON_BENCH_LOG_DIR", "/tmp/andon-bench-logs"))  # noqa: S108
SEED = 20240101
CHUNK_EVENTS = 1_000_000

# The route as slots: every order has the same 15 slots, and a per-order mask says which
# it visits. Three rework loops is the cap.
STAGES = (
    "Intake", "Plan", "Kit", "Assemble", "Test", "Inspect",
    "Rework", "Inspect", "Rework", "Inspect", "Rework", "Inspect",
    "Pack", "Label", "Ship",
)  # fmt: skip
ACTIVITIES = (
    "Intake",
    "Plan",
    "Kit",
    "Assemble",
    "Test",
    "Inspect",
    "Rework",
    "Pack",
    "Label",
    "Ship",
)
SLOT_ACTIVITY = np.array([ACTIVITIES.index(s) for s in STAGES], dtype=np.int32)
# Median working minutes each stage takes, from the end of the previous event.
MEDIAN_MINUTES = {
    "Intake": 10, "Plan": 120, "Kit": 60, "Assemble": 240, "Test": 45,
    "Inspect": 30, "Rework": 180, "Pack": 20, "Label": 5, "Ship": 480,
}  # fmt: skip
STAGE_MEDIAN_SECONDS = np.array([MEDIAN_MINUTES[s] * 60.0 for s in STAGES])
SIGMA = 0.8
# Resources per stage (operators or stations named by stage: "Assemble-07").
POOL = {"Intake": 3, "Plan": 2, "Kit": 6, "Assemble": 12, "Test": 4, "Inspect": 5,
        "Rework": 4, "Pack": 6, "Label": 2, "Ship": 3}  # fmt: skip
LINES = ("L1", "L2", "L3", "L4")
PRODUCTS = ("PH-100", "PH-200", "VX-310", "VX-320", "GB-550")

SHIFT_START = 6 * 3600
SHIFT_SECONDS = 16 * 3600  # two shifts, 06:00-22:00
WORK_DAYS = 5
WORK_WEEK = WORK_DAYS * SHIFT_SECONDS
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
WORKING_YEAR = 50 * WORK_WEEK

SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("activity", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("resource", pa.string()),
        ("line", pa.string()),
        ("product", pa.string()),
    ]
)


def parse_size(text: str) -> int:
    """``10k``, ``1M``, ``100M`` or a plain number of events."""
    text = text.strip()
    scale = {"k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(float(number) * scale)


def label(events: int) -> str:
    """The short name of a size: 1000000 → ``1M``."""
    for suffix, scale in (("M", 1_000_000), ("k", 1_000)):
        if events >= scale and events % scale == 0:
            return f"{events // scale}{suffix}"
    return str(events)


def _route_mask(rng: np.random.Generator, cases: int) -> np.ndarray:
    """Which of the 15 slots each order visits: a (cases, 15) boolean matrix."""
    mask = np.ones((cases, len(STAGES)), dtype=bool)
    mask[:, 1] = rng.random(cases) >= 0.05  # Plan skipped
    mask[:, 4] = rng.random(cases) >= 0.10  # Test skipped
    mask[:, 13] = rng.random(cases) >= 0.08  # Label skipped
    loops = rng.choice(4, size=cases, p=[0.90, 0.08, 0.015, 0.005])
    for loop in range(3):
        mask[:, 6 + 2 * loop] = loops > loop
        mask[:, 7 + 2 * loop] = loops > loop
    # Open orders: keep only the first `kept` visited slots.
    open_orders = rng.random(cases) < 0.03
    visited = mask.sum(axis=1)
    kept = np.where(open_orders, rng.integers(1, np.maximum(visited, 2)), visited)
    mask &= np.cumsum(mask, axis=1) <= kept[:, None]
    return mask


def _wall_clock_us(working_seconds: np.ndarray) -> np.ndarray:
    """Working seconds since the epoch's first shift → UTC microseconds since 1970."""
    week, in_week = np.divmod(working_seconds, WORK_WEEK)
    day, in_day = np.divmod(in_week, SHIFT_SECONDS)
    seconds = week * 7 * 86400 + day * 86400 + SHIFT_START + in_day
    base = int(EPOCH.timestamp()) * 1_000_000
    micros: np.ndarray = base + np.round(seconds * 1_000_000).astype(np.int64)
    return micros


def _strings(values: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, type=pa.string()), pa.array(index))


def generate_chunk(
    rng: np.random.Generator, first_case: int, cases: int, window: tuple[float, float], width: int
) -> pa.Table:
    """``cases`` orders numbered from ``first_case``, arriving within ``window`` (working s)."""
    mask = _route_mask(rng, cases)
    case_of, slot = np.nonzero(mask)  # row-major: events grouped by order, in route order
    arrival = np.sort(rng.uniform(window[0], window[1], size=cases))
    took = np.maximum(1.0, STAGE_MEDIAN_SECONDS[slot] * rng.lognormal(0.0, SIGMA, size=slot.size))
    # Time since arrival: a running sum restarted at each order's first event.
    running = np.cumsum(took)
    starts = np.flatnonzero(np.r_[True, case_of[1:] != case_of[:-1]])
    before = np.r_[0.0, running[starts[1:] - 1]]
    per_event_before = np.repeat(before, np.diff(np.r_[starts, case_of.size]))
    at = _wall_clock_us(arrival[case_of] + running - per_event_before)

    activity = SLOT_ACTIVITY[slot]
    pool = np.array([POOL[a] for a in ACTIVITIES])
    member = (rng.random(slot.size) * pool[activity]).astype(np.int32)
    resource_names = [f"{a}-{k + 1:02d}" for a in ACTIVITIES for k in range(max(POOL.values()))]
    resource = activity * max(POOL.values()) + member
    numbers = np.arange(first_case, first_case + cases)
    case_names = np.char.add("WO-", np.char.zfill(numbers.astype(str), width)).tolist()
    line = rng.integers(0, len(LINES), size=cases)
    product = rng.integers(0, len(PRODUCTS), size=cases)

    order = np.argsort(at, kind="stable")
    case_of, activity, resource, at = case_of[order], activity[order], resource[order], at[order]
    return pa.table(
        [
            _strings(case_names, case_of),
            _strings(ACTIVITIES, activity),
            pa.array(at, type=pa.timestamp("us", tz="UTC")),
            _strings(resource_names, resource),
            _strings(LINES, line[case_of]),
            _strings(PRODUCTS, product[case_of]),
        ],
        schema=SCHEMA,
    )


def _mean_events_per_case(rng: np.random.Generator) -> float:
    return float(_route_mask(rng, 100_000).sum(axis=1).mean())


def write_log(events: int, path: Path, seed: int = SEED) -> None:
    """Write a log of exactly ``events`` events to ``path`` (Parquet), one chunk at a time.

    The last order may be cut short to hit the size exactly (it then reads as an open order).
    """
    per_case = _mean_events_per_case(np.random.default_rng(seed))
    cases_total = math.ceil(events / per_case)
    width = max(7, len(str(cases_total * 2)))
    chunks = max(1, math.ceil(events / CHUNK_EVENTS))
    tmp = path.with_suffix(".tmp")
    written = 0
    next_case = 1
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        for chunk, child in enumerate(np.random.SeedSequence(seed).spawn(chunks)):
            rng = np.random.default_rng(child)
            wanted = min(CHUNK_EVENTS, events - written) if chunk < chunks - 1 else events - written
            cases = max(1, math.ceil(wanted / per_case * 1.05))
            window = (WORKING_YEAR * chunk / chunks, WORKING_YEAR * (chunk + 1) / chunks)
            table = generate_chunk(rng, next_case, cases, window, width)
            if table.num_rows > wanted:
                # Drop whole orders from the end of the arrival order, then cut the last one.
                table = _first_events_of_orders(table, wanted)
            next_case += cases
            writer.write_table(table, row_group_size=256 * 1024)
            written += table.num_rows
    if written != events:
        tmp.unlink()
        raise RuntimeError(f"generated {written} events, wanted {events}")
    tmp.replace(path)


def _first_events_of_orders(table: pa.Table, wanted: int) -> pa.Table:
    """Keep the orders that arrived first, exactly ``wanted`` events, in timestamp order."""
    # Case ids are zero-padded, so their string order is arrival order.
    by_case = pc.sort_indices(
        table, sort_keys=[("case_id", "ascending"), ("timestamp", "ascending")]
    )
    keep = by_case[:wanted]
    kept = table.take(keep)
    return kept.take(pc.sort_indices(kept, sort_keys=[("timestamp", "ascending")]))


def log_path(events: int, seed: int = SEED) -> Path:
    """The cached Parquet log of this size and seed, generated if missing."""
    path = CACHE / f"manufacturing-{label(events)}-seed{seed}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        write_log(events, path, seed)
    return path


def free_gb(path: Path) -> float:
    """Free disk space under ``path`` in GB (its nearest existing parent)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free / 2**30


def write_xes(parquet: Path, path: Path, *, batch_rows: int = 200_000) -> None:
    """Stream a Parquet log to XES (gzip if ``path`` ends in .gz), a batch at a time.

    XES groups events by trace, so the rows are first sorted by case (DuckDB spills to disk if
    it must); the writer then holds one batch of rows at a time.
    """
    import duckdb

    tmp = path.with_name(path.name + ".tmp")
    opener = gzip.open if path.suffix == ".gz" else open
    con = duckdb.connect()
    reader = con.sql(
        "SELECT case_id, activity, "
        "strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') || '+00:00' AS ts, "
        "resource, line, product "
        "FROM read_parquet(?, file_row_number = true) ORDER BY case_id, timestamp, file_row_number",
        params=[str(parquet)],
    ).to_arrow_reader(batch_rows)
    current: str | None = None
    with opener(tmp, "wt", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<log xes.version="1849-2016" xes.features="nested-attributes">\n')
        out.write(
            '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        )
        out.write(
            '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
        )
        out.write(
            '  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
        )
        for batch in reader:
            columns = batch.to_pydict()
            lines: list[str] = []
            for case, activity, ts, resource, line, product in zip(
                columns["case_id"], columns["activity"], columns["ts"],
                columns["resource"], columns["line"], columns["product"], strict=True,
            ):  # fmt: skip
                if case != current:
                    if current is not None:
                        lines.append("  </trace>\n")
                    lines.append(
                        f'  <trace>\n    <string key="concept:name" value={quoteattr(case)}/>\n'
                        f'    <string key="line" value={quoteattr(line)}/>\n'
                        f'    <string key="product" value={quoteattr(product)}/>\n'
                    )
                    current = case
                lines.append(
                    f'    <event>\n      <string key="concept:name" value={quoteattr(activity)}/>\n'
                    f'      <string key="org:resource" value={quoteattr(resource)}/>\n'
                    f'      <date key="time:timestamp" value="{ts}"/>\n    </event>\n'
                )
            out.write("".join(lines))
        if current is not None:
            out.write("  </trace>\n")
        out.write("</log>\n")
    con.close()
    tmp.replace(path)


def xes_path(events: int, seed: int = SEED) -> Path:
    """The cached XES copy of the Parquet log of this size, written if missing."""
    path = CACHE / f"manufacturing-{label(events)}-seed{seed}.xes"
    if not path.exists():
        write_xes(log_path(events, seed), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_logs", description=__doc__)
    parser.add_argument("size", help="events: 10k, 100k, 1M, 10M, 100M or a number")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--xes", action="store_true", help="also write the XES copy")
    args = parser.parse_args()
    events = parse_size(args.size)
    print(log_path(events, args.seed))
    if args.xes:
        print(xes_path(events, args.seed))


if __name__ == "__main__":
    main()
