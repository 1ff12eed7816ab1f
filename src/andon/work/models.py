"""Tables of work: items, their events, pauses, comments, files, checks, exceptions, lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class WorkItem(Versioned, Base):
    __tablename__ = "work_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="RESTRICT"))
    process_version_id: Mapped[int] = mapped_column(
        ForeignKey("process_versions.id", ondelete="RESTRICT")
    )
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    product: Mapped[str | None] = mapped_column(String(60), nullable=True)
    quantity: Mapped[int] = mapped_column(nullable=False, default=1)
    priority: Mapped[str] = mapped_column(String(10), nullable=False, default="normal")
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    pause_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assignee_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rework_count: Mapped[int] = mapped_column(nullable=False, default=0)
    # A lead's agreed new target for the current stage; cleared when the item moves on.
    stage_sla_seconds: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Cached clock results, recomputed on every change so sweeps are index scans.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stage_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stage_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_work_items_status_stage_due_at", "status", "stage_due_at"),
        Index("ix_work_items_status_due_at", "status", "due_at"),
        Index("ix_work_items_line_id_status", "line_id", "status"),
        Index("ix_work_items_process_id_stage", "process_id", "stage"),
        Index("ix_work_items_assignee_id_status", "assignee_id", "status"),
    )


class WorkEvent(Base):
    """Append-only: one row per change of an item, in the shape of an event log."""

    __tablename__ = "work_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("work_items.id", ondelete="RESTRICT"), index=True
    )
    process_key: Mapped[str] = mapped_column(String(40), nullable=False)
    activity: Mapped[str] = mapped_column(String(120), nullable=False)
    lifecycle: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    resource: Mapped[str] = mapped_column(String(64), nullable=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class WorkPause(Base):
    __tablename__ = "work_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(40), nullable=False)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")


class WorkComment(Base):
    __tablename__ = "work_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Attachment(Base):
    """A file kept under the data directory by content hash; the row says whose it is."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64), nullable=False)


class CheckRun(Base):
    """One submission of a stage's QA checklist; failed lines are the recorded defects."""

    __tablename__ = "check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"))
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # [{"key": "torque", "passed": false, "value": 13.1, "note": "..."}]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        Index("ix_check_runs_line_id_passed_recorded_at", "line_id", "passed", "recorded_at"),
    )


class PlantException(Versioned, Base):
    """An exception raised on a work item or on a line (the plant's word, not Python's)."""

    __tablename__ = "exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"), index=True)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"), nullable=True
    )
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    raised_by: Mapped[str] = mapped_column(String(64), nullable=False)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_exceptions_category_raised_at", "category", "raised_at"),)


class Escalation(Base):
    """One tier of escalation for an item: pending until due, then fired, then acknowledged."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"))
    exception_id: Mapped[int | None] = mapped_column(
        ForeignKey("exceptions.id", ondelete="SET NULL"), nullable=True
    )
    tier: Mapped[int] = mapped_column(nullable=False)
    tier_name: Mapped[str] = mapped_column(String(120), nullable=False)
    basis: Mapped[str] = mapped_column(String(20), nullable=False)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    __table_args__ = (
        Index("ix_escalations_status_due_at", "status", "due_at"),
        # An item's pending tiers are replaced and its fired ones read on every change.
        Index("ix_escalations_item_id_status", "item_id", "status"),
    )


class LineState(Versioned, Base):
    """Whether a line runs; a stopped line refuses moves into its stages."""

    __tablename__ = "line_states"

    line_id: Mapped[int] = mapped_column(
        ForeignKey("lines.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="running")
    since: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    stop_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_stops.id", ondelete="SET NULL"), nullable=True
    )


class LineStop(Base):
    __tablename__ = "line_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), index=True)
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    stopped_by: Mapped[str] = mapped_column(String(64), nullable=False)
    rule: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    exception_id: Mapped[int | None] = mapped_column(
        ForeignKey("exceptions.id", ondelete="SET NULL"), nullable=True
    )
    supervisor_signoff_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    supervisor_signoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    quality_signoff_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quality_signoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    restart_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    restarted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LineStopRule(Versioned, Base):
    """When a line stops by itself: a severe exception, or too many failed checks too fast."""

    __tablename__ = "line_stop_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    min_severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    count: Mapped[int | None] = mapped_column(nullable=True)
    window_seconds: Mapped[int | None] = mapped_column(nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class LineSubscription(Base):
    __tablename__ = "line_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("line_id", "user_id"),)
