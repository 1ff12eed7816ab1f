"""Rows queued in a unit of work: written in order, in as few statements as the limits allow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from andon.core import audit_queries
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.queued import queue_row
from andon.core.uow import AuditRecord, Context
from andon.work.models import WorkEvent
from tests.factories import make_floor, new_item

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def _statements(db: Database) -> list[str]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith(("BEGIN", "COMMIT")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return seen


def test_many_audit_entries_go_out_in_one_statement_at_commit_and_the_chain_holds(
    system: Context, db: Database
) -> None:
    statements = _statements(db)
    with system.write() as tx:
        tx.audit_many([AuditRecord("thing", n, "create", after={"n": n}) for n in range(3000)])
        assert statements == []  # nothing before the commit
    if db.sqlite:
        # The chain's head, then one executemany.
        assert [s.split()[0] for s in statements] == ["SELECT", "INSERT"]
    else:
        # Numbered, hashed and inserted by the database, in the message that commits.
        assert len(statements) == 1
        assert statements[0].startswith("SELECT andon_audit_append(")
        assert statements[0].endswith("; COMMIT")
    with db.read_session() as session:
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == list(range(1, 3001))
    assert audit_queries.verify(system).ok


def test_queued_rows_are_written_in_order_at_the_audit_or_the_commit(
    system: Context, db: Database
) -> None:
    item_id = new_item(system, make_floor(system)).id

    def event_row(n: int) -> dict[str, object]:
        return {
            "case_id": item_id,
            "process_key": "p",
            "activity": f"step {n}",
            "lifecycle": "complete",
            "kind": "note",
            "timestamp": NOW,
            "resource": "test",
            "attributes": {"n": n},
        }

    before = _count(db)
    with system.write() as tx:
        for n in range(3):
            queue_row(tx.session, WorkEvent.__table__, event_row(n))  # type: ignore[arg-type]
        tx.audit("thing", 1, "note")
        queue_row(tx.session, WorkEvent.__table__, event_row(3))  # type: ignore[arg-type]
    with db.read_session() as session:
        activities = list(
            session.scalars(
                select(WorkEvent.activity).where(WorkEvent.id > before).order_by(WorkEvent.id)
            )
        )
    assert activities == ["step 0", "step 1", "step 2", "step 3"]


def test_queued_rows_of_a_failed_unit_of_work_are_dropped(system: Context, db: Database) -> None:
    item_id = new_item(system, make_floor(system)).id
    before = _count(db)
    try:
        with system.write() as tx:
            queue_row(
                tx.session,
                WorkEvent.__table__,  # type: ignore[arg-type]
                {
                    "case_id": item_id,
                    "process_key": "p",
                    "activity": "never",
                    "lifecycle": "complete",
                    "kind": "note",
                    "timestamp": NOW,
                    "resource": "test",
                    "attributes": {},
                },
            )
            raise RuntimeError("the use case fails")
    except RuntimeError:
        pass
    with system.write() as tx:
        tx.audit("thing", 1, "note")
    assert _count(db) == before


def _count(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(WorkEvent)) or 0)


@pytest.mark.parametrize("count", [1, 3, 7])  # 7 rows × 8 columns: past one statement's limit
def test_queued_rows_keep_every_value_exactly_in_one_statement_or_many(
    system: Context, db: Database, count: int
) -> None:
    item_id = new_item(system, make_floor(system)).id
    chicago = ZoneInfo("America/Chicago")
    awkward = {"quote": 'it\'s "fine"', "percent": "100% %(x)s %s", "emoji": "🛑", "n": None}
    rows = [
        {
            "case_id": item_id,
            "process_key": "p",
            "activity": f"step {n} ; DROP TABLE work_events; --",
            "lifecycle": "complete",
            "kind": "note",
            "timestamp": datetime(2026, 3, 8, 1, 30 + n, tzinfo=chicago),  # the DST night
            "resource": "test",
            "attributes": {**awkward, "list": [n, 2.5, True]},
        }
        for n in range(count)
    ]
    statements = _statements(db)
    before = _count(db)
    with system.write() as tx:
        for row in rows:
            queue_row(tx.session, WorkEvent.__table__, row)  # type: ignore[arg-type]
    inserts = [s for s in statements if s.startswith("INSERT INTO work_events")]
    assert len(inserts) == 1  # one statement, or one executemany
    with db.read_session() as session:
        stored = list(
            session.scalars(select(WorkEvent).where(WorkEvent.id > before).order_by(WorkEvent.id))
        )
    assert [e.activity for e in stored] == [r["activity"] for r in rows]
    assert [e.timestamp for e in stored] == [r["timestamp"] for r in rows]
    assert all(e.timestamp.utcoffset() == timedelta(0) for e in stored)  # kept in UTC
    assert [e.attributes for e in stored] == [r["attributes"] for r in rows]
