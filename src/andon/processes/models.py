"""Tables of process definitions and their published versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class Process(Versioned, Base):
    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    current_version: Mapped[int] = mapped_column(nullable=False, default=1)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Switches the escalation policy of every version off without publishing a new one.
    escalation_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )


class ProcessVersion(Base):
    """One published definition; never edited — a change publishes the next number."""

    __tablename__ = "process_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int] = mapped_column(nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # SHA-256 of the spec as canonical JSON: the parsed spec is cached by content.
    spec_digest: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (UniqueConstraint("process_id", "number"),)
