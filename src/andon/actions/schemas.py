"""Actions in and out: what creating, changing, closing and listing them take and return."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from andon.core.permissions import Role
from andon.core.schemas import Description, Input, Output, VersionedUpdate

LinkKind = Literal[
    "metric",
    "exception",
    "work_item",
    "document",
    "review",
    "rca",
    "capa",
    "risk",
    "postmortem",
    "decision",
]
LINK_KINDS: tuple[str, ...] = LinkKind.__args__  # type: ignore[attr-defined]
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[str, ...] = Priority.__args__  # type: ignore[attr-defined]
Status = Literal["open", "in_progress", "done", "cancelled"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
UNFINISHED = ("open", "in_progress")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ActionLink(Input):
    """What an action is about: ``kind`` and its reference (metric key, id or number)."""

    kind: LinkKind
    ref: Ref

    # Hashable, so the same link given twice is stored once.
    model_config = ConfigDict(frozen=True)


class ActionCreate(Input):
    """A new action: owned by ``owner_user`` (a username) or ``owner_role``, exactly one."""

    title: Title
    description: Description = ""
    owner_user: Username | None = Field(default=None, description="Username of the owner.")
    owner_role: Role | None = Field(default=None, description="Or the role that owns it.")
    due_on: date
    priority: Priority = "normal"
    links: list[ActionLink] = Field(default_factory=list, max_length=20)


class ActionUpdate(VersionedUpdate):
    """Change status (open or in progress), due date, priority or owner (one of the two)."""

    status: Literal["open", "in_progress"] | None = None
    due_on: date | None = None
    priority: Priority | None = None
    owner_user: Username | None = None
    owner_role: Role | None = None


class ActionClose(Input):
    note: Note = Field(description="What was done (for close) or why not (for cancel).")
    version: int | None = Field(
        default=None, ge=1, description="The version this is based on; stale is refused."
    )


class CommentCreate(Input):
    body: Note


class ActionFilters(BaseModel):
    """What ``list_actions`` selects; every filter given must hold.

    ``mine``: owned by the actor or by a role the actor holds. ``status``: one status or
    ``unfinished`` (open or in progress). ``overdue``: unfinished and due before ``today``
    (the plant's date; give it, the default is today in UTC). ``link``: linked to it.
    """

    mine: bool = False
    status: Status | Literal["unfinished"] | None = None
    overdue: bool = False
    today: date | None = None
    link: ActionLink | None = None
    owner_user: str | None = None
    owner_role: Role | None = None
    limit: int = Field(default=200, ge=1, le=500)


class ActionLinkOut(Output):
    kind: str
    ref: str


class ActionOut(Output):
    id: int
    title: str
    description: str
    owner_user: str | None
    owner_role: str | None
    due_on: date
    status: str
    priority: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    escalated_at: datetime | None
    version: int
    held_by: str | None = Field(
        default=None, description="The room that finishes this action (capa), if not this one."
    )
    links: list[ActionLinkOut]


class CommentOut(Output):
    id: int
    body: str
    author: str
    created_at: datetime


class ActionDetailOut(ActionOut):
    comments: list[CommentOut]


__all__ = [
    "LINK_KINDS",
    "PRIORITIES",
    "STATUSES",
    "ActionClose",
    "ActionCreate",
    "ActionDetailOut",
    "ActionFilters",
    "ActionLink",
    "ActionLinkOut",
    "ActionOut",
    "ActionUpdate",
    "CommentCreate",
    "CommentOut",
]
