"""Actions: owned, dated work with links to what it is about, and comments.

``actions.open_key`` is unique and set only while an action raised with a de-duplication key
is open: the database settles a race between two writers opening the same action.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_role", sa.String(length=32), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("open_key", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(owner_user_id IS NULL) <> (owner_role IS NULL)",
            name=op.f("ck_actions_exactly_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_actions_owner_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("open_key", name=op.f("uq_actions_open_key")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("ix_actions_status_due_on", ["status", "due_on"], unique=False)
        batch_op.create_index(
            "ix_actions_owner_user_id_status", ["owner_user_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_actions_owner_role_status", ["owner_role", "status"], unique=False
        )

    op.create_table(
        "action_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name=op.f("fk_action_links_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_links")),
        sa.UniqueConstraint(
            "action_id", "kind", "ref", name=op.f("uq_action_links_action_id_kind_ref")
        ),
    )
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.create_index("ix_action_links_kind_ref", ["kind", "ref"], unique=False)

    op.create_table(
        "action_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name=op.f("fk_action_comments_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_comments")),
    )
    with op.batch_alter_table("action_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_comments_action_id"), ["action_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("action_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_comments_action_id"))
    op.drop_table("action_comments")
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.drop_index("ix_action_links_kind_ref")
    op.drop_table("action_links")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index("ix_actions_owner_role_status")
        batch_op.drop_index("ix_actions_owner_user_id_status")
        batch_op.drop_index("ix_actions_status_due_on")
    op.drop_table("actions")
