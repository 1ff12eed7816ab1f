"""The training matrix: people × effective documents, one state per cell.

Computed with a handful of set-based queries (documents, people, a count, the tasks) that
select plain columns; a page of 1,000 people × 300 documents is 300,000 cells and no query
runs per cell. Cells are one character each, so pages, CLI, API and XLSX share one compact
structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from andon.core.clock import to_local, utcnow
from andon.core.errors import InvalidInput
from andon.core.permissions import Action, reach
from andon.core.uow import Context
from andon.documents.assignments import CARRIED, DONE, DUE
from andon.documents.models import TrainingAssignment
from andon.documents.rules import DocumentRules
from andon.training.scope import (
    EffectiveDocument,
    effective_documents,
    line_place,
    people_query,
    roles_of,
)

CURRENT = "c"
DUE_CODE = "d"
OVERDUE = "o"
NOT_REQUIRED = "-"
STATES: Mapping[str, str] = {
    CURRENT: "current",
    DUE_CODE: "due",
    OVERDUE: "overdue",
    NOT_REQUIRED: "not_required",
}
"""Cell code → state name."""
MEANINGS: Mapping[str, str] = {
    "current": "acknowledged the effective revision, or carried forward from the one before",
    "due": "a task is open and not yet past its due date",
    "overdue": "a task is open and past its due date (in the plant's time zone)",
    "not_required": "no task: the role or line does not need this document",
}


@dataclass(frozen=True)
class MatrixFilter:
    """What the matrix covers; ``limit`` pages the people (None: all of them)."""

    line_id: int | None = None
    role: str | None = None
    type: str | None = None
    area: str | None = None
    offset: int = 0
    limit: int | None = None


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    name: str


@dataclass(frozen=True)
class Matrix:
    """People (rows) × documents (columns); ``rows[i][j]`` is the code of person i, doc j."""

    today: date
    people: list[Person]
    documents: list[EffectiveDocument]
    rows: list[str]
    total_people: int
    counts: dict[str, int] = field(default_factory=dict)
    """State name → cells over every person the filter covers, not just this page."""

    def state(self, person: int, document: int) -> str:
        return STATES[self.rows[person][document]]

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "legend": dict(STATES),
            "documents": [
                {"number": d.number, "title": d.title, "type": d.type, "revision": d.revision}
                for d in self.documents
            ],
            "people": [{"username": p.username, "name": p.name} for p in self.people],
            "states": self.rows,
            "total_people": self.total_people,
            "counts": self.counts,
        }


def training_matrix(
    ctx: Context,
    filters: MatrixFilter = MatrixFilter(),
    *,
    rules: DocumentRules | None = None,
    now: datetime | None = None,
) -> Matrix:
    """The matrix for ``filters``: needs training.read; a reach limited to sites or areas
    shows the people with a grant there."""
    rules = rules or DocumentRules()
    if filters.offset < 0 or (filters.limit is not None and filters.limit < 1):
        raise InvalidInput.for_field("offset", "offset must be 0 or more and limit 1 or more")
    where = reach(ctx.actor, Action.TRAINING_READ)
    today = to_local(now or utcnow(), rules.zone).date()
    roles = roles_of(filters.role, rules.training_roles)
    with ctx.read() as session:
        line = line_place(session, filters.line_id) if filters.line_id is not None else None
        documents = effective_documents(session, type=filters.type, area=filters.area, line=line)
        everyone = people_query(roles, line, where)
        total = session.scalar(select(func.count()).select_from(everyone.subquery())) or 0
        page = everyone.offset(filters.offset)
        if filters.limit is not None:
            page = page.limit(filters.limit)
        people = [Person(pid, username, name) for pid, username, name in session.execute(page)]
        revision_ids = [d.revision_id for d in documents]
        open_or_done = TrainingAssignment.status.in_([DUE, DONE, CARRIED])
        tasks = select(
            TrainingAssignment.user_id,
            TrainingAssignment.document_id,
            TrainingAssignment.status,
            TrainingAssignment.due_on,
        ).where(TrainingAssignment.revision_id.in_(revision_ids), open_or_done)
        paged = filters.offset > 0 or filters.limit is not None
        person_ids = (
            [p.id for p in people]
            if paged
            else everyone.with_only_columns(everyone.selected_columns[0]).order_by(None)
        )
        found = session.execute(tasks.where(TrainingAssignment.user_id.in_(person_ids)))
        rows = _cells(found, people, documents, today)
        counts = _counts(session, everyone, revision_ids, today, total * len(documents))
    return Matrix(today, people, documents, rows, total, counts)


def _cells(
    tasks: Any, people: list[Person], documents: list[EffectiveDocument], today: date
) -> list[str]:
    column = {d.id: j for j, d in enumerate(documents)}
    row_of = {p.id: i for i, p in enumerate(people)}
    blank = NOT_REQUIRED.encode() * len(documents)
    grid = [bytearray(blank) for _ in people]
    current, due, overdue = ord(CURRENT), ord(DUE_CODE), ord(OVERDUE)
    for user_id, document_id, status, due_on in tasks:
        i = row_of.get(user_id)
        if i is None:
            continue
        code = current if status != DUE else overdue if due_on < today else due
        grid[i][column[document_id]] = code
    return [row.decode() for row in grid]


def _counts(
    session: Any, everyone: Any, revision_ids: list[int], today: date, cells: int
) -> dict[str, int]:
    """Cells per state over everyone the filter covers, by one grouped query."""
    counts = dict.fromkeys(STATES.values(), 0)
    if not revision_ids or cells == 0:
        counts["not_required"] = cells
        return counts
    ids = everyone.with_only_columns(everyone.selected_columns[0]).order_by(None)
    grouped = (
        select(
            TrainingAssignment.status,
            TrainingAssignment.due_on,
            func.count(),
        )
        .where(
            TrainingAssignment.revision_id.in_(revision_ids),
            TrainingAssignment.status.in_([DUE, DONE, CARRIED]),
            TrainingAssignment.user_id.in_(ids),
        )
        .group_by(TrainingAssignment.status, TrainingAssignment.due_on)
    )
    # Grouped by due date rather than by "late", which PostgreSQL cannot group on as a bound
    # comparison; there are few distinct due dates.
    for status, due_on, n in session.execute(grouped):
        if status == DUE:
            counts["overdue" if due_on < today else "due"] += n
        else:
            counts["current"] += n
    counts["not_required"] = cells - sum(counts.values())
    return counts
