"""Documents under change control, their signatures and reviews, search, and training.

``document_search`` holds the text of each document's effective revision. PostgreSQL searches
it through a GIN index on its ``tsvector``; SQLite through the FTS5 table ``document_fts``,
kept equal to it by triggers (FTS5 "external content": the text is stored once).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:45:31.176737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("area_code", sa.String(length=20), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("review_interval_months", sa.Integer(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("review_reminded_at", sa.DateTime(), nullable=True),
        sa.Column("review_escalated_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("effective_revision", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_documents_line_id_lines"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_documents_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_documents_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_documents_number")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_next_review_on", ["next_review_on"], unique=False)
        batch_op.create_index("ix_documents_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_documents_type_status", ["type", "status"], unique=False)

    op.create_table(
        "document_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_attachments_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_attachments")),
    )
    with op.batch_alter_table("document_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_attachments_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "document_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("review_round", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("effective_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_document_revisions_author_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_revisions_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_revisions")),
        sa.UniqueConstraint(
            "document_id", "number", name=op.f("uq_document_revisions_document_id_number")
        ),
    )
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_document_revisions_status_effective_on", ["status", "effective_on"], unique=False
        )

    op.create_table(
        "document_search",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_search_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["document_revisions.id"],
            name=op.f("fk_document_search_revision_id_document_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_search")),
    )
    op.create_table(
        "document_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("review_round", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["document_revisions.id"],
            name=op.f("fk_document_signatures_revision_id_document_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_document_signatures_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_signatures")),
    )
    with op.batch_alter_table("document_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_signatures_revision_id"), ["revision_id"], unique=False
        )

    op.create_table(
        "document_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_reviews_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["document_revisions.id"],
            name=op.f("fk_document_reviews_revision_id_document_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["document_signatures.id"],
            name=op.f("fk_document_reviews_signature_id_document_signatures"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_reviews")),
    )
    with op.batch_alter_table("document_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_reviews_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "training_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("previous_revision_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_training_assignments_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["previous_revision_id"],
            ["document_revisions.id"],
            name=op.f("fk_training_assignments_previous_revision_id_document_revisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["document_revisions.id"],
            name=op.f("fk_training_assignments_revision_id_document_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["document_signatures.id"],
            name=op.f("fk_training_assignments_signature_id_document_signatures"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_assignments")),
        sa.UniqueConstraint(
            "revision_id", "user_id", name=op.f("uq_training_assignments_revision_id_user_id")
        ),
    )
    with op.batch_alter_table("training_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_assignments_document_id_user_id", ["document_id", "user_id"], unique=False
        )
        batch_op.create_index(
            "ix_training_assignments_status_due_on", ["status", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_training_assignments_user_id_status", ["user_id", "status"], unique=False
        )

    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table("training_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_training_assignments_user_id_status")
        batch_op.drop_index("ix_training_assignments_status_due_on")
        batch_op.drop_index("ix_training_assignments_document_id_user_id")

    op.drop_table("training_assignments")
    with op.batch_alter_table("document_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_reviews_document_id"))

    op.drop_table("document_reviews")
    with op.batch_alter_table("document_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_signatures_revision_id"))

    op.drop_table("document_signatures")
    op.drop_table("document_search")
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_document_revisions_status_effective_on")

    op.drop_table("document_revisions")
    with op.batch_alter_table("document_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_attachments_document_id"))

    op.drop_table("document_attachments")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_type_status")
        batch_op.drop_index("ix_documents_owner_id")
        batch_op.drop_index("ix_documents_next_review_on")

    op.drop_table("documents")


SEARCH_VECTOR = (
    "setweight(to_tsvector('english', number || ' ' || title), 'A') || "
    "setweight(to_tsvector('english', body), 'B')"
)


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Stored, so ranking reads the vector instead of recomputing it for every match.
        op.execute(
            "ALTER TABLE document_search ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED"
        )
        op.execute(
            "CREATE INDEX ix_document_search_vector ON document_search USING gin (search_vector)"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE document_fts USING fts5(number, title, body, "
        "content='document_search', content_rowid='document_id', tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER document_search_ai AFTER INSERT ON document_search BEGIN "
        "INSERT INTO document_fts(rowid, number, title, body) "
        "VALUES (new.document_id, new.number, new.title, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER document_search_ad AFTER DELETE ON document_search BEGIN "
        "INSERT INTO document_fts(document_fts, rowid, number, title, body) "
        "VALUES ('delete', old.document_id, old.number, old.title, old.body); END"
    )
    op.execute(
        "CREATE TRIGGER document_search_au AFTER UPDATE ON document_search BEGIN "
        "INSERT INTO document_fts(document_fts, rowid, number, title, body) "
        "VALUES ('delete', old.document_id, old.number, old.title, old.body); "
        "INSERT INTO document_fts(rowid, number, title, body) "
        "VALUES (new.document_id, new.number, new.title, new.body); END"
    )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_document_search_vector")
        return
    for trigger in ("document_search_ai", "document_search_ad", "document_search_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS document_fts")
