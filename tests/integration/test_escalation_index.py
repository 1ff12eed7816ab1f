"""An item's escalation tiers are found through the index on (item, status), on both
databases, even before the planner has statistics (a new plant, a bulk load)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import BindParameter, literal, text
from sqlalchemy.sql.visitors import replacement_traverse

from andon.core import migrations
from andon.core.database import Database
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.work.escalations import _DROP_SLA_PENDING
from tests.factories import make_floor, new_item


def _plan(db: Database, statement: str) -> str:
    with db.engine.connect() as connection:
        if db.sqlite:
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {statement}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {statement}")))
        connection.rollback()
        return plan


@pytest.fixture
def new_db(fresh_db_url: str) -> Iterator[Database]:
    """A database of its own, migrated now: no statistics left by tests run before this one
    (the shared per-worker database keeps the planner's statistics across truncations)."""
    database = Database(fresh_db_url)
    migrations.upgrade(database.engine)
    yield database
    database.dispose()


def test_replacing_an_items_pending_tiers_reads_only_that_items_tiers(new_db: Database) -> None:
    db = new_db
    system = Context(db, system_actor("cli:test"))
    floor = make_floor(system)
    items = [new_item(system, floor) for _ in range(3)]
    with db.engine.connect() as connection:
        pending = connection.scalar(
            text("SELECT count(*) FROM escalations WHERE status = 'pending'")
        )
    assert pending is not None
    assert pending >= 3  # every item has pending tiers to replace
    # The statement the move path sends, with this item's id written in.
    item_id = items[1].id
    drop = replacement_traverse(
        _DROP_SLA_PENDING,
        {},
        lambda e: literal(item_id) if isinstance(e, BindParameter) and e.key == "item_id" else None,
    ).compile(db.engine, compile_kwargs={"literal_binds": True})

    plan = _plan(db, str(drop))

    assert "ix_escalations_item_id_status" in plan, plan
    assert "ix_escalations_status_due_at" not in plan, plan  # not every pending tier
    assert "Seq Scan" not in plan, plan
    assert "SCAN escalations" not in plan, plan
