"""Request and response models of OEE: downtime entries, ideal cycle times, OEE per period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from andon.core.schemas import MAX_ID, Description, Input, Instant, Output

ReasonCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Product = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class DowntimeCreate(Input):
    started_at: Instant = Field(description="When the line stopped running, with its offset.")
    ended_at: Instant = Field(description="When it ran again; after started_at.")
    reason_code: ReasonCode = Field(description="One of the codes of ANDON_DOWNTIME_REASONS.")
    note: Description = ""


class DowntimeOut(Output):
    id: int
    line_id: int
    started_at: datetime
    ended_at: datetime
    reason_code: str
    note: str
    recorded_by: str
    created_at: datetime


class IdealCycleTimeSet(Input):
    product: Product
    line_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The line; null: any line without its own."
    )
    seconds: float = Field(gt=0, le=86_400 * 7, description="Ideal seconds per unit.")


class IdealCycleTimeOut(Output):
    id: int
    product: str
    line_id: int | None
    seconds: float
    updated_by: str
    updated_at: datetime
    version: int


class OeePeriodOut(BaseModel):
    """OEE of one line in one period, with its components; null values mean no data."""

    period: str
    line: str
    oee: float | None
    availability: float | None
    performance: float | None
    quality: float | None
    planned_seconds: float
    downtime_seconds: float
    run_seconds: float
    ideal_seconds: float
    total_count: int
    good_count: int
    performance_capped: bool = Field(
        description="The counts needed more than the run time at the ideal rate; cut to 1."
    )
    missing_cycle_times: list[str]
    no_data: str | None = Field(description="Why there is no OEE, in words; null when there is.")
