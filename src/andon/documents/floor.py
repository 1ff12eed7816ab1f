"""What the floor needs of a stage's SOP: the revision in force and whether a person read it.

Kept to one query and free of the document services, so work can ask on every move without
importing the change-control machinery (documents never import work).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.documents.assignments import CARRIED, DONE
from andon.documents.models import Document, DocumentRevision, TrainingAssignment

ACKNOWLEDGED = (DONE, CARRIED)


@dataclass(frozen=True)
class SopState:
    """A document's revision in force (None: none is) and whether the person acknowledged it."""

    number: str
    revision: int | None
    trained: bool


# Built once: a move asks on every call, and binding values is cheaper than building and
# hashing a new statement each time. A NULL user id matches no task: not trained.
_IN_FORCE = (
    select(
        Document.number,
        DocumentRevision.number,
        exists().where(
            TrainingAssignment.user_id == bindparam("user_id"),
            TrainingAssignment.status.in_(ACKNOWLEDGED),
            TrainingAssignment.revision_id == DocumentRevision.id,
            TrainingAssignment.acknowledged_at <= bindparam("moment"),
        ),
    )
    .select_from(Document)
    .outerjoin(
        DocumentRevision,
        and_(
            DocumentRevision.document_id == Document.id,
            DocumentRevision.effective_at <= bindparam("moment"),
            or_(
                DocumentRevision.ended_at.is_(None), DocumentRevision.ended_at > bindparam("moment")
            ),
        ),
    )
    .where(Document.number.in_(bindparam("numbers", expanding=True)))
)


def sop_state(
    session: Session, number: str, user_id: int | None, *, at: datetime | None = None
) -> tuple[int | None, bool]:
    """The revision of document ``number`` in force at ``at`` (default: now) and whether
    ``user_id`` had acknowledged it by then (a task of that revision done, or carried forward
    from the one before), in one query.

    An unknown document, or one with nothing in force, gives ``(None, False)``; so does a
    caller with no person behind it (``user_id`` None) for the second half.
    """
    state = sop_states(session, [number], user_id, at=at).get(number)
    return (state.revision, state.trained) if state is not None else (None, False)


def sop_states(
    session: Session, numbers: Collection[str], user_id: int | None, *, at: datetime | None = None
) -> dict[str, SopState]:
    """``sop_state`` for several documents at once (one query); unknown numbers are left out.

    "In force at" reads the revisions' effective and end instants rather than their status,
    so a move recorded with a past instant (the demo's history, a late entry) gets the
    revision that was in force then.
    """
    if not numbers:
        return {}
    params = {"numbers": sorted(set(numbers)), "user_id": user_id, "moment": at or utcnow()}
    return {
        number: SopState(number, revision, bool(known) and revision is not None)
        for number, revision, known in session.execute(_IN_FORCE, params)
    }
