"""Request and response models of a site's business calendar: shifts, holidays, closures."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from andon.calendars.service import DAY_NAMES
from andon.core.schemas import Input, Instant, Name, Output, Reason


def _day(value: object) -> object:
    if isinstance(value, str) and value.strip().lower()[:3] in DAY_NAMES:
        return DAY_NAMES.index(value.strip().lower()[:3])
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
