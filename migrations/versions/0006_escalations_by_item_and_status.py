"""Escalations found by item and status through one index.

Every change of an item replaces its pending tiers (``item_id = ? AND status = 'pending'``)
and reads the highest tier that fired (``item_id = ? AND status IN (...)``). With an index on
``item_id`` alone, a table that had not been analysed yet (a new plant, a bulk load) was
planned as a bitmap AND with the status index, reading every pending tier of the plant on
each change: item creation slowed from 237 to 151 a second over the first 6,000 items. One
index on both columns answers both questions and is the obvious plan with or without
statistics; it also serves the foreign key, so the old index goes.

On PostgreSQL both index changes run CONCURRENTLY, outside the migration's transaction: a
plant upgrading with items on the move keeps writing escalations while the index builds
(a plain CREATE INDEX would hold their writes for the whole build).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:45:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with _concurrently() as concurrently:
        op.create_index(
            "ix_escalations_item_id_status",
            "escalations",
            ["item_id", "status"],
            postgresql_concurrently=concurrently,
        )
        op.drop_index(
            "ix_escalations_item_id",
            table_name="escalations",
            postgresql_concurrently=concurrently,
        )


def downgrade() -> None:
    with _concurrently() as concurrently:
        op.create_index(
            "ix_escalations_item_id",
            "escalations",
            ["item_id"],
            postgresql_concurrently=concurrently,
        )
        op.drop_index(
            "ix_escalations_item_id_status",
            table_name="escalations",
            postgresql_concurrently=concurrently,
        )


@contextmanager
def _concurrently() -> Iterator[bool]:
    """On PostgreSQL, an autocommit block (CONCURRENTLY refuses a transaction) and True."""
    if op.get_bind().dialect.name != "postgresql":
        yield False
        return
    with op.get_context().autocommit_block():
        yield True
