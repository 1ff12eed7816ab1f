"""Root-cause analyses (problem statement, links to what triggered them, a tree of causes
that is both the 5-whys chain and the fishbone), CAPAs (an action in the actions room plus
the cause it addresses, the changes it produced and its effectiveness checks), and
``actions.held_by``: an action another room finishes (a CAPA closes only with an
effectiveness check) is not closed from the actions room.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:10:28.558691
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rcas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("how_much", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("metric_key", sa.String(length=64), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_rcas_line_id_lines"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_rcas_owner_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rcas")),
    )
    with op.batch_alter_table("rcas", schema=None) as batch_op:
        batch_op.create_index("ix_rcas_category", ["category"], unique=False)
        batch_op.create_index("ix_rcas_status", ["status"], unique=False)

    op.create_table(
        "rca_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rca_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rca_id"], ["rcas.id"], name=op.f("fk_rca_links_rca_id_rcas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rca_links")),
        sa.UniqueConstraint("rca_id", "kind", "ref", name=op.f("uq_rca_links_rca_id_kind_ref")),
    )
    with op.batch_alter_table("rca_links", schema=None) as batch_op:
        batch_op.create_index("ix_rca_links_kind_ref", ["kind", "ref"], unique=False)

    op.create_table(
        "rca_causes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rca_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_attachment_id", sa.Integer(), nullable=True),
        sa.Column("evidence_query", sa.String(length=500), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("root", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("verified OR NOT root", name=op.f("ck_rca_causes_root_is_verified")),
        sa.ForeignKeyConstraint(
            ["evidence_attachment_id"],
            ["attachments.id"],
            name=op.f("fk_rca_causes_evidence_attachment_id_attachments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["rca_causes.id"],
            name=op.f("fk_rca_causes_parent_id_rca_causes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rca_id"], ["rcas.id"], name=op.f("fk_rca_causes_rca_id_rcas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rca_causes")),
    )
    with op.batch_alter_table("rca_causes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rca_causes_rca_id"), ["rca_id"], unique=False)

    op.create_table(
        "capas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rca_id", sa.Integer(), nullable=True),
        sa.Column("cause_id", sa.Integer(), nullable=True),
        sa.Column("metric_key", sa.String(length=64), nullable=True),
        sa.Column("metric_line", sa.String(length=20), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name=op.f("fk_capas_action_id_actions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["cause_id"],
            ["rca_causes.id"],
            name=op.f("fk_capas_cause_id_rca_causes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rca_id"], ["rcas.id"], name=op.f("fk_capas_rca_id_rcas"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capas")),
        sa.UniqueConstraint("action_id", name=op.f("uq_capas_action_id")),
    )
    with op.batch_alter_table("capas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capas_rca_id"), ["rca_id"], unique=False)

    op.create_table(
        "capa_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capa_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("effective_at", sa.DateTime(), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capa_id"],
            ["capas.id"],
            name=op.f("fk_capa_changes_capa_id_capas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_changes")),
        sa.UniqueConstraint(
            "capa_id", "kind", "ref", name=op.f("uq_capa_changes_capa_id_kind_ref")
        ),
    )
    with op.batch_alter_table("capa_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capa_changes_capa_id"), ["capa_id"], unique=False)

    op.create_table(
        "effectiveness_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capa_id", sa.Integer(), nullable=False),
        sa.Column("metric_key", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("before_n", sa.Integer(), nullable=False),
        sa.Column("before_value", sa.Float(), nullable=True),
        sa.Column("after_n", sa.Integer(), nullable=False),
        sa.Column("after_value", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("computed_by", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capa_id"],
            ["capas.id"],
            name=op.f("fk_effectiveness_checks_capa_id_capas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effectiveness_checks")),
    )
    with op.batch_alter_table("effectiveness_checks", schema=None) as batch_op:
        batch_op.create_index("ix_effectiveness_checks_capa_id_id", ["capa_id", "id"], unique=False)

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("held_by")

    with op.batch_alter_table("effectiveness_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_effectiveness_checks_capa_id_id")

    op.drop_table("effectiveness_checks")
    with op.batch_alter_table("capa_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capa_changes_capa_id"))

    op.drop_table("capa_changes")
    with op.batch_alter_table("capas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capas_rca_id"))

    op.drop_table("capas")
    with op.batch_alter_table("rca_causes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rca_causes_rca_id"))

    op.drop_table("rca_causes")
    with op.batch_alter_table("rca_links", schema=None) as batch_op:
        batch_op.drop_index("ix_rca_links_kind_ref")

    op.drop_table("rca_links")
    with op.batch_alter_table("rcas", schema=None) as batch_op:
        batch_op.drop_index("ix_rcas_status")
        batch_op.drop_index("ix_rcas_category")

    op.drop_table("rcas")
