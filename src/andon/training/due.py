"""Open read-and-acknowledge tasks: one person's ("my training") or everyone's, due or overdue.

Each task names the revision the person acknowledged before (when there was one), so a page
shows them the redline from it rather than the whole document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from andon.accounts.models import User
from andon.core.errors import InvalidInput, NotFound
from andon.core.permissions import Action, reach
from andon.core.uow import Context
from andon.documents.assignments import DUE
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.documents.rules import DocumentRules
from andon.training.scope import effective_documents, line_place, people_query, roles_of


@dataclass(frozen=True)
class DueTask:
    """An open task on a document's effective revision."""

    username: str
    name: str
    number: str
    title: str
    type: str
    revision: int
    previous_revision: int | None
    assigned_at: datetime
    due_on: date
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "number": self.number,
            "title": self.title,
            "type": self.type,
            "revision": self.revision,
            "previous_revision": self.previous_revision,
            "assigned_at": self.assigned_at.isoformat(),
            "due_on": self.due_on.isoformat(),
            "overdue": self.overdue,
        }


@dataclass(frozen=True)
class DueFilter:
    username: str | None = None
    line_id: int | None = None
    role: str | None = None
    number: str | None = None
    overdue_only: bool = False


def due_tasks(
    ctx: Context,
    filters: DueFilter = DueFilter(),
    *,
    rules: DocumentRules | None = None,
    now: datetime | None = None,
) -> list[DueTask]:
    """Open tasks by due date, then person. Anyone may list their own (``username`` their
    own); anyone else's need training.read, within the reader's reach."""
    rules = rules or DocumentRules()
    own = filters.username is not None and filters.username == ctx.actor.username
    # Reading your own tasks needs no permission; anyone else's needs training.read.
    mine = own and ctx.actor.user_id is not None
    where = None if mine else reach(ctx.actor, Action.TRAINING_READ)
    today = rules.today(now)
    revision = aliased(DocumentRevision)
    previous = aliased(DocumentRevision)
    query = (
        select(
            User.username,
            User.display_name,
            Document.number,
            Document.title,
            Document.type,
            revision.number,
            previous.number,
            TrainingAssignment.assigned_at,
            TrainingAssignment.due_on,
        )
        .join(User, User.id == TrainingAssignment.user_id)
        .join(Document, Document.id == TrainingAssignment.document_id)
        .join(
            revision,
            and_(
                revision.id == TrainingAssignment.revision_id,
                revision.number == Document.effective_revision,
            ),
        )
        .outerjoin(previous, previous.id == TrainingAssignment.previous_revision_id)
        .where(TrainingAssignment.status == DUE, Document.status == "effective")
        .order_by(TrainingAssignment.due_on, User.username, Document.number)
    )
    if filters.overdue_only:
        query = query.where(TrainingAssignment.due_on < today)
    with ctx.read() as session:
        if filters.username is not None:
            user_id = session.scalar(select(User.id).where(User.username == filters.username))
            if user_id is None:
                raise NotFound(f"no user {filters.username!r}")
            query = query.where(TrainingAssignment.user_id == user_id)
        line = line_place(session, filters.line_id) if filters.line_id is not None else None
        if line is not None or filters.role is not None or where is not None:
            roles = roles_of(filters.role, rules.training_roles)
            people = people_query(roles, line, where)
            ids = people.with_only_columns(people.selected_columns[0]).order_by(None)
            query = query.where(TrainingAssignment.user_id.in_(ids))
        if line is not None or filters.number is not None:
            documents = effective_documents(session, line=line, number=filters.number)
            if filters.number is not None and not documents:
                raise InvalidInput.for_field(
                    "document", f"{filters.number!r} has no effective revision that applies here"
                )
            query = query.where(Document.id.in_([d.id for d in documents]))
        rows = session.execute(query).all()
    return [
        DueTask(username, name, number, title, kind, rev, prev, assigned_at, due_on, due_on < today)
        for username, name, number, title, kind, rev, prev, assigned_at, due_on in rows
    ]


def my_tasks(
    ctx: Context, *, rules: DocumentRules | None = None, now: datetime | None = None
) -> list[DueTask]:
    """The signed-in person's open tasks; the local operator (no person) has none to do."""
    if ctx.actor.user_id is None:
        raise InvalidInput.for_field("user", "the local operator has no training; name a user")
    return due_tasks(ctx, DueFilter(username=ctx.actor.username), rules=rules, now=now)
