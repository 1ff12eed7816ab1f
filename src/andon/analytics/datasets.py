"""Event logs kept for the pages and the API: uploaded files as Parquet, and the plant's events.

An upload is judged by :func:`andon.analytics.sources.read_log` (the data-quality report)
before anything is kept; its kept rows are stored under ``<data_dir>/analytics/`` as
``<id>.parquet`` beside ``<id>.json`` (name, uploader, time, quality report) and
``<id>.report.json`` (the whole log's DFG, variants and KPIs, computed once). A dataset
exists once its ``.json`` does; a file store keeps the ORM out of analytics, and the audit
trail records every import and removal.

Imports run on one background thread per server process, one at a time; their status lives
in ``imports/<job id>.json`` so any server process can answer for it. The plant's own work
events are the pseudo-datasets ``plant`` (every process) and ``plant-<process key>``, read
afresh (a result is reused until Andon records another event, for at most
:data:`PLANT_TTL_SECONDS`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from andon.core.clock import utcnow
from andon.core.errors import (
    AndonError,
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from andon.core.permissions import Action, Reach, authorize_somewhere, reach
from andon.core.uow import Context

if TYPE_CHECKING:
    from andon.analytics.conformance import IncompletePolicy
    from andon.analytics.filters import CaseFilters
    from andon.analytics.log import EventLog
    from andon.processes.spec import ProcessSpec

log = logging.getLogger("andon.analytics")

FOLDER = "analytics"
PLANT = "plant"
PLANT_TTL_SECONDS = 30.0
MAX_PENDING_IMPORTS = 4  # queued or running in this process; more is refused, not queued
MAX_NAME = 120
JOB_RETENTION_SECONDS = 7 * 86_400
CHUNK_BYTES = 1024 * 1024

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_PLANT_ID = re.compile(r"^plant(?:-([a-z][a-z0-9_]{0,39}))?$")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()+]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ImportStatus = Literal["queued", "reading", "analysing", "ready", "failed"]
FINISHED: frozenset[str] = frozenset({"ready", "failed"})
Analysis = Literal["dfg", "variants", "kpi"]
ANALYSES: tuple[Analysis, ...] = ("dfg", "variants", "kpi")


class LogTooLarge(AndonError):
    """The uploaded file is over the size limit (the request body may have been under it)."""

    status = 413
    title = "Request body too large"


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


@dataclass(frozen=True)
class ImportOptions:
    """How to read an upload: the ``andon log check`` options (see docs/event-logs.md)."""

    name: str | None = None
    strict: bool = False
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    start_timestamp: str | None = None
    timestamp_format: str | None = None
    timezone: str = "UTC"
    object_type: str | None = None
    pair_lifecycle: bool = False  # start/complete events joined into interval events


@dataclass(frozen=True)
class ImportJob:
    """Where an import stands. ``error`` (failed only): ``{"detail", "errors": [{loc, msg,
    type}]}``, the refusal a synchronous read would have raised."""

    id: str
    status: ImportStatus
    filename: str
    name: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    dataset_id: str | None = None
    error: dict[str, Any] | None = None
    pid: int = field(default=0, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


# --- paths -------------------------------------------------------------------------------


def root(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def _meta_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.json"


def parquet_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.parquet"


def _report_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.report.json"


def quarantine_path(data_dir: Path, dataset_id: str) -> Path:
    return root(data_dir) / f"{dataset_id}.quarantine.csv"


def _job_path(data_dir: Path, job_id: str) -> Path:
    return root(data_dir) / "imports" / f"{job_id}.json"


def _incoming_dir(data_dir: Path, job_id: str) -> Path:
    return root(data_dir) / "incoming" / job_id


def _write_json(path: Path, document: Any) -> None:
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
        if _UPLOAD_ID.match(path.stem) is None:
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
    if _UPLOAD_ID.match(dataset_id):
        dataset = _read_meta(_meta_path(data_dir, dataset_id))
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
    meta = _meta_path(data_dir, dataset.id)
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
        _report_path(data_dir, dataset.id),
        quarantine_path(data_dir, dataset.id),
    ):
        path.unlink(missing_ok=True)
    _results.forget(dataset.id)
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


# --- imports -----------------------------------------------------------------------------


class _Imports:
    """The import thread of this server process, and the futures of its jobs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        self.futures: dict[str, Future[Dataset]] = {}

    def submit(self, job_id: str, work: Callable[[], Dataset]) -> Future[Dataset]:
        with self.lock:
            pending = [f for f in self.futures.values() if not f.done()]
            if len(pending) >= MAX_PENDING_IMPORTS:
                raise Conflict(
                    f"{len(pending)} imports are already waiting or running; "
                    "try again when one has finished"
                )
            if self.executor is None:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="andon-import")
            future = self.executor.submit(work)
            self.futures = {k: f for k, f in self.futures.items() if not f.done()}
            self.futures[job_id] = future
            return future

    def known(self, job_id: str) -> bool:
        with self.lock:
            return job_id in self.futures


_imports = _Imports()


def start_import(
    ctx: Context,
    data_dir: Path,
    filename: str,
    stream: BinaryIO,
    options: ImportOptions,
    *,
    max_bytes: int,
) -> tuple[ImportJob, Future[Dataset]]:
    """Accept an upload and queue its import; returns the job (``queued``) and its future.

    Refused at once, nothing kept: a name whose suffix is no log format or an empty file
    (InvalidInput on ``file``), a file over ``max_bytes`` (LogTooLarge), a bad ``name`` or
    ``timezone``. The rest
    (mapping, rows, strictness) is judged by the import, whose failure the job reports.
    """
    authorize_somewhere(ctx.actor, Action.ANALYTICS_UPLOAD)
    from andon.analytics.readers import detect_format

    safe = _safe_filename(filename)
    try:
        detect_format(Path(safe))
    except InvalidInput as exc:
        raise _on_file(exc) from None
    name = _clean_name(options.name) or safe
    _check_timezone(options.timezone)
    job_id = uuid.uuid4().hex
    incoming = _incoming_dir(data_dir, job_id)
    incoming.mkdir(parents=True)
    path = incoming / safe
    try:
        _copy_limited(stream, path, max_bytes)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    now = utcnow()
    job = ImportJob(
        id=job_id,
        status="queued",
        filename=safe,
        name=name,
        requested_by=ctx.actor.username,
        created_at=now,
        updated_at=now,
        pid=os.getpid(),
    )
    _save_job(data_dir, job)
    _sweep_old_jobs(data_dir)
    options = replace(options, name=name)
    try:
        future = _imports.submit(job_id, lambda: _run_import(ctx, data_dir, job, path, options))
    except Conflict:
        _job_path(data_dir, job_id).unlink(missing_ok=True)
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return job, future


def import_now(
    ctx: Context,
    data_dir: Path,
    filename: str,
    stream: BinaryIO,
    options: ImportOptions,
    *,
    max_bytes: int,
) -> Dataset:
    """:func:`start_import`, then wait for it: the dataset, or the import's refusal raised."""
    _, future = start_import(ctx, data_dir, filename, stream, options, max_bytes=max_bytes)
    return future.result()


def get_import(ctx: Context, data_dir: Path, job_id: str) -> ImportJob:
    """The job's status. A job left unfinished by a server process that is gone reports
    ``failed``: its upload went with that process."""
    authorize_somewhere(ctx.actor, Action.ANALYTICS_READ)
    if _UPLOAD_ID.match(job_id) is None:
        raise NotFound(f"no import {job_id!r}")
    path = _job_path(data_dir, job_id)
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no import {job_id!r}") from None
    job = ImportJob(
        **{
            **raw,
            "created_at": datetime.fromisoformat(raw["created_at"]),
            "updated_at": datetime.fromisoformat(raw["updated_at"]),
        }
    )
    if not job.finished and not _owner_alive(job):
        message = "the server restarted before this import finished; upload the file again"
        job = replace(
            job, status="failed", error={"detail": message, "errors": []}, updated_at=utcnow()
        )
    return job


def _owner_alive(job: ImportJob) -> bool:
    if job.pid == os.getpid():
        return _imports.known(job.id)
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _save_job(data_dir: Path, job: ImportJob) -> None:
    _write_json(_job_path(data_dir, job.id), asdict(job))


def _sweep_old_jobs(data_dir: Path) -> None:
    cutoff = time.time() - JOB_RETENTION_SECONDS
    for path in (root(data_dir) / "imports").glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def _run_import(
    ctx: Context, data_dir: Path, job: ImportJob, path: Path, options: ImportOptions
) -> Dataset:
    """Read, judge, store and analyse the upload; the job file follows every step."""
    dataset_id = uuid.uuid4().hex
    written = [
        parquet_path(data_dir, dataset_id),
        _report_path(data_dir, dataset_id),
        quarantine_path(data_dir, dataset_id),
        _meta_path(data_dir, dataset_id),
    ]
    try:
        job = _advance(data_dir, job, "reading")
        dataset = _store(ctx, data_dir, job, path, options, dataset_id)
        job = _advance(data_dir, job, "ready", dataset_id=dataset.id)
        return dataset
    except BaseException as exc:
        for leftover in written:
            leftover.unlink(missing_ok=True)
        if isinstance(exc, AndonError):
            error = _error_document(_on_file(exc) if isinstance(exc, InvalidInput) else exc)
        else:
            log.exception("import %s of %s failed", job.id, job.filename)
            error = {"detail": f"the import failed unexpectedly ({type(exc).__name__})"}
            error["errors"] = []
        _advance(data_dir, job, "failed", error=error)
        if isinstance(exc, InvalidInput):
            raise _on_file(exc) from None
        raise
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _store(
    ctx: Context,
    data_dir: Path,
    job: ImportJob,
    path: Path,
    options: ImportOptions,
    dataset_id: str,
) -> Dataset:
    from andon.analytics.readers import detect_format
    from andon.analytics.report import mine_report, prepare
    from andon.analytics.sources import ColumnMapping, read_log

    quarantine = quarantine_path(data_dir, dataset_id)
    loaded = read_log(
        path,
        mapping=ColumnMapping(
            case=options.case,
            activity=options.activity,
            timestamp=options.timestamp,
            resource=options.resource,
            start_timestamp=options.start_timestamp,
        ),
        strict=options.strict,
        quarantine=quarantine,
        timestamp_format=options.timestamp_format,
        timezone=options.timezone,
        ocel_object_type=options.object_type,
    )
    if options.pair_lifecycle:
        from andon.analytics.lifecycle import pair_lifecycle

        # What is kept, and analysed from here on, is the paired log.
        loaded = replace(loaded, log=pair_lifecycle(loaded.log))
    job = _advance(data_dir, job, "analysing")
    target = parquet_path(data_dir, dataset_id)
    temp = target.with_name(f".{target.name}.part")
    try:
        loaded.log.table.to_parquet(str(temp))
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    report = mine_report(prepare(loaded.log))
    _write_json(_report_path(data_dir, dataset_id), report.as_json())
    from andon.analytics.log import STANDARD_COLUMNS

    dataset = Dataset(
        id=dataset_id,
        name=options.name or job.filename,
        kind="upload",
        filename=job.filename,
        format=detect_format(path),
        uploaded_by=ctx.actor.username,
        uploaded_at=utcnow(),
        interval=loaded.log.interval,
        strict=options.strict,
        columns=tuple(c for c in loaded.log.table.columns if c not in STANDARD_COLUMNS),
        quality=loaded.report.to_dict(),
        has_quarantine=loaded.report.rows_rejected > 0 and quarantine.exists(),
    )
    if not dataset.has_quarantine:
        quarantine.unlink(missing_ok=True)
    with ctx.write() as tx:
        tx.audit(
            "analytics_dataset",
            dataset.id,
            "import",
            after={
                "name": dataset.name,
                "filename": dataset.filename,
                "rows_read": loaded.report.rows_read,
                "rows_rejected": loaded.report.rows_rejected,
                "events": loaded.report.events,
                "strict": dataset.strict,
                "pair_lifecycle": options.pair_lifecycle,
            },
        )
        # Written inside the transaction: a failed audit leaves no dataset behind.
        document = asdict(dataset)
        document.pop("kind")
        document.pop("process")
        _write_json(_meta_path(data_dir, dataset_id), document)
    return dataset


def _advance(data_dir: Path, job: ImportJob, status: ImportStatus, **changes: Any) -> ImportJob:
    job = replace(job, status=status, updated_at=utcnow(), **changes)
    _save_job(data_dir, job)
    return job


def _error_document(exc: AndonError) -> dict[str, Any]:
    errors = []
    if isinstance(exc, InvalidInput):
        errors = [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in exc.errors]
    return {"detail": exc.detail, "errors": errors}


def _on_file(exc: InvalidInput) -> InvalidInput:
    """A reader's refusal about the log itself, located on the uploaded ``file`` field."""
    detail = exc.detail
    if detail.startswith("log: "):
        detail = "file: " + detail.removeprefix("log: ")
    return InvalidInput(
        detail,
        [
            FieldError(("body", "file"), e.msg, e.type) if e.loc in (("body", "log"),) else e
            for e in exc.errors
        ]
        or [FieldError(("body", "file"), exc.detail)],
    )


def _safe_filename(raw: str) -> str:
    """The upload's base name, without path or characters unsafe in a file name."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .").lstrip("-")[-MAX_NAME:]
    if not name:
        raise InvalidInput.for_field("file", "choose a log file to upload")
    return name


def _clean_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = raw.strip()
    if _CONTROL.search(name):
        raise InvalidInput.for_field("name", "must not contain control characters")
    if len(name) > MAX_NAME:
        raise InvalidInput.for_field("name", f"at most {MAX_NAME} characters")
    return name or None


def _check_timezone(zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.for_field(
            "timezone", f"unknown time zone {zone!r}; use an IANA name like Europe/Berlin"
        ) from None


def _copy_limited(stream: BinaryIO, path: Path, max_bytes: int) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise LogTooLarge(f"file: larger than {max_bytes} bytes (ANDON_MAX_LOG_BYTES)")
            out.write(chunk)
    if size == 0:
        raise InvalidInput.for_field("file", "the file is empty")


# --- analyses ----------------------------------------------------------------------------


class _Results:
    """Recent analysis documents by (dataset, analysis, filters); a small LRU with expiry."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[str, ...], tuple[float | None, Any]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> Any | None:
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and expires < time.monotonic():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return value

    def put(self, key: tuple[str, ...], value: Any, ttl: float | None) -> None:
        with self.lock:
            self.items[key] = (None if ttl is None else time.monotonic() + ttl, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def forget(self, dataset_id: str) -> None:
        with self.lock:
            for key in [k for k in self.items if k[0] == dataset_id]:
                del self.items[key]


_results = _Results()


def mine(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    analyses: tuple[Analysis, ...] = ANALYSES,
    filters: CaseFilters | None = None,
) -> dict[str, dict[str, Any]]:
    """The asked analyses of the dataset as the CLI's JSON documents, by name.

    ``dfg`` is ``andon mine dfg --performance --json``, ``variants`` ``andon mine variants
    --json`` (every variant), ``kpi`` ``andon kpi --json``; each after ``filters``. The log is
    read and ordered once for all of them. An upload's unfiltered documents were computed at
    import; plant results are kept for :data:`PLANT_TTL_SECONDS`.
    """
    from andon.analytics.filters import CaseFilters

    filters = filters or CaseFilters()
    ttl = PLANT_TTL_SECONDS if dataset.kind == "plant" else None
    scope = _scope(ctx, data_dir, dataset)
    wanted = tuple(dict.fromkeys(analyses))
    unknown = set(wanted) - set(ANALYSES)
    if unknown:
        raise InvalidInput.for_field("analysis", f"unknown: {', '.join(sorted(unknown))}")
    found: dict[str, dict[str, Any]] = {}
    for name in wanted:
        cached = _results.get((dataset.id, scope, name, repr(filters)))
        if cached is not None:
            found[name] = cached
    missing = [name for name in wanted if name not in found]
    if not missing:
        return found
    if dataset.kind == "upload" and filters.is_empty():
        stored = _stored_report(data_dir, dataset)
        for name in missing:
            found[name] = stored[name]
            _results.put((dataset.id, scope, name, repr(filters)), stored[name], ttl)
        return found
    computed = _compute(ctx, data_dir, dataset, tuple(missing), filters)
    for computed_name, document in computed.items():
        found[computed_name] = document
        _results.put((dataset.id, scope, computed_name, repr(filters)), document, ttl)
    return found


def _scope(ctx: Context, data_dir: Path, dataset: Dataset) -> str:
    """Where a dataset lives and, for the plant, how far its events go: a result is reused
    only for the same data, and the plant's only until Andon records another event."""
    if dataset.kind != "plant":
        return str(Path(data_dir).resolve())
    import sqlalchemy as sa

    with ctx.read() as session:
        # The newest event's id: cheap on the primary key, and it moves with every event.
        newest = session.execute(sa.text("SELECT max(id) FROM work_events")).scalar()
    where = dataset.reach
    within = "" if where is None else f"/{sorted(where.site_ids)}/{sorted(where.area_ids)}"
    return f"{ctx.db.url}@{newest}{within}"


def _stored_report(data_dir: Path, dataset: Dataset) -> dict[str, dict[str, Any]]:
    try:
        report: dict[str, dict[str, Any]] = json.loads(
            _report_path(data_dir, dataset.id).read_text("utf-8")
        )
    except FileNotFoundError:
        raise NotFound(f"dataset {dataset.id!r} has been removed") from None
    return {"dfg": report["dfg"], "variants": report["variants"], "kpi": report["kpi"]}


def _compute(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    analyses: tuple[str, ...],
    filters: CaseFilters,
) -> dict[str, dict[str, Any]]:
    from andon.analytics.discovery import discover_dfg, discover_variants
    from andon.analytics.kpis import compute_kpis
    from andon.analytics.report import prepare, variants_json

    with _opened(ctx, data_dir, dataset) as event_log:
        ordered = prepare(event_log, filters=filters)
        out: dict[str, dict[str, Any]] = {}
        dfg = None
        if "dfg" in analyses or "kpi" in analyses:
            dfg = discover_dfg(ordered, performance=True)
            out["dfg"] = dfg.as_json()
        if "variants" in analyses:
            out["variants"] = variants_json(discover_variants(ordered))
        if "kpi" in analyses:
            out["kpi"] = compute_kpis(ordered, dfg=dfg).as_json()
    return {name: out[name] for name in analyses}


@contextmanager
def _opened(ctx: Context, data_dir: Path, dataset: Dataset) -> Iterator[EventLog]:
    """The dataset's log; its DuckDB connection is closed afterwards."""
    import ibis

    try:
        event_log = open_log(ctx, data_dir, dataset)
    except InvalidInput as exc:
        if dataset.kind != "plant":
            raise
        # No work events (yet): a state of the plant, not a fault in the request.
        raise Conflict(exc.detail.removeprefix("log: ")) from None
    try:
        yield event_log
    finally:
        ibis.get_backend(event_log.table).disconnect()


@dataclass(frozen=True)
class ConformanceResult:
    """The ``andon conformance --json`` document, and the process version it was checked on."""

    spec: ProcessSpec
    version: int
    report: dict[str, Any]


def check_dataset(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    process: str,
    *,
    exclude_incomplete: bool = False,
) -> ConformanceResult:
    """The dataset's conformance to the current version of Andon's process ``process``.

    NotFound for an unknown process. Cases that did not reach an end stage count as
    deviations unless ``exclude_incomplete``.
    """
    from andon.analytics.conformance import check_conformance
    from andon.processes.service import get_version

    _, version, spec = get_version(ctx, process)
    policy: IncompletePolicy = "exclude" if exclude_incomplete else "deviation"
    scope = _scope(ctx, data_dir, dataset)
    key = (dataset.id, scope, "conformance", f"{spec.key}@{version.number}", policy)
    cached = _results.get(key)
    if cached is None:
        with _opened(ctx, data_dir, dataset) as event_log:
            cached = check_conformance(event_log, spec, incomplete=policy)
        _results.put(key, cached, PLANT_TTL_SECONDS if dataset.kind == "plant" else None)
    return ConformanceResult(spec=spec, version=version.number, report=cached)
