"""The risk register (``risks``) and the link from a document revision's change record to
it (``document_revisions.risk_id``).

A change with safety impact used to name its risk in free text (``change["risk"]``). Each
distinct text becomes a register entry (status ``to_assess``: scores unknown until someone
assesses it; owner: the author of the first revision that named it; area: that document's
area), and the revisions that named it link it. Their signed change text and content hash are
left as they are, so every signature over them still holds.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:15:42.279127
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=60), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("consequence", sa.Text(), nullable=False),
        sa.Column("inherent_likelihood", sa.Integer(), nullable=True),
        sa.Column("inherent_severity", sa.Integer(), nullable=True),
        sa.Column("residual_likelihood", sa.Integer(), nullable=True),
        sa.Column("residual_severity", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("verification_method", sa.String(length=8), nullable=True),
        sa.Column("metric_key", sa.String(length=64), nullable=True),
        sa.Column("metric_comparison", sa.String(length=2), nullable=True),
        sa.Column("metric_threshold", sa.Float(), nullable=True),
        sa.Column("check_interval_days", sa.Integer(), nullable=True),
        sa.Column("next_check_on", sa.Date(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verification_result", sa.String(length=8), nullable=True),
        sa.Column("verification_value", sa.Float(), nullable=True),
        sa.Column("verification_note", sa.Text(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "inherent_likelihood IS NULL OR inherent_likelihood BETWEEN 1 AND 5",
            name=op.f("ck_risks_inherent_likelihood_1_5"),
        ),
        sa.CheckConstraint(
            "inherent_severity IS NULL OR inherent_severity BETWEEN 1 AND 5",
            name=op.f("ck_risks_inherent_severity_1_5"),
        ),
        sa.CheckConstraint(
            "residual_likelihood IS NULL OR residual_likelihood BETWEEN 1 AND 5",
            name=op.f("ck_risks_residual_likelihood_1_5"),
        ),
        sa.CheckConstraint(
            "residual_severity IS NULL OR residual_severity BETWEEN 1 AND 5",
            name=op.f("ck_risks_residual_severity_1_5"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_risks_owner_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
    )
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index("ix_risks_area", ["area"], unique=False)
        batch_op.create_index("ix_risks_status", ["status"], unique=False)

    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_document_revisions_risk_id"), ["risk_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_document_revisions_risk_id_risks"),
            "risks",
            ["risk_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    _link_free_text_risks()


def _link_free_text_risks() -> None:
    revisions = sa.table(
        "document_revisions",
        sa.column("id", sa.Integer()),
        sa.column("document_id", sa.Integer()),
        sa.column("author_id", sa.Integer()),
        sa.column("change", sa.JSON()),
        sa.column("risk_id", sa.Integer()),
    )
    documents = sa.table(
        "documents", sa.column("id", sa.Integer()), sa.column("area_code", sa.String())
    )
    risks = sa.table(
        "risks",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("area", sa.String()),
        sa.column("cause", sa.Text()),
        sa.column("consequence", sa.Text()),
        sa.column("owner_user_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("verification_note", sa.Text()),
        sa.column("created_by", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("updated_at", sa.DateTime()),
        sa.column("version", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(revisions.c.id, revisions.c.author_id, revisions.c.change, documents.c.area_code)
        .join(documents, documents.c.id == revisions.c.document_id)
        .order_by(revisions.c.id)
    )
    by_text: dict[str, list[tuple[int, int, str | None]]] = {}
    for revision_id, author_id, change, area in rows:
        text = ((change or {}).get("risk") or "").strip()
        if text:
            by_text.setdefault(text, []).append((revision_id, author_id, area))
    now = datetime.now(UTC).replace(tzinfo=None)
    for text, named in by_text.items():
        _, author_id, area = named[0]
        risk_id = connection.execute(
            sa.insert(risks)
            .values(
                title=text if len(text) <= 200 else text[:199] + "…",
                area=area,
                cause=text,
                consequence="",
                owner_user_id=author_id,
                status="to_assess",
                verification_note="",
                created_by="migration 0015",
                created_at=now,
                updated_at=now,
                version=1,
            )
            .returning(risks.c.id)
        ).scalar_one()
        connection.execute(
            sa.update(revisions)
            .where(revisions.c.id.in_([revision_id for revision_id, _, _ in named]))
            .values(risk_id=risk_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_document_revisions_risk_id_risks"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_document_revisions_risk_id"))
        batch_op.drop_column("risk_id")

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_status")
        batch_op.drop_index("ix_risks_area")

    op.drop_table("risks")
