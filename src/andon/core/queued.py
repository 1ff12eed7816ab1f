"""Rows written with one INSERT per table when the use case audits, not one statement each.

Append-only rows (a work item's events) are never read back or changed in the transaction
that writes them, so they need none of the ORM's bookkeeping: they wait in the session and
go out together, in the order they were queued, before the audit entry (which flushes) and,
for a unit of work that does not audit, before its commit.

What waits follows the transaction: a rolled-back savepoint takes back what was queued
inside it, and a rolled-back transaction all of it.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session, SessionTransaction

# Lists in session.info that wait for the commit (this module's, and the audit trail's).
_WAITING: set[str] = set()
_MARKS = "andon.waiting_marks"


def waiting_key(key: str) -> str:
    """Declare a session.info list that follows its transactions (see above); at import, so
    that a savepoint opened before the list's first use still marks it."""
    _WAITING.add(key)
    return key


def waiting(session: Session, key: str) -> list[Any]:
    """The session's list under ``key`` (declared with ``waiting_key``)."""
    found: list[Any] = session.info.setdefault(key, [])
    return found


_KEY = waiting_key("andon.queued_rows")


def queue_row(session: Session, table: Table, row: dict[str, Any]) -> None:
    waiting(session, _KEY).append((table, row))


def write_queued(session: Session) -> None:
    queued = session.info.pop(_KEY, None)
    if not queued:
        return
    # Consecutive rows of one table go out in one call; across tables the order is kept, so a
    # row never goes out before one it refers to.
    for table, pairs in groupby(queued, key=lambda pair: pair[0]):
        insert_rows(session, table, [row for _, row in pairs])


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """All the rows in one call (an executemany when there are several).

    Not one multi-row VALUES statement (SQLAlchemy's ``use_insertmanyvalues_wo_returning``):
    psycopg parses the text of a long statement afresh each time, which made a sweep firing
    a few thousand tiers spend seconds in query parsing; an executemany is one short
    statement, parsed once and prepared.
    """
    if rows:
        session.execute(insert(table), rows if len(rows) > 1 else rows[0])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_queued(session)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = {key: len(session.info.get(key, ())) for key in _WAITING}


@event.listens_for(Session, "after_soft_rollback")
def _take_back(session: Session, previous: SessionTransaction) -> None:
    marks = session.info.get(_MARKS, {}).pop(id(previous), None)
    if previous.nested and marks is not None:
        for key, length in marks.items():
            if key in session.info:
                del session.info[key][length:]
    elif previous.parent is None:
        for key in _WAITING:
            session.info.pop(key, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_MARKS, None)
