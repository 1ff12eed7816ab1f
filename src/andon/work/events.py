"""The append-only event log of work items, and replaying it into an item's state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from andon.core.queued import queue_row
from andon.work.models import WorkEvent, WorkItem

# kind → lifecycle (XES standard lifecycle where one applies).
LIFECYCLE = {
    "created": "start",
    "moved": "start",
    "completed": "complete",
    "paused": "suspend",
    "resumed": "resume",
}


def append_event(
    session: Session,
    item: WorkItem,
    *,
    kind: str,
    activity: str,
    at: datetime,
    resource: str,
    process_key: str,
    lifecycle: str | None = None,
    **attributes: Any,
) -> None:
    """Queue the event; it is written with the others of the use case, in order."""
    queue_row(
        session,
        _EVENTS,
        {
            "case_id": item.id,
            "process_key": process_key,
            "activity": activity,
            "lifecycle": lifecycle or LIFECYCLE.get(kind, kind),
            "kind": kind,
            "timestamp": at,
            "resource": resource,
            "attributes": {k: v for k, v in attributes.items() if v is not None},
        },
    )


_EVENTS = cast(Table, WorkEvent.__table__)


@dataclass(frozen=True)
class ItemState:
    """What the events say an item is; compared with the stored row by the replay test."""

    stage: str = ""
    status: str = "open"
    pause_state: str | None = None
    line_id: int = 0
    assignee_id: int | None = None
    priority: str = "normal"
    product: str | None = None
    quantity: int = 1
    title: str = ""
    rework_count: int = 0
    fields: dict[str, Any] = field(default_factory=dict)


def latest_event_id(session: Session) -> int | None:
    """The id of the newest work event, None before the first: it grows with every event
    recorded, so it tells a reader whether the log changed since it last looked (cheap: the
    primary key's maximum)."""
    return session.execute(select(func.max(WorkEvent.id))).scalar()


def state_of(item: WorkItem) -> ItemState:
    return ItemState(
        stage=item.stage,
        status=item.status,
        pause_state=item.pause_state,
        line_id=item.line_id,
        assignee_id=item.assignee_id,
        priority=item.priority,
        product=item.product,
        quantity=item.quantity,
        title=item.title,
        rework_count=item.rework_count,
        fields=dict(item.fields),
    )


_UPDATABLE = ("priority", "product", "quantity", "title", "line_id", "assignee_id")


def replay(events: Iterable[tuple[str, str, dict[str, Any]]]) -> ItemState:
    """Fold ``(kind, lifecycle, attributes)`` in order into the item's state."""
    state = ItemState()
    for kind, _lifecycle, attrs in events:
        if kind == "created":
            state = ItemState(
                stage=attrs["stage"],
                line_id=attrs["line_id"],
                assignee_id=attrs.get("assignee_id"),
                priority=attrs.get("priority", "normal"),
                product=attrs.get("product"),
                quantity=attrs.get("quantity", 1),
                title=attrs.get("title", ""),
                fields=dict(attrs.get("fields", {})),
            )
        elif kind == "moved":
            state = replace(
                state,
                stage=attrs["to"],
                rework_count=state.rework_count + (1 if attrs.get("rework") else 0),
            )
        elif kind == "completed" and attrs.get("final"):
            state = replace(state, status="done")
        elif kind == "paused":
            state = replace(state, status="paused", pause_state=attrs["state"])
        elif kind == "resumed":
            state = replace(state, status="open", pause_state=None)
        elif kind in {"assigned", "updated", "rerouted"}:
            changes = {k: attrs[k] for k in _UPDATABLE if k in attrs}
            if "assignee_id" in attrs.get("cleared", []):
                changes["assignee_id"] = None
            state = replace(state, **changes)
    return state
