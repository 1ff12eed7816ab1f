"""CAPAs in and out: what opening, linking a change, checking and closing take and return."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from andon.actions.schemas import ActionOut, Note, Priority, Title, Username
from andon.core.permissions import Role
from andon.core.schemas import MAX_ID, Description, Input, Output

CapaKind = Literal["corrective", "preventive"]
CAPA_KINDS: tuple[str, ...] = ("corrective", "preventive")
ChangeKind = Literal["document_revision", "process_version", "metric_version"]
CHANGE_KINDS: tuple[str, ...] = ("document_revision", "process_version", "metric_version")
# A check's verdict in words, as every page shows it.
VERDICT_WORDS = {
    "effective": "Effective",
    "not_effective": "Not effective",
    "not_enough_data": "Not enough data",
}
MetricKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
LineCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
ChangeRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=100, pattern=r"^\S+/[0-9]+$"),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
WindowDays = Annotated[int, Field(ge=1, le=365)]


class CapaCreate(Input):
    """A new CAPA: the action (title, owner — a user or a role —, due date) plus what it
    answers (an RCA and one of its causes) and what its effectiveness check measures."""

    title: Title
    description: Description = ""
    kind: CapaKind = "corrective"
    owner_user: Username | None = Field(default=None, description="Username of the owner.")
    owner_role: Role | None = Field(default=None, description="Or the role that owns it.")
    due_on: date
    priority: Priority = "normal"
    rca_id: Id | None = None
    cause_id: Id | None = Field(default=None, description="A cause of that RCA.")
    metric_key: MetricKey | None = Field(default=None, description="What the check measures.")
    metric_line: LineCode | None = Field(
        default=None, description="For a metric split by line: whose series (default: whole)."
    )
    effective_on: date | None = Field(
        default=None, description="Default: the plant date the latest linked change took effect."
    )
    window_days: WindowDays = 28


class ChangeLink(Input):
    """A change the CAPA produced: ``SOP-ASM-001/3`` (document/revision), ``assembly/4``
    (process/version) or ``rework_rate/2`` (metric/version)."""

    kind: ChangeKind
    ref: ChangeRef


class CapaFinish(Input):
    note: Note = Field(description="What was done (close) or why not (cancel).")


class CapaCheck(Input):
    """A CAPA's check: its own metric, date and window unless given (given ones are kept)."""

    metric_key: MetricKey | None = None
    effective_on: date | None = None
    window_days: WindowDays | None = None


class CheckRequest(Input):
    """An effectiveness check not recorded on any CAPA."""

    metric_key: MetricKey
    effective_on: date
    window_days: WindowDays = 28
    metric_line: LineCode | None = None


class WindowOut(BaseModel):
    n: int
    value: float | None


class CheckOut(BaseModel):
    """One effectiveness check: the fixed keys of ``andon capa check --json`` and more."""

    id: int | None = None
    verdict: Literal["effective", "not_effective", "not_enough_data"]
    method: str
    before: WindowOut
    after: WindowOut
    p_value: float | None
    signals: list[dict[str, Any]]
    metric_key: str
    line: str | None
    effective_on: date
    window_days: int
    details: dict[str, Any] = Field(default_factory=dict)
    computed_by: str | None = None
    computed_at: datetime | None = None


class ChangeOut(Output):
    id: int
    kind: str
    ref: str
    effective_at: datetime | None
    added_by: str
    added_at: datetime


class CapaOut(BaseModel):
    """A CAPA with its action, changes, and the latest check (``check``) and the one it was
    closed on (``closed_on``)."""

    id: int
    kind: str
    action: ActionOut
    rca_id: int | None
    cause_id: int | None
    metric_key: str | None
    metric_line: str | None
    effective_on: date | None = Field(
        description="As given; null: the plant date of the latest linked change's effect."
    )
    window_days: int
    created_by: str
    created_at: datetime
    changes: list[ChangeOut]
    check: CheckOut | None
    closed_on: CheckOut | None
