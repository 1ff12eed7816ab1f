"""Tables of the plant hierarchy."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class LineKind(StrEnum):
    LINE = "line"
    WORK_CENTRE = "work_centre"


class _Node(Versioned):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )


class Enterprise(_Node, Base):
    __tablename__ = "enterprises"
    __table_args__ = (UniqueConstraint("name"),)


class Site(_Node, Base):
    __tablename__ = "sites"
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (UniqueConstraint("code"), UniqueConstraint("enterprise_id", "name"))


class Area(_Node, Base):
    __tablename__ = "areas"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    __table_args__ = (UniqueConstraint("site_id", "code"), UniqueConstraint("site_id", "name"))


class Line(_Node, Base):
    __tablename__ = "lines"
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default=LineKind.LINE.value)
    __table_args__ = (UniqueConstraint("area_id", "code"), UniqueConstraint("area_id", "name"))
