"""Interactive filters (issue 17): 20 different first-time filters through the API
against pm4py doing the same filters + analyses on a DataFrame already in memory.

The log is this module's own: a seeded, time-ordered export of work orders (``C-0000001``)
over 2024, about ten events a case, activities following a few dozen route variants with a
Zipf-like skew plus a long tail of one-off deviations, resources ``cell-1``..``cell-9`` (and
the office and dock for the paper steps), and case attributes ``line``, ``product`` and
``priority`` repeated on every event. Written as Parquet under ``/tmp/andon-bench-logs/``,
cached by size and seed.

Andon's side: a scratch SQLite database and data directory, the app in-process (FastAPI's
TestClient, no network), the log uploaded with ``wait=true`` (the import time, upload →
ready, and the size of the kept-rows Parquet are recorded), the wait until the import has
opened the dataset's prepared form in memory (recorded apart), then each filter of
:func:`filters` once as ``GET /api/v1/analytics/datasets/{id}/{dfg|variants|kpi}?...``. The
filters differ from each other and the app is new, so none is served from a previous answer
(checked against the analysis cache's keys before every request).

pm4py's side (a child process; pm4py is a test-only dependency): the same Parquet read with
pandas and ``pm4py.format_dataframe`` before timing, then each filter with pm4py's filter
functions and the analyses with its simplified API. pm4py's variant filters fail under
pandas 3, so top-k and one-variant filters are done with plain pandas there (labelled
``plain-pandas`` in the results).

    python -m bench.analytics_filters                      # 100k events
    python -m bench.analytics_filters --events 1000000     # 1M (10000000: 10M)
    python -m bench.run --only filters                     # 100k, or ANDON_BENCH_FILTER_EVENTS

Writes bench/results/analytics_filters.json. Nothing is asserted about the times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from andon.analytics.filters import CaseFilters

# A cache of generated inputs only; nothing there is trusted beyond being a benchmark log.
CACHE = Path(os.environ.get("ANDON_BENCH_LOG_DIR", "/tmp/andon-bench-logs"))  # noqa: S108
RESULTS = Path(__file__).resolve().parent / "results" / "analytics_filters.json"
SEED = 17
SIZES = (100_000, 1_000_000, 10_000_000)
DEFAULT_EVENTS = int(os.environ.get("ANDON_BENCH_FILTER_EVENTS", "100000"))

# --- the log --------------------------------------------------------------------------------

ROUTE = (
    "Receive order", "Plan", "Kit parts", "Machine", "Assemble",
    "Test", "Inspect", "Pack", "Label", "Ship",
)  # fmt: skip
EXTRA = ("Expedite", "Rework", "Scrap", "Hold", "Release")
ACTIVITIES = ROUTE + EXTRA
# Median minutes an activity takes after the previous event of its case.
MEDIAN_MINUTES = {
    "Receive order": 30, "Plan": 240, "Kit parts": 90, "Machine": 300, "Assemble": 360,
    "Test": 60, "Inspect": 45, "Pack": 30, "Label": 10, "Ship": 720, "Expedite": 15,
    "Rework": 240, "Scrap": 60, "Hold": 1440, "Release": 30,
}  # fmt: skip
# Where an activity happens: cells on the shop floor, the office or the dock.
RESOURCES = {
    "Receive order": ("office-1", "office-2"), "Plan": ("office-1", "office-2"),
    "Kit parts": ("cell-1", "cell-2"), "Machine": ("cell-2", "cell-3", "cell-4"),
    "Assemble": ("cell-4", "cell-5", "cell-6"), "Test": ("cell-7",), "Inspect": ("cell-8",),
    "Pack": ("cell-9",), "Label": ("cell-9",), "Ship": ("dock-1",), "Expedite": ("office-1",),
    "Rework": ("cell-3", "cell-5", "cell-6"), "Scrap": ("cell-8",), "Hold": ("office-2",),
    "Release": ("office-2",),
}  # fmt: skip
LINES = ("L1", "L2", "L3", "L4")
PRODUCTS = ("PH-100", "PH-200", "VX-310", "VX-320", "GB-550")
COMMON_VARIANTS = 40
TAIL_SHARE = 0.04  # cases with a one-off deviation from their variant
ZIPF = 1.3
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
YEAR_US = 366 * 86_400 * 1_000_000

SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("activity", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("resource", pa.string()),
        ("line", pa.string()),
        ("product", pa.string()),
        ("priority", pa.string()),
    ]
)


def label(events: int) -> str:
    """The short name of a size: 1000000 → ``1M``."""
    for suffix, scale in (("M", 1_000_000), ("k", 1_000)):
        if events >= scale and events % scale == 0:
            return f"{events // scale}{suffix}"
    return str(events)


def common_variants(seed: int = SEED) -> list[tuple[str, ...]]:
    """The route variants, most frequent first: the straight route, then the route with
    skips, a rework loop, an expedited start, a hold, or scrap at inspection."""
    rng = np.random.default_rng([seed, 1])
    found: dict[tuple[str, ...], None] = {ROUTE: None}
    while len(found) < COMMON_VARIANTS:
        steps = list(ROUTE)
        if rng.random() < 0.4:
            del steps[steps.index("Plan")]
        if rng.random() < 0.3:
            del steps[steps.index("Label")]
        if rng.random() < 0.25:
            del steps[steps.index("Test")]
        if rng.random() < 0.35:
            at = steps.index("Inspect") + 1
            steps[at:at] = ["Rework", "Inspect"] * int(rng.integers(1, 3))
        if rng.random() < 0.15:
            steps.insert(0, "Expedite")
        if rng.random() < 0.15:
            at = steps.index("Kit parts")
            steps[at:at] = ["Hold", "Release"]
        if rng.random() < 0.08:
            steps = [*steps[: len(steps) - steps[::-1].index("Inspect")], "Scrap"]
        found.setdefault(tuple(steps), None)
    return list(found)


def generate(events: int, seed: int = SEED) -> pa.Table:
    """Exactly ``events`` events, sorted by timestamp; the last case may be cut short."""
    variants = common_variants(seed)
    rng = np.random.default_rng([seed, 2])
    weights = 1.0 / np.arange(1, len(variants) + 1) ** ZIPF
    weights /= weights.sum()
    mean_length = float(np.dot(weights, [len(v) for v in variants]))
    cases = math.ceil(events / mean_length * 1.1) + 10
    chosen = rng.choice(len(variants), size=cases, p=weights)
    sequences: list[tuple[str, ...]] = [variants[c] for c in chosen]
    # The long tail: a few cases swap two neighbouring steps or repeat one.
    for case in np.flatnonzero(rng.random(cases) < TAIL_SHARE):
        steps = list(sequences[case])
        at = int(rng.integers(1, len(steps) - 1))
        if rng.random() < 0.5:
            steps[at], steps[at + 1] = steps[at + 1], steps[at]
        else:
            steps.insert(at, steps[at])
        sequences[case] = tuple(steps)
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=cases)
    ends = np.cumsum(lengths)
    cases = int(np.searchsorted(ends, events) + 1)
    lengths = lengths[:cases]
    lengths[-1] -= int(ends[cases - 1] - events)
    code = {a: i for i, a in enumerate(ACTIVITIES)}
    activity = np.fromiter(
        (code[a] for s, n in zip(sequences, lengths, strict=False) for a in s[:n]),
        dtype=np.int32,
        count=events,
    )
    case_of = np.repeat(np.arange(cases), lengths)

    arrival = np.sort(rng.integers(0, YEAR_US * 9 // 10, size=cases))
    medians = np.array([MEDIAN_MINUTES[a] * 60e6 for a in ACTIVITIES])
    took = np.maximum(1e6, medians[activity] * rng.lognormal(0.0, 0.9, size=events))
    running = np.cumsum(took)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    before = np.repeat(np.r_[0.0, running[starts[1:] - 1]], lengths)
    at = int(YEAR_START.timestamp() * 1e6) + arrival[case_of] + (running - before).astype(np.int64)

    names = sorted({r for pool in RESOURCES.values() for r in pool})
    pools = [RESOURCES[a] for a in ACTIVITIES]
    resource = _resources(activity, rng.random(events), pools, names)
    line = rng.integers(0, len(LINES), size=cases)
    product = rng.integers(0, len(PRODUCTS), size=cases)
    priority = (rng.random(cases) < 0.1).astype(np.int32)
    width = max(7, len(str(cases)))
    case_names = np.char.add("C-", np.char.zfill(np.arange(1, cases + 1).astype(str), width))

    order = np.argsort(at, kind="stable")
    case_of, activity, resource, at = case_of[order], activity[order], resource[order], at[order]
    return pa.table(
        [
            pa.array(case_names[case_of]),
            pa.DictionaryArray.from_arrays(activity, ACTIVITIES).dictionary_decode(),
            pa.array(at, type=pa.timestamp("us", tz="UTC")),
            pa.DictionaryArray.from_arrays(resource, names).dictionary_decode(),
            pa.DictionaryArray.from_arrays(
                line[case_of].astype(np.int32), LINES
            ).dictionary_decode(),
            pa.DictionaryArray.from_arrays(
                product[case_of].astype(np.int32), PRODUCTS
            ).dictionary_decode(),
            pa.DictionaryArray.from_arrays(
                priority[case_of], ["normal", "rush"]
            ).dictionary_decode(),
        ],
        schema=SCHEMA,
    )


def _resources(
    activity: np.ndarray, pick: np.ndarray, pools: list[tuple[str, ...]], names: list[str]
) -> np.ndarray:
    """Vectorised: each event's resource drawn uniformly from its activity's pool."""
    out = np.empty(activity.size, dtype=np.int32)
    for code, pool in enumerate(pools):
        where = activity == code
        table = np.array([names.index(r) for r in pool], dtype=np.int32)
        out[where] = table[(pick[where] * len(pool)).astype(np.int64)]
    return out


def log_path(events: int, seed: int = SEED) -> Path:
    """The cached Parquet log of this size and seed, generated if missing."""
    path = CACHE / f"filters-{label(events)}-seed{seed}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(generate(events, seed), tmp, compression="zstd", row_group_size=256 * 1024)
        tmp.replace(path)
    return path


# --- the filters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One first-time filter and the analysis asked after it.

    ``query`` is the API's query string as pairs (``time_from``, ``time_to``, ``attribute``
    as ``COLUMN=VALUE``, ``start_activity``, ``end_activity``, ``top_variants``, ``variant``
    as ``A,B,C``, and ``performance`` for the DFG).
    """

    name: str
    kind: str  # time, attribute, start, end, top-k, variant, time+attribute
    analysis: str  # dfg, variants, kpi
    query: tuple[tuple[str, str], ...]

    def path(self, dataset_id: str) -> str:
        return f"/api/v1/analytics/datasets/{dataset_id}/{self.analysis}?{urlencode(self.query)}"

    def case_filters(self) -> CaseFilters:
        """What the API makes of the query (UTC times, so no zone is needed)."""
        from andon.analytics.filters import parse_case_filters

        query: dict[str, list[str]] = {}
        for key, value in self.query:
            query.setdefault(key, []).append(value)
        return parse_case_filters(
            time_from=query.get("time_from", [None])[0],
            time_to=query.get("time_to", [None])[0],
            attribute=query.get("attribute", ()),
            start_activity=query.get("start_activity", ()),
            end_activity=query.get("end_activity", ()),
            variant=query.get("variant", ()),
            top_variants=int(query["top_variants"][0]) if "top_variants" in query else None,
        )


def _window(start: str, end: str) -> tuple[tuple[str, str], ...]:
    return (("time_from", f"{start}T00:00:00+00:00"), ("time_to", f"{end}T23:59:59+00:00"))


def filters(seed: int = SEED) -> list[Filter]:
    """The 20 filters: time windows with the performance DFG, resource (and a case attribute)
    with variants, start and end activity, top-k variants, one variant, time + resource with
    KPIs. All different, so none answers from another's cached result."""
    variants = common_variants(seed)
    perf = (("performance", "true"),)
    out = [
        Filter(f"dfg time {a}..{b}", "time", "dfg", _window(a, b) + perf)
        for a, b in (
            ("2024-01-01", "2024-01-31"),
            ("2024-03-01", "2024-03-14"),
            ("2024-06-01", "2024-06-30"),
            ("2024-10-01", "2024-12-31"),
        )
    ]
    out += [
        Filter(f"variants {pair}", "attribute", "variants", (("attribute", pair),))
        for pair in ("resource=cell-3", "resource=cell-5", "resource=cell-7", "line=L2")
    ]
    out += [
        Filter("dfg start Expedite", "start", "dfg", (("start_activity", "Expedite"),)),
        Filter("variants end Scrap", "end", "variants", (("end_activity", "Scrap"),)),
        Filter("kpi end Ship", "end", "kpi", (("end_activity", "Ship"),)),
    ]
    out += [
        Filter("dfg top 7", "top-k", "dfg", (("top_variants", "7"),)),
        Filter("variants top 3", "top-k", "variants", (("top_variants", "3"),)),
        Filter("kpi top 10", "top-k", "kpi", (("top_variants", "10"),)),
        Filter("dfg top 20 performance", "top-k", "dfg", (("top_variants", "20"), *perf)),
    ]
    second, fifth = ",".join(variants[1]), ",".join(variants[4])
    out += [
        Filter("dfg variant #2 performance", "variant", "dfg", (("variant", second), *perf)),
        Filter("kpi variant #5", "variant", "kpi", (("variant", fifth),)),
    ]
    out += [
        Filter(
            f"kpi time {a}..{b} resource={cell}",
            "time+attribute",
            "kpi",
            (*_window(a, b), ("attribute", f"resource={cell}")),
        )
        for a, b, cell in (
            ("2024-02-01", "2024-02-29", "cell-2"),
            ("2024-05-01", "2024-05-31", "cell-6"),
            ("2024-09-01", "2024-09-30", "cell-9"),
        )
    ]
    return out


# --- Andon ----------------------------------------------------------------------------------


@contextmanager
def _scratch_app(path: Path) -> Iterator[tuple[Any, dict[str, str], Any]]:
    """The app in-process on a scratch SQLite database and data directory, with its
    start-up (so the prepared-form cache has its default size), a supervisor's API token
    and room for ``path``: (client, headers, settings)."""
    from fastapi.testclient import TestClient

    from andon.accounts import service as accounts
    from andon.accounts.schemas import GrantIn, TokenCreate, UserCreate
    from andon.api.app import create_app
    from andon.core import migrations
    from andon.core.config import Settings
    from andon.core.database import Database, create_db_engine
    from andon.core.permissions import Role, system_actor
    from andon.core.uow import Context

    with tempfile.TemporaryDirectory(prefix="andon-bench-filters-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = create_db_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        db = Database(url)
        settings = Settings(
            database_url=url,
            secret_key="bench-secret-" + "x" * 40,
            data_dir=Path(tmp),
            max_log_bytes=max(path.stat().st_size * 2, 64 * 2**20),
        )
        ctx = Context(db, system_actor("bench"))
        user = accounts.create_user(
            ctx,
            UserCreate(
                username="bench-analyst",
                display_name="Bench analyst",
                password="bench password 1234",  # noqa: S106 - a scratch database
                grants=[GrantIn(role=Role.SUPERVISOR)],
            ),
        )
        _, token = accounts.create_token_for(ctx, user.id, TokenCreate(name="bench"))
        try:
            with TestClient(create_app(settings, db)) as client:
                yield client, {"Authorization": f"Bearer {token}"}, settings
        finally:
            db.dispose()


def _upload(client: Any, headers: dict[str, str], path: Path) -> tuple[str, float]:
    """Upload the log with ``wait=true``: the new dataset's id and the seconds from the
    request to the answer (upload → ready)."""
    t0 = time.perf_counter()
    response = client.post(
        "/api/v1/analytics/datasets?wait=true",
        files={"file": (path.name, path.read_bytes())},
        data={
            "case": "case_id",
            "activity": "activity",
            "timestamp": "timestamp",
            "resource": "resource",
        },
        headers=headers,
    )
    seconds = time.perf_counter() - t0
    if response.status_code != 201:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    return str(response.json()["id"]), seconds


def _wait_for_form(data_dir: Path, dataset_id: str) -> tuple[float, float]:
    """Wait until the import has opened the dataset's prepared form in memory, then until
    it has kept the whole-log report computed from it (both done in the background once the
    import is ready): the seconds waited for each."""
    from andon.analytics.dataset_store import report_path
    from andon.analytics.prepared_cache import prepared_forms

    waited = []
    for done in (
        lambda: dataset_id in prepared_forms.held(),
        report_path(data_dir, dataset_id).exists,
    ):
        t0 = time.perf_counter()
        while not done():
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("the import's background work did not finish")
            time.sleep(0.005)
        waited.append(time.perf_counter() - t0)
    return waited[0], waited[1]


def andon_side(path: Path, chosen: list[Filter]) -> dict[str, Any]:
    """Upload the log to an in-process app, then ask each filter once, uncached."""
    from andon.analytics import dataset_store
    from andon.analytics.analysis_cache import results as cache
    from andon.analytics.prepared_cache import prepared_forms

    with _scratch_app(path) as (client, headers, settings):
        dataset_id, import_seconds = _upload(client, headers, path)
        kept = dataset_store.parquet_path(settings.data_dir, dataset_id)
        # The import opens the new dataset's prepared form in memory once it is ready, then
        # keeps the whole-log report (a one-time cost per dataset and server process, as
        # pm4py's reading of the DataFrame is, which its side does not count either): timed
        # apart, and waited for, so no filter shares the machine with it.
        form_open_seconds, report_seconds = _wait_for_form(settings.data_dir, dataset_id)
        timings: dict[str, float] = {}
        answers: dict[str, int] = {}
        for f in chosen:
            # First-time: the filters differ from each other (so no answer, nor the DFG a
            # KPI answer also keeps, is cached for this one) and the app is new; checked
            # here against the analysis cache's keys, which end with (analysis,
            # repr(filters)). Emptying it instead would also empty what a prepared form
            # keeps open, which a first-time filter may use.
            key = (f.analysis, repr(f.case_filters()))
            if any(k[0] == dataset_id and k[2:] == key for k in list(cache.items)):
                raise RuntimeError(f"{f.name}: its answer is already cached")
            t0 = time.perf_counter()
            answer = client.get(f.path(dataset_id), headers=headers)
            timings[f.name] = time.perf_counter() - t0
            if answer.status_code != 200:
                raise RuntimeError(f"{f.name}: {answer.status_code} {answer.text}")
            answers[f.name] = _andon_cases(f, answer.json())
        prepared = dataset_store.prepared_path(settings.data_dir, dataset_id)
        prepared_bytes = sum(f.stat().st_size for f in prepared.iterdir())
        open_bytes = prepared_forms.bytes
        held = prepared_forms.held()
        # The process's memory with the dataset's form open, and once it is closed: the
        # difference is what keeping it open costs the server.
        rss_open = _rss_mb()
        prepared_forms.clear()
        rss_closed = _rss_mb()
        return {
            "import_seconds": round(import_seconds, 3),
            "form_opened_after_import_seconds": round(form_open_seconds, 3),
            "report_kept_after_form_opened_seconds": round(report_seconds, 3),
            "uploaded_parquet_bytes": path.stat().st_size,
            "kept_rows_parquet_bytes": kept.stat().st_size if kept.exists() else None,
            "prepared_form_bytes": prepared_bytes,
            # What DuckDB reports the open prepared form's tables hold in memory.
            "open_prepared_form_bytes": open_bytes,
            "prepared_form_held_in_memory": dataset_id in held,
            "rss_mb_with_form_open": rss_open,
            "rss_mb_after_closing_it": rss_closed,
            "latency_ms": {k: round(v * 1000, 1) for k, v in timings.items()},
            "kept_cases": answers,
            **summary(list(timings.values())),
        }


# Uploads of each flow, alternated: one import varies by a fifth from the next on this VM.
IMPORT_ROUNDS = 5
IMPORT_ROUNDS_AT_10M = 2


def import_cost(path: Path) -> dict[str, Any]:
    """What preparing adds to an import: the import as a user waits for it (upload → ready
    through the API, as ``import_seconds``) before prepared forms and now, alternated
    :data:`IMPORT_ROUNDS` times (:data:`IMPORT_ROUNDS_AT_10M` at 10M events) on one scratch
    app, the medians compared; and the same
    without the app (:func:`import_cost_in_process`), where the upload's handling is left
    out and the ratio is larger.

    *Before* is today's app with the import's analysis as it was before prepared forms
    (order the events, mine the whole-log report from them, write it), put in place of
    :func:`andon.analytics.dataset_imports.analyse_upload` for that upload only. Each
    dataset is removed before the next upload, and after an import with its form the next
    one waits until the form has been opened, so no import shares the machine with another
    one's work.
    """
    from andon.analytics import dataset_imports, dataset_store
    from andon.analytics.prepared_cache import prepared_forms
    from andon.core.permissions import system_actor
    from andon.core.uow import Context

    seconds: dict[str, list[float]] = {"before_prepared_forms": [], "with_prepared_form": []}
    analyse, open_form = dataset_imports.analyse_upload, dataset_imports._open_prepared
    with _scratch_app(path) as (client, headers, settings):
        ctx = Context(client.app.state.db, system_actor("bench"))
        for _ in range(_rounds(path)):
            for flow in seconds:
                before = flow == "before_prepared_forms"
                if before:
                    dataset_imports.analyse_upload = _analyse_before_prepared_forms
                    dataset_imports._open_prepared = lambda *args: None
                try:
                    dataset_id, taken = _upload(client, headers, path)
                finally:
                    dataset_imports.analyse_upload = analyse
                    dataset_imports._open_prepared = open_form
                if not before:
                    _wait_for_form(settings.data_dir, dataset_id)
                seconds[flow].append(taken)
                dataset_store.delete_dataset(ctx, settings.data_dir, dataset_id)
                prepared_forms.clear()
    return {"through_the_api": _compared(seconds), "in_process": import_cost_in_process(path)}


def _rounds(path: Path) -> int:
    big = pq.ParquetFile(path).metadata.num_rows >= 10_000_000
    return IMPORT_ROUNDS_AT_10M if big else IMPORT_ROUNDS


def _compared(seconds: dict[str, list[float]]) -> dict[str, Any]:
    """Each flow's times, their medians and the ratio of the medians, now over before."""
    medians = {flow: statistics.median(values) for flow, values in seconds.items()}
    return {
        **{f"{flow}_seconds": [round(v, 3) for v in values] for flow, values in seconds.items()},
        **{f"{flow}_median_seconds": round(medians[flow], 3) for flow in medians},
        "ratio": round(medians["with_prepared_form"] / medians["before_prepared_forms"], 3),
    }


def _analyse_before_prepared_forms(log: Any, data_dir: Path, dataset_id: str) -> None:
    """The import's analysis before prepared forms: the events ordered and the whole-log
    report mined from them and written (no prepared form)."""
    from andon.analytics.dataset_store import report_path, write_json
    from andon.analytics.report import mine_report, prepare

    write_json(report_path(data_dir, dataset_id), mine_report(prepare(log)).as_json())


def import_cost_in_process(path: Path) -> dict[str, Any]:
    """:func:`import_cost` on this process's module functions (no app, no upload): read and
    judge, keep the rows as Parquet, then the analysis before prepared forms or today's
    (:func:`andon.analytics.dataset_imports.analyse_upload`), each on a fresh connection,
    alternated :data:`IMPORT_ROUNDS` times, the earlier flow first; medians compared."""
    import ibis

    from andon.analytics.dataset_imports import analyse_upload
    from andon.analytics.sources import ColumnMapping, read_log

    mapping = ColumnMapping(
        case="case_id", activity="activity", timestamp="timestamp", resource="resource"
    )
    seconds: dict[str, list[float]] = {"before_prepared_forms": [], "with_prepared_form": []}
    with tempfile.TemporaryDirectory(prefix="andon-bench-import-") as tmp:
        for round_ in range(_rounds(path)):
            for flow in seconds:
                dataset_id = f"{flow}-{round_}"
                t0 = time.perf_counter()
                log = read_log(path, mapping=mapping).log
                log.table.to_parquet(f"{tmp}/{dataset_id}.parquet")
                analysis = (
                    _analyse_before_prepared_forms
                    if flow == "before_prepared_forms"
                    else analyse_upload
                )
                analysis(log, Path(tmp), dataset_id)
                seconds[flow].append(time.perf_counter() - t0)
                ibis.get_backend(log.table).disconnect()
    return _compared(seconds)


def _andon_cases(f: Filter, document: dict[str, Any]) -> int:
    """The number of kept cases an answer reports, to check the two sides kept the same."""
    if f.analysis == "variants":
        return sum(int(v["cases"]) for v in document["variants"])
    if f.analysis == "kpi":
        return int(document["cases"])
    return sum(int(n) for n in document["start_activities"].values())


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


# --- pm4py (a child process) ----------------------------------------------------------------


def pm4py_side(path: Path) -> dict[str, Any]:
    """Run :func:`pm4py_child` in a child process and read its JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.analytics_filters", "--pm4py-child", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def pm4py_child(path: Path) -> None:
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # the welcome banner
        import pm4py
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    df = pm4py.format_dataframe(
        df, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )
    load_seconds = time.perf_counter() - t0
    case, activity, stamp = "case:concept:name", "concept:name", "time:timestamp"

    def variant_of_case(frame: pd.DataFrame) -> pd.Series:
        # pm4py.filter_variants / filter_variants_top_k fail under pandas 3; plain pandas.
        ordered = frame.sort_values([case, stamp], kind="stable")
        return ordered.groupby(case, sort=False)[activity].agg(",".join)

    def apply(frame: pd.DataFrame, query: tuple[tuple[str, str], ...]) -> tuple[pd.DataFrame, str]:
        how = "pm4py"
        params = dict(query)
        if "time_from" in params:
            frame = pm4py.filter_time_range(
                frame,
                datetime.fromisoformat(params["time_from"]),
                datetime.fromisoformat(params["time_to"]),
                mode="traces_intersecting",
            )
        if "attribute" in params:
            column, value = params["attribute"].split("=", 1)
            frame = pm4py.filter_event_attribute_values(
                frame, column, [value], level="case", retain=True
            )
        if "start_activity" in params:
            frame = pm4py.filter_start_activities(frame, [params["start_activity"]])
        if "end_activity" in params:
            frame = pm4py.filter_end_activities(frame, [params["end_activity"]])
        if "top_variants" in params:
            how = "plain-pandas"
            per_case = variant_of_case(frame)
            top = per_case.value_counts().index[: int(params["top_variants"])]
            frame = frame[frame[case].isin(per_case.index[per_case.isin(top)])]
        if "variant" in params:
            how = "plain-pandas"
            per_case = variant_of_case(frame)
            frame = frame[frame[case].isin(per_case.index[per_case == params["variant"]])]
        return frame, how

    timings: dict[str, float] = {}
    methods: dict[str, str] = {}
    kept: dict[str, int] = {}
    for f in filters():
        t0 = time.perf_counter()
        frame, how = apply(df, f.query)
        if f.analysis == "dfg":
            _, starts, _ = pm4py.discover_dfg(frame)
            if ("performance", "true") in f.query:
                pm4py.discover_performance_dfg(frame)
            kept[f.name] = int(sum(starts.values()))
        elif f.analysis == "variants":
            variants = pm4py.get_variants(frame)
            kept[f.name] = int(sum(v if isinstance(v, int) else len(v) for v in variants.values()))
        else:
            pm4py.get_rework_cases_per_activity(frame)
            durations = pm4py.get_all_case_durations(frame)
            kept[f.name] = len(durations)
        timings[f.name] = time.perf_counter() - t0
        methods[f.name] = how
    print(
        json.dumps(
            {
                "load_seconds": round(load_seconds, 3),
                "latency_ms": {k: round(v * 1000, 1) for k, v in timings.items()},
                "filter_method": methods,
                "kept_cases": kept,
                **summary(list(timings.values())),
            }
        )
    )


# --- the run --------------------------------------------------------------------------------


def run(events: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    path = log_path(events)
    generate_seconds = time.perf_counter() - t0
    chosen = filters()
    rss_before = _rss_mb()
    andon = andon_side(path, chosen)
    # This process is the app's: its memory before the upload (the generator's, if it just
    # wrote the log) and at its peak, the upload's bytes and the 20 answers included.
    andon["process_rss_mb_before"] = rss_before
    andon["process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    pm = pm4py_side(path)
    cost = import_cost(path)
    mismatched = [f.name for f in chosen if andon["kept_cases"][f.name] != pm["kept_cases"][f.name]]
    return {
        "benchmark": "interactive filters (issue 17): 20 first-time filters, API vs pm4py",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_before": os.getloadavg(),
            "load_after": os.getloadavg(),
        },
        "log": {
            "events": events,
            "cases": len(pc.unique(pq.read_table(path, columns=["case_id"]).column(0))),
            "path": str(path),
            "generate_or_find_seconds": round(generate_seconds, 2),
        },
        "filters": [
            {"name": f.name, "kind": f.kind, "analysis": f.analysis, "path": f.path("{id}")}
            for f in chosen
        ],
        "andon": andon,
        "pm4py": pm,
        "kept_cases_differ": mismatched,
        "ratio_andon_p95_over_pm4py_p95": round(andon["p95_ms"] / pm["p95_ms"], 3),
        "ratio_pm4py_p95_over_andon_p95": round(pm["p95_ms"] / andon["p95_ms"], 1),
        "import_cost": cost,
        "prepared_form_over_kept_rows": round(
            andon["prepared_form_bytes"] / andon["kept_rows_parquet_bytes"], 3
        ),
    }


def _rss_mb() -> int:
    """This process's resident memory now, in MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analytics_filters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, choices=SIZES, default=DEFAULT_EVENTS)
    parser.add_argument("--pm4py-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pm4py_child:
        pm4py_child(args.pm4py_child)
        return
    load_before = os.getloadavg()
    results = run(args.events)
    results["machine"]["load_before"] = load_before
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
