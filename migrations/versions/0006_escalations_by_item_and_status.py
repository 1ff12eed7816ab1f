"""Escalations found by item and status through one index.

Every change of an item replaces its pending tiers (``item_id = ? AND status = 'pending'``)
and reads the highest tier that fired (``item_id = ? AND status IN (...)``). With an index on
``item_id`` alone, a table that had not been analysed yet (a new plant, a bulk load) was
planned as a bitmap AND with the status index, reading every pending tier of the plant on
each change: item creation slowed from 237 to 151 a second over the first 6,000 items. One
index on both columns answers both questions and is the obvious plan with or without
statistics; it also serves the foreign key, so the old index goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_escalations_item_id_status", "escalations", ["item_id", "status"])
    op.drop_index("ix_escalations_item_id", table_name="escalations")


def downgrade() -> None:
    op.create_index("ix_escalations_item_id", "escalations", ["item_id"])
    op.drop_index("ix_escalations_item_id_status", table_name="escalations")
