"""Request and response models of line stops: the andon board, sign-offs, stop rules, followers."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from andon.core.schemas import Output
from andon.work.schemas import LineSignoff


class RestartSignoff(LineSignoff):
    as_role: Literal["supervisor", "quality"] | None = Field(
        default=None, description="For someone with both roles; default: the one still missing."
    )


class LineStopOut(Output):
    id: int
    line_id: int
    stopped_at: datetime
    stopped_by: str
    rule: str | None
    reason: str
    exception_id: int | None
    supervisor_signoff_by: str | None
    supervisor_signoff_at: datetime | None
    quality_signoff_by: str | None
    quality_signoff_at: datetime | None
    restart_reason: str | None
    restarted_at: datetime | None


class BoardRowOut(BaseModel):
    line_id: int
    line_code: str
    line_name: str
    area_id: int
    status: str = Field(description="running or stopped.")
    since: datetime | None
    stop: LineStopOut | None = Field(description="The stop in force, while stopped.")
    open_items: int
    late_items: int
    open_exceptions: int


class StopRuleOut(Output):
    id: int
    line_id: int
    name: str
    kind: str
    category: str | None
    min_severity: str | None
    count: int | None
    window_seconds: int | None
    active: bool
    version: int


class SubscriptionOut(BaseModel):
    line_id: int
    subscribed: bool
