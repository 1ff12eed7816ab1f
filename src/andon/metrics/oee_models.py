"""Tables of OEE: downtime entered by hand with a reason code, and ideal cycle times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class DowntimeEntry(Base):
    """A span ``[started_at, ended_at)`` in which a line did not run, and why.

    Line stops (``line_stops``) are downtime already; an entry records what the cord does not
    catch (a changeover, a missing operator). Entries of one line never overlap.
    """

    __tablename__ = "downtime_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason_code: Mapped[str] = mapped_column(String(40), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_downtime_entries_line_id_started_at", "line_id", "started_at"),)


class IdealCycleTime(Versioned, Base):
    """The ideal seconds per unit of a product: on one line, or on any line (``line_id`` NULL).

    A line's own time wins over the any-line time of the same product.
    """

    __tablename__ = "ideal_cycle_times"

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(60), nullable=False)
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="CASCADE"), nullable=True
    )
    seconds: Mapped[float] = mapped_column(Float, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("product", "line_id"),
        # NULLs are distinct in a unique constraint, so "any line" needs its own index.
        Index(
            "ix_ideal_cycle_times_product_any_line",
            "product",
            unique=True,
            sqlite_where=text("line_id IS NULL"),
            postgresql_where=text("line_id IS NULL"),
        ),
    )
