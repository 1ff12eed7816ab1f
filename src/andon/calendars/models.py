"""Tables of business calendars: one per site, with shifts, holidays and closures."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class BusinessCalendar(Versioned, Base):
    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    # [{"name": "Day", "days": [0,1,2,3,4], "start": "06:00", "end": "14:30"}, ...]
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    holiday_country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    # A fresh random token on every change of shifts, quiet hours, holidays or closures:
    # readers cache the built calendar by it, so a change is seen by every process at once.
    revision: Mapped[str] = mapped_column(
        String(32), nullable=False, default=lambda: uuid.uuid4().hex, server_default=""
    )

    holidays: Mapped[list[CalendarHoliday]] = relationship(
        cascade="all, delete-orphan", order_by="CalendarHoliday.day", lazy="selectin"
    )
    closures: Mapped[list[CalendarClosure]] = relationship(
        cascade="all, delete-orphan", order_by="CalendarClosure.start_at", lazy="selectin"
    )


class CalendarHoliday(Base):
    __tablename__ = "calendar_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)


class CalendarClosure(Base):
    __tablename__ = "calendar_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
