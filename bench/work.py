"""Work-engine benchmarks: item moves through the HTTP API, and the SLA sweep over 1M items.

Results go to bench/results/work.json. Everything runs on PostgreSQL scratch databases that
are dropped afterwards (the optional SQLite sweep on a temporary file); figures are whatever
the machine running `make bench` gives, and nothing is asserted. docs/benchmarks.md says
what each figure means.

    python -m bench.work                     # transitions, profile, sweep
    python -m bench.work --only transitions  # or: --only profile, --only sweep
    python -m bench.work --only sqlite-sweep # the sweep on SQLite (not in `make bench`)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from itertools import pairwise, product
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psycopg
import yaml
from sqlalchemy import and_, event, select, update
from sqlalchemy.dialects import postgresql

from andon.accounts import service as accounts
from andon.accounts.schemas import GrantIn, TokenCreate, UserCreate
from andon.core import migrations
from andon.core.database import Database, create_db_engine
from andon.core.permissions import Role, system_actor
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from andon.processes.service import publish
from andon.processes.spec import ProcessSpec, parse_spec
from andon.work.items import create_item
from andon.work.models import Escalation, WorkItem
from andon.work.schemas import ItemCreate
from andon.work.sweep import sweep_slas
from bench import _pg

RESULTS = Path(__file__).resolve().parent / "results" / "work.json"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


# Transitions through the API.
# Server configurations, "<server processes>x<client connections>": throughput with enough
# connections to keep every process busy, then latency at a light load.
_RUNS = os.environ.get("ANDON_BENCH_RUNS", "1x24,2x24,3x24,2x4")
RUNS = tuple((int(w), int(c)) for w, c in (run.split("x") for run in _RUNS.split(",")))
# Rounds of all configurations, interleaved, so a slow minute of a shared VM does not land on
# one configuration only; the summary gives each configuration's median.
REPEATS = _env_int("ANDON_BENCH_REPEATS", 3)
# Each item makes 4 moves; a 14 s run at ~600/s takes ~2,100 items.
ITEMS = _env_int("ANDON_BENCH_ITEMS", 2200 * len(RUNS) * REPEATS)
# Issue 4's target for moves through the HTTP API on PostgreSQL.
TARGET = {"transitions_per_second": 500.0, "p99_ms": 100.0}
CLIENT_PROCESSES = _env_int("ANDON_BENCH_CLIENT_PROCESSES", 2)
WARMUP_SECONDS = _env_float("ANDON_BENCH_WARMUP_SECONDS", 4)
MEASURE_SECONDS = _env_float("ANDON_BENCH_MEASURE_SECONDS", 10)
PROFILE_MOVES = _env_int("ANDON_BENCH_PROFILE_MOVES", 200)
# The moves an item can make without a checklist: it stops at inspect, whose exit is gated.
PATH = ("plan", "kit", "assemble", "inspect")

# The sweep.
SWEEP_ITEMS = _env_int("ANDON_BENCH_SWEEP_ITEMS", 1_000_000)
PAST_DUE_SHARE = _env_float("ANDON_BENCH_PAST_DUE_SHARE", 0.001)
SQLITE_SWEEP_ITEMS = _env_int("ANDON_BENCH_SQLITE_SWEEP_ITEMS", 1_000_000)
HORIZON = timedelta(days=21)


# ---------------------------------------------------------------------------------------
# The plant every benchmark works in


@dataclass(frozen=True)
class Floor:
    """One site on a 24/7 calendar with one line, the assembly process, and three leads."""

    site_id: int
    area_id: int
    line_id: int
    spec: ProcessSpec
    supervisor_token: str


def assembly_document() -> dict[str, Any]:
    text = resources.files("andon.demo").joinpath("assembly.yaml").read_text()
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def build_floor(ctx: Context) -> Floor:
    """The plant through the service functions, as an administrator would set it up.

    No shifts are set, so the site's calendar is 24/7: business time equals wall time and
    the sweep data below can place due times exactly.
    """
    enterprise = plant.create_enterprise(ctx, EnterpriseCreate(name="Bench Manufacturing"))
    site = plant.create_site(
        ctx,
        SiteCreate(
            enterprise_id=enterprise.id, name="Chicago", code="CHI", timezone="America/Chicago"
        ),
    )
    area = plant.create_area(ctx, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    line = plant.create_line(ctx, LineCreate(area_id=area.id, name="Line 1", code="L1"))
    spec = parse_spec(assembly_document())
    publish(ctx, spec, reason="benchmark")
    # The escalation tiers notify these roles; each person has an address, so firing a tier
    # queues real notifications.
    for username, role in (
        ("bench-supervisor", Role.SUPERVISOR),
        ("bench-ops", Role.OPS_MANAGER),
        ("bench-admin", Role.ADMIN),
    ):
        user = accounts.create_user(
            ctx,
            UserCreate(
                username=username,
                display_name=username,
                password="bench password 1234",  # noqa: S106 - a scratch database
                email=f"{username}@bench.invalid",
                grants=[GrantIn(role=role)],
            ),
        )
        if role is Role.SUPERVISOR:
            _, token = accounts.create_token_for(ctx, user.id, TokenCreate(name="bench"))
    return Floor(site.id, area.id, line.id, spec, token)


def create_items(
    ctx: Context, floor: Floor, count: int, *, at: datetime | None = None
) -> list[tuple[int, int]]:
    """Open ``count`` items through the service layer; returns (id, version) pairs."""
    created: list[tuple[int, int]] = []
    batch = 100
    for start in range(0, count, batch):
        # One transaction per batch: item creation is set-up here, not what is measured.
        with ctx.atomic():
            for n in range(start, min(start + batch, count)):
                item = create_item(
                    ctx,
                    ItemCreate(
                        process="assembly",
                        line_id=floor.line_id,
                        title=f"Pump housing {n}",
                        product="PH-100",
                        fields={"customer": "Globex", "order_ref": f"SO-{n % 100000:05d}"},
                    ),
                    at=at,
                )
                created.append((item.id, item.version))
    return created


# ---------------------------------------------------------------------------------------
# Machine and CPU accounting


def speed_probe() -> float:
    """Milliseconds a fixed piece of pure Python takes (median of five) between runs, with
    nothing else of the benchmark running: a shared VM's speed changes from minute to minute,
    and this says how fast it was just before each run."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for n in range(300_000):
            total += n * n % 7
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


def medians(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration: the median of its rounds, the range, and whether the median meets
    the target (both throughput and p99)."""
    shown = []
    for workers, concurrency in RUNS:
        done = [
            r for r in runs if r.get("workers") == workers and r.get("concurrency") == concurrency
        ]
        if not done:
            continue
        rates = [r["transitions_per_second"] for r in done]
        tails = [r["p99_ms"] for r in done if r["p99_ms"] is not None]
        rate = statistics.median(rates)
        tail = statistics.median(tails) if tails else None
        shown.append(
            {
                "workers": workers,
                "concurrency": concurrency,
                "rounds": len(done),
                "transitions_per_second": round(rate, 1),
                "transitions_per_second_range": [min(rates), max(rates)],
                "p99_ms": tail,
                "p99_ms_range": [min(tails), max(tails)] if tails else None,
                "speed_probe_ms": statistics.median(r["speed_probe_ms"] for r in done),
                "server_cpu_ms_per_transition": statistics.median(
                    r["cpu_ms_per_transition"]["server"] for r in done
                ),
                "meets_target": tail is not None
                and rate >= TARGET["transitions_per_second"]
                and tail < TARGET["p99_ms"],
            }
        )
    return shown


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
        "postgresql": _pg.server_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


_TICKS = os.sysconf("SC_CLK_TCK")


class _Process(NamedTuple):
    command: str
    cpu_seconds: float
    parent: int
    reaped_children_cpu_seconds: float  # exited children the process has waited for


def _cpu_by_process() -> dict[int, _Process]:
    """Every process we can read, by pid, with the CPU it has used so far."""
    found: dict[int, _Process] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            raw = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = raw[raw.rindex(")") + 2 :].split()
            found[int(entry.name)] = _Process(
                command or raw[raw.index("(") + 1 : raw.rindex(")")],
                (int(fields[11]) + int(fields[12])) / _TICKS,
                int(fields[1]),
                (int(fields[13]) + int(fields[14])) / _TICKS,
            )
    return found


def _descendants(table: dict[int, _Process], root: int) -> set[int]:
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, process in table.items():
            if process.parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def cpu_split(
    before: dict[int, _Process],
    after: dict[int, _Process],
    *,
    server_pid: int,
    client_pids: Sequence[int],
    database: str,
) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by who spent them.

    PostgreSQL backends name their database in their process title, so the benchmark's own
    backends are told apart from other databases' (other work on a shared machine). A
    process started in between counts in full. Backends that started and ended in between
    cannot be told apart by database: their CPU is ``postgresql_exited_backends``, and
    ``postgresql_connections_opened`` counts the benchmark's new backends still alive.
    """
    server = _descendants(after, server_pid)
    split = dict.fromkeys(
        (
            "server",
            "clients",
            "postgresql_this_database",
            "postgresql_other",
            "postgresql_exited_backends",
            "other_processes",
            "postgresql_connections_opened",
        ),
        0.0,
    )
    for pid, process in after.items():
        earlier = before.get(pid)
        used = process.cpu_seconds - (earlier.cpu_seconds if earlier else 0.0)
        if pid in server:
            split["server"] += used
        elif pid in client_pids:
            split["clients"] += used
        elif process.command.startswith("postgres: "):
            mine = f" {database} " in process.command
            split["postgresql_this_database" if mine else "postgresql_other"] += used
            split["postgresql_connections_opened"] += mine and earlier is None
        elif "postgres" in process.command.split(" ", 1)[0]:
            # The postmaster: the CPU of its backends that exited in between.
            reaped = process.reaped_children_cpu_seconds
            split["postgresql_exited_backends"] += reaped - (
                earlier.reaped_children_cpu_seconds if earlier else 0.0
            )
        else:
            split["other_processes"] += used
    return {k: round(v, 2) for k, v in split.items()}


# ---------------------------------------------------------------------------------------
# 1. Item transitions through the HTTP API


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(url: str, workers: int, data_dir: str) -> Iterator[tuple[str, int]]:
    """The real app, served by ``andon serve --workers``; yields its URL and process id."""
    port = _free_port()
    env = {
        **os.environ,
        "ANDON_DATABASE_URL": url,
        "ANDON_SECRET_KEY": "b" * 64,
        "ANDON_DATA_DIR": data_dir,
    }
    # What an operator runs: `andon serve` with its worker processes.
    command = [
        str(Path(sys.executable).with_name("andon")),
        "serve",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        "--no-access-log",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start (exit code {server.poll()})")
            time.sleep(0.2)
        # /healthz may have reached only one worker: wait until all have finished starting.
        _wait_until_idle(server.pid)
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_idle(root: int, timeout: float = 60) -> None:
    """Wait until a process tree uses under a tenth of a CPU for half a second."""
    deadline = time.monotonic() + timeout
    before = _cpu_by_process()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = _cpu_by_process()
        tree = _descendants(after, root)
        used = sum(after[pid][1] - before[pid][1] for pid in tree if pid in before)
        if used < 0.05:
            return
        before = after


def drive(
    base: str,
    token: str,
    items: list[tuple[int, int]],
    *,
    concurrency: int,
    server_pid: int,
    database: str,
    label: str,
    reads: Sequence[str] = (),
) -> tuple[dict[str, Any], set[int]]:
    """Run the client processes against ``base``; returns the figures and the items moved.

    With ``reads``, the clients GET those paths in turn instead of moving items.
    """
    processes = max(1, min(CLIENT_PROCESSES, concurrency))
    per_process = [
        concurrency // processes + (i < concurrency % processes) for i in range(processes)
    ]
    root = str(Path(__file__).resolve().parent.parent)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bench._client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        for _ in range(processes)
    ]
    for i, child in enumerate(children):
        assert child.stdin is not None
        job = {
            "base": base,
            "token": token,
            "items": items[i::processes],
            "concurrency": per_process[i],
            "path": PATH,
        }
        if reads:
            job |= {"mode": "read", "paths": list(reads)}
        child.stdin.write(json.dumps(job) + "\n")
        child.stdin.flush()
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a client process did not start")
    start_at = time.monotonic() + 0.2
    stop_at = start_at + WARMUP_SECONDS + MEASURE_SECONDS
    window = (start_at + WARMUP_SECONDS, stop_at)
    for child in children:
        assert child.stdin is not None
        child.stdin.write(json.dumps({"start_at": start_at, "stop_at": stop_at}) + "\n")
        child.stdin.close()
    time.sleep(max(0.0, window[0] - time.monotonic()))
    spy = _start_py_spy(server_pid, label)
    cpu_before = _cpu_by_process()
    load_before = os.getloadavg()[0]
    time.sleep(max(0.0, window[1] - time.monotonic()))
    cpu_after = _cpu_by_process()
    load_after = os.getloadavg()[0]
    if spy is not None:
        spy[0].wait(timeout=120)
    reports = []
    for child in children:
        assert child.stdout is not None
        reports.append(json.loads(child.stdout.read()))
        child.wait(timeout=60)
    records = [r for report in reports for r in report["records"]]
    errors = [e for report in reports for e in report["errors"]]
    in_window = [r for r in records if window[0] <= r[1] <= window[1]]
    latencies = sorted(t1 - t0 for t0, t1, status in in_window if status == 200)
    failed = sum(1 for r in records if r[2] != 200)
    ok = len(latencies)
    # If the items ran out, the steady state ended early: measure up to the last response.
    end = min(window[1], max((r[1] for r in in_window), default=window[1]))
    seconds = end - window[0]
    cpu = cpu_split(
        cpu_before,
        cpu_after,
        server_pid=server_pid,
        client_pids=[c.pid for c in children],
        database=database,
    )
    # Backends that exited in the window are counted as the benchmark's: on a machine where
    # other work opens short connections too, this overstates the cost a little.
    mine = ("server", "clients", "postgresql_this_database", "postgresql_exited_backends")
    own_cpu = sum(cpu[who] for who in mine)
    figures: dict[str, Any] = {
        "transitions": ok,
        "window_seconds": round(seconds, 2),
        "transitions_per_second": round(ok / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": _ms(_percentile(latencies, 0.50)),
        "p95_ms": _ms(_percentile(latencies, 0.95)),
        "p99_ms": _ms(_percentile(latencies, 0.99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "errors": failed,
        "error_samples": errors,
        "items_ran_out": any(report["exhausted"] for report in reports),
        "client_processes": processes,
        "concurrency": concurrency,
        "cpu_seconds_in_window": cpu,
        "cpu_ms_per_transition": {
            who: round(cpu[who] / ok * 1000, 2) if ok else None for who in mine
        },
        # What the machine could do if this benchmark had every CPU to itself: its CPUs
        # divided by the CPU one transition costs (server, clients, PostgreSQL).
        "cpu_bound_estimate_per_second": round((os.cpu_count() or 1) * ok / own_cpu, 1)
        if own_cpu
        else None,
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
    }
    if spy is not None:
        figures["server_profile_py_spy"] = summarise_py_spy(spy[1], ok)
    used = {item_id for report in reports for item_id in report["used"]}
    return figures, used


def _start_py_spy(server_pid: int, label: str) -> tuple[subprocess.Popen[bytes], Path] | None:
    """Sample the server's processes with py-spy during the window, if ANDON_BENCH_PY_SPY
    names its executable (py-spy is not a dependency; install it anywhere to use this)."""
    executable = os.environ.get("ANDON_BENCH_PY_SPY")
    if not executable:
        return None
    # Raw stacks stay out of the tree (bench/results keeps only JSON); the summary goes in.
    output = Path(tempfile.gettempdir()) / f"andon-bench-server-{label}.py-spy.txt"
    command = [
        executable,
        "record",
        f"--pid={server_pid}",
        "--subprocesses",
        f"--duration={int(MEASURE_SECONDS)}",
        "--rate=100",
        "--format=raw",
        "--function",
        "--nonblocking",
        "--gil",  # only samples that hold the GIL: where the server's Python CPU goes
        f"--output={output}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, output


_LIBRARIES = (
    ("psycopg (driver)", ("psycopg",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("Andon", ("andon",)),
    ("Pydantic", ("pydantic",)),
    ("FastAPI / Starlette", ("fastapi", "starlette")),
    ("uvicorn / h11 / asyncio / anyio", ("uvicorn", "h11", "asyncio", "anyio", "selectors")),
    ("threading / concurrent", ("threading", "concurrent", "queue")),
)


def summarise_py_spy(path: Path, transitions: int) -> dict[str, Any]:
    """Shares of the server's busy samples: by the library of the innermost frame, and the
    Andon and framework functions that were on the stack most often."""
    leaf: dict[str, int] = {}
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if "(" in f and not f.startswith("process ")]
        if not frames:
            continue
        total += count
        module = frames[-1].rsplit("(", 1)[1]
        category = next(
            (name for name, marks in _LIBRARIES if any(m in module for m in marks)), "other"
        )
        leaf[category] = leaf.get(category, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            if any(m in frame for m in ("(andon/", "(fastapi/", "(starlette/", "(pydantic/")):
                inclusive[frame] = inclusive.get(frame, 0) + count
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])[:30]
    hottest = sorted(own.items(), key=lambda kv: -kv[1])[:15]
    return {
        "samples": total,
        "samples_per_transition": round(total / transitions, 2) if transitions else None,
        "self_share_by_library": {
            k: round(v / total, 3) for k, v in sorted(leaf.items(), key=lambda kv: -kv[1])
        }
        if total
        else {},
        "inclusive_share": {f: round(c / total, 3) for f, c in top} if total else {},
        "self_share_top_functions": {f: round(c / total, 3) for f, c in hottest} if total else {},
        "raw_output": str(path),
    }


def _percentile(ordered: Sequence[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def serialised_commit(url: str, count: int = 300) -> dict[str, float]:
    """How long the audit chain's critical section takes at the least, and what that allows.

    Every audited write appends to the chain under one lock, held until its COMMIT, so those
    sections of all writers run one after another. On PostgreSQL the app sends the append
    and the COMMIT as one message (migration 0005) and the database takes the lock inside
    it: timed here is that message, one entry per transaction, as the client sees it (the
    lock is held for part of it).
    """
    from andon.core.audit import EntryInput, append_message, pending_entry

    samples = []
    with psycopg.connect(_pg.libpq_url(url)) as conn:
        for n in range(count):
            entry = pending_entry(
                EntryInput(None, "bench", "bench", str(n), "note", {"n": n}, None, "bench")
            )
            message = append_message(conn, [entry])
            conn.execute("SELECT 1")  # the transaction has begun, as a use case's has
            started = time.perf_counter()
            conn.execute(message)
            samples.append(time.perf_counter() - started)
    samples.sort()
    median, tail = _percentile(samples, 0.50), _percentile(samples, 0.99)
    assert median is not None
    assert tail is not None
    return {
        "append_and_commit_p50_ms": round(median * 1000, 2),
        "append_and_commit_p99_ms": round(tail * 1000, 2),
        "ceiling_audited_writes_per_second": round(1 / median, 0),
    }


def transitions_case() -> dict[str, Any]:
    with _pg.scratch_database("moves") as url:
        db = Database(url)
        try:
            ctx = Context(db, system_actor("bench"))
            floor = build_floor(ctx)
            t0 = time.perf_counter()
            items = create_items(ctx, floor, ITEMS)
            creation = time.perf_counter() - t0
        finally:
            db.dispose()
        _vacuum(url)
        runs = []
        with tempfile.TemporaryDirectory() as data_dir:
            for round_number, (workers, concurrency) in product(range(1, REPEATS + 1), RUNS):
                if len(items) < concurrency:
                    runs.append({"workers": workers, "skipped": "no items left"})
                    continue
                probe = speed_probe()
                with running_server(url, workers, data_dir) as (base, pid):
                    figures, used = drive(
                        base,
                        floor.supervisor_token,
                        items,
                        concurrency=concurrency,
                        server_pid=pid,
                        database=url.rsplit("/", 1)[1],
                        label=f"{workers}x{concurrency}",
                    )
                runs.append(
                    {
                        "round": round_number,
                        "workers": workers,
                        "speed_probe_ms": probe,
                        **figures,
                    }
                )
                items = [item for item in items if item[0] not in used]
            # The runs' dead rows cleared first, or autovacuum's work on them would count
            # as the reads' cost.
            _vacuum(url)
            references = _reads(url, floor, items, data_dir)
        return {
            "items_created": ITEMS,
            "item_creation_per_second_service_layer": round(ITEMS / creation, 1),
            "moves": " → ".join(("intake", *PATH)),
            "target": TARGET,
            "medians": medians(runs),
            "runs": runs,
            "reads_for_comparison": references,
            "audit_chain_critical_section": serialised_commit(url),
        }


def _vacuum(url: str) -> None:
    """VACUUM ANALYZE the whole scratch database, as autovacuum would have by then."""
    with psycopg.connect(_pg.libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


READS = {
    "GET /healthz (no token; SELECT 1)": lambda items: ["/healthz"],
    "GET /api/v1/work-items/{id}": lambda items: [f"/api/v1/work-items/{i}" for i, _ in items],
}


def _reads(
    url: str, floor: Floor, items: list[tuple[int, int]], data_dir: str
) -> list[dict[str, Any]]:
    """What requests that change nothing cost the same server, for comparison with a move.

    The framework and the connection alone (``/healthz``), and reading an item with the
    token, the scope check and the response a move also has, at 2 workers × 24 connections.
    """
    figures = []
    sample = items[:200]
    for label, paths in READS.items():
        with running_server(url, 2, data_dir) as (base, pid):
            measured, _ = drive(
                base,
                floor.supervisor_token,
                [],
                concurrency=24,
                server_pid=pid,
                database=url.rsplit("/", 1)[1],
                label=label.split()[1].strip("/").replace("/", "_") or "root",
                reads=paths(sample),
            )
        renamed = {
            key.replace("transitions", "requests").replace("transition", "request"): value
            for key, value in measured.items()
        }
        figures.append({"request": label, "workers": 2, **renamed})
    return figures


# ---------------------------------------------------------------------------------------
# Where the time goes, in-process: a move request, and firing a tier in the sweep


_CATEGORIES = (
    ("database round trips (psycopg)", ("psycopg/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("Andon", ("/andon/",)),
    ("FastAPI / Starlette / Pydantic / anyio", ("fastapi/", "starlette/", "pydantic", "anyio/")),
)


def profile_case() -> dict[str, Any]:
    """Where a move's time goes, in-process: what each request does, minus HTTP.

    Each move is what the endpoint runs: the bearer token resolved to an actor, then
    ``move_item`` in its unit of work. Timed first without a profiler (wall and CPU per
    move), then again under cProfile for the shares. One thread, no concurrency.
    """
    from andon.accounts.service import actor_from_token
    from andon.work.items import move_item
    from andon.work.schemas import ItemMove

    with _pg.scratch_database("profile") as url:
        db = Database(url)
        try:
            ctx = Context(db, system_actor("bench"))
            floor = build_floor(ctx)
            per_half = max(1, PROFILE_MOVES // len(PATH))
            items = create_items(ctx, floor, 2 * per_half)

            def walk(batch: list[tuple[int, int]]) -> int:
                for stage in PATH:
                    for index, (item_id, version) in enumerate(batch):
                        actor = actor_from_token(db, floor.supervisor_token)
                        assert actor is not None
                        moved = move_item(
                            Context(db, actor), item_id, ItemMove(to=stage, version=version)
                        )
                        batch[index] = (item_id, moved.version)
                return len(batch) * len(PATH)

            wall, cpu = time.perf_counter(), time.process_time()
            plain = walk(items[:per_half])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

            statements = _StatementCounter(db)
            profiler = cProfile.Profile()
            profiler.enable()
            profiled = walk(items[per_half:])
            profiler.disable()
            statements.close()
            stats = pstats.Stats(profiler)
            return {
                "moves": plain,
                "wall_ms_per_move": round(wall / plain * 1000, 2),
                "cpu_ms_per_move": round(cpu / plain * 1000, 2),
                "sql_statements_per_move": round(statements.count / profiled, 1),
                "sql_by_statement": statements.top(profiled),
                "profiled_moves": profiled,
                "self_time_share": _shares(stats),
                "top_cumulative": _top(stats, profiled, "move"),
                "sweep_firing": _profile_firing(ctx, floor),
            }
        finally:
            db.dispose()


def _profile_firing(ctx: Context, floor: Floor) -> dict[str, Any]:
    """What firing one escalation tier costs in the sweep: timed, then under cProfile.

    Items opened five hours ago at intake (2 h SLA) have all three tiers due; the sweep
    fires them in due order (each firing drops the re-escalation the one before queued).
    """
    now = datetime.now(UTC)
    count = max(1, PROFILE_MOVES // 8)
    create_items(ctx, floor, count, at=now - timedelta(hours=5))
    started, cpu = time.perf_counter(), time.process_time()
    plain = sweep_slas(ctx, now=now)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu

    later = now + timedelta(minutes=1)
    create_items(ctx, floor, count, at=later - timedelta(hours=5))
    statements = _StatementCounter(ctx.db)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = sweep_slas(ctx, now=later)
    profiler.disable()
    statements.close()
    stats = pstats.Stats(profiler)
    return {
        "fired": plain.fired,
        "wall_ms_per_fired_escalation": round(wall / plain.fired * 1000, 2),
        "cpu_ms_per_fired_escalation": round(cpu / plain.fired * 1000, 2),
        "sql_statements_per_fired_escalation": round(statements.count / profiled.fired, 1),
        "sql_by_statement": statements.top(profiled.fired),
        "self_time_share": _shares(stats),
        "top_cumulative": _top(stats, profiled.fired, "firing"),
    }


class _StatementCounter:
    """Counts the SQL a unit of work sends, by its first words (e.g. ``SELECT escalations``)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self.kinds: dict[str, int] = {}
        self.engine = db.engine
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.count += 1
        words = statement.split()
        verb = words[0].upper() if words else ""
        target = next(
            (after for word, after in pairwise(words) if word in {"FROM", "INTO", "UPDATE"}),
            "",
        )
        key = f"{verb} {target}".strip()
        self.kinds[key] = self.kinds.get(key, 0) + 1

    def top(self, per: int) -> dict[str, float]:
        ordered = sorted(self.kinds.items(), key=lambda kv: -kv[1])
        return {k: round(v / per, 2) for k, v in ordered}


def _shares(stats: pstats.Stats) -> dict[str, float]:
    totals = dict.fromkeys([name for name, _ in _CATEGORIES] + ["other"], 0.0)
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, _) in table.items():
        for name, markers in _CATEGORIES:
            if any(m in filename for m in markers):
                totals[name] += tottime
                break
        else:
            totals["other"] += tottime
    whole = sum(totals.values()) or 1.0
    return {k: round(v / whole, 3) for k, v in totals.items()}


def _top(stats: pstats.Stats, per: int, unit: str, limit: int = 25) -> list[dict[str, Any]]:
    """The Andon functions (and the driver's waits and commits) by cumulative time per unit."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_, calls, _, cumtime, _) in table.items():
        driver = "psycopg/" in filename and function in {"wait", "commit"}
        if "/andon/" in filename or driver:
            where = filename.split("/src/", 1)[-1].split("site-packages/", 1)[-1]
            rows.append(
                {
                    "function": f"{where}:{line}({function})",
                    f"calls_per_{unit}": round(calls / per, 2),
                    f"ms_per_{unit}": round(cumtime / per * 1000, 3),
                }
            )
    rows.sort(key=lambda r: -r[f"ms_per_{unit}"])
    return rows[:limit]


# ---------------------------------------------------------------------------------------
# 2. The SLA sweep over a million open items


OPEN_STAGES = ("intake", "plan", "kit", "assemble", "inspect", "rework", "pack")
ITEM_COLUMNS = (
    "id, process_id, process_version_id, line_id, title, product, quantity, priority, fields, "
    "stage, status, assignee_role, rework_count, created_at, created_by, updated_at, "
    "stage_entered_at, due_at, stage_due_at, version"
)
ESCALATION_COLUMNS = (
    "item_id, tier, tier_name, basis, stage, due_at, status, urgent, created_at, reason"
)


class _Stamps:
    """UTC instants (whole seconds since the epoch) as naive-UTC timestamp text, quickly."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        # Microseconds written out so SQLite's text comparison agrees with SQLAlchemy's.
        return f"{prefix} {hour:02d}:{minute:02d}:{second:02d}.000000"


def open_item_rows(
    count: int, floor: Floor, ids: tuple[int, int, int], now: datetime, seed: int = 7
) -> Iterator[tuple[str, str]]:
    """COPY text lines of ``count`` open items, and of three pending stage tiers for each.

    The rows are what the engine would have stored: due times spread evenly over the next
    three weeks; ``PAST_DUE_SHARE`` of the items ran past their stage and process SLA up to
    an hour ago, so their tiers at 75% and 100% of the stage SLA are due; every other item's
    tiers all lie in the future. Generated as text: a million items must load in seconds.
    """
    rng = random.Random(seed)
    process_id, version_id, line_id = ids
    stamp = _Stamps()
    tiers = floor.spec.escalation.tiers
    shares = [t.at.share or 1.0 for t in tiers]
    earliest = min(shares)
    stages = []
    for key in OPEN_STAGES:
        stage = floor.spec.stage(key)
        sla = stage.sla or 3600
        tier_rows = [
            (
                number,
                int(share * sla),
                f"{tier.name}\tstage\t{key}",
                f"{share * 100:g}% of the {stage.name} stage SLA used",
            )
            for number, (tier, share) in enumerate(zip(tiers, shares, strict=True), start=1)
        ]
        stages.append((key, sla, stage.owner_role.value, tier_rows))
    now_s = int(now.timestamp())
    horizon = int(HORIZON.total_seconds())
    fixed = f"{process_id}\t{version_id}\t{line_id}"
    for item_id in range(1, count + 1):
        key, sla, owner, tier_rows = stages[item_id % len(stages)]
        if rng.random() < PAST_DUE_SHARE:
            stage_due = now_s - rng.randint(1, 3600)
            due = now_s - rng.randint(1, 3600)
        else:
            stage_due = now_s + int((1 - earliest) * sla) + rng.randint(60, horizon)
            due = max(stage_due, now_s + rng.randint(60, horizon))
        entered = stage_due - sla
        created = min(entered, due - 40 * 3600)
        entered_text = stamp(entered)
        item = (
            f"{item_id}\t{fixed}\tOrder {item_id}\tPH-100\t1\tnormal\t{{}}\t{key}\topen\t"
            f"{owner}\t0\t{stamp(created)}\tbench\t{entered_text}\t{entered_text}\t"
            f"{stamp(due)}\t{stamp(stage_due)}\t3\n"
        )
        escalations = "".join(
            f"{item_id}\t{number}\t{what}\t{stamp(entered + offset)}\tpending\t0\t"
            f"{entered_text}\t{reason}\n"
            for number, offset, what, reason in tier_rows
        )
        yield item, escalations


def load_postgresql(url: str, floor: Floor, now: datetime, count: int) -> dict[str, float]:
    """Bulk-load ``count`` open items and their tiers with COPY; returns the load timings."""
    timings: dict[str, float] = {}
    with psycopg.connect(_pg.libpq_url(url), autocommit=True) as conn:
        ids = conn.execute(
            "SELECT p.id, v.id FROM processes p JOIN process_versions v ON v.process_id = p.id"
        ).fetchone()
        assert ids is not None
        started = time.perf_counter()
        escalations: list[str] = []
        with conn.transaction():
            # A bulk load's usual shortcuts, for the set-up only: the rows are consistent by
            # construction, so foreign-key triggers are skipped, and the secondary indexes
            # are built once afterwards (from their own definitions) instead of row by row.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename IN ('work_items', 'escalations') AND indexname NOT LIKE 'pk_%'"
            ).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY work_items ({ITEM_COLUMNS}) FROM STDIN") as copy,
            ):
                chunk: list[str] = []
                for item, tiers in open_item_rows(
                    count, floor, (ids[0], ids[1], floor.line_id), now
                ):
                    chunk.append(item)
                    escalations.append(tiers)
                    if len(chunk) >= 20_000:
                        copy.write("".join(chunk))
                        chunk.clear()
                copy.write("".join(chunk))
            timings["copy_items_seconds"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY escalations ({ESCALATION_COLUMNS}) FROM STDIN") as copy,
            ):
                for start in range(0, len(escalations), 20_000):
                    copy.write("".join(escalations[start : start + 20_000]))
            timings["copy_escalations_seconds"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            for _, definition in indexes:
                conn.execute(definition)
            timings["create_indexes_seconds"] = round(time.perf_counter() - started, 1)
        conn.execute("SELECT setval('work_items_id_seq', %s)", (count,))
        started = time.perf_counter()
        # What autovacuum would have done on a live system before the sweep runs.
        conn.execute("VACUUM ANALYZE work_items")
        conn.execute("VACUUM ANALYZE escalations")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
    return timings


def sweep_statements(now: datetime) -> dict[str, Any]:
    """The queries ``sweep_slas`` runs to find work, as SQLAlchemy builds them (see sweep.py)."""

    def mark(stage: bool) -> Any:
        due = WorkItem.stage_due_at if stage else WorkItem.due_at
        flag = WorkItem.stage_breached_at if stage else WorkItem.breached_at
        return (
            update(WorkItem)
            .where(and_(WorkItem.status == "open", due <= now, flag.is_(None)))
            .values({flag: due})
            .returning(WorkItem.id, WorkItem.stage, WorkItem.process_id, due)
        )

    due_escalations = (
        select(Escalation)
        .where(Escalation.status == "pending", Escalation.due_at <= now)
        .order_by(Escalation.due_at, Escalation.id)
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    return {
        "stage_breach_update": mark(True),
        "process_breach_update": mark(False),
        "due_escalations_select": due_escalations,
    }


def explain_postgresql(url: str, now: datetime) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the sweep's scans, each in a transaction that is rolled back."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    plans: dict[str, Any] = {}
    with psycopg.connect(_pg.libpq_url(url)) as conn:
        for name, statement in sweep_statements(now).items():
            compiled = statement.compile(dialect=dialect)
            params = {
                k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                for k, v in compiled.params.items()
            }
            rows = conn.execute(
                f"EXPLAIN (ANALYZE, BUFFERS) {compiled}",
                params,
            ).fetchall()
            conn.rollback()
            lines = [str(r[0]) for r in rows]
            plans[name] = {
                "indexes": sorted({i for i in map(_index_in, lines) if i is not None}),
                "sequential_scan": any("Seq Scan" in line for line in lines),
                "plan": lines,
            }
    return plans


def _index_in(line: str) -> str | None:
    for marker in ("Index Scan using ", "Index Only Scan using ", "Bitmap Index Scan on "):
        if marker in line:
            return line.split(marker, 1)[1].split()[0]
    return None


def timed_sweep(ctx: Context, now: datetime) -> dict[str, Any]:
    """One sweep, with how long it took to mark breaches (until it first looks for due tiers)."""
    first_claim: list[float] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not first_claim and "FROM escalations" in statement and "ORDER BY" in statement:
            first_claim.append(time.perf_counter())

    event.listen(ctx.db.engine, "before_cursor_execute", seen)
    try:
        started = time.perf_counter()
        report = sweep_slas(ctx, now=now)
        seconds = time.perf_counter() - started
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", seen)
    marking = (first_claim[0] if first_claim else started + seconds) - started
    return {
        "seconds": round(seconds, 3),
        "marking_breaches_seconds": round(marking, 3),
        "firing_tiers_seconds": round(seconds - marking, 3),
        "stage_breaches": report.stage_breaches,
        "process_breaches": report.process_breaches,
        "escalations_fired": report.fired,
        "notifications_queued": report.notifications,
        "ms_per_fired_escalation": round((seconds - marking) / report.fired * 1000, 2)
        if report.fired
        else None,
    }


def sweep_case() -> dict[str, Any]:
    with _pg.scratch_database("sweep") as url:
        db = Database(url)
        try:
            ctx = Context(db, system_actor("bench"))
            floor = build_floor(ctx)
            now = datetime.now(UTC).replace(microsecond=0)
            loading = load_postgresql(url, floor, now, SWEEP_ITEMS)
            plans_before = explain_postgresql(url, now)
            first = timed_sweep(ctx, now)
            second = timed_sweep(ctx, now)
            plans_after = explain_postgresql(url, now)
            # A minute later, as a sweep every minute would find it.
            next_minute = timed_sweep(ctx, now + timedelta(minutes=1))
        finally:
            db.dispose()
    return {
        "open_items": SWEEP_ITEMS,
        "pending_escalations": 3 * SWEEP_ITEMS,
        "past_due_share": PAST_DUE_SHARE,
        "due_times": f"spread evenly over the next {HORIZON.days} days; past due: up to 1 h ago",
        "loading": loading,
        "first_run": first,
        "second_run_nothing_to_do": second,
        "run_one_minute_later": next_minute,
        "explain_before_first_run": plans_before,
        "explain_after_first_run": {
            name: {k: v for k, v in plan.items() if k != "plan"} | {"plan": plan["plan"]}
            for name, plan in plans_after.items()
        },
    }


def _insert_lines(
    conn: sqlite3.Connection, table: str, columns: str, marks: str, lines: list[str]
) -> None:
    rows = [line.split("\t") for text in lines for line in text.splitlines()]
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def sqlite_sweep_case(count: int = SQLITE_SWEEP_ITEMS) -> dict[str, Any]:
    """The same sweep on an embedded SQLite file; only on request (``--only sqlite-sweep``)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sweep.db"
        engine = create_db_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        db = Database(url)
        try:
            ctx = Context(db, system_actor("bench"))
            floor = build_floor(ctx)
            now = datetime.now(UTC).replace(microsecond=0)
            started = time.perf_counter()
            with sqlite3.connect(f"{tmp}/sweep.db") as conn:
                row = conn.execute(
                    "SELECT p.id, v.id FROM processes p JOIN process_versions v "
                    "ON v.process_id = p.id"
                ).fetchone()
                ids = (row[0], row[1], floor.line_id)
                item_marks = ", ".join("?" * len(ITEM_COLUMNS.split(",")))
                tier_marks = ", ".join("?" * len(ESCALATION_COLUMNS.split(",")))
                conn.execute("BEGIN")
                batch: list[str] = []
                tiers: list[str] = []
                for item, escalations in open_item_rows(count, floor, ids, now):
                    batch.append(item)
                    tiers.append(escalations)
                    if len(batch) >= 20_000:
                        _insert_lines(conn, "work_items", ITEM_COLUMNS, item_marks, batch)
                        _insert_lines(conn, "escalations", ESCALATION_COLUMNS, tier_marks, tiers)
                        batch.clear()
                        tiers.clear()
                _insert_lines(conn, "work_items", ITEM_COLUMNS, item_marks, batch)
                _insert_lines(conn, "escalations", ESCALATION_COLUMNS, tier_marks, tiers)
                conn.execute("COMMIT")
                conn.execute("ANALYZE")
                load_seconds = time.perf_counter() - started
                plans = {}
                for name, statement in sweep_statements(now).items():
                    compiled = statement.compile(dialect=db.engine.dialect)
                    params = [
                        _Stamps()(int(v.timestamp())) if isinstance(v, datetime) else v
                        for v in (compiled.params[k] for k in compiled.positiontup or ())
                    ]
                    rows = conn.execute(f"EXPLAIN QUERY PLAN {compiled}", params).fetchall()
                    plans[name] = [str(r[-1]) for r in rows]
            first = timed_sweep(ctx, now)
            second = timed_sweep(ctx, now)
        finally:
            db.dispose()
    return {
        "open_items": count,
        "pending_escalations": 3 * count,
        "load_seconds": round(load_seconds, 1),
        "first_run": first,
        "second_run_nothing_to_do": second,
        "query_plans": plans,
    }


# ---------------------------------------------------------------------------------------


# `make bench` runs the default cases; sqlite-sweep (several minutes) only when asked for.
DEFAULT_CASES = ("transitions", "profile", "sweep")
CASES = (*DEFAULT_CASES, "sqlite-sweep")


def run(only: Sequence[str] = DEFAULT_CASES) -> dict[str, Any]:
    """Run the chosen cases on PostgreSQL and write bench/results/work.json."""
    results: dict[str, Any] = {
        "benchmark": "work engine: item moves through the HTTP API; the SLA sweep",
        "machine": machine(),
    }
    try:
        results["postgresql_settings"] = _pg.settings()
    except psycopg.OperationalError as exc:
        results["skipped"] = f"PostgreSQL unreachable: {exc}"
        return _write(results)
    results["method"] = {
        "transitions": (
            "A scratch PostgreSQL database migrated to head; one site (no shifts: a 24/7 "
            "calendar), one line, the demo assembly process, a supervisor's API token, items "
            "opened through the service layer, then VACUUM ANALYZE. The real app runs under "
            "`andon serve --workers N --no-access-log` in a subprocess (default threads: "
            "ANDON_REQUEST_THREADS=4 per process). Client "
            f"processes (up to {CLIENT_PROCESSES}; python -m bench._client, HTTP/1.1 on asyncio "
            "streams) "
            "hold the run's number of keep-alive connections in all; each connection walks "
            "one item at a time intake → plan → kit → assemble → inspect with POST "
            "/api/v1/work-items/{id}/move, taking the version from each response. Clients, "
            "server and PostgreSQL share the machine's CPUs with whatever else runs on it; "
            "cpu_seconds_in_window says who used them (from /proc). Figures count responses "
            f"that arrived in the {MEASURE_SECONDS:g} s after a {WARMUP_SECONDS:g} s warm-up; "
            "latency is per request as the client sees it. reads_for_comparison: the same "
            "server answering GET /healthz and GET /api/v1/work-items/{id} instead, measured "
            "the same way. Every configuration runs ANDON_BENCH_REPEATS times (rounds of all "
            "configurations, interleaved); `medians` gives each one's median throughput and "
            "p99 and whether both meet the target. speed_probe_ms: a fixed piece of pure "
            "Python timed just before each run (the VM's speed varies). With "
            "ANDON_BENCH_PY_SPY set to a py-spy executable, the server is sampled (GIL "
            "holders only) during the window."
        ),
        "profile": (
            "What a move request runs, in-process and one at a time: the bearer token "
            "resolved to an actor, then andon.work.items.move_item. Timed plain (wall and CPU "
            "per move), then under cProfile: SQL statements per move, shares of self time by "
            "library, and the Andon functions with the most cumulative time per move. The same "
            "for firing escalation tiers in sweep_slas."
        ),
        "sweep": (
            f"{SWEEP_ITEMS} open items and 3 pending escalation tiers each, loaded with COPY "
            "into a scratch PostgreSQL database (set-up shortcuts: foreign-key triggers off "
            "and secondary indexes rebuilt after the load), then VACUUM ANALYZE. "
            "andon.work.sweep.sweep_slas is timed three times: at now (marks breaches, fires "
            "due tiers), again at now (nothing to do), and a minute later. EXPLAIN (ANALYZE, "
            "BUFFERS) of its scans before and after the first run, each rolled back."
        ),
    }
    cases = {
        "transitions": transitions_case,
        "profile": profile_case,
        "sweep": sweep_case,
        "sqlite-sweep": sqlite_sweep_case,
    }
    measured: dict[str, Any] = {}
    for name in only:
        started = time.perf_counter()
        try:
            results[name] = cases[name]()
        except _pg.Unavailable as exc:
            results[name] = f"skipped: {exc}"
        measured[name] = {
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(f"work/{name}: {measured[name]['seconds']} s", file=sys.stderr)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["measured"] = measured
    return _write(results)


def _write(results: dict[str, Any]) -> dict[str, Any]:
    """Write the results; cases not run this time keep their last figures (and dates)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        with suppress(OSError, ValueError):
            existing = json.loads(RESULTS.read_text())
    results["measured"] = {**existing.get("measured", {}), **results.get("measured", {})}
    merged = {**existing, **results}
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n")
    return merged


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.work",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", action="append", choices=CASES, help="run only this case")
    args = parser.parse_args(argv)
    results = run(args.only or DEFAULT_CASES)
    stream = io.StringIO()
    json.dump(_summary(results), stream, indent=2)
    print(stream.getvalue())


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    """The figures without the query plans and profile tables, for the terminal."""
    shown = {k: v for k, v in results.items() if k not in {"method", "profile", "sweep"}}
    if isinstance(results.get("profile"), dict):
        profile = results["profile"]
        shown["profile"] = {k: profile[k] for k in profile if k != "top_cumulative"}
    if isinstance(results.get("sweep"), dict):
        shown["sweep"] = {k: v for k, v in results["sweep"].items() if "explain" not in k}
    return shown


if __name__ == "__main__":
    main()
