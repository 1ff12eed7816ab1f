"""Tables of the weekly review: one meeting per ISO week and area, and its decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class ReviewMeeting(Versioned, Base):
    """The review of one ISO week (``2026-W47``) for one area, or ('') the whole plant.

    ``area`` is an area code, ``''`` for the plant-wide review (not ``NULL``: two ``NULL``s
    never clash in a unique constraint, and one review per week and area is the rule).
    ``attendees`` is ``[{"user": username} | {"guest": name}, ...]``. ``status`` is ``open``
    while decisions and actions are being recorded, ``closed`` after.
    """

    __tablename__ = "review_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    area: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    chair: Mapped[str] = mapped_column(String(64), nullable=False)
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(6), nullable=False, default="open")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("week", "area"),)


class ReviewDecision(Base):
    """A decision taken in a review, about one metric or (``metric_key`` NULL) in general."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("review_meetings.id", ondelete="CASCADE"), index=True
    )
    metric_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
