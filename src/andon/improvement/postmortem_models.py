"""Tables of postmortems: the debrief of an operational failure, its editable timeline, and
the searchable text of the published ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned

FTS_TABLE = "postmortem_fts"
"""SQLite's FTS5 index over ``postmortem_search`` (migration 0016, not in metadata)."""
SEARCH_INDEX = "ix_postmortem_search_vector"
"""PostgreSQL's GIN index on the generated ``search_vector`` of ``postmortem_search``."""


class Postmortem(Versioned, Base):
    """A blameless debrief of a line stop, a missed shipment or another failure.

    ``status``: ``draft`` (its writers edit it), ``in_review`` (waiting for a reviewer with
    ``postmortem.publish`` who is not the author), ``published`` (read-only, searchable).
    Impact is in units: ``impact_items`` work items, ``impact_hours`` hours of production,
    ``impact_cost`` in ``impact_currency``.
    """

    __tablename__ = "postmortems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # The incident it is about: a line stop, a work item (a missed shipment), or neither.
    line_stop_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_stops.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    work_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id", ondelete="RESTRICT"), nullable=True
    )
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="RESTRICT"), nullable=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    impact_items: Mapped[int | None] = mapped_column(Integer, nullable=True)
    impact_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    impact_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    impact_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    what_happened: Mapped[str] = mapped_column(Text, nullable=False, default="")
    why: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rca_id: Mapped[int | None] = mapped_column(
        ForeignKey("rcas.id", ondelete="RESTRICT"), nullable=True
    )
    changes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="draft")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_postmortems_status_started_at", "status", "started_at"),
        CheckConstraint("ended_at >= started_at", name="ends_after_start"),
    )


class PostmortemEntry(Base):
    """One line of a postmortem's timeline: copied from the plant's record when the
    postmortem is created (``source`` = ``record``), or added by its writer (``writer``).
    Every entry may be edited and annotated with a ``note`` while the postmortem is a draft."""

    __tablename__ = "postmortem_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    line: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="record")

    __table_args__ = (Index("ix_postmortem_entries_postmortem_id_at", "postmortem_id", "at"),)


class PostmortemSearch(Base):
    """The searchable text of a published postmortem, written once when it is published.

    PostgreSQL searches it through the stored generated column ``search_vector`` and its GIN
    index; SQLite through the FTS5 table ``postmortem_fts`` kept equal to it by triggers
    (rowid = ``postmortem_id``). Both are made by migration 0016, not modelled.
    """

    __tablename__ = "postmortem_search"

    postmortem_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("postmortems.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
