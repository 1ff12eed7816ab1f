"""Rows written with one INSERT per table when the use case audits, not one statement each.

Append-only rows (a work item's events) are never read back or changed in the transaction
that writes them, so they need none of the ORM's bookkeeping: they wait in the session and
go out together, in the order they were queued, before the audit entry (which flushes) and,
for a unit of work that does not audit, before its commit.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

_KEY = "andon.queued_rows"


def queue_row(session: Session, table: Table, row: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((table, row))


def write_queued(session: Session) -> None:
    queued = session.info.pop(_KEY, None)
    if not queued:
        return
    # Consecutive rows of one table share a statement; across tables the order is kept, so a
    # row never goes out before one it refers to.
    for table, pairs in groupby(queued, key=lambda pair: pair[0]):
        insert_rows(session, table, [row for _, row in pairs])


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One INSERT statement for all the rows (they must name the same columns).

    A list of parameter sets would be an executemany: a statement per row for the database
    to parse, plan and run, even when the driver sends them together.
    """
    if len(rows) == 1:
        session.execute(insert(table), rows[0])
        return
    # Both databases cap the parameters of one statement (SQLite 32,766, PostgreSQL 65,535).
    per_statement = max(1, _MAX_PARAMETERS // max(1, len(rows[0])))
    for start in range(0, len(rows), per_statement):
        session.execute(insert(table).values(rows[start : start + per_statement]))


_MAX_PARAMETERS = 30_000


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_queued(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
