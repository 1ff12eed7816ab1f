"""Cache keys: a digest of each process version's spec, a revision token per calendar.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00
"""

import hashlib
import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "process_versions",
        sa.Column("spec_digest", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "business_calendars",
        sa.Column("revision", sa.String(length=32), server_default="", nullable=False),
    )
    bind = op.get_bind()
    versions = sa.table(
        "process_versions",
        sa.column("id", sa.Integer),
        sa.column("spec", sa.JSON),
        sa.column("spec_digest", sa.String),
    )
    for version_id, spec in bind.execute(sa.select(versions.c.id, versions.c.spec)).all():
        # The same canonical form as andon.processes.service.digest_of.
        canonical = json.dumps(spec, sort_keys=True).encode("utf-8")
        bind.execute(
            versions.update()
            .where(versions.c.id == version_id)
            .values(spec_digest=hashlib.sha256(canonical).hexdigest())
        )
    calendars = sa.table(
        "business_calendars", sa.column("id", sa.Integer), sa.column("revision", sa.String)
    )
    for (calendar_id,) in bind.execute(sa.select(calendars.c.id)).all():
        bind.execute(
            calendars.update()
            .where(calendars.c.id == calendar_id)
            .values(revision=uuid.uuid4().hex)
        )


def downgrade() -> None:
    op.drop_column("business_calendars", "revision")
    op.drop_column("process_versions", "spec_digest")
