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

from sqlalchemy import and_, case, select

from andon.core.errors import InvalidInput
from andon.core.permissions import Action, reach
from andon.core.uow import Context
from andon.documents.assignments import DUE, REPLACED
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
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
    today = rules.today(now)
    roles = roles_of(filters.role, rules.training_roles)
    with ctx.read() as session:
        line = line_place(session, filters.line_id) if filters.line_id is not None else None
        documents = effective_documents(session, type=filters.type, area=filters.area, line=line)
        everyone = [
            Person(pid, username, name)
            for pid, username, name in session.execute(people_query(roles, line, where))
        ]
        found = session.connection().execute(_tasks_query(today, everyone))
        rows = _cells(found, everyone, documents)
    # Every row is computed, then the page sliced: the counts cover everyone the filter does,
    # and one scan of the tasks costs less than asking the database about a page's people.
    counts = {name: sum(row.count(code) for row in rows) for code, name in STATES.items()}
    end = None if filters.limit is None else filters.offset + filters.limit
    return Matrix(
        today,
        everyone[filters.offset : end],
        documents,
        rows[filters.offset : end],
        len(everyone),
        counts,
    )


FEW_PEOPLE = 200
"""Up to this many people, their tasks are looked up by person (an index search each); for
more, one scan of the open and done tasks is faster than that many searches."""


def _tasks_query(today: date, people: list[Person]) -> Any:
    """(user, document, state code) of every task on an effective revision that is not
    replaced. The state is decided by the database, so no date is parsed per row."""
    code = case(
        (TrainingAssignment.status != DUE, CURRENT),
        (TrainingAssignment.due_on < today, OVERDUE),
        else_=DUE_CODE,
    )
    query = (
        select(TrainingAssignment.user_id, TrainingAssignment.document_id, code)
        .join(Document, Document.id == TrainingAssignment.document_id)
        .join(
            DocumentRevision,
            and_(
                DocumentRevision.id == TrainingAssignment.revision_id,
                DocumentRevision.number == Document.effective_revision,
            ),
        )
        # "Not replaced" rather than "in (due, done, carried)": an inequality lets SQLite scan
        # the table instead of walking the status index and fetching each row.
        .where(TrainingAssignment.status != REPLACED)
    )
    if len(people) <= FEW_PEOPLE:
        query = query.where(TrainingAssignment.user_id.in_([p.id for p in people]))
    return query


def _cells(tasks: Any, people: list[Person], documents: list[EffectiveDocument]) -> list[str]:
    column = {d.id: j for j, d in enumerate(documents)}
    row_of = {p.id: i for i, p in enumerate(people)}
    blank = NOT_REQUIRED.encode() * len(documents)
    grid = [bytearray(blank) for _ in people]
    # Tasks of people or documents outside the filter are dropped here (see _tasks_query).
    for user_id, document_id, code in tasks:
        i = row_of.get(user_id)
        j = column.get(document_id)
        if i is not None and j is not None:
            grid[i][j] = ord(code)
    return [row.decode() for row in grid]
