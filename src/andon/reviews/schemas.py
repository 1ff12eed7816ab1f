"""The weekly review in and out: meetings, decisions, attendance and the review pack."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from andon.actions.schemas import ActionOut, Priority
from andon.core.permissions import Role
from andon.core.schemas import Input

DecisionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
Guest = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MetricKey = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")
]


# --- requests -----------------------------------------------------------------------------------


class MeetingOpen(Input):
    area: str | None = Field(default=None, max_length=20, description="Area code; none: plant.")
    chair: Username | None = Field(default=None, description="Username; default: who opens it.")


class AttendanceIn(Input):
    users: list[Username] = Field(default_factory=list, max_length=200)
    guests: list[Guest] = Field(default_factory=list, max_length=50)
    version: int | None = Field(default=None, ge=1, description="Stale is refused.")


class DecisionIn(Input):
    text: DecisionText
    metric_key: MetricKey | None = Field(default=None, description="Metric it is about, if any.")


class ReviewActionIn(Input):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: str = Field(default="", max_length=4000)
    owner_user: Username | None = None
    owner_role: Role | None = None
    due_on: date
    priority: Priority = "normal"
    metric_key: MetricKey | None = None


class MeetingClose(Input):
    notes: str | None = Field(default=None, max_length=20_000)
    version: int | None = Field(default=None, ge=1)


# --- responses ----------------------------------------------------------------------------------


class Attendee(BaseModel):
    user: str | None = None
    guest: str | None = None

    @property
    def label(self) -> str:
        return self.user or f"{self.guest} (guest)"


class DecisionOut(BaseModel):
    id: int
    metric_key: str | None
    text: str
    decided_by: str
    created_at: datetime


class MeetingOut(BaseModel):
    id: int
    week: str
    area: str | None = Field(description="Area code; null for the plant-wide review.")
    held_at: datetime
    chair: str
    attendees: list[Attendee]
    notes: str
    status: Literal["open", "closed"]
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    version: int
    decisions: list[DecisionOut]


class WeekValue(BaseModel):
    period: str
    value: float | None = Field(description="null: no data in the period.")
    count: float | None = None
    n: float | None = None


class SignalOut(BaseModel):
    period: str
    value: float
    rules: list[str]
    reasons: list[str]


class CrossingOut(BaseModel):
    period: str
    value: float
    level: str
    above: float | None
    below: float | None
    decision: str = Field(description="The decision the band changes.")


class SeriesOut(BaseModel):
    """One series of a metric in the week: the whole source (line null) or one line."""

    line: str | None
    values: list[WeekValue]
    value: float | None = Field(description="The week's value: the mean or the pooled rate.")
    on_target: bool | None = Field(description="null: no target or no value.")
    limits: bool = Field(description="False while the metric has no frozen control limits.")
    signals: list[SignalOut]
    crossings: list[CrossingOut]


class PackMetric(BaseModel):
    key: str
    name: str
    unit: str
    sqdc: str | None
    area: str | None
    owner: str
    direction: str
    period: str
    chart: str
    target: float | None
    periods: list[str] = Field(description="The periods of the metric that the week covers.")
    series: list[SeriesOut]
    open_actions: list[ActionOut]
    overdue_actions: list[int] = Field(description="Ids of the open actions past due.")
    last_week_decisions: list[DecisionOut]
    decisions: list[DecisionOut]
    # Drawn by the HTML pack; not part of the JSON.
    chart_data: Any = Field(default=None, exclude=True)


class PackGroup(BaseModel):
    sqdc: str = Field(description="safety, quality, delivery, cost, or other.")
    title: str
    metrics: list[PackMetric]


class ReviewPack(BaseModel):
    week: str
    area: str | None
    first_day: date
    last_day: date
    generated_at: datetime
    today: date
    groups: list[PackGroup]
    meeting: MeetingOut | None
    last_meeting: MeetingOut | None
    general_decisions: list[DecisionOut]
    last_week_general_decisions: list[DecisionOut]
    review_actions: list[ActionOut] = Field(description="Actions raised in this week's review.")
