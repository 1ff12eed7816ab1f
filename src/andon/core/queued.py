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
    # Consecutive rows of one table go out in one call; across tables the order is kept, so a
    # row never goes out before one it refers to.
    for table, pairs in groupby(queued, key=lambda pair: pair[0]):
        insert_rows(session, table, [row for _, row in pairs])


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """All the rows in one call; on PostgreSQL one multi-row statement (see database.py)."""
    if rows:
        session.execute(insert(table), rows if len(rows) > 1 else rows[0])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_queued(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
