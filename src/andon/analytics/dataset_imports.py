"""Background imports of uploaded event logs: accept the file, judge it, store it, analyse it.

An upload is judged by :func:`andon.analytics.sources.read_log` (the data-quality report)
before anything is kept, then stored as a dataset (:mod:`andon.analytics.dataset_store`) with
its whole-log analyses. Imports run on one background thread per server process, one at a
time; their status lives in ``imports/<job id>.json`` so any server process can answer for it.
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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from andon.analytics.dataset_store import (
    UPLOAD_ID,
    Dataset,
    meta_path,
    parquet_path,
    prepared_path,
    quarantine_path,
    report_path,
    root,
    write_json,
)
from andon.core.clock import utcnow, zone_named
from andon.core.errors import AndonError, Conflict, FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context

if TYPE_CHECKING:
    from andon.analytics.log import EventLog

log = logging.getLogger("andon.analytics")

MAX_PENDING_IMPORTS = 4  # queued or running in this process; more is refused, not queued
MAX_NAME = 120
JOB_RETENTION_SECONDS = 7 * 86_400
CHUNK_BYTES = 1024 * 1024

_UNSAFE_NAME = re.compile(r"[^\w.\- ()+]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ImportStatus = Literal["queued", "reading", "analysing", "ready", "failed"]
FINISHED: frozenset[str] = frozenset({"ready", "failed"})


class LogTooLarge(AndonError):
    """The uploaded file is over the size limit (the request body may have been under it)."""

    status = 413
    title = "Request body too large"


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


def _job_path(data_dir: Path, job_id: str) -> Path:
    return root(data_dir) / "imports" / f"{job_id}.json"


def _incoming_dir(data_dir: Path, job_id: str) -> Path:
    return root(data_dir) / "incoming" / job_id


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
    future.add_done_callback(lambda done: _open_prepared(data_dir, done))
    return job, future


def _open_prepared(data_dir: Path, done: Future[Dataset]) -> None:
    """Open a new dataset's prepared form in this process once its import is ready (whoever
    waited for it has been told), so the first filter on it reads memory, not files; then
    keep its whole-log report, so its page opens without a query."""
    if done.cancelled() or done.exception() is not None:
        return
    from andon.analytics.dataset_analyses import keep_whole_log_report
    from andon.analytics.prepared_cache import prepared_forms

    dataset = done.result()
    try:
        prepared_forms.preload(dataset.id, prepared_path(data_dir, dataset.id))
        keep_whole_log_report(data_dir, dataset)
    except Exception:  # the first request does it instead, and reports what is wrong
        log.exception("opening the prepared form of %s failed", dataset.id)


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
    if UPLOAD_ID.match(job_id) is None:
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
    write_json(_job_path(data_dir, job.id), asdict(job))


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
        report_path(data_dir, dataset_id),
        quarantine_path(data_dir, dataset_id),
        meta_path(data_dir, dataset_id),
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
    import ibis

    from andon.analytics.readers import detect_format
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
        analyse_upload(loaded.log, data_dir, dataset_id)
    finally:
        temp.unlink(missing_ok=True)
        # The import's own in-memory database goes now, not when the collector gets to it:
        # at 10M events it held about 0.6 GB of the server's memory past the import.
        ibis.get_backend(loaded.log.table).disconnect()
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
        write_json(meta_path(data_dir, dataset_id), document)
    return dataset


def analyse_upload(log: EventLog, data_dir: Path, dataset_id: str) -> None:
    """What an import computes from the kept rows: the prepared form, which every analysis
    of the dataset is answered from (see dataset_analyses). The whole-log report is not
    made here: once the dataset is ready, :func:`_open_prepared` computes it from the form
    (an unfiltered view asked for before that is answered from the form as any filter)."""
    from andon.analytics.dataset_analyses import write_prepared_form
    from andon.analytics.ordering import release
    from andon.analytics.report import prepare

    ordered = prepare(log)
    try:
        write_prepared_form(ordered, prepared_path(data_dir, dataset_id), log=log)
    finally:
        release(ordered)  # the ordered events: as large as the log


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
        [FieldError(("file",), e.msg, e.type) if e.loc == ("log",) else e for e in exc.errors]
        or [FieldError(("file",), exc.detail)],
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
    try:
        zone_named(zone)
    except ValueError:
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
