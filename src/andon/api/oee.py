"""OEE endpoints: downtime entered with a reason code, ideal cycle times, OEE per period."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from andon.api.deps import Ctx, get_settings
from andon.api.lanes import FloorRoute, ReportRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.config import Settings
from andon.core.schemas import MAX_ID
from andon.metrics import downtime as service
from andon.metrics.oee_schemas import (
    DowntimeCreate,
    DowntimeOut,
    IdealCycleTimeOut,
    IdealCycleTimeSet,
    OeePeriodOut,
)
from andon.metrics.periods import PeriodKind

router = APIRouter(
    prefix="/api/v1", tags=["oee"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
reports = APIRouter(
    prefix="/api/v1", tags=["oee"], responses=ERROR_RESPONSES, route_class=ReportRoute
)
LineId = Annotated[int, Path(ge=1, le=MAX_ID, description="Line id.")]
Setting = Annotated[Settings, Depends(get_settings)]


@router.post(
    "/lines/{id}/downtime",
    response_model=DowntimeOut,
    status_code=201,
    summary="Enter downtime of the line with a reason code (409 if it overlaps another entry)",
)
def record_downtime(ctx: Ctx, settings: Setting, id: LineId, data: DowntimeCreate) -> object:
    return service.record_downtime(ctx, id, data, reasons=settings.downtime_reason_codes)


@router.get(
    "/lines/{id}/downtime",
    response_model=list[DowntimeOut],
    summary="The line's entered downtime, newest first",
)
def list_downtime(
    ctx: Ctx, id: LineId, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> object:
    return service.list_downtime(ctx, id, limit=limit)


@router.put(
    "/ideal-cycle-times",
    response_model=IdealCycleTimeOut,
    summary="Set a product's ideal seconds per unit on a line, or on any line (line_id null)",
)
def set_ideal_cycle_time(ctx: Ctx, data: IdealCycleTimeSet) -> object:
    return service.set_ideal_cycle_time(ctx, data)


@router.get(
    "/ideal-cycle-times",
    response_model=list[IdealCycleTimeOut],
    summary="Every ideal cycle time, by product",
)
def list_ideal_cycle_times(ctx: Ctx) -> object:
    return service.list_ideal_cycle_times(ctx)


@reports.get(
    "/lines/{id}/oee",
    response_model=list[OeePeriodOut],
    summary="OEE of the line per period, with availability, performance and quality",
)
def line_oee(
    ctx: Ctx,
    id: LineId,
    period: Annotated[PeriodKind, Query(description="shift, day, week or month.")] = "week",
    key: Annotated[
        list[str] | None,
        Query(
            max_length=400,
            description="Only these periods (e.g. 2026-W47); default: every period with activity.",
        ),
    ] = None,
) -> object:
    return [row.as_json() for row in service.line_oee(ctx, id, period, periods=key)]
