"""Tables of controlled documents: documents, revisions, signatures, periodic reviews, files,
the search index of effective revisions, and read-and-acknowledge training."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned

FTS_TABLE = "document_fts"
"""SQLite's FTS5 index over ``document_search`` (created by migration 0008, not in metadata)."""
SEARCH_INDEX = "ix_document_search_vector"
"""PostgreSQL's GIN index over ``document_search``'s tsvector (migration 0008, not in metadata)."""


class Document(Versioned, Base):
    """What stays the same across revisions: number, type, owner, where it applies, review."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="RESTRICT"), nullable=True
    )
    # An area code rather than one area: "ASM" is the assembly area of every site (or of
    # ``site_id`` when set), as a plant-wide SOP for assembly applies wherever there is one.
    area_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="RESTRICT"), nullable=True
    )
    review_interval_months: Mapped[int] = mapped_column(nullable=False)
    # Set when a revision takes effect or a periodic review confirms it.
    next_review_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    """The status of the revision that speaks for the document (effective if any, else the
    newest); kept here so lists filter and sort without a join."""
    effective_revision: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_documents_type_status", "type", "status"),
        Index("ix_documents_next_review_on", "next_review_on"),
        Index("ix_documents_owner_id", "owner_id"),
    )


class DocumentRevision(Versioned, Base):
    """One revision: its content (as ``content_dict``), change record and where it stands."""

    __tablename__ = "document_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # The signed part of the change record (reason, safety impact, training, risk).
    change: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # The rest of it: quality impact, affected processes and lines, rollout plan, questions.
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    review_round: Mapped[int] = mapped_column(nullable=False, default=0)
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        Index("ix_document_revisions_status_effective_on", "status", "effective_on"),
    )


class DocumentSignature(Base):
    """An electronic signature; never updated or deleted. Whether it still holds is decided by
    comparing its digest and round with the revision's (see ``lifecycle.is_current``)."""

    __tablename__ = "document_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("document_revisions.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    meaning: Mapped[str] = mapped_column(String(16), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    review_round: Mapped[int] = mapped_column(nullable=False, default=0)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")


class DocumentReview(Base):
    """A periodic review: the owner confirms the revision in force or starts a change."""

    __tablename__ = "document_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("document_revisions.id", ondelete="RESTRICT")
    )
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("document_signatures.id", ondelete="RESTRICT")
    )
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reviewed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    next_review_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class DocumentAttachment(Base):
    """An image or PDF attached to a document, kept by content hash in the shared blob store."""

    __tablename__ = "document_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64), nullable=False)


class DocumentSearch(Base):
    """The searchable text of each document's effective revision, one row per document.

    PostgreSQL searches it through a GIN index on ``to_tsvector('english', ...)``; SQLite
    through the FTS5 table ``document_fts`` that mirrors it (rowid = ``document_id``).
    """

    __tablename__ = "document_search"

    document_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("document_revisions.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)


class TrainingAssignment(Base):
    """A person's read-and-acknowledge task for one revision.

    ``status``: ``due`` until acknowledged (``done``), or ``carried`` when a revision marked
    "no training needed" inherits an acknowledgement of the revision before it.
    """

    __tablename__ = "training_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("document_revisions.id", ondelete="RESTRICT")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="due")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The revision this person acknowledged before, so they are shown the redline only.
    previous_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_revisions.id", ondelete="SET NULL"), nullable=True
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_signatures.id", ondelete="RESTRICT"), nullable=True
    )
    score: Mapped[int | None] = mapped_column(nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("revision_id", "user_id"),
        Index("ix_training_assignments_user_id_status", "user_id", "status"),
        Index("ix_training_assignments_status_due_on", "status", "due_on"),
        Index("ix_training_assignments_document_id_user_id", "document_id", "user_id"),
    )
