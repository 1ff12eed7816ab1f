"""Analytics pages: upload a log and follow its import, then its quality, map, variants, KPIs and
conformance; the plant's own events the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData, QueryParams, UploadFile

from andon.analytics import dataset_analyses, dataset_imports, dataset_store
from andon.analytics.filters import CaseFilters, parse_case_filters
from andon.api.lanes import ReportRoute
from andon.core.config import Settings
from andon.core.errors import AndonError, Conflict, InvalidInput, NotFound
from andon.core.permissions import MATRIX, Action, Actor
from andon.core.uow import Context
from andon.web import csrf, flash
from andon.web.analytics_charts import bar_chart, column_chart
from andon.web.analytics_map import (
    Marks,
    View,
    conformance_marks,
    human_seconds,
    max_frequency,
    render_dfg_svg,
)
from andon.web.forms import errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(csrf.check_csrf)], route_class=ReportRoute
)
Form = Annotated[FormData, Depends(read_form)]

POLL_SECONDS = 1
HTMX_STOP_POLLING = 286  # htmx stops an "every" trigger when a poll answers with this status
VARIANTS_SHOWN = 25
REWORK_SHOWN = 15


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _can(actor: Actor, action: Action) -> bool:
    """Whether any of the actor's grants allows ``action`` somewhere."""
    return actor.system or any(g.role in MATRIX[action] for g in actor.grants)


# --- list and upload ---------------------------------------------------------------------


@router.get("/analytics")
def list_page(request: Request, ctx: PageCtx) -> Response:
    return _list_page(request, ctx)


def _list_page(
    request: Request,
    ctx: Context,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = _settings(request)
    return render(
        request,
        "analytics/list.html",
        {
            "section": "analytics",
            "datasets": dataset_store.list_datasets(ctx, settings.data_dir),
            "plant": dataset_store.plant_datasets(ctx),
            "can_upload": _can(ctx.actor, Action.ANALYTICS_UPLOAD),
            "max_mb": settings.max_log_bytes / 1_048_576,
            "errors": errors or {},
            "values": values or {"timezone": "UTC"},
        },
        status_code=status_code,
    )


UPLOAD_FIELDS = (
    "name",
    "case",
    "activity",
    "timestamp",
    "resource",
    "start_timestamp",
    "timestamp_format",
    "timezone",
    "object_type",
)


@router.post("/analytics/upload")
def upload(request: Request, ctx: PageCtx, form: Form) -> Response:
    """Start the import and follow it on its status page; refusals are shown on the form."""
    values = {name: text(form, name) for name in UPLOAD_FIELDS}
    values["strict"] = "true" if text(form, "strict") else ""
    values["pair_lifecycle"] = "true" if text(form, "pair_lifecycle") else ""
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput.for_field("file", "choose a log file to upload")
        options = dataset_imports.ImportOptions(
            name=values["name"] or None,
            strict=bool(values["strict"]),
            case=values["case"] or None,
            activity=values["activity"] or None,
            timestamp=values["timestamp"] or None,
            resource=values["resource"] or None,
            start_timestamp=values["start_timestamp"] or None,
            timestamp_format=values["timestamp_format"] or None,
            timezone=values["timezone"] or "UTC",
            object_type=values["object_type"] or None,
            pair_lifecycle=bool(values["pair_lifecycle"]),
        )
        settings = _settings(request)
        job, _ = dataset_imports.start_import(
            ctx,
            settings.data_dir,
            upload.filename,
            upload.file,
            options,
            max_bytes=settings.max_log_bytes,
        )
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _list_page(
            request, ctx, errors=errors_from(exc), values=values, status_code=exc.status
        )
    return RedirectResponse(f"/analytics/imports/{job.id}", status_code=303)


@router.get("/analytics/imports/{id}")
def import_page(request: Request, ctx: PageCtx, id: str) -> Response:
    job = dataset_imports.get_import(ctx, _settings(request).data_dir, id)
    if job.status == "ready" and job.dataset_id:
        return RedirectResponse(f"/analytics/{job.dataset_id}", status_code=303)
    return render(
        request,
        "analytics/import.html",
        {"section": "analytics", "job": job, "poll_seconds": POLL_SECONDS},
    )


@router.get("/analytics/imports/{id}/status")
def import_status(request: Request, ctx: PageCtx, id: str) -> Response:
    """The status fragment the import page polls; when ready, htmx is sent to the dataset."""
    job = dataset_imports.get_import(ctx, _settings(request).data_dir, id)
    headers = {}
    status_code = 200
    if job.status == "ready" and job.dataset_id:
        headers["HX-Redirect"] = f"/analytics/{job.dataset_id}"
    elif job.finished:
        status_code = HTMX_STOP_POLLING if request.headers.get("HX-Request") else 200
    return render(
        request,
        "analytics/_import_status.html",
        {"job": job, "poll_seconds": POLL_SECONDS},
        status_code=status_code,
        headers=headers,
    )


# --- one dataset -------------------------------------------------------------------------


class PageFilters:
    """The filter form of a dataset page, read from the query string.

    Times are wall-clock times in the site's zone (``datetime-local`` inputs).
    """

    # Each filter's field on the page (its message is ``<id>-error``).
    FIELD_IDS = {
        "time_from": "filter-from",
        "time_to": "filter-to",
        "start_activity": "filter-start",
        "end_activity": "filter-end",
        "top_variants": "filter-top",
    }

    def __init__(self, query: QueryParams, settings: Settings) -> None:
        self.values = {name: query.get(name, "").strip() for name in self.FIELD_IDS}
        self.errors: dict[str, str] = {}
        top: int | None = None
        if self.values["top_variants"]:
            if self.values["top_variants"].isdigit() and int(self.values["top_variants"]) >= 1:
                top = int(self.values["top_variants"])
            else:
                self.errors["top_variants"] = "a whole number, at least 1"
        self.filters = CaseFilters()
        if not self.errors:
            try:
                self.filters = parse_case_filters(
                    time_from=self.values["time_from"],
                    time_to=self.values["time_to"],
                    start_activity=_one(self.values["start_activity"]),
                    end_activity=_one(self.values["end_activity"]),
                    top_variants=top,
                    zone=settings.zone,
                )
            except InvalidInput as exc:
                self.errors = errors_from(exc)

    @property
    def active(self) -> bool:
        return any(self.values.values())

    @property
    def form_error(self) -> str:
        """The refusals that belong to no field of the form, in one message."""
        return "; ".join(
            message if name == "" else f"{name}: {message}"
            for name, message in self.errors.items()
            if name not in self.FIELD_IDS
        )

    def query(self, **extra: str) -> str:
        """The filter values (and ``extra``) as a query string for links and fragments."""
        pairs = {k: v for k, v in self.values.items() if v}
        pairs.update({k: v for k, v in extra.items() if v})
        return urlencode(pairs)


def _one(value: str) -> tuple[str, ...]:
    return (value,) if value else ()


def _view(query: QueryParams) -> View:
    return "performance" if query.get("view") == "performance" else "frequency"


def _min_frequency(query: QueryParams) -> int:
    raw = query.get("min_frequency", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@router.get("/analytics/{id}")
def dataset_page(request: Request, ctx: PageCtx, id: str) -> Response:
    """The whole page; without JavaScript every control lands here as a plain GET."""
    settings = _settings(request)
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    page_filters = PageFilters(request.query_params, settings)
    process = request.query_params.get("process", "").strip()
    context: dict[str, Any] = {
        "section": "analytics",
        "dataset": dataset,
        "filters": page_filters,
        "process": process,
        "processes": _processes(ctx),
        "can_delete": dataset.kind == "upload" and _can(ctx.actor, Action.ANALYTICS_UPLOAD),
        "quality": _quality(dataset),
        "empty": None,
        "seconds": human_seconds,
        "plant_ttl": int(dataset_analyses.PLANT_TTL_SECONDS),
    }
    status_code = 422 if page_filters.errors else 200
    try:
        found, answered = _mine_timed(ctx, settings, dataset, page_filters.filters)
    except Conflict as exc:
        # The plant has no work events yet: the page says so instead of failing.
        context["empty"] = exc.detail
        return render(request, "analytics/dataset.html", context)
    except InvalidInput as exc:
        page_filters.errors = errors_from(exc)
        found, answered = _mine_timed(ctx, settings, dataset, CaseFilters())
        status_code = 422
    context |= _results_context(ctx, settings, dataset, found, page_filters, request.query_params)
    context |= {"answered": answered, "totals": _totals(ctx, settings, dataset)}
    return render(
        request,
        "analytics/dataset.html",
        context,
        status_code=status_code,
        headers=_server_timing(answered),
    )


@router.get("/analytics/{id}/results")
def results_fragment(request: Request, ctx: PageCtx, id: str) -> Response:
    """The map, variants, KPIs and conformance under the filters, for the page's controls
    to swap in place; the page's URL for these filters goes back in ``HX-Push-Url``.

    A refused filter answers 422 with its message for the field only (``HX-Reswap: none``
    keeps the last answer on screen), and nothing is pushed to the URL.
    """
    settings = _settings(request)
    dataset = dataset_store.get_dataset(ctx, settings.data_dir, id)
    page_filters = PageFilters(request.query_params, settings)
    if not page_filters.errors:
        try:
            found, answered = _mine_timed(ctx, settings, dataset, page_filters.filters)
        except InvalidInput as exc:
            page_filters.errors = errors_from(exc)
    if page_filters.errors:
        return render(
            request,
            "analytics/_results_fragment.html",
            {"filters": page_filters, "refused": True},
            status_code=422,
            headers={"HX-Reswap": "none", "HX-Push-Url": "false"},
        )
    context = _results_context(ctx, settings, dataset, found, page_filters, request.query_params)
    map_context = context["map"]
    page_url = f"/analytics/{dataset.id}?" + page_filters.query(
        view="performance" if map_context["view"] == "performance" else "",
        min_frequency=str(map_context["min_frequency"]) if map_context["min_frequency"] > 1 else "",
        process=context["process"],
    )
    return render(
        request,
        "analytics/_results_fragment.html",
        {
            **context,
            "dataset": dataset,
            "refused": False,
            "answered": answered,
            "processes": _processes(ctx),
            "seconds": human_seconds,
        },
        headers={**_server_timing(answered), "HX-Push-Url": page_url.rstrip("?")},
    )


@dataclass(frozen=True)
class Answered:
    """How long the page's analyses took (ms) and, when none was computed now, where they
    came from: ``memory`` (asked before) or ``report`` (kept at import); else None."""

    ms: float
    origin: str | None


def _mine_timed(
    ctx: Context, settings: Settings, dataset: dataset_store.Dataset, filters: CaseFilters
) -> tuple[dict[str, dict[str, Any]], Answered]:
    """Every analysis of the page under ``filters``, and how the answer was had."""
    started = time.perf_counter()
    origins: dict[str, dataset_analyses.Origin] = {}
    found = dataset_analyses.mine(ctx, settings.data_dir, dataset, filters=filters, origins=origins)
    ms = (time.perf_counter() - started) * 1000
    kinds = set(origins.values())
    origin = None if "form" in kinds else "report" if "report" in kinds else "memory"
    return found, Answered(ms, origin)


def _server_timing(answered: Answered) -> dict[str, str]:
    # Browsers' developer tools show it beside the request; the page shows the same number.
    return {"Server-Timing": f"analytics;dur={answered.ms:.1f}"}


def _results_context(
    ctx: Context,
    settings: Settings,
    dataset: dataset_store.Dataset,
    found: dict[str, dict[str, Any]],
    page_filters: PageFilters,
    query: QueryParams,
) -> dict[str, Any]:
    """What ``_results.html`` draws: the map, variants, KPIs and conformance of ``found``."""
    process = query.get("process", "").strip()
    conformance, marks, conformance_error = _conformance(ctx, settings, dataset, process, found)
    return {
        "filters": page_filters,
        "process": process,
        "dfg": found["dfg"],
        "variants": found["variants"]["variants"],
        "kpi": found["kpi"],
        "charts": _charts(found["kpi"]),
        "conformance": conformance,
        "conformance_error": conformance_error,
        "map": _map_context(
            dataset, found["dfg"], _view(query), _min_frequency(query), marks, page_filters
        ),
    }


def _totals(ctx: Context, settings: Settings, dataset: dataset_store.Dataset) -> dict[str, Any]:
    """The whole dataset's variant count and activities: the top-variants slider's range and
    the activity fields' suggestions, the same whatever the filters."""
    every = dataset_analyses.mine(ctx, settings.data_dir, dataset, ("variants",))
    variants = every["variants"]["variants"]
    return {
        "variants": len(variants),
        "activities": sorted({a for v in variants for a in v["activities"]}),
    }


@router.post("/analytics/{id}/delete")
def delete(request: Request, ctx: PageCtx, id: str) -> Response:
    removed = dataset_store.delete_dataset(ctx, _settings(request).data_dir, id)
    response = RedirectResponse("/analytics", status_code=303)
    flash.put(request, response, f"Removed “{removed.name}”.")
    return response


def _processes(ctx: Context) -> list[tuple[str, str]]:
    from andon.processes.service import list_processes

    return [(p.key, f"{p.name} ({p.key})") for p in list_processes(ctx)]


def _quality(dataset: dataset_store.Dataset) -> dict[str, Any] | None:
    if dataset.quality is None:
        return None
    issues = dataset.quality["issues"]
    return {
        **dataset.quality,
        "found": [i for i in issues if i["count"]],
        "clean": [i["kind"] for i in issues if not i["count"]],
    }


def _conformance(
    ctx: Context,
    settings: Settings,
    dataset: dataset_store.Dataset,
    process: str,
    found: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any] | None, Marks | None, str | None]:
    """The conformance result to show, the map marks, or why there is none."""
    if not process:
        return None, None, None
    from andon.analytics.conformance import process_model

    try:
        result = dataset_analyses.check_dataset(ctx, settings.data_dir, dataset, process)
    except (NotFound, InvalidInput, Conflict) as exc:
        return None, None, exc.detail
    model = process_model(result.spec)
    marks = conformance_marks(result.report, model.stage_of, found["dfg"])
    names = {stage.key: stage.name for stage in result.spec.stages}
    return (
        {"report": result.report, "spec": result.spec, "version": result.version, "names": names},
        marks,
        None,
    )


def _map_context(
    dataset: dataset_store.Dataset,
    dfg: dict[str, Any],
    view: View,
    min_frequency: int,
    marks: Marks | None,
    page_filters: PageFilters,
) -> dict[str, Any]:
    largest = max_frequency(dfg)
    min_frequency = min(min_frequency, largest)
    shown = sum(1 for e in dfg["edges"] if e["frequency"] >= min_frequency)
    return {
        "svg": Markup(  # noqa: S704 - render_dfg_svg escapes every text
            render_dfg_svg(dfg, view=view, min_frequency=min_frequency, marks=marks)
        ),
        "view": view,
        "min_frequency": min_frequency,
        "max_frequency": largest,
        "shown": shown,
        "total": len(dfg["edges"]),
        "marked": bool(marks),
        "filter_values": {k: v for k, v in page_filters.values.items() if v},
    }


def _charts(kpi: dict[str, Any]) -> dict[str, Markup]:
    throughput = [(p["date"], float(p["cases"])) for p in kpi["throughput_per_day"]]
    duration = kpi["case_duration"]
    summary = [
        (label, float(duration[key] or 0.0), human_seconds(duration[key]))
        for key, label in (
            ("min", "shortest"),
            ("median", "median"),
            ("mean", "mean"),
            ("p90", "90th percentile"),
            ("max", "longest"),
        )
    ]
    rework = sorted(kpi["rework_cases"].items(), key=lambda p: (-p[1], p[0]))[:REWORK_SHOWN]
    return {
        # Each chart escapes every text it draws.
        "throughput": Markup(  # noqa: S704
            column_chart(throughput, title="Cases completed per day (UTC)", unit="cases")
        ),
        "durations": Markup(bar_chart(summary, title="Case duration"))  # noqa: S704
        if kpi["cases"]
        else Markup(""),
        "rework": Markup(  # noqa: S704
            bar_chart(
                [(a, float(n), f"{n} cases") for a, n in rework],
                title="Cases that repeat an activity, per activity",
            )
        )
        if rework
        else Markup(""),
    }
