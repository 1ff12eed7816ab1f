"""Business calendar endpoints: a site's shifts, quiet hours, holidays and closures."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.api.work import Instant, relocated, text_body, text_request
from andon.calendars import service
from andon.calendars.models import BusinessCalendar
from andon.core.errors import InvalidInput
from andon.core.schemas import MAX_ID, Input, Name, Output, Reason

router = APIRouter(
    prefix="/api/v1", tags=["calendars"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
SiteId = Annotated[int, Path(ge=1, le=MAX_ID, description="Site id.")]
T = TypeVar("T")


def _day(value: object) -> object:
    if isinstance(value, str) and value.strip().lower()[:3] in service.DAY_NAMES:
        return service.DAY_NAMES.index(value.strip().lower()[:3])
    return value


def _wall_time(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "value_error", "is a wall-clock time of the site's zone; leave out the offset"
        )
    if value.second or value.microsecond:
        raise PydanticCustomError("value_error", "must be whole minutes, e.g. 06:00")
    return value


Day = Annotated[int, BeforeValidator(_day), Field(ge=0, le=6, description="0 = Monday.")]
WallTime = Annotated[dt.time, AfterValidator(_wall_time), Field(description="Local, e.g. 06:00.")]


class ShiftIn(Input):
    name: str = Field(min_length=1, max_length=60)
    days: list[Day] = Field(min_length=1, max_length=7, description="0 (Monday) to 6 (Sunday).")
    start: WallTime
    end: WallTime = Field(description="At or before start: the shift runs past midnight.")


class QuietHoursIn(Input):
    start: WallTime
    end: WallTime


class ShiftsSet(Input):
    shifts: list[ShiftIn] = Field(max_length=50, description="Empty: the site works 24/7.")
    quiet_hours: QuietHoursIn | None = Field(
        default=None, description="When non-urgent notifications wait."
    )
    reason: Reason | None = None


class HolidayIn(Input):
    date: dt.date
    name: Name


class HolidaysAdd(Input):
    holidays: list[HolidayIn] = Field(min_length=1, max_length=1000)


class HolidaysGenerate(Input):
    country: str = Field(pattern=r"^[A-Za-z]{2,3}$", description="ISO 3166 code, e.g. US.")
    years: list[int] = Field(min_length=1, max_length=10)
    subdivision: str | None = Field(
        default=None, max_length=40, description="State or region, e.g. IL."
    )


class ClosureIn(Input):
    start_at: Instant
    end_at: Instant
    reason: Reason


class ShiftOut(BaseModel):
    name: str
    days: list[int]
    start: str
    end: str


class QuietHoursOut(BaseModel):
    start: str
    end: str


class HolidayOut(Output):
    date: dt.date = Field(validation_alias="day")
    name: str
    source: str


class ClosureOut(Output):
    id: int
    start_at: dt.datetime
    end_at: dt.datetime
    reason: str


class ShiftsOut(BaseModel):
    site_id: int
    shifts: list[ShiftOut]
    quiet_hours: QuietHoursOut | None
    version: int | None = Field(description="null: the site has no calendar yet (24/7).")


class CalendarOut(ShiftsOut):
    holidays: list[HolidayOut]
    closures: list[ClosureOut]
    holiday_country: str | None
    holiday_subdivision: str | None


class AddedOut(BaseModel):
    added: int = Field(description="Holidays that were new; dates already present are kept.")


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


def _located(call: Callable[[], T]) -> T:
    """Run a service call; its input errors are located in the body."""
    try:
        return call()
    except InvalidInput as exc:
        raise relocated(exc, "body") from None


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
    row = _located(
        lambda: service.set_shifts(ctx, id, shifts, quiet_hours=quiet, reason=data.reason)
    )
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
    added = _located(
        lambda: service.generate_holidays(ctx, id, data.country, data.years, data.subdivision)
    )
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
    return {"added": _located(lambda: service.import_holiday_file(ctx, id, text))}


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
