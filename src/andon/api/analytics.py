"""Analytics endpoints: upload event logs, their quality report, DFG, variants, KPIs, conformance.

The documents are those of the CLI's ``--json`` output (``andon mine dfg --performance``,
``andon mine variants``, ``andon kpi``, ``andon conformance``), so scripts can use either.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from andon.analytics import dataset_analyses, dataset_imports, dataset_store, schemas
from andon.analytics.filters import CaseFilters, parse_case_filters
from andon.analytics.schemas import ConformanceOut, DatasetOut, DfgOut, KpiOut, VariantsOut
from andon.api.deps import Ctx, get_settings
from andon.api.lanes import ReportRoute
from andon.api.problems import ERROR_RESPONSES, request_loc
from andon.core.config import Settings

router = APIRouter(
    prefix="/api/v1/analytics",
    tags=["analytics"],
    responses=ERROR_RESPONSES,
    route_class=ReportRoute,
)

DatasetId = Annotated[
    str,
    Path(
        pattern=r"^([0-9a-f]{32}|plant(-[a-z][a-z0-9_]{0,39})?)$",
        description=(
            "An uploaded dataset's id, `plant` (Andon's own work events) or `plant-<process key>`."
        ),
    ),
]
ImportId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Import job id.")]
Setting = Annotated[Settings, Depends(get_settings)]
Text = Annotated[str | None, Form(max_length=200)]


class ImportOut(schemas.ImportOut):
    # The work API has an ImportOut too, so OpenAPI names both after their modules; declared
    # here, this one keeps its published name (andon__api__analytics__ImportOut).
    pass


# --- filters -----------------------------------------------------------------------------


def filters(
    settings: Setting,
    time_from: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Keep cases with time in the range from here: ISO 8601; without an "
            "offset, a wall-clock time in ANDON_TIMEZONE.",
        ),
    ] = None,
    time_to: Annotated[
        str | None, Query(max_length=64, description="...up to here, included.")
    ] = None,
    time_mode: Annotated[
        Literal["intersecting", "contained"],
        Query(description="intersecting: any time in the range; contained: wholly inside."),
    ] = "intersecting",
    start_activity: Annotated[
        list[str] | None, Query(max_length=50, description="Keep cases starting with one.")
    ] = None,
    end_activity: Annotated[
        list[str] | None, Query(max_length=50, description="Keep cases ending with one.")
    ] = None,
    variant: Annotated[
        list[str] | None, Query(max_length=50, description="Keep this sequence: A,B,C.")
    ] = None,
    exclude_variant: Annotated[
        list[str] | None, Query(max_length=50, description="Drop this sequence: A,B,C.")
    ] = None,
    top_variants: Annotated[
        int | None, Query(ge=1, le=100_000, description="Keep the K most frequent variants.")
    ] = None,
    attribute: Annotated[
        list[str] | None, Query(max_length=50, description="COLUMN=VALUE; cases with it.")
    ] = None,
) -> CaseFilters:
    """The case filters of every analysis (docs/analytics.md, "Filters"), read as the CLI
    reads its flags."""
    return parse_case_filters(
        time_from=time_from,
        time_to=time_to,
        time_mode=time_mode,
        start_activity=start_activity or (),
        end_activity=end_activity or (),
        variant=variant or (),
        exclude_variant=exclude_variant or (),
        top_variants=top_variants,
        attribute=attribute or (),
        zone=settings.zone,
    )


Filters = Annotated[CaseFilters, Depends(filters)]


def import_out(request: Request, job: dataset_imports.ImportJob) -> dict[str, Any]:
    """The job as JSON, a failure's field paths located in the upload's form body."""
    out: dict[str, Any] = ImportOut.model_validate(job, from_attributes=True).model_dump(
        mode="json"
    )
    if out["error"] is not None:
        out["error"]["errors"] = [
            {**e, "loc": request_loc(request, e["loc"], "body")} for e in out["error"]["errors"]
        ]
    return out


def dataset_out(dataset: dataset_store.Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dataset.id,
        "name": dataset.name,
        "kind": dataset.kind,
        "filename": dataset.filename,
        "format": dataset.format,
        "uploaded_by": dataset.uploaded_by,
        "uploaded_at": dataset.uploaded_at,
        "interval": dataset.interval,
        "strict": dataset.strict,
        "columns": list(dataset.columns),
        "process": dataset.process,
        "quality": dataset.quality,
        "quarantine_url": None,
    }
    if dataset.has_quarantine:
        out["quarantine_url"] = f"/api/v1/analytics/datasets/{dataset.id}/quarantine"
    return out


# --- datasets and imports ----------------------------------------------------------------


@router.post(
    "/datasets",
    response_model=ImportOut,
    status_code=202,
    responses={201: {"model": DatasetOut, "description": "With wait=true: the dataset."}},
    summary="Upload an event log (CSV, XES, Parquet, OCEL 2.0); imported in the background",
)
def upload_dataset(
    request: Request,
    ctx: Ctx,
    settings: Setting,
    file: Annotated[UploadFile, File(description="The log file, as multipart/form-data.")],
    name: Annotated[str | None, Form(max_length=200, description="Default: file name.")] = None,
    strict: Annotated[bool, Form(description="Refuse the log if any row is rejected.")] = False,
    case: Text = None,
    activity: Text = None,
    timestamp: Text = None,
    resource: Text = None,
    start_timestamp: Text = None,
    timestamp_format: Annotated[
        str | None, Form(max_length=100, description="strptime format, e.g. %d/%m/%Y %H:%M.")
    ] = None,
    timezone: Annotated[
        str, Form(max_length=64, description="Zone of timestamps without an offset.")
    ] = "UTC",
    object_type: Annotated[
        str | None, Form(max_length=200, description="OCEL 2.0: flatten for this type.")
    ] = None,
    pair_lifecycle: Annotated[
        bool,
        Form(
            description="Join each lifecycle start with its complete into one interval event "
            "(as pm4py's interval conversion); the log must have a lifecycle column."
        ),
    ] = False,
    wait: Annotated[
        bool, Query(description="Answer when the import has finished: 201 with the dataset.")
    ] = False,
) -> Response:
    """The file is judged in full (the data-quality report) before anything is kept; with
    `strict` any rejected row refuses it. Poll `GET /api/v1/analytics/imports/{id}`, or send
    `wait=true` to get the dataset (or the refusal, 422) in this response. The body may be as
    large as ANDON_MAX_ATTACHMENT_BYTES."""
    options = dataset_imports.ImportOptions(
        name=name,
        strict=strict,
        case=case or None,
        activity=activity or None,
        timestamp=timestamp or None,
        resource=resource or None,
        start_timestamp=start_timestamp or None,
        timestamp_format=timestamp_format or None,
        timezone=timezone or "UTC",
        object_type=object_type or None,
        pair_lifecycle=pair_lifecycle,
    )
    limit = settings.max_log_bytes
    if wait:
        dataset = dataset_imports.import_now(
            ctx, settings.data_dir, file.filename or "", file.file, options, max_bytes=limit
        )
        body = DatasetOut.model_validate(dataset_out(dataset)).model_dump(mode="json")
        return JSONResponse(
            body, status_code=201, headers={"Location": f"/api/v1/analytics/datasets/{dataset.id}"}
        )
    job, _ = dataset_imports.start_import(
        ctx, settings.data_dir, file.filename or "", file.file, options, max_bytes=limit
    )
    return JSONResponse(
        import_out(request, job),
        status_code=202,
        headers={"Location": f"/api/v1/analytics/imports/{job.id}"},
    )


@router.get("/imports/{id}", response_model=ImportOut, summary="Where an import stands")
def get_import(request: Request, ctx: Ctx, settings: Setting, id: ImportId) -> object:
    return import_out(request, dataset_imports.get_import(ctx, settings.data_dir, id))


@router.get("/datasets", response_model=list[DatasetOut], summary="Uploaded datasets, newest first")
def list_datasets(ctx: Ctx, settings: Setting) -> object:
    """The plant's own events are not listed: they are always there as `plant` and
    `plant-<process key>`."""
    return [dataset_out(d) for d in dataset_store.list_datasets(ctx, settings.data_dir)]


@router.get(
    "/datasets/{id}", response_model=DatasetOut, summary="One dataset with its quality report"
)
def get_dataset(ctx: Ctx, settings: Setting, id: DatasetId) -> object:
    return dataset_out(dataset_store.get_dataset(ctx, settings.data_dir, id))


@router.delete("/datasets/{id}", status_code=204, summary="Remove an uploaded dataset")
def delete_dataset(ctx: Ctx, settings: Setting, id: DatasetId) -> Response:
    dataset_store.delete_dataset(ctx, settings.data_dir, id)
    return Response(status_code=204)


@router.get(
    "/datasets/{id}/quarantine",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "Rejected rows, with reason."}},
    summary="The rows the import rejected (CSV: row, reason, then the source columns)",
)
def download_quarantine(ctx: Ctx, settings: Setting, id: DatasetId) -> Response:
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    path = dataset_store.quarantine_path(settings.data_dir, dataset.id)
    if not dataset.has_quarantine or not path.is_file():
        from andon.core.errors import NotFound

        raise NotFound(f"dataset {dataset.id!r} has no rejected rows")
    stem = (dataset.filename or dataset.id).rsplit(".", 1)[0]
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"{stem}-rejected.csv",
        headers={"Cache-Control": "no-store"},
    )


# --- analyses ----------------------------------------------------------------------------


@router.get(
    "/datasets/{id}/dfg",
    response_model=DfgOut,
    response_model_exclude_unset=True,
    summary="Directly-follows graph: edges with frequency (and waiting times), start and end",
)
def get_dfg(
    ctx: Ctx,
    settings: Setting,
    id: DatasetId,
    case_filters: Filters,
    performance: Annotated[bool, Query(description="Add waiting-time statistics.")] = False,
    min_frequency: Annotated[
        int, Query(ge=1, description="Leave out edges seen fewer times than this.")
    ] = 1,
) -> object:
    """Start and end activities are those of every kept case, whatever `min_frequency`."""
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    # Without waits the map is counted on the variants alone: cheaper than with them.
    analysis: dataset_analyses.Analysis = "dfg" if performance else "dfg_frequency"
    graph = dataset_analyses.mine(ctx, settings.data_dir, dataset, (analysis,), case_filters)
    found = graph[analysis]
    edges = [e for e in found["edges"] if e["frequency"] >= min_frequency]
    return {**found, "edges": edges}


@router.get(
    "/datasets/{id}/variants",
    response_model=VariantsOut,
    summary="Variants (activity sequences) with their cases, share and mean duration",
)
def get_variants(
    ctx: Ctx,
    settings: Setting,
    id: DatasetId,
    case_filters: Filters,
    top: Annotated[int | None, Query(ge=1, description="Only the K most frequent.")] = None,
) -> object:
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    found = dataset_analyses.mine(ctx, settings.data_dir, dataset, ("variants",), case_filters)
    variants = found["variants"]["variants"]
    return {"variants": variants if top is None else variants[:top]}


@router.get(
    "/datasets/{id}/kpi",
    response_model=KpiOut,
    summary="KPIs: cases, durations, rework, first-pass yield, throughput, WIP, bottlenecks",
)
def get_kpi(ctx: Ctx, settings: Setting, id: DatasetId, case_filters: Filters) -> object:
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    return dataset_analyses.mine(ctx, settings.data_dir, dataset, ("kpi",), case_filters)["kpi"]


@router.get(
    "/datasets/{id}/conformance",
    response_model=ConformanceOut,
    summary="Conformance to an Andon process: allowed moves, start, end, mandatory stages",
)
def get_conformance(
    ctx: Ctx,
    settings: Setting,
    id: DatasetId,
    process: Annotated[
        str,
        Query(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Key of the process to check."),
    ],
    exclude_incomplete: Annotated[
        bool, Query(description="Leave out cases that did not reach an end stage.")
    ] = False,
) -> object:
    """Against the process's current version; deviations name stage keys (docs/conformance.md)."""
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    result = dataset_analyses.check_dataset(
        ctx, settings.data_dir, dataset, process, exclude_incomplete=exclude_incomplete
    )
    return result.report
