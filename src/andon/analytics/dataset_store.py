"""The datasets the pages and the API mine: uploads kept as files, and the plant's own events.

An upload's kept rows are stored under ``<data_dir>/analytics/`` as ``<id>.parquet`` beside
``<id>.json`` (name, uploader, time, quality report) and ``<id>.report.json`` (the whole log's
DFG, variants and KPIs, computed once at import, see :mod:`andon.analytics.dataset_imports`).
A dataset exists once its ``.json`` does; a file store keeps the ORM out of analytics, and the
audit trail records every import and removal. The plant's own work events are the
pseudo-datasets ``plant`` (every process) and ``plant-<process key>``, read afresh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from andon.analytics import analysis_cache
from andon.core.errors import Conflict, NotFound, PermissionDenied
from andon.core.permissions import Action, Reach, authorize_somewhere, reach
from andon.core.uow import Context

if TYPE_CHECKING:
    from andon.analytics.log import EventLog

FOLDER = "analytics"
PLANT = "plant"

UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_PLANT_ID = re.compile(r"^plant(?:-([a-z][a-z0-9_]{0,39}))?$")


@dataclass(frozen=True)
class Dataset:
    """An event log the pages and the API can mine: an upload, or the plant's own events.

    ``quality`` is the import's data-quality report (``andon log check --json``); plant
    datasets have none (Andon wrote those events itself). ``process`` is the process key of
    a ``plant-<key>`` dataset.
    """

    id: str
    name: str
    kind: Literal["upload", "plant"]
    filename: str | None = None
    format: str | None = None
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None
    interval: bool = False
    strict: bool = False
    columns: tuple[str, ...] = ()
    quality: dict[str, Any] | None = None
    has_quarantine: bool = False
    process: str | None = None
    # Plant datasets only: the sites and areas whose lines the reader's role reaches
    # (None: the whole plant). Part of what a cached result is keyed by.
    reach: Reach | None = None

    @property
    def cases(self) -> int | None:
        return None if self.quality is None else int(self.quality["cases"])

    @property
    def events(self) -> int | None:
        return None if self.quality is None else int(self.quality["events"])


# --- paths -------------------------------------------------------------------------------


def root(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def meta_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.json"


def parquet_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.parquet"


def report_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.report.json"


def prepared_path(data_dir: Path, dataset_id: str) -> Path:
    """The folder of the upload's prepared form (:mod:`andon.analytics.prepared`)."""
    return root(data_dir) / f"{dataset_id}.prepared"


def quarantine_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.quarantine.csv"


def write_json(path: Path, document: Any) -> None:
    """Replace ``path`` in one step, so a reader sees the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temp.write_text(json.dumps(document, ensure_ascii=False, default=_jsonable), "utf-8")
    os.replace(temp, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- datasets ----------------------------------------------------------------------------


def list_datasets(ctx: Context, data_dir: Path) -> list[Dataset]:
    """The uploaded datasets, newest first (the plant's events are not listed here)."""
    authorize_somewhere(ctx.actor, Action.ANALYTICS_READ)
    folder = root(data_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        if UPLOAD_ID.match(path.stem) is None:
            continue  # *.report.json and anything else that is not a dataset's sidecar
        dataset = _read_meta(path)
        if dataset is not None:
            found.append(dataset)
    found.sort(key=lambda d: (d.uploaded_at or datetime.min, d.id), reverse=True)
    return found


def get_dataset(ctx: Context, data_dir: Path, dataset_id: str) -> Dataset:
    """One dataset by id: a 32-hex-digit upload id, ``plant`` or ``plant-<process key>``.

    NotFound for an unknown id (or an unknown process); the plant's events need a plant-wide
    grant, since they span every site.
    """
    plant = _PLANT_ID.match(dataset_id)
    if plant is not None:
        return _plant_dataset(ctx, plant.group(1))
    authorize_somewhere(ctx.actor, Action.ANALYTICS_READ)
    dataset = None
    if UPLOAD_ID.match(dataset_id):
        dataset = _read_meta(meta_path(data_dir, dataset_id))
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    return dataset


def plant_datasets(ctx: Context) -> list[Dataset]:
    """``plant`` and one ``plant-<key>`` per process, limited to what the actor reaches."""
    try:
        reach(ctx.actor, Action.ANALYTICS_READ)
    except PermissionDenied:
        return []
    from andon.processes.service import list_processes

    found = [_plant_dataset(ctx, None)]
    found += [_plant_dataset(ctx, p.key, p.name) for p in list_processes(ctx)]
    return found


def _plant_dataset(ctx: Context, process: str | None, name: str | None = None) -> Dataset:
    where = reach(ctx.actor, Action.ANALYTICS_READ)
    if process is None:
        return Dataset(id=PLANT, name="Plant events: every process", kind="plant", reach=where)
    if name is None:
        from andon.processes.service import get_process

        name = get_process(ctx, process).name
    return Dataset(
        id=f"{PLANT}-{process}",
        name=f"Plant events: {name}",
        kind="plant",
        process=process,
        reach=where,
    )


def _read_meta(path: Path) -> Dataset | None:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    uploaded_at = raw.get("uploaded_at")
    return Dataset(
        id=raw["id"],
        name=raw["name"],
        kind="upload",
        filename=raw["filename"],
        format=raw["format"],
        uploaded_by=raw["uploaded_by"],
        uploaded_at=datetime.fromisoformat(uploaded_at) if uploaded_at else None,
        interval=bool(raw["interval"]),
        strict=bool(raw["strict"]),
        columns=tuple(raw["columns"]),
        quality=raw["quality"],
        has_quarantine=bool(raw["has_quarantine"]),
    )


def delete_dataset(ctx: Context, data_dir: Path, dataset_id: str) -> Dataset:
    """Remove an uploaded dataset and its files; audited. The plant's events cannot be."""
    authorize_somewhere(ctx.actor, Action.ANALYTICS_UPLOAD)
    dataset = get_dataset(ctx, data_dir, dataset_id)
    if dataset.kind != "upload":
        raise Conflict("the plant's own events are not a dataset that can be removed")
    meta = meta_path(data_dir, dataset.id)
    with ctx.write() as tx:
        tx.audit(
            "analytics_dataset",
            dataset.id,
            "delete",
            before={"name": dataset.name, "filename": dataset.filename, "events": dataset.events},
        )
        # The sidecar goes first, inside the transaction: from here on the dataset is gone
        # for every reader, and a failed audit leaves it in place.
        meta.unlink()
    for path in (
        parquet_path(data_dir, dataset.id),
        report_path(data_dir, dataset.id),
        quarantine_path(data_dir, dataset.id),
    ):
        path.unlink(missing_ok=True)
    shutil.rmtree(prepared_path(data_dir, dataset.id), ignore_errors=True)
    analysis_cache.results.forget(dataset.id)
    from andon.analytics.prepared_cache import prepared_forms

    prepared_forms.forget(dataset.id)
    return dataset


def open_log(ctx: Context, data_dir: Path, dataset: Dataset) -> EventLog:
    """The dataset's events as an EventLog on a new in-memory DuckDB connection."""
    from andon.analytics.engines import connect
    from andon.analytics.log import EventLog

    if dataset.kind == "plant":
        from andon.analytics.andon_events import read_andon_events

        where = dataset.reach
        return read_andon_events(
            ctx.db.url,
            process=dataset.process,
            engine="duckdb",
            site_ids=None if where is None else where.site_ids,
            area_ids=None if where is None else where.area_ids,
        )
    backend: Any = connect("duckdb")
    table = backend.read_parquet(str(parquet_path(data_dir, dataset.id)))
    return EventLog(table=table, source=dataset.filename or dataset.id, interval=dataset.interval)


def read_stored_report(data_dir: Path, dataset: Dataset) -> dict[str, dict[str, Any]] | None:
    """The upload's whole-log DFG, variants and KPIs, as kept once it was imported; None
    when they have not been kept (yet), or the dataset has been removed meanwhile."""
    try:
        report: dict[str, dict[str, Any]] = json.loads(
            report_path(data_dir, dataset.id).read_text("utf-8")
        )
    except FileNotFoundError:
        return None
    return {"dfg": report["dfg"], "variants": report["variants"], "kpi": report["kpi"]}
