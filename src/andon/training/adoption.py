"""Adoption of a change: two curves over the days since a revision took effect.

(a) the share of the people with a task for the revision who had acknowledged it by the end
of day d; (b) of the executions that day of the stages whose ``sop:`` names the document (the
``moved`` events out of such a stage, which carry ``sop``, ``sop_revision`` and ``untrained``),
the share done by a trained person under this revision. Both are counted by the database,
grouped by day; Python only accumulates the daily totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.core.errors import InvalidInput, NotFound
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.work.models import WorkEvent

MAX_DAYS = 365
"""Curves stop a year after the revision took effect; adoption is settled long before."""


@dataclass(frozen=True)
class AdoptionDay:
    day: int
    acknowledged: int
    acknowledged_share: float | None
    executions: int
    trained_executions: int
    trained_share: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "acknowledged": self.acknowledged,
            "acknowledged_share": self.acknowledged_share,
            "executions": self.executions,
            "trained_executions": self.trained_executions,
            "trained_share": self.trained_share,
        }


@dataclass(frozen=True)
class Adoption:
    number: str
    title: str
    revision: int
    effective_at: datetime
    people: int
    """People with a task for the revision (acknowledged, carried or still due)."""
    stages: list[str]
    days: list[AdoptionDay]

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "revision": self.revision,
            "effective_at": self.effective_at.isoformat(),
            "people": self.people,
            "stages": self.stages,
            "days": [d.to_json() for d in self.days],
        }


def change_adoption(
    ctx: Context, number: str, revision: int | None = None, *, now: datetime | None = None
) -> Adoption:
    """The adoption curves of ``revision`` (default: the effective one) of document
    ``number``, from the day it took effect to the day it ended (or today). Needs
    training.read; a revision that never took effect is refused."""
    authorize_somewhere(ctx.actor, Action.TRAINING_READ)
    now = now or utcnow()
    with ctx.read() as session:
        document = session.scalar(select(Document).where(Document.number == number))
        if document is None:
            raise NotFound(f"no document {number!r}")
        wanted = revision if revision is not None else document.effective_revision
        if wanted is None:
            raise InvalidInput.for_field("revision", f"{number} has no effective revision")
        row = session.scalar(
            select(DocumentRevision).where(
                DocumentRevision.document_id == document.id, DocumentRevision.number == wanted
            )
        )
        if row is None:
            raise NotFound(f"{number} has no revision {wanted}")
        if row.effective_at is None:
            raise InvalidInput.for_field(
                "revision", f"{number} revision {wanted} has not taken effect"
            )
        start = row.effective_at
        end = min(row.ended_at or now, start + timedelta(days=MAX_DAYS))
        span = max(1, int((end - start).total_seconds() // 86400) + 1)
        people, acknowledged = _acknowledgements(session, row.id, start)
        executions, stages = _executions(session, number, row.number, start, end)
        days = []
        total = 0
        for day in range(span):
            total += acknowledged.get(day, 0)
            done, good = executions.get(day, (0, 0))
            days.append(
                AdoptionDay(
                    day=day,
                    acknowledged=total,
                    acknowledged_share=round(total / people, 4) if people else None,
                    executions=done,
                    trained_executions=good,
                    trained_share=round(good / done, 4) if done else None,
                )
            )
        return Adoption(number, document.title, row.number, start, people, stages, days)


def _day(session: Session, moment: Any, start: datetime) -> Any:
    """Whole days from ``start`` to ``moment`` (negative before it), in the database."""
    naive = literal(start.replace(tzinfo=None), DateTime())
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(extract("epoch", moment - naive) / 86400), BigInteger)
    return cast(func.floor(func.julianday(moment) - func.julianday(naive)), Integer)


def _acknowledgements(
    session: Session, revision_id: int, start: datetime
) -> tuple[int, dict[int, int]]:
    """People with a task, and acknowledgements per day (carried ones count on day 0)."""
    of_revision = TrainingAssignment.revision_id == revision_id
    people = session.scalar(select(func.count()).where(of_revision)) or 0
    day = _day(session, TrainingAssignment.acknowledged_at, start)
    by_day: dict[int, int] = {}
    query = (
        select(day, func.count())
        .where(of_revision, TrainingAssignment.acknowledged_at.is_not(None))
        .group_by(day)
    )
    for d, n in session.execute(query):
        by_day[max(0, int(d))] = by_day.get(max(0, int(d)), 0) + n
    return people, by_day


def _executions(
    session: Session, number: str, revision: int, start: datetime, end: datetime
) -> tuple[dict[int, tuple[int, int]], list[str]]:
    """Per day: moves out of the document's stages, and those by a trained person under
    ``revision``; and the stages they left."""
    attributes = WorkEvent.attributes
    moves = and_(
        WorkEvent.kind == "moved",
        attributes["sop"].as_string() == number,
        WorkEvent.timestamp >= start,
        WorkEvent.timestamp <= end,
    )
    trained = and_(
        attributes["sop_revision"].as_integer() == revision,
        or_(attributes["untrained"].as_boolean().is_(None), ~attributes["untrained"].as_boolean()),
    )
    day = _day(session, WorkEvent.timestamp, start)
    query = (
        select(day, func.count(), func.sum(cast(case((trained, 1), else_=0), Float)))
        .where(moves)
        .group_by(day)
    )
    found = {int(d): (int(n), int(good or 0)) for d, n, good in session.execute(query)}
    left = attributes["from"].as_string()
    stages = sorted(
        s for s in session.scalars(select(left).where(moves).distinct()) if s is not None
    )
    return found, stages
