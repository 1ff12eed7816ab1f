"""Tables of actions: the action with its owner and due date, its links, its comments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned


class ActionItem(Versioned, Base):
    """An action: owned by one user or by one role (exactly one), due on a plant date."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    owner_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    close_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set while the action is open when its creator gave a de-duplication key (a threshold
    # crossing): the unique constraint keeps one open action per key, however many writers
    # race. Cleared when it is done or cancelled, so the key may open a new one later.
    open_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Set when another room owns how the action finishes (``capa``: a CAPA closes only with
    # an effectiveness check): closing or cancelling it here is refused, pointing there.
    held_by: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (
        UniqueConstraint("open_key"),
        CheckConstraint(
            "(owner_user_id IS NULL) <> (owner_role IS NULL)", name="exactly_one_owner"
        ),
        Index("ix_actions_status_due_on", "status", "due_on"),
        Index("ix_actions_owner_user_id_status", "owner_user_id", "status"),
        Index("ix_actions_owner_role_status", "owner_role", "status"),
    )


class ActionLink(Base):
    """What an action is about: a metric, exception, work item, document, review, RCA, CAPA."""

    __tablename__ = "action_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (
        UniqueConstraint("action_id", "kind", "ref"),
        Index("ix_action_links_kind_ref", "kind", "ref"),
    )


class ActionComment(Base):
    __tablename__ = "action_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
