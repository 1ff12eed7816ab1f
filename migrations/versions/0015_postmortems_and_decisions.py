"""Postmortems and the decision log.

Adds ``postmortems`` (the debrief of a line stop, a missed shipment or another failure, with
its impact, narrative, RCA link and draft → in_review → published status),
``postmortem_entries`` (its timeline, copied from the plant's record when it is created and
then edited by its writers), ``postmortem_search`` (the text of published postmortems; found
through PostgreSQL's GIN index on a generated tsvector, or SQLite's FTS5 table
``postmortem_fts`` kept by triggers, as documents are in 0008), ``decisions`` (how the plant
decided something, with decision rights, revisit date and the chain of reopened decisions)
and ``decision_links`` (metrics, document revisions, process versions and RCAs they link).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("decides", sa.JSON(), nullable=False),
        sa.Column("consulted", sa.JSON(), nullable=False),
        sa.Column("informed", sa.JSON(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("revisit_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["decisions.id"],
            name=op.f("fk_decisions_supersedes_id_decisions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_decisions_supersedes_id")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_status_revisit_on", ["status", "revisit_on"], unique=False
        )

    op.create_table(
        "decision_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_links_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_links")),
        sa.UniqueConstraint(
            "decision_id", "kind", "ref", name=op.f("uq_decision_links_decision_id_kind_ref")
        ),
    )
    with op.batch_alter_table("decision_links", schema=None) as batch_op:
        batch_op.create_index("ix_decision_links_kind_ref", ["kind", "ref"], unique=False)

    op.create_table(
        "postmortems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("line_stop_id", sa.Integer(), nullable=True),
        sa.Column("work_item_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("impact_items", sa.Integer(), nullable=True),
        sa.Column("impact_hours", sa.Float(), nullable=True),
        sa.Column("impact_cost", sa.Float(), nullable=True),
        sa.Column("impact_currency", sa.String(length=3), nullable=True),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("rca_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("ended_at >= started_at", name=op.f("ck_postmortems_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_postmortems_line_id_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["line_stop_id"],
            ["line_stops.id"],
            name=op.f("fk_postmortems_line_stop_id_line_stops"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rca_id"], ["rcas.id"], name=op.f("fk_postmortems_rca_id_rcas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
            name=op.f("fk_postmortems_work_item_id_work_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortems")),
    )
    with op.batch_alter_table("postmortems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_postmortems_line_stop_id"), ["line_stop_id"], unique=False
        )
        batch_op.create_index(
            "ix_postmortems_status_started_at", ["status", "started_at"], unique=False
        )

    op.create_table(
        "postmortem_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=True),
        sa.Column("line", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_postmortem_entries_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortem_entries")),
    )
    with op.batch_alter_table("postmortem_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_postmortem_entries_postmortem_id_at", ["postmortem_id", "at"], unique=False
        )

    op.create_table(
        "postmortem_search",
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_postmortem_search_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("postmortem_id", name=op.f("pk_postmortem_search")),
    )
    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    op.drop_table("postmortem_search")
    with op.batch_alter_table("postmortem_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_postmortem_entries_postmortem_id_at")

    op.drop_table("postmortem_entries")
    with op.batch_alter_table("postmortems", schema=None) as batch_op:
        batch_op.drop_index("ix_postmortems_status_started_at")
        batch_op.drop_index(batch_op.f("ix_postmortems_line_stop_id"))

    op.drop_table("postmortems")
    with op.batch_alter_table("decision_links", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_links_kind_ref")

    op.drop_table("decision_links")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_status_revisit_on")

    op.drop_table("decisions")


SEARCH_VECTOR = (
    "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')"
)


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE postmortem_search ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED"
        )
        op.execute(
            "CREATE INDEX ix_postmortem_search_vector ON postmortem_search "
            "USING gin (search_vector)"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE postmortem_fts USING fts5(title, body, "
        "content='postmortem_search', content_rowid='postmortem_id', "
        "tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER postmortem_search_ai AFTER INSERT ON postmortem_search BEGIN "
        "INSERT INTO postmortem_fts(rowid, title, body) "
        "VALUES (new.postmortem_id, new.title, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER postmortem_search_ad AFTER DELETE ON postmortem_search BEGIN "
        "INSERT INTO postmortem_fts(postmortem_fts, rowid, title, body) "
        "VALUES ('delete', old.postmortem_id, old.title, old.body); END"
    )
    op.execute(
        "CREATE TRIGGER postmortem_search_au AFTER UPDATE ON postmortem_search BEGIN "
        "INSERT INTO postmortem_fts(postmortem_fts, rowid, title, body) "
        "VALUES ('delete', old.postmortem_id, old.title, old.body); "
        "INSERT INTO postmortem_fts(rowid, title, body) "
        "VALUES (new.postmortem_id, new.title, new.body); END"
    )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_postmortem_search_vector")
        return
    for trigger in ("postmortem_search_ai", "postmortem_search_ad", "postmortem_search_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS postmortem_fts")
