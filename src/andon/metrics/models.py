"""Tables of metrics: definitions and their versions, materialised values, frozen limits and
threshold crossings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime, Versioned

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Metric(Versioned, Base):
    """What stays the same across a metric's versions, plus the fields lists filter on.

    ``current_version`` names the row of ``metric_versions`` that speaks for the metric (the
    ``version`` column is the optimistic-concurrency counter of this row, as on every table).
    ``watermark`` is the highest ``work_events.id`` the stored values have seen; ``NULL``
    means the next compute is a full one (never computed, or the definition changed).
    ``unseen`` lists the ids under it that were not yet visible then.
    """

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    current_version: Mapped[int] = mapped_column(nullable=False)
    # "role" or "user"; ``owner`` is the role's name or the username.
    owner_kind: Mapped[str] = mapped_column(String(4), nullable=False)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    # "manual" or the built-in KPI's name (rework_rate, oee...).
    source: Mapped[str] = mapped_column(String(40), nullable=False)
    period: Mapped[str] = mapped_column(String(5), nullable=False)
    chart: Mapped[str] = mapped_column(String(3), nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    watermark: Mapped[int | None] = mapped_column(BigId, nullable=True)
    # Event ids under the watermark that were missing when it moved (a transaction may still
    # commit them): ``[[lo, hi, first_missed_at], ...]``, read again by the next compute.
    unseen: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The series whose owner was told they have no data: ``{line: {"period": latest period
    # or null, "at": when told}}`` ('' the whole metric). A series leaves it when a fresh
    # value arrives, so the next stale episode is told again.
    no_data_told: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class MetricVersion(Base):
    """One version of a definition, in the documented shape (``definition_document``)."""

    __tablename__ = "metric_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (UniqueConstraint("metric_id", "version"),)


class MetricValue(Base):
    """One period's value of a metric, for one line or ('') the whole source.

    ``value`` ``NULL`` is "no data" (nothing to measure), never zero. ``count`` and ``n`` are
    what the p, u and c charts plot from. ``period_start_at``/``period_end_at`` are the
    period's UTC bounds in the site's zone; ``NULL`` for a shift period, whose hours are the
    calendar's. ``version`` is the definition version the value was computed or entered under.
    """

    __tablename__ = "metric_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(nullable=False)
    line: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    period: Mapped[str] = mapped_column(String(80), nullable=False)
    period_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    period_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    count: Mapped[float | None] = mapped_column(Float, nullable=True)
    n: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(6), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("metric_id", "line", "period"),)


class MetricLimits(Base):
    """Control limits frozen from a baseline; the row with the highest ``seq`` for a metric
    and line is current. A new row comes only from the first baseline that holds enough
    points, or from a deliberate re-baseline with a reason.

    ``center`` is the mean (XmR), p̄, ū or c̄; ``ucl``/``lcl`` are ``NULL`` for p and u, whose
    limits depend on each point's sample size; ``mr_bar`` is the XmR mean moving range.
    ``baseline`` holds the rule (``{"points": N}`` or ``{"from", "to"}``) and the first and
    last period it took.
    """

    __tablename__ = "metric_limits"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="RESTRICT"))
    line: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    seq: Mapped[int] = mapped_column(nullable=False)
    chart: Mapped[str] = mapped_column(String(3), nullable=False)
    center: Mapped[float] = mapped_column(Float, nullable=False)
    ucl: Mapped[float | None] = mapped_column(Float, nullable=True)
    lcl: Mapped[float | None] = mapped_column(Float, nullable=True)
    mr_bar: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_points: Mapped[int] = mapped_column(nullable=False)
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (UniqueConstraint("metric_id", "line", "seq"),)


class MetricCrossing(Base):
    """A value found beyond a threshold band: the history of values and decisions.

    One row per metric, line ('' the whole metric), period and level, written the first
    time an evaluation finds it and kept (a later recompute of the period does not erase
    what was seen). ``decision`` is the band's decision at the time; ``action_id`` the
    action opened (or already open) for it while it was the series' latest value, ``NULL``
    for a crossing that was never the standing one (history imported at once).
    """

    __tablename__ = "metric_crossings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="RESTRICT"))
    line: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    period: Mapped[str] = mapped_column(String(80), nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    band_index: Mapped[int] = mapped_column(nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    decision: Mapped[str] = mapped_column(Text, nullable=False)
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("metric_id", "line", "period", "level"),)
