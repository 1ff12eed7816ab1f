"""The analyses of a dataset for the pages and the API: DFG, variants, KPIs and conformance.

Each is the CLI's JSON document. An upload's unfiltered documents were computed at import;
its filtered ones are answered from its prepared form (:mod:`andon.analytics.prepared`),
without reading its events. The plant's maps, variants and KPIs come from its prepared form,
refreshed with the events recorded since (:mod:`andon.analytics.plant_form`); its
conformance reads the events afresh. Results are kept in
:mod:`andon.analytics.analysis_cache`; a plant result is reused until Andon records another
event, for at most :data:`PLANT_TTL_SECONDS`.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from andon.analytics.analysis_cache import results
from andon.analytics.dataset_store import (
    Dataset,
    meta_path,
    open_log,
    prepared_path,
    read_stored_report,
    report_path,
    write_json,
)
from andon.core.errors import Conflict, InvalidInput
from andon.core.uow import Context

if TYPE_CHECKING:
    from andon.analytics.conformance import IncompletePolicy
    from andon.analytics.filters import CaseFilters
    from andon.analytics.log import EventLog
    from andon.analytics.ordering import CaseOrderedLog
    from andon.processes.spec import ProcessSpec

PLANT_TTL_SECONDS = 30.0
# dfg_frequency: the map without waits, cheaper to compute; not one of the page's.
Analysis = Literal["dfg", "dfg_frequency", "variants", "kpi"]
# Where an answer of mine() came from: remembered, the kept whole-log report, or computed.
Origin = Literal["memory", "report", "form"]
ANALYSES: tuple[Analysis, ...] = ("dfg", "variants", "kpi")


def mine(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    analyses: tuple[Analysis, ...] = ANALYSES,
    filters: CaseFilters | None = None,
    *,
    origins: dict[str, Origin] | None = None,
) -> dict[str, dict[str, Any]]:
    """The asked analyses of the dataset as the CLI's JSON documents, by name.

    ``dfg`` is ``andon mine dfg --performance --json``, ``variants`` ``andon mine variants
    --json`` (every variant), ``kpi`` ``andon kpi --json``; each after ``filters``, answered
    from the dataset's prepared form. An upload's unfiltered documents are kept once it is
    imported; results are remembered (plant results for :data:`PLANT_TTL_SECONDS`).
    ``origins``, when given, is filled with where each answer came from: ``memory`` (asked
    before), ``report`` (the upload's kept whole-log report) or ``form`` (computed now).
    """
    from andon.analytics.filters import CaseFilters
    from andon.analytics.prepared import frequency_only

    filters = filters or CaseFilters()
    ttl = PLANT_TTL_SECONDS if dataset.kind == "plant" else None
    scope = _scope(ctx, data_dir, dataset)
    wanted = tuple(dict.fromkeys(analyses))
    unknown = set(wanted) - {*ANALYSES, "dfg_frequency"}
    if unknown:
        raise InvalidInput.for_field("analysis", f"unknown: {', '.join(sorted(unknown))}")
    found: dict[str, dict[str, Any]] = {}
    came: dict[str, Origin] = {} if origins is None else origins
    for name in wanted:
        cached = results.get((dataset.id, scope, name, repr(filters)))
        if cached is None and name == "dfg_frequency":
            # The map with waits, asked before, holds the one without.
            with_waits = results.get((dataset.id, scope, "dfg", repr(filters)))
            cached = None if with_waits is None else frequency_only(with_waits)
        if cached is not None:
            found[name], came[name] = cached, "memory"
    missing = [name for name in wanted if name not in found]
    if not missing:
        return found
    stored = None
    if dataset.kind == "upload" and filters.is_empty():
        stored = read_stored_report(data_dir, dataset)
    if stored is not None:
        if "dfg_frequency" in missing:
            stored["dfg_frequency"] = frequency_only(stored["dfg"])
        for name in missing:
            found[name], came[name] = stored[name], "report"
            results.put((dataset.id, scope, name, repr(filters)), stored[name], ttl)
        return found
    computed = _compute(ctx, data_dir, dataset, tuple(missing), filters)
    for computed_name, document in computed.items():
        found[computed_name], came[computed_name] = document, "form"
        results.put((dataset.id, scope, computed_name, repr(filters)), document, ttl)
    return found


def _scope(ctx: Context, data_dir: Path, dataset: Dataset) -> str:
    """Where a dataset lives and, for the plant, how far its events go: a result is reused
    only for the same data, and the plant's only until Andon records another event."""
    if dataset.kind != "plant":
        return str(Path(data_dir).resolve())
    from andon.work.events import latest_event_id

    with ctx.read() as session:
        newest = latest_event_id(session)
    where = dataset.reach
    within = "" if where is None else f"/{sorted(where.site_ids)}/{sorted(where.area_ids)}"
    return f"{ctx.db.url}@{newest}{within}"


def _compute(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    analyses: tuple[str, ...],
    filters: CaseFilters,
) -> dict[str, dict[str, Any]]:
    # Filters select cases in the prepared form: the events are not read again.
    if dataset.kind == "plant":
        return _from_plant_form(ctx, dataset, analyses, filters)
    return _from_prepared(ctx, data_dir, dataset, analyses, filters)


def _from_prepared(
    ctx: Context,
    data_dir: Path,
    dataset: Dataset,
    analyses: tuple[str, ...],
    filters: CaseFilters,
) -> dict[str, dict[str, Any]]:
    """The documents from the upload's prepared form (equal to the events' answers, see
    tests/unit/analytics/test_prepared.py and test_prepared_kpis.py), kept open in memory by
    :data:`~andon.analytics.prepared_cache.prepared_forms`; preparing it first for an upload
    that has none (imported before prepared forms, or restored from a backup) or one of an
    older format."""
    from andon.analytics.prepared import documents
    from andon.analytics.prepared_cache import prepared_forms

    directory = prepared_path(data_dir, dataset.id)
    if not _prepared_is_current(directory):
        _prepare_stored(ctx, data_dir, dataset, directory)
    with prepared_forms.lease(dataset.id, directory) as prepared:
        found = documents(prepared, filters, analyses)
    return {name: found[name] for name in analyses}


def _from_plant_form(
    ctx: Context, dataset: Dataset, analyses: tuple[str, ...], filters: CaseFilters
) -> dict[str, dict[str, Any]]:
    """The documents from the plant's prepared form, refreshed first with
    the work events recorded since (:mod:`andon.analytics.plant_form`); the dataset's
    process and the reader's reach select its cases."""
    from andon.analytics.plant_form import plant_form
    from andon.analytics.prepared import documents

    form = plant_form(ctx.db)
    form.refresh(ctx.db.engine)
    with form.reading(dataset.process, dataset.reach) as prepared:
        if prepared.cases.count().execute() == 0:
            # As when the events are read: no work events (yet) is a state of the plant.
            where = f" of process {dataset.process!r}" if dataset.process else ""
            raise Conflict(f"Andon has no work events{where}: empty log")
        found = documents(prepared, filters, analyses)
    return {name: found[name] for name in analyses}


def keep_whole_log_report(data_dir: Path, dataset: Dataset) -> None:
    """Compute the upload's whole-log documents from its prepared form and keep them beside
    it, for :func:`mine` to read (unless the dataset is removed meanwhile)."""
    from andon.analytics.prepared import documents
    from andon.analytics.prepared_cache import prepared_forms

    with prepared_forms.lease(dataset.id, prepared_path(data_dir, dataset.id)) as prepared:
        report = documents(prepared)
    target = report_path(data_dir, dataset.id)
    write_json(target, report)
    if not meta_path(data_dir, dataset.id).exists():
        # Removed while the report was computed: what was just written goes too.
        target.unlink(missing_ok=True)


_preparing = threading.Lock()


def _prepare_stored(ctx: Context, data_dir: Path, dataset: Dataset, directory: Path) -> None:
    """Prepare a stored upload once: concurrent requests wait for the first one's files."""
    with _preparing:
        if _prepared_is_current(directory):
            return
        from andon.analytics.report import prepare

        with _opened(ctx, data_dir, dataset) as event_log:
            write_prepared_form(prepare(event_log), directory, log=event_log)


def _prepared_is_current(directory: Path) -> bool:
    from andon.analytics.prepared import FORMAT_VERSION, prepared_format

    return prepared_format(directory) == FORMAT_VERSION


def write_prepared_form(
    ordered: CaseOrderedLog,
    directory: Path,
    *,
    log: EventLog | None = None,
) -> None:
    """Prepare ``ordered`` and write it to ``directory`` in one step: built beside it and
    renamed, so a reader finds the whole prepared form or none. The filterable attributes
    are those ``ordered`` carries (ordered with ``prepared.filterable_columns``) or, with
    ``log`` (the log it was ordered from), that log's."""
    from andon.analytics.prepared import prepare, release_prepared, write_prepared

    building = directory.with_name(f".{directory.name}.{uuid.uuid4().hex}.part")
    prepared = prepare(ordered, log=log)
    try:
        write_prepared(prepared, building)
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(building, directory)
    finally:
        release_prepared(prepared)
        shutil.rmtree(building, ignore_errors=True)


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
    cached = results.get(key)
    if cached is None:
        with _opened(ctx, data_dir, dataset) as event_log:
            cached = check_conformance(event_log, spec, incomplete=policy)
        results.put(key, cached, PLANT_TTL_SECONDS if dataset.kind == "plant" else None)
    return ConformanceResult(spec=spec, version=version.number, report=cached)
