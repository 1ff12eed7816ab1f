"""Business calendar endpoints: a site's shifts, quiet hours, holidays and closures."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.api.work import text_body, text_request
from andon.calendars import service
from andon.calendars.models import BusinessCalendar
from andon.calendars.schemas import (
    AddedOut,
    CalendarOut,
    ClosureIn,
    ClosureOut,
    HolidaysAdd,
    HolidaysGenerate,
    ShiftsOut,
    ShiftsSet,
)
from andon.core.schemas import MAX_ID

router = APIRouter(
    prefix="/api/v1", tags=["calendars"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
SiteId = Annotated[int, Path(ge=1, le=MAX_ID, description="Site id.")]


def _shifts(site_id: int, row: BusinessCalendar | None) -> dict[str, Any]:
    quiet = None
    if row is not None and row.quiet_start and row.quiet_end:
        quiet = {"start": row.quiet_start, "end": row.quiet_end}
    return {
        "site_id": site_id,
        "shifts": row.shifts if row is not None else [],
        "quiet_hours": quiet,
        "version": row.version if row is not None else None,
    }


@router.get(
    "/sites/{id}/calendar", response_model=CalendarOut, summary="Read a site's business calendar"
)
def get_calendar(ctx: Ctx, id: SiteId) -> object:
    row = service.get_calendar(ctx, id)
    return {
        **_shifts(id, row),
        "holidays": row.holidays if row is not None else [],
        "closures": row.closures if row is not None else [],
        "holiday_country": row.holiday_country if row is not None else None,
        "holiday_subdivision": row.holiday_subdivision if row is not None else None,
    }


@router.put(
    "/sites/{id}/calendar/shifts",
    response_model=ShiftsOut,
    summary="Replace the weekly shifts and quiet hours; overlapping shifts are refused",
)
def set_shifts(ctx: Ctx, id: SiteId, data: ShiftsSet) -> object:
    shifts = [service.ShiftInput(s.name, tuple(s.days), s.start, s.end) for s in data.shifts]
    quiet = (data.quiet_hours.start, data.quiet_hours.end) if data.quiet_hours else None
    row = service.set_shifts(ctx, id, shifts, quiet_hours=quiet, reason=data.reason)
    return _shifts(id, row)


@router.post(
    "/sites/{id}/calendar/holidays", response_model=AddedOut, summary="Add holidays by hand"
)
def add_holidays(ctx: Ctx, id: SiteId, data: HolidaysAdd) -> object:
    days = {h.date: h.name for h in data.holidays}
    return {"added": service.add_holidays(ctx, id, days)}


@router.post(
    "/sites/{id}/calendar/holidays/generate",
    response_model=AddedOut,
    summary="Add a country's (and region's) public holidays for some years",
)
def generate_holidays(ctx: Ctx, id: SiteId, data: HolidaysGenerate) -> object:
    added = service.generate_holidays(ctx, id, data.country, data.years, data.subdivision)
    return {"added": added}


@router.post(
    "/sites/{id}/calendar/holidays/import",
    response_model=AddedOut,
    summary="Add holidays from a CSV (date,name) or iCalendar file",
    openapi_extra=text_request(
        "CSV with header `date,name` (ISO dates), or iCalendar (.ics).", "text/csv", "text/calendar"
    ),
)
def import_holidays(
    ctx: Ctx, id: SiteId, text: Annotated[str, Depends(text_body("text/csv", "text/calendar"))]
) -> object:
    return {"added": service.import_holiday_file(ctx, id, text)}


@router.delete("/sites/{id}/calendar/holidays/{date}", status_code=204, summary="Remove a holiday")
def remove_holiday(ctx: Ctx, id: SiteId, date: dt.date) -> Response:
    service.remove_holiday(ctx, id, date)
    return Response(status_code=204)


@router.post(
    "/sites/{id}/calendar/closures",
    response_model=ClosureOut,
    status_code=201,
    summary="Close the site for a stretch (shutdown, stocktake)",
)
def add_closure(ctx: Ctx, id: SiteId, data: ClosureIn) -> object:
    return service.add_closure(ctx, id, data.start_at, data.end_at, data.reason)
