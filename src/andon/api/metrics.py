"""Metric endpoints: define (JSON or YAML), read, versions, chart, values, compute, re-baseline,
export."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AwareDatetime, ValidationError

from andon.api.deps import Ctx, get_settings
from andon.api.lanes import FloorRoute, ReportRoute
from andon.api.problems import ERROR_RESPONSES, relocated
from andon.api.work import decode_text, media_type, raw_body
from andon.core.config import Settings
from andon.core.errors import FieldError, InvalidInput
from andon.metrics import service
from andon.metrics.definition import Baseline, MetricDefinition, parse_definition
from andon.metrics.definition_yaml import load_definition_yaml
from andon.metrics.manual_csv import HEADERS
from andon.metrics.schemas import (
    ChartOut,
    ComputedOut,
    CrossingOut,
    DefinedOut,
    ImportedOut,
    LimitsOut,
    MetricDefine,
    MetricDetailOut,
    MetricOut,
    MetricVersionOut,
    Rebaseline,
    SeriesStatusOut,
    ValuesIn,
)
from andon.metrics.spc import chart_json

router = APIRouter(
    prefix="/api/v1", tags=["metrics"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
MetricKey = Annotated[
    str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Metric key, e.g. near_misses.")
]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
CSV_TYPES = ("text/csv", "application/csv")
_LINE = re.compile(r"^line (\d+): ")


async def zone(settings: Annotated[Settings, Depends(get_settings)]) -> ZoneInfo:
    """The site's time zone, which periods are counted in (``ANDON_TIMEZONE``)."""
    return settings.zone


Zone = Annotated[ZoneInfo, Depends(zone)]


@router.get("/metrics", response_model=list[MetricOut], summary="List metrics")
def list_metrics(
    ctx: Ctx,
    archived: Annotated[bool, Query(description="Include archived metrics.")] = False,
) -> object:
    return service.list_metrics(ctx, include_archived=archived)


@router.post(
    "/metrics",
    response_model=DefinedOut,
    summary="Define a metric, or add a version when its definition changed",
    description=(
        "Send JSON `{definition, reason}`, or the definition itself as YAML "
        "(`Content-Type: application/yaml`, optional `?reason=`). An identical definition "
        "changes nothing (`changed: false`). Errors name the field's path; for YAML their "
        "message starts with the line."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": MetricDefine.model_json_schema()},
                **{t: {"schema": {"type": "string"}} for t in YAML_TYPES},
            },
        }
    },
)
def define_metric(
    request: Request,
    ctx: Ctx,
    body: Annotated[bytes, Depends(raw_body)],
    reason: Annotated[
        str | None, Query(max_length=2000, description="Why, with a YAML body.")
    ] = None,
) -> object:
    kind = media_type(request)
    if kind == "application/json":
        defn, why = _from_json(body, reason)
    elif kind in YAML_TYPES:
        try:
            defn = load_definition_yaml(decode_text(body))
        except InvalidInput as exc:
            raise relocated(exc) from None
        why = (reason or "").strip() or "defined through the API"
    else:
        raise HTTPException(415, f"send application/json or {', '.join(YAML_TYPES)}")
    done = service.define_metric(ctx, defn, reason=why)
    return {
        "metric": done.metric,
        "version": done.version,
        "created": done.created,
        "changed": done.changed,
    }


def _from_json(body: bytes, reason: str | None) -> tuple[MetricDefinition, str]:
    try:
        data = MetricDefine.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    if reason is not None:
        msg = "with a JSON body, give the reason in the body"
        raise InvalidInput(f"reason: {msg}", [FieldError(("reason",), msg)], source="query")
    try:
        defn = parse_definition(data.definition)
    except InvalidInput as exc:
        raise relocated(exc, "definition") from None
    return defn, data.reason or "defined through the API"


@router.get("/metrics/{key}", response_model=MetricDetailOut, summary="Read a metric")
def get_metric(ctx: Ctx, key: MetricKey) -> object:
    shown = service.show_metric(ctx, key)
    return {
        **MetricOut.model_validate(shown.metric).model_dump(),
        "definition": shown.definition,
        "versions": shown.versions,
        "latest_values": shown.latest_values,
        "limits": shown.limits,
    }


@router.get(
    "/metrics/{key}/versions",
    response_model=list[MetricVersionOut],
    summary="Versions of a metric's definition, newest first",
)
def list_versions(ctx: Ctx, key: MetricKey) -> object:
    return service.metric_versions(ctx, key)


@router.get(
    "/metrics/{key}/chart",
    response_model=ChartOut,
    summary="The control chart against the frozen limits",
    description=(
        "The shape of `andon metric chart KEY --json`: `ucl`/`lcl` are null for p and u "
        "charts, whose limits are per point; each point's `signals` are the rules it completes."
    ),
)
def get_chart(
    ctx: Ctx,
    key: MetricKey,
    line: Annotated[str | None, Query(max_length=20, description="Line code.")] = None,
) -> object:
    return chart_json(service.chart(ctx, key, line=line))


@router.get(
    "/metrics/{key}/status",
    response_model=list[SeriesStatusOut],
    summary="Where each series stands against the thresholds now",
    description=(
        "One row per series: the whole metric (`line` null) first, then each line. `status` "
        "is ok, warning, critical or no_data; no data (no value, or the latest older than "
        "`no_data_after`) is never a breach. `action_id` is the action opened for the "
        "standing crossing."
    ),
)
def get_status(ctx: Ctx, key: MetricKey, zone: Zone) -> object:
    return service.metric_status(ctx, key, zone=zone)


@router.get(
    "/metrics/{key}/crossings",
    response_model=list[CrossingOut],
    summary="Threshold crossings found, latest period first",
)
def get_crossings(
    ctx: Ctx,
    key: MetricKey,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only those found at or after this instant (with its offset)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
) -> object:
    return service.list_crossings(ctx, key, since=since, limit=limit)


@router.post(
    "/metrics/{key}/values",
    response_model=ImportedOut,
    summary="Enter a manual metric's values (CSV or JSON rows)",
    description=(
        "Send CSV (`Content-Type: text/csv`; header `period,value` for XmR, `period,count,n` "
        "for p and u, `period,count` for c) or JSON `{rows: [{period, value | count, n}]}`. "
        "One bad row refuses everything; the error names its line (CSV) or row (JSON)."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ValuesIn.model_json_schema()},
                **{t: {"schema": {"type": "string"}} for t in CSV_TYPES},
            },
        }
    },
)
def post_values(
    request: Request,
    ctx: Ctx,
    key: MetricKey,
    body: Annotated[bytes, Depends(raw_body)],
    zone: Zone,
) -> object:
    kind = media_type(request)
    if kind in CSV_TYPES:
        try:
            return service.import_values(ctx, key, decode_text(body), zone=zone)
        except InvalidInput as exc:
            raise relocated(exc) from None
    if kind != "application/json":
        raise HTTPException(415, f"send application/json or {', '.join(CSV_TYPES)}")
    try:
        data = ValuesIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    chart = service.get_metric(ctx, key).chart
    try:
        return service.import_values(ctx, key, _as_csv(data, chart), zone=zone)
    except InvalidInput as exc:
        raise _by_row(exc) from None


def _as_csv(data: ValuesIn, chart: str) -> str:
    """JSON rows as the CSV the service reads, so both take exactly the same checks."""
    columns = HEADERS[chart]  # type: ignore[index]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in data.rows:
        cells = row.model_dump()
        writer.writerow(["" if cells[c] is None else _cell(cells[c]) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _by_row(exc: InvalidInput) -> InvalidInput:
    """A CSV line's error placed at its JSON row: line 2 is ``rows[0]``."""
    errors = []
    for e in exc.errors:
        m = _LINE.match(e.msg)
        if m and int(m[1]) >= 2 and e.loc and e.loc[0] not in ("header", "csv"):
            errors.append(FieldError(("rows", int(m[1]) - 2, *e.loc), e.msg[m.end() :], e.type))
        else:
            errors.append(e)
    return InvalidInput(exc.detail, errors, source="body")


def compute_metric(
    ctx: Ctx,
    key: MetricKey,
    zone: Zone,
    full: Annotated[bool, Query(description="Recompute every period.")] = False,
) -> object:
    return service.compute_metric(ctx, key, zone=zone, full=full)


# Computing reads the plant's whole event history on a first run: the report lane.
router.add_api_route(
    "/metrics/{key}/compute",
    compute_metric,
    methods=["POST"],
    response_model=ComputedOut,
    summary="Compute a metric from the plant's events (only periods with late events)",
    route_class_override=ReportRoute,
)


@router.post(
    "/metrics/{key}/rebaseline",
    response_model=LimitsOut,
    status_code=201,
    summary="Recompute and freeze the control limits on purpose, with a reason",
)
def rebaseline(ctx: Ctx, key: MetricKey, data: Rebaseline) -> object:
    baseline = None
    if data.points is not None or data.from_ is not None or data.to is not None:
        given = {"points": data.points, "from": data.from_, "to": data.to}
        try:
            baseline = Baseline.model_validate({k: v for k, v in given.items() if v is not None})
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
            at = "points" if data.points is not None else "from"
            raise InvalidInput(f"{at}: {msg}", [FieldError((at,), msg)]) from None
    return service.rebaseline(ctx, key, reason=data.reason, baseline=baseline, line=data.line)


@router.get(
    "/metrics/{key}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The current definition as YAML (a download).",
            # An object, as a YAML reader sees the document (and schemathesis checks it).
            "content": {"application/yaml": {"schema": {"type": "object"}}},
        }
    },
    summary="Export the definition as YAML",
)
def export_metric(ctx: Ctx, key: MetricKey) -> Response:
    text = service.export_metric(ctx, key)
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{key}.yaml"'},
    )
