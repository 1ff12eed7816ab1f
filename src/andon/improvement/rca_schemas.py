"""Root-cause analyses in and out: the problem statement, links, causes, evidence, closing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from andon.core.permissions import Role
from andon.core.schemas import Description, Input, Instant, Output, VersionedUpdate

# The 6M of the fishbone, in the order its bones are drawn.
SixM = Literal["man", "machine", "method", "material", "measurement", "environment"]
SIX_M: tuple[str, ...] = SixM.__args__  # type: ignore[attr-defined]
# What a person links to an RCA; containment links are made by opening a containment action.
LinkKind = Literal["exception", "work_item", "metric", "audit"]
LINK_KINDS: tuple[str, ...] = LinkKind.__args__  # type: ignore[attr-defined]
Status = Literal["open", "closed"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
MetricKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# A saved analytics query: the path and query string of an analytics page or API call.
EvidenceQuery = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=500,
        pattern=r"^/(api/v1/)?analytics(/|\?|$)\S*$",
    ),
]


class RcaLinkIn(Input):
    """Something that triggered or informs the RCA. ``ref`` is an exception id, a work item
    id, an audit entry's sequence number, or a metric signal ``KEY@PERIOD`` or
    ``KEY@PERIOD/LINE`` (e.g. ``rework-rate@2026-W48/L1``)."""

    kind: LinkKind
    ref: Ref
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RcaCreate(Input):
    """A new RCA: the problem statement (what, where, when, how much) and its owner."""

    title: Title
    what: Text = Field(description="What is wrong, as observed.")
    location: Description = Field(default="", description="Where: line, stage, station.")
    how_much: Description = Field(default="", description="How much, how often: the numbers.")
    started_at: Instant = Field(description="When: the start of the window it was seen in.")
    ended_at: Instant | None = Field(default=None, description="The end of that window.")
    line_id: int | None = Field(default=None, ge=1)
    category: Category | None = Field(default=None, description="The exception category.")
    metric_key: MetricKey | None = None
    owner_user: Username = Field(description="Username of the person leading the RCA.")
    links: list[RcaLinkIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _window(self) -> RcaCreate:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at must not be before started_at")
        return self


class RcaUpdate(VersionedUpdate):
    """Change the problem statement; only what is given changes. An empty ``category``,
    ``metric_key`` or ``line_id`` 0 clears it."""

    title: Title | None = None
    what: Text | None = None
    location: Description | None = None
    how_much: Description | None = None
    started_at: Instant | None = None
    ended_at: Instant | None = None
    line_id: int | None = Field(default=None, ge=0)
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    metric_key: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = (
        None
    )
    owner_user: Username | None = None


class RcaClose(Input):
    version: int = Field(ge=1, description="The version this is based on; stale is refused.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ContainmentCreate(Input):
    """A containment action: opened in the actions room, linked ``rca:ID``."""

    title: Title
    description: Description = ""
    owner_user: Username | None = None
    owner_role: Role | None = None
    due_on: date


class CauseCreate(Input):
    """A why: under the problem statement (no ``parent_id``) or under another cause."""

    text: Text
    parent_id: int | None = Field(default=None, ge=1)
    category: SixM | None = None


class CauseUpdate(Input):
    """Edit a cause's text or its 6M category (``category`` empty clears it)."""

    text: Text | None = None
    category: SixM | Literal[""] | None = None


class CauseVerify(Input):
    """Evidence that the cause is real: text, and an attachment and/or a saved query."""

    evidence: Text
    evidence_attachment_id: int | None = Field(default=None, ge=1)
    evidence_query: EvidenceQuery | None = Field(
        default=None, description="A saved analytics query, e.g. /analytics/quality?line=L1."
    )


class CauseRoot(Input):
    root: bool = True


class RcaFilters(BaseModel):
    status: Status | None = None
    line_id: int | None = None
    category: str | None = None
    owner_user: str | None = None
    limit: int = Field(default=200, ge=1, le=500)


class RcaOut(Output):
    id: int
    title: str
    what: str
    location: str
    how_much: str
    started_at: datetime
    ended_at: datetime | None
    line_id: int | None
    line: str | None = Field(description="The line's code, if any.")
    category: str | None
    metric_key: str | None
    owner_user: str
    status: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    version: int


class RcaLinkOut(Output):
    id: int
    kind: str
    ref: str
    note: str
    added_by: str
    added_at: datetime


class CauseOut(Output):
    id: int
    parent_id: int | None
    text: str
    category: str | None
    verified: bool
    evidence: str
    evidence_attachment_id: int | None
    evidence_query: str | None
    verified_by: str | None
    verified_at: datetime | None
    root: bool
    created_by: str
    created_at: datetime


class ContainmentOut(Output):
    action_id: int
    title: str
    status: str
    owner: str
    due_on: date


class CapaSummary(Output):
    id: int
    kind: str
    action_id: int
    title: str
    status: str


class RcaDetailOut(RcaOut):
    links: list[RcaLinkOut]
    causes: list[CauseOut]
    containment: list[ContainmentOut]
    capas: list[CapaSummary]
    root_causes: list[str] = Field(description="The verified root causes, in words.")


__all__ = [
    "LINK_KINDS",
    "SIX_M",
    "CapaSummary",
    "CauseCreate",
    "CauseOut",
    "CauseRoot",
    "CauseUpdate",
    "CauseVerify",
    "ContainmentCreate",
    "ContainmentOut",
    "RcaClose",
    "RcaCreate",
    "RcaDetailOut",
    "RcaFilters",
    "RcaLinkIn",
    "RcaLinkOut",
    "RcaOut",
    "RcaUpdate",
]
