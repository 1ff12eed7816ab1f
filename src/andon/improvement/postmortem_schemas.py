"""Postmortems in and out: what creating, editing and reviewing them take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from andon.core.schemas import MAX_ID, Input, Instant, Output, VersionedUpdate

Kind = Literal["line_stop", "missed_shipment", "other"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
STATUSES = ("draft", "in_review", "published")
ENTRY_KINDS = (
    "move",
    "exception",
    "line_stop",
    "line_restart",
    "document_effective",
    "process_version",
    "escalation",
    "audit",
    "note",
)
EntryKind = Literal[
    "move",
    "exception",
    "line_stop",
    "line_restart",
    "document_effective",
    "process_version",
    "escalation",
    "audit",
    "note",
]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=20000)]
Currency = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class PostmortemCreate(Input):
    """A new draft. From a line stop (``line_stop_id``): the line, the window (stop to
    restart, or to now while stopped), the items and hours lost are filled in when not given,
    and the timeline is copied from the plant's record of the window."""

    title: Title
    kind: Kind = "other"
    line_stop_id: Id | None = None
    work_item_id: Id | None = None
    line_id: Id | None = None
    started_at: Instant | None = None
    ended_at: Instant | None = None
    summary: Text = ""


class PostmortemUpdate(VersionedUpdate):
    """Change any part of a draft; fields left out stay as they are. ``rca_id`` 0 unlinks."""

    title: Title | None = None
    summary: Text | None = None
    started_at: Instant | None = None
    ended_at: Instant | None = None
    impact_items: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    impact_hours: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    impact_cost: Annotated[float, Field(ge=0, le=1e12)] | None = None
    impact_currency: Currency | None = None
    what_happened: Text | None = None
    why: Text | None = None
    rca_id: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    changes: Text | None = None


class EntryIn(Input):
    """A timeline entry the writer adds or edits; ``note`` annotates it."""

    at: Instant
    kind: EntryKind = "note"
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    ref: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    note: Annotated[str, StringConstraints(max_length=4000)] = ""


class EntryOut(Output):
    id: int
    at: datetime
    kind: str
    title: str
    ref: str | None
    line: str | None
    note: str
    source: str


class PromptOut(Output):
    field: str
    phrase: str
    start: int
    suggestion: str


class PostmortemOut(Output):
    id: int
    title: str
    kind: str
    status: str
    line_stop_id: int | None
    work_item_id: int | None
    line_id: int | None
    line: str | None
    started_at: datetime
    ended_at: datetime
    summary: str
    impact_items: int | None
    impact_hours: float | None
    impact_cost: float | None
    impact_currency: str | None
    what_happened: str
    why: str
    rca_id: int | None
    changes: str
    created_by: str
    created_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    published_by: str | None
    published_at: datetime | None
    version: int


class PostmortemDetailOut(PostmortemOut):
    timeline: list[EntryOut]
    prompts: list[PromptOut] = Field(
        description="Blaming phrases found in the narrative, with system-focused wording."
    )
    follow_ups: list[int] = Field(description="Ids of actions linked postmortem:ID.")


class SearchHitOut(Output):
    id: int
    title: str
    snippet: str
    rank: float


PostmortemStatus = Literal["draft", "in_review", "published"]
