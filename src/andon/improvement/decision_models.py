"""Tables of the decision log: how the plant decided something, who had the rights, what it
links to, and the chain of decisions that reopened (superseded) earlier ones."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class Decision(Versioned, Base):
    """One decision note.

    ``status``: ``settled`` (in force), ``reopened`` (a new decision that reopened an earlier
    one, not settled yet), ``superseded`` (reopened by a later decision, ``superseded_by``
    names none: the later one's ``supersedes_id`` points here). ``options`` is a list of
    ``{"name", "pros", "cons"}``; ``decides``, ``consulted`` and ``informed`` are lists of
    ``user:NAME`` or ``role:NAME``.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    decision: Mapped[str] = mapped_column(Text, nullable=False, default="")
    context: Mapped[str] = mapped_column(Text, nullable=False, default="")
    options: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    decides: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    consulted: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    informed: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revisit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="settled")
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="RESTRICT"), nullable=True, unique=True
    )
    reopen_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_decisions_status_revisit_on", "status", "revisit_on"),)


class DecisionLink(Base):
    """What a decision rests on or changed: ``metric`` (key), ``document_revision``
    (``SOP-ASM-001/3``), ``process_version`` (``assembly/4``) or ``rca`` (id)."""

    __tablename__ = "decision_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (
        UniqueConstraint("decision_id", "kind", "ref"),
        Index("ix_decision_links_kind_ref", "kind", "ref"),
    )
