"""Request and response bodies of the metric endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from andon.core.schemas import Input, Output, Reason


class MetricDefine(Input):
    definition: dict[str, Any] = Field(description="The definition document (docs/metrics.md).")
    reason: Reason | None = Field(default=None, description="Why; kept in the audit trail.")


class MetricOut(Output):
    key: str
    name: str
    current_version: int
    owner_kind: str = Field(description="role or user.")
    owner: str
    source: str = Field(description="manual, or the built-in KPI's name.")
    period: str
    chart: str
    archived: bool
    computed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MetricVersionOut(Output):
    version: int
    created_at: datetime
    created_by: str
    reason: str


class MetricVersionDetailOut(MetricVersionOut):
    definition: dict[str, Any]


class DefinedOut(BaseModel):
    metric: MetricOut
    version: MetricVersionOut
    created: bool = Field(description="True when this defined a new metric.")
    changed: bool = Field(description="False when the definition equals the current version.")


class MetricValueOut(Output):
    period: str
    line: str = Field(description="Line code, or empty for the whole source.")
    value: float | None = Field(description="null: no data in the period (never zero).")
    count: float | None
    n: float | None
    version: int = Field(description="The definition version the value was computed under.")
    source: str = Field(description="kpi or manual.")
    period_start_at: datetime | None
    period_end_at: datetime | None
    computed_at: datetime


class LimitsOut(Output):
    line: str
    seq: int
    chart: str
    center: float
    ucl: float | None = Field(description="null for p and u charts: limits are per point.")
    lcl: float | None
    mr_bar: float | None
    baseline_points: int
    baseline: dict[str, Any]
    reason: str
    created_at: datetime
    created_by: str


class MetricDetailOut(MetricOut):
    definition: dict[str, Any]
    versions: list[MetricVersionOut]
    latest_values: list[MetricValueOut]
    limits: list[LimitsOut]


class ValueRow(Input):
    period: str = Field(max_length=80, description="e.g. 2026-11-23, 2026-W47, 2026-11.")
    value: float | None = Field(default=None, description="XmR charts.")
    count: float | None = Field(default=None, description="p, u and c charts.")
    n: float | None = Field(default=None, description="p and u charts: the sample size.")


class ValuesIn(Input):
    rows: list[ValueRow] = Field(min_length=1, max_length=100_000)


class ImportedOut(BaseModel):
    key: str
    version: int
    values: int
    first_period: str
    last_period: str
    limits_frozen: bool
    new_crossings: int = Field(default=0, description="Threshold crossings found anew.")
    actions_opened: list[int] = Field(
        default_factory=list, description="Ids of the actions the standing crossings opened."
    )
    no_data_told: list[str | None] = Field(
        default_factory=list,
        description="Series (line, null for the whole metric) whose owner was told of no data.",
    )


class ComputedOut(BaseModel):
    key: str
    full: bool
    periods: list[str]
    values: int
    removed: int
    watermark: int | None
    limits_frozen: bool
    skipped: str | None
    error: str | None = None
    new_crossings: int = Field(default=0, description="Threshold crossings found anew.")
    actions_opened: list[int] = Field(
        default_factory=list, description="Ids of the actions the standing crossings opened."
    )
    no_data_told: list[str | None] = Field(
        default_factory=list,
        description="Series (line, null for the whole metric) whose owner was told of no data.",
    )


class SeriesStatusOut(BaseModel):
    """Where one series stands against the thresholds now."""

    line: str | None = Field(description="Line code; null for the whole metric.")
    status: str = Field(description="ok, warning, critical or no_data (never a breach).")
    period: str | None = Field(description="The latest value's period; null without one.")
    value: float | None
    level: str | None = Field(description="The band its latest value crosses, if any.")
    decision: str | None = Field(description="That band's decision.")
    action_id: int | None = Field(description="The action opened for that crossing.")
    stale: bool = Field(description="The latest value is older than no_data_after.")
    told_at: datetime | None = Field(description="When the owner was told of no data.")


class CrossingOut(Output):
    line: str = Field(description="Line code, or empty for the whole metric.")
    period: str
    level: str
    band_index: int = Field(description="The band's position in the definition's thresholds.")
    value: float
    decision: str = Field(description="The band's decision when the crossing was found.")
    action_id: int | None = Field(description="The action opened while it was the latest.")
    created_at: datetime = Field(description="When the crossing was found.")


class Rebaseline(Input):
    reason: Reason
    points: int | None = Field(default=None, ge=2, le=10_000)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    line: str | None = Field(default=None, max_length=20)


class ChartPointOut(BaseModel):
    period: str
    value: float
    ucl: float
    lcl: float
    signals: list[str] = Field(description="Rule ids completed at this point; empty: noise.")
    reasons: list[str] = Field(description="Why each signal fired, in words.")
    moving_range: float | None = Field(default=None, description="XmR only.")


class ChartOut(BaseModel):
    chart: str
    center: float
    ucl: float | None
    lcl: float | None
    points: list[ChartPointOut]
    rules: list[str]
    baseline_points: int
    mr_bar: float | None = Field(default=None, description="XmR only: the mean moving range.")
    mr_ucl: float | None = Field(default=None, description="XmR only: 3.267 · MR-bar.")
