"""An item's escalation tiers are found through the index on (item, status), on both
databases, even before the planner has statistics (a new plant, a bulk load)."""

from __future__ import annotations

from sqlalchemy import BindParameter, literal, text
from sqlalchemy.sql.visitors import replacement_traverse

from andon.core.database import Database
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


def test_replacing_an_items_pending_tiers_reads_only_that_items_tiers(
    system: Context, db: Database
) -> None:
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
