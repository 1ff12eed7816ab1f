"""Tables of root-cause work: analyses, what triggered them, their causes, CAPAs and the
changes and effectiveness checks that close a CAPA."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class RootCauseAnalysis(Versioned, Base):
    """An RCA: the problem statement (what, where, when, how much) and where it stands.

    ``status`` is ``open`` while the causes are being found and verified, ``closed`` once the
    verified root causes are named and every CAPA raised from it is closed (or cancelled).
    """

    __tablename__ = "rcas"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    # The problem statement, in four parts a reader can check against the data.
    what: Mapped[str] = mapped_column(Text, nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False, default="")
    how_much: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # "When": the window the problem was seen in (UTC); the timeline covers it.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="RESTRICT"), nullable=True
    )
    # The exception category the RCA was started from (the repeat-offender report), if any.
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    metric_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_rcas_status", "status"),
        Index("ix_rcas_category", "category"),
    )


class RcaLink(Base):
    """What triggered or informs an RCA: an exception, a work item, a metric signal, an audit
    entry, or a containment action (an action in the actions room)."""

    __tablename__ = "rca_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    rca_id: Mapped[int] = mapped_column(ForeignKey("rcas.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("rca_id", "kind", "ref"),
        Index("ix_rca_links_kind_ref", "kind", "ref"),
    )


class RcaCause(Base):
    """One cause in an RCA's tree: a "why" answers its parent (no parent: the first why,
    answering the problem statement); branching is two causes with the same parent.

    A cause with a 6M ``category`` is also drawn on the fishbone. A cause is ``verified``
    with evidence (text, an attachment, a saved analytics query); only a verified cause may
    be named a ``root`` cause.
    """

    __tablename__ = "rca_causes"

    id: Mapped[int] = mapped_column(primary_key=True)
    rca_id: Mapped[int] = mapped_column(ForeignKey("rcas.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("rca_causes.id", ondelete="CASCADE"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str | None] = mapped_column(String(12), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    evidence: Mapped[str] = mapped_column(Text, nullable=False, default="")
    evidence_attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"), nullable=True
    )
    # A saved analytics query: the path and query string of an analytics page or API call.
    evidence_query: Mapped[str | None] = mapped_column(String(500), nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    root: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (CheckConstraint("verified OR NOT root", name="root_is_verified"),)


class Capa(Base):
    """A corrective or preventive action: an action in the actions room (owner, due date,
    status, notices, escalation) plus the root cause it addresses, the changes it produced
    and the effectiveness checks that let it close."""

    __tablename__ = "capas"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("actions.id", ondelete="RESTRICT"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    rca_id: Mapped[int | None] = mapped_column(
        ForeignKey("rcas.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    cause_id: Mapped[int | None] = mapped_column(
        ForeignKey("rca_causes.id", ondelete="RESTRICT"), nullable=True
    )
    # What the effectiveness check measures, and around which date (the plant's date the
    # change took effect; filled from the linked change when not given).
    metric_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metric_line: Mapped[str | None] = mapped_column(String(20), nullable=True)
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    window_days: Mapped[int] = mapped_column(nullable=False, default=28)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class CapaChange(Base):
    """A change a CAPA produced: a document revision, a process-definition version, or a
    metric definition version (a threshold change). ``ref`` names it: ``SOP-012/3``,
    ``assembly/4``, ``rework_rate/2``; ``effective_at`` is when it took effect."""

    __tablename__ = "capa_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    capa_id: Mapped[int] = mapped_column(ForeignKey("capas.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("capa_id", "kind", "ref"),)


class EffectivenessCheck(Base):
    """One run of an effectiveness check on a CAPA: the inputs, the verdict and its numbers.

    Kept, never updated: a recomputation after late data is a new row, so the page shows the
    verdict the CAPA was closed on and the current one.
    """

    __tablename__ = "effectiveness_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    capa_id: Mapped[int] = mapped_column(ForeignKey("capas.id", ondelete="CASCADE"))
    metric_key: Mapped[str] = mapped_column(String(64), nullable=False)
    line: Mapped[str | None] = mapped_column(String(20), nullable=True)
    effective_on: Mapped[date] = mapped_column(Date, nullable=False)
    window_days: Mapped[int] = mapped_column(nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    before_n: Mapped[int] = mapped_column(nullable=False)
    before_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    after_n: Mapped[int] = mapped_column(nullable=False)
    after_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    signals: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    # Everything else the verdict rests on: alpha, minimum sample, test statistic, etc.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    computed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_effectiveness_checks_capa_id_id", "capa_id", "id"),)
