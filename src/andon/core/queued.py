"""Rows written with one INSERT per table when the use case audits, not one statement each.

Append-only rows (a work item's events) are never read back or changed in the transaction
that writes them, so they need none of the ORM's bookkeeping: they wait in the session and
go out together, in the order they were queued, before the audit entry (which flushes) and,
for a unit of work that does not audit, before its commit.

What waits follows the transaction: a rolled-back savepoint takes back what was queued
inside it, and a rolled-back transaction all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import groupby
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, event, insert
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
    """The rows, in order, in as few calls as is cheap.

    A few rows (a move's events, an item's pending tiers) go as one multi-row INSERT written
    for the driver: an executemany costs psycopg a pipeline and its sync, and SQLAlchemy's
    own multi-row VALUES costs more in parameter handling than the rows (0.15 and 0.3 ms of
    CPU for three events, this 0.065). Many rows (a sweep firing thousands of tiers) go as an
    executemany of one short statement: psycopg keeps the parsed text only of statements
    with at most 50 parameters and would parse a long one afresh every time.
    """
    if session.autoflush:
        session.flush()  # as session.execute would: a row may refer to one not yet written
    connection = session.connection()
    for keys, group in groupby(rows, key=_keys):
        same = list(group)
        if len(same) * len(keys) > _PARSE_CACHED_PARAMETERS:
            connection.execute(insert(table), same)
            continue
        sql, order, processors = _values_statement(table, keys, len(same), connection.dialect)
        named = {
            f"{key}_{n}": process(row[key]) if process else row[key]
            for n, row in enumerate(same)
            for key, process in zip(keys, processors, strict=True)
        }
        connection.exec_driver_sql(sql, tuple(named[name] for name in order) if order else named)


_PARSE_CACHED_PARAMETERS = 50  # psycopg's MAX_CACHED_STATEMENT_PARAMS


def _keys(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row)


Processor = Callable[[Any], Any] | None


@lru_cache(maxsize=512)
def _values_statement(
    table: Table, keys: tuple[str, ...], count: int, dialect: Dialect
) -> tuple[str, list[str] | None, tuple[Processor, ...]]:
    """The statement's text for the driver, its parameters' order (positional styles), and
    what SQLAlchemy would do to each value on its way (JSON to text, datetimes to UTC, ...)."""
    types = [table.c[key].type for key in keys]
    statement = insert(table).values(
        [
            {
                key: bindparam(f"{key}_{n}", type_=type_)
                for key, type_ in zip(keys, types, strict=True)
            }
            for n in range(count)
        ]
    )
    compiled = statement.compile(dialect=dialect)
    processors = tuple(type_.dialect_impl(dialect).bind_processor(dialect) for type_ in types)
    return compiled.string, compiled.positiontup, processors


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
