"""Response models of the analytics API: datasets, imports, DFG, variants, KPIs, conformance.

Only the API imports this module: the CLI's ``mine`` and ``kpi`` commands load analytics
without pydantic.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class IssueOut(BaseModel):
    kind: str = Field(description="e.g. missing_case, duplicate_event, clock_skew.")
    count: int
    examples: list[dict[str, Any]] = Field(description="A few rows (or cases, names) as found.")


class QualityOut(BaseModel):
    """The data-quality report, as `andon log check --json` prints it."""

    rows_read: int
    rows_rejected: int
    cases: int
    events: int
    issues: list[IssueOut]


class DatasetOut(BaseModel):
    id: str
    name: str
    kind: Literal["upload", "plant"]
    filename: str | None = None
    format: str | None = Field(default=None, description="csv, xes, parquet, ocel-json, ...")
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None
    interval: bool = Field(description="Events carry a start as well as a completion time.")
    strict: bool = Field(description="Imported with strict: no row was rejected.")
    columns: list[str] = Field(description="Attribute columns beside the standard ones.")
    process: str | None = Field(default=None, description="Process key of a plant dataset.")
    quality: QualityOut | None = Field(
        default=None, description="The import's quality report; null for the plant's events."
    )
    quarantine_url: str | None = Field(
        default=None, description="Where to download the rejected rows (CSV with a reason)."
    )


class ImportErrorOut(BaseModel):
    detail: str
    errors: list[dict[str, Any]] = Field(description="Fields at fault: {loc, msg, type}.")


class ImportOut(BaseModel):
    id: str
    status: Literal["queued", "reading", "analysing", "ready", "failed"] = Field(
        description="queued → reading (parse and judge every row) → analysing (store, "
        "mine the whole log) → ready, or failed with `error`."
    )
    filename: str
    name: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    dataset_id: str | None = Field(description="The new dataset, once ready.")
    error: ImportErrorOut | None = Field(description="Why it failed; nothing was kept.")


class PerformanceOut(BaseModel):
    mean: float
    median: float
    min: float
    max: float
    sum: float
    stdev: float | None = Field(description="Sample standard deviation; null for one pair.")


class EdgeOut(BaseModel):
    source: str
    target: str
    frequency: int
    performance: PerformanceOut | None = Field(
        default=None, description="Seconds from source to target; only with performance=true."
    )


class DfgOut(BaseModel):
    """`andon mine dfg [--performance] --json`."""

    edges: list[EdgeOut]
    start_activities: dict[str, int]
    end_activities: dict[str, int]


class VariantOut(BaseModel):
    activities: list[str]
    cases: int
    share: float
    mean_duration: float = Field(description="Mean case duration, seconds.")


class VariantsOut(BaseModel):
    """`andon mine variants --json`: most cases first."""

    variants: list[VariantOut]


class DurationOut(BaseModel):
    mean: float | None
    median: float | None
    p90: float | None
    min: float | None
    max: float | None


class KpiOut(BaseModel):
    """`andon kpi --json`; docs/analytics.md defines every figure."""

    model_config = {"extra": "allow"}

    cases: int
    events: int
    case_duration: DurationOut
    rework_cases: dict[str, int]
    rework_rate: float
    first_pass_yield: float
    throughput_per_day: list[dict[str, Any]]
    throughput_per_week: list[dict[str, Any]]
    wip_per_day: list[dict[str, Any]]
    time_in_stage: dict[str, dict[str, Any]]
    bottlenecks: dict[str, list[dict[str, Any]]]


class DeviationOut(BaseModel):
    kind: str = Field(
        description="illegal_move, wrong_start, incomplete, missing_stage or unknown_activity."
    )
    source: str | None
    target: str | None
    cases: int
    examples: list[str]


class ConformanceOut(BaseModel):
    """`andon conformance --json`."""

    cases: int
    conforming_cases: int
    incomplete_cases: int
    fitness: float | None = Field(description="Mean fitness over the cases; null with none.")
    deviations: list[DeviationOut]
