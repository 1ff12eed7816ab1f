"""The risk register's table: one row per risk, its 5×5 scores, owner, verification and
review. Mitigations are actions in the actions room linked ``risk:ID``, not rows here."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned

RISK_STATUSES = ("to_assess", "open", "mitigating", "accepted", "closed")
"""``to_assess``: named but not scored yet (the risks migrated from free text start here);
``open``: scored, mitigations to plan; ``mitigating``: mitigations under way; ``accepted``:
the residual risk is accepted as it is; ``closed``: the hazard is gone."""
VERIFICATION_METHODS = ("metric", "check")


def _scale(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR {column} BETWEEN 1 AND 5", name=f"{column}_1_5")


class Risk(Versioned, Base):
    """A risk: what could happen (cause → consequence), where, how likely and how bad before
    (inherent) and after (residual) mitigation, who owns it and how it is verified.

    Scores are NULL until assessed (status ``to_assess``). Verification is either a metric
    (``metric_key`` with ``metric_comparison`` and ``metric_threshold``, judged against the
    metric's latest finished value) or a recurring check every ``check_interval_days`` days,
    next due on ``next_check_on``. ``verification_result`` is the last one: ``met`` or
    ``not_met``.
    """

    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    # An area code of the plant (ASM) or a free name for a place without one.
    area: Mapped[str | None] = mapped_column(String(60), nullable=True)
    cause: Mapped[str] = mapped_column(Text, nullable=False, default="")
    consequence: Mapped[str] = mapped_column(Text, nullable=False, default="")
    inherent_likelihood: Mapped[int | None] = mapped_column(nullable=True)
    inherent_severity: Mapped[int | None] = mapped_column(nullable=True)
    residual_likelihood: Mapped[int | None] = mapped_column(nullable=True)
    residual_severity: Mapped[int | None] = mapped_column(nullable=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    verification_method: Mapped[str | None] = mapped_column(String(8), nullable=True)
    metric_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metric_comparison: Mapped[str | None] = mapped_column(String(2), nullable=True)
    metric_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    check_interval_days: Mapped[int | None] = mapped_column(nullable=True)
    next_check_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verification_result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    verification_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    verification_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    review_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        _scale("inherent_likelihood"),
        _scale("inherent_severity"),
        _scale("residual_likelihood"),
        _scale("residual_severity"),
        Index("ix_risks_status", "status"),
        Index("ix_risks_area", "area"),
    )
