"""OEE inputs: downtime entered with a reason code, and ideal cycle times per product.

``downtime_entries`` holds spans a line did not run besides its stops; ``ideal_cycle_times``
the ideal seconds per unit of a product on one line or (``line_id`` NULL) on any line.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "downtime_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_downtime_entries_line_id_lines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downtime_entries")),
    )
    op.create_index(
        "ix_downtime_entries_line_id_started_at", "downtime_entries", ["line_id", "started_at"]
    )
    op.create_table(
        "ideal_cycle_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_ideal_cycle_times_line_id_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideal_cycle_times")),
        sa.UniqueConstraint(
            "product", "line_id", name=op.f("uq_ideal_cycle_times_product_line_id")
        ),
    )
    op.create_index(
        "ix_ideal_cycle_times_product_any_line",
        "ideal_cycle_times",
        ["product"],
        unique=True,
        sqlite_where=sa.text("line_id IS NULL"),
        postgresql_where=sa.text("line_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ideal_cycle_times_product_any_line", table_name="ideal_cycle_times")
    op.drop_table("ideal_cycle_times")
    op.drop_index("ix_downtime_entries_line_id_started_at", table_name="downtime_entries")
    op.drop_table("downtime_entries")
