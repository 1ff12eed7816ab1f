"""Metrics: definitions and their versions, materialised values per period, frozen limits.

``metrics.watermark`` is the highest ``work_events.id`` a metric's values have seen, so a
compute after late events recomputes only the periods those events fall in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 11:13:00.319379
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=4), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=5), nullable=False),
        sa.Column("chart", sa.String(length=3), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("unseen", sa.JSON(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
        sa.UniqueConstraint("key", name=op.f("uq_metrics_key")),
    )
    op.create_table(
        "metric_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chart", sa.String(length=3), nullable=False),
        sa.Column("center", sa.Float(), nullable=False),
        sa.Column("ucl", sa.Float(), nullable=True),
        sa.Column("lcl", sa.Float(), nullable=True),
        sa.Column("mr_bar", sa.Float(), nullable=True),
        sa.Column("baseline_points", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_metric_limits_metric_id_metrics"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_limits")),
        sa.UniqueConstraint(
            "metric_id", "line", "seq", name=op.f("uq_metric_limits_metric_id_line_seq")
        ),
    )
    op.create_table(
        "metric_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=80), nullable=False),
        sa.Column("period_start_at", sa.DateTime(), nullable=True),
        sa.Column("period_end_at", sa.DateTime(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("count", sa.Float(), nullable=True),
        sa.Column("n", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_metric_values_metric_id_metrics"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_values")),
        sa.UniqueConstraint(
            "metric_id", "line", "period", name=op.f("uq_metric_values_metric_id_line_period")
        ),
    )
    op.create_table(
        "metric_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_metric_versions_metric_id_metrics"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_versions")),
        sa.UniqueConstraint(
            "metric_id", "version", name=op.f("uq_metric_versions_metric_id_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("metric_versions")
    op.drop_table("metric_values")
    op.drop_table("metric_limits")
    op.drop_table("metrics")
