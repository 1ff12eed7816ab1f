"""Limiting lists of work to the sites and areas the actor's roles reach."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, or_, select

from andon.core.permissions import Action, Actor, reach
from andon.plant.models import Area, Line

Q = TypeVar("Q")


def visible_lines(actor: Actor, action: Action = Action.WORK_READ) -> Select[Any] | None:
    """A subquery of the line ids the actor may see, or ``None`` for every line."""
    where = reach(actor, action)
    if where is None:
        return None
    return (
        select(Line.id)
        .join(Area, Area.id == Line.area_id)
        .where(or_(Area.site_id.in_(where.site_ids), Line.area_id.in_(where.area_ids)))
    )


def restrict(
    query: Q,
    actor: Actor,
    line_column: ColumnElement[int] | Any,
    action: Action = Action.WORK_READ,
) -> Q:
    """``query`` limited to rows whose line the actor may see."""
    lines = visible_lines(actor, action)
    if lines is None:
        return query
    limited: Any = query
    return cast(Q, limited.where(line_column.in_(lines)))
