"""Request and response models of work items, exceptions, checks and lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from andon.core.schemas import MAX_ID, Description, Input, Output, Reason
from andon.processes.spec import Priority, Severity

Id = Field(ge=1, le=MAX_ID)


class ItemCreate(Input):
    process: str = Field(min_length=1, max_length=40, description="Process key.")
    line_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(default="", max_length=200)
    product: str | None = Field(default=None, max_length=60, description="Part number.")
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    priority: Priority = Priority.NORMAL
    fields: dict[str, Any] = Field(default_factory=dict, description="Intake form values.")
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ItemMove(Input):
    to: str = Field(min_length=1, max_length=40, description="Target stage key.")
    version: int = Field(ge=1, description="Version of the item this move is based on.")
    reason: Reason | None = None


class ItemPause(Input):
    state: str = Field(min_length=1, max_length=40, description="Pause state key.")
    version: int = Field(ge=1)
    reason: Reason | None = None


class ItemResume(Input):
    version: int = Field(ge=1)
    reason: Reason | None = None


class ItemAssign(Input):
    assignee_id: int | None = Field(ge=1, le=MAX_ID, description="null unassigns.")
    version: int = Field(ge=1)


class ItemUpdate(Input):
    version: int = Field(ge=1)
    title: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=60)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    priority: Priority | None = None
    reason: Reason | None = None


class ItemReroute(Input):
    line_id: int = Field(ge=1, le=MAX_ID)
    version: int = Field(ge=1)
    reason: Reason


class ItemRetarget(Input):
    """A lead agrees a new target for the item's current stage (or goes back to the map's)."""

    version: int = Field(ge=1)
    sla: str | None = Field(
        description="Business time allowed in the current stage, e.g. '6h'; null restores "
        "the process map's target.",
        max_length=20,
    )
    reason: Reason


class CommentCreate(Input):
    body: str = Field(min_length=1, max_length=4000)


class CheckResultIn(Input):
    key: str = Field(min_length=1, max_length=40)
    passed: bool
    value: float | None = Field(default=None, allow_inf_nan=False)
    note: str = Field(default="", max_length=500)


class ChecklistRecord(Input):
    results: list[CheckResultIn] = Field(min_length=1, max_length=100)


class ExceptionRaise(Input):
    category: str = Field(min_length=1, max_length=40)
    severity: Severity | None = Field(default=None, description="Default: the category's.")
    description: Description = Field(min_length=1)
    item_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    line_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="If no item.")


class ExceptionTriage(Input):
    version: int = Field(ge=1)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    category: str | None = Field(default=None, min_length=1, max_length=40)
    severity: Severity | None = None
    reason: Reason | None = None


class ExceptionResolve(Input):
    version: int = Field(ge=1)
    resolution: Reason


class EscalationSend(Input):
    tier: int = Field(ge=1, le=20, description="1-based tier of the process's policy.")
    reason: Reason


class LineStopRequest(Input):
    reason: Reason


class LineSignoff(Input):
    reason: Reason


class StopRuleCreate(Input):
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(pattern=r"^(exception|failed_checks)$")
    category: str | None = Field(default=None, max_length=40)
    min_severity: Severity | None = None
    count: int | None = Field(default=None, ge=1, le=1000)
    window_minutes: int | None = Field(default=None, ge=1, le=10_080)


class ClockOut(Output):
    target_seconds: float
    started_at: datetime
    due_at: datetime | None = Field(
        description="When used time reaches the target; null while paused short of it, or "
        "when the site calendar holds too little working time to reach it."
    )
    projected_due_at: datetime | None = Field(
        description="due_at, or while paused the due time if the item resumed now."
    )
    business_seconds_used: float
    business_seconds_paused: float
    business_seconds_remaining: float
    breached: bool
    breached_at: datetime | None
    paused: bool
    explanation: str
    stopped_at: datetime | None = Field(
        default=None,
        description="When the clock stopped for good (the item finished); its figures are "
        "final. Null while it runs.",
    )


class ItemOut(Output):
    id: int
    process_id: int
    process_version_id: int
    line_id: int
    title: str
    product: str | None
    quantity: int
    priority: str
    fields: dict[str, Any]
    stage: str
    status: str
    pause_state: str | None
    assignee_id: int | None
    assignee_role: str | None
    rework_count: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    stage_entered_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    stage_due_at: datetime | None
    breached_at: datetime | None
    stage_breached_at: datetime | None
    version: int


class EventOut(Output):
    id: int
    case_id: int
    process_key: str
    activity: str
    lifecycle: str
    kind: str
    timestamp: datetime
    resource: str
    attributes: dict[str, Any]


class CommentOut(Output):
    id: int
    author: str
    body: str
    created_at: datetime


class CheckRunOut(Output):
    id: int
    item_id: int
    stage: str
    passed: bool
    results: list[dict[str, Any]]
    recorded_at: datetime
    recorded_by: str


class ExceptionOut(Output):
    id: int
    item_id: int | None
    line_id: int
    category: str
    severity: str
    description: str
    status: str
    owner_id: int | None
    raised_at: datetime
    raised_by: str
    triaged_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    version: int


class EscalationOut(Output):
    id: int
    item_id: int
    exception_id: int | None
    tier: int
    tier_name: str
    basis: str
    stage: str
    due_at: datetime | None
    status: str
    urgent: bool
    fired_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reason: str


class AttachmentOut(Output):
    id: int
    item_id: int | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


class CountdownOut(Output):
    css: str = Field(
        description="The SLA badge: sla-ok, sla-warn (a quarter or less of the stage SLA "
        "left), sla-late, sla-paused or sla-none (finished, or no stage SLA)."
    )
    text: str = Field(description="The badge's words, e.g. 'due in 1h 20m'.")
    due_at: datetime | None = Field(description="When the stage SLA falls due, if it runs.")


class MoveOptionOut(Output):
    to: str = Field(description="Stage key.")
    name: str
    rework: bool = Field(description="A rework move: back for another try.")
    gated: bool = Field(description="Needs a passing checklist of the current stage first.")
    gate_passed: bool = Field(description="False while the checklist gate holds the move.")
    missing_checks: list[str] = Field(
        description="Checklist lines still to pass before the move (keys, in checklist order)."
    )


class ItemLineStopOut(Output):
    id: int
    stopped_at: datetime
    stopped_by: str
    rule: str | None
    reason: str


class ItemActionsOut(Output):
    """What the caller may do with a work item now; each action is still checked when done."""

    item_id: int
    version: int
    status: str
    stage: str
    moves: list[MoveOptionOut] = Field(
        description="Stages the caller may move the item to now (none while its line is stopped)."
    )
    may_move: bool = Field(description="The caller has the right to move the item at all.")
    can_move: bool = Field(description="may_move, and the item's line runs.")
    can_pause: bool
    can_resume: bool
    can_assign: bool = Field(description="Assign it to anyone.")
    can_take: bool = Field(description="Assign it to oneself.")
    can_comment: bool
    can_attach: bool
    can_record_checklist: bool
    can_raise_exception: bool
    can_escalate: bool
    can_acknowledge: bool = Field(description="Acknowledge its fired escalations.")
    line_stop: ItemLineStopOut | None = Field(
        description="The stop holding the item's line; null while it runs or the item is done."
    )
    countdown: CountdownOut


class OwnerCandidateOut(Output):
    id: int
    username: str
    display_name: str


class ParetoBarOut(BaseModel):
    key: str
    count: int
    share: float
    cumulative_share: float
