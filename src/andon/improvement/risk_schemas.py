"""Risks in and out: what adding, editing, reviewing, verifying and mitigating a risk take,
and what a risk, its heat map and its filters look like."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from andon.actions.schemas import ActionOut, Priority
from andon.core.permissions import Role
from andon.core.schemas import Description, Input, Output, VersionedUpdate

RiskStatus = Literal["to_assess", "open", "mitigating", "accepted", "closed"]
Method = Literal["metric", "check"]
Comparison = Literal["lt", "le", "gt", "ge"]
BandName = Literal["low", "medium", "high", "extreme"]
Scale = Literal["inherent", "residual"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AreaName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MetricKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]

SCORE_HELP = "1 (rare / negligible) to 5 (almost certain / catastrophic)."


class Verification(Input):
    """How a risk is shown to stay controlled: a metric against a threshold
    (``metric_key``, ``metric_comparison``, ``metric_threshold``) or a recurring check
    every ``check_interval_days`` (first due ``next_check_on``, default today + interval)."""

    method: Method
    metric_key: MetricKey | None = None
    metric_comparison: Comparison | None = Field(
        default=None, description="lt, le, gt or ge: the value must be <, ≤, >, ≥ threshold."
    )
    metric_threshold: float | None = None
    check_interval_days: int | None = Field(default=None, ge=1, le=3660)
    next_check_on: date | None = None


class RiskCreate(Input):
    """A new risk. Without scores it is ``to_assess``; scored, ``open`` unless said."""

    title: Title
    area: AreaName | None = Field(default=None, description="An area code (ASM) or a name.")
    cause: Description = ""
    consequence: Description = ""
    inherent_likelihood: int | None = Field(default=None, description=SCORE_HELP)
    inherent_severity: int | None = Field(default=None, description=SCORE_HELP)
    residual_likelihood: int | None = Field(default=None, description=SCORE_HELP)
    residual_severity: int | None = Field(default=None, description=SCORE_HELP)
    owner: Username = Field(description="Username of the risk's owner.")
    status: RiskStatus | None = None
    verification: Verification | None = None
    review_on: date | None = Field(default=None, description="When it is next reviewed.")


class RiskUpdate(VersionedUpdate):
    """Change any of a risk's fields; a field left out stays, a score given as null is
    cleared (back to unknown), ``verification`` null removes the verification."""

    title: Title | None = None
    area: AreaName | None = None
    cause: Description | None = None
    consequence: Description | None = None
    inherent_likelihood: int | None = None
    inherent_severity: int | None = None
    residual_likelihood: int | None = None
    residual_severity: int | None = None
    owner: Username | None = None
    status: RiskStatus | None = None
    verification: Verification | None = None
    review_on: date | None = None


class RiskReview(Input):
    """A periodic review: the date of the next one, and what was found."""

    next_review_on: date
    note: Note = ""
    version: int | None = Field(default=None, ge=1, description="Stale is refused.")


class RiskVerify(Input):
    """A verification. A recurring check says whether it was ``met``; a metric's result is
    computed from its latest finished value, so ``result`` is left out."""

    result: Literal["met", "not_met"] | None = None
    note: Note = ""


class MitigationCreate(Input):
    """A mitigation: an action in the actions room linked to the risk."""

    title: Title
    description: Description = ""
    owner_user: Username | None = None
    owner_role: Role | None = None
    due_on: date
    priority: Priority = "normal"


class RiskFilters(BaseModel):
    """What ``list_risks`` selects; each filter given must hold. ``band`` (and the cell,
    ``likelihood`` with ``severity``) read the ``scale``: inherent or residual scores."""

    area: str | None = None
    status: RiskStatus | Literal["active"] | None = Field(
        default=None, description="active = every status but closed."
    )
    band: BandName | None = None
    scale: Scale = "inherent"
    likelihood: int | None = Field(default=None, ge=1, le=5)
    severity: int | None = Field(default=None, ge=1, le=5)


class LinkedRevision(Output):
    number: str
    revision: int
    status: str
    title: str
    safety_impact: bool


class RiskOut(Output):
    id: int
    reference: str = Field(description="How a change record names it: RSK-12.")
    title: str
    area: str | None
    cause: str
    consequence: str
    inherent_likelihood: int | None
    inherent_severity: int | None
    inherent_score: int | None
    inherent_band: BandName | None
    residual_likelihood: int | None
    residual_severity: int | None
    residual_score: int | None
    residual_band: BandName | None
    owner: str
    status: RiskStatus
    verification_method: Method | None
    metric_key: str | None
    metric_comparison: Comparison | None
    metric_threshold: float | None
    check_interval_days: int | None
    next_check_on: date | None
    verification_state: Literal["met", "not_met", "due", "overdue", "none"]
    verified_at: datetime | None
    verified_by: str | None
    verification_result: str | None
    verification_value: float | None
    verification_note: str
    review_on: date | None
    review_overdue: bool
    reviewed_at: datetime | None
    reviewed_by: str | None
    open_mitigations: int = Field(description="Mitigation actions not yet done or cancelled.")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class RiskDetailOut(RiskOut):
    mitigations: list[ActionOut]
    documents: list[LinkedRevision] = Field(description="Document revisions linking it.")


class HeatCellOut(BaseModel):
    likelihood: int
    severity: int
    band: BandName
    count: int


class HeatMapOut(BaseModel):
    """The 5×5 grid: rows from likelihood 5 down to 1, severity 1..5 in each row. Risks
    without scores on this scale are counted in ``unscored``."""

    scale: Scale
    rows: list[list[HeatCellOut]]
    unscored: int


__all__ = [
    "HeatCellOut",
    "HeatMapOut",
    "LinkedRevision",
    "MitigationCreate",
    "RiskCreate",
    "RiskDetailOut",
    "RiskFilters",
    "RiskOut",
    "RiskReview",
    "RiskUpdate",
    "RiskVerify",
    "Verification",
]
