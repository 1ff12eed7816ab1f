"""Where a metric's values come from: the seam between the metric service and its sources.

``compute_source`` is the one function the service calls to compute a KPI or OEE metric. A
source takes the database session, the definition, the site's zone and the periods to compute
(``None``: every period the data covers) and yields ``PeriodValue`` rows; the service stores
them. Tests hand the service another function of the same shape.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from andon.core.errors import InvalidInput
from andon.metrics.definition import KpiSource, MetricDefinition
from andon.metrics.periods import Period, PeriodKind, period_containing
from andon.metrics.series import PeriodValue
from andon.work.models import WorkEvent


class Source(Protocol):
    """A function computing a metric's values for ``periods`` (``None``: all of them)."""

    def __call__(
        self,
        session: Session,
        defn: MetricDefinition,
        zone: ZoneInfo,
        periods: Collection[Period] | None,
    ) -> list[PeriodValue]: ...


def compute_source(
    session: Session,
    defn: MetricDefinition,
    zone: ZoneInfo,
    periods: Collection[Period] | None,
) -> list[PeriodValue]:
    """The values of a KPI or OEE metric for ``periods``, exactly as a full run would give.

    Raises InvalidInput on ``source`` for a manual metric (its values are entered, not
    computed) and for the KPI and OEE sources until their readers are wired in here
    (``andon.metrics.kpi_values.kpi_values`` and ``andon.metrics.oee.oee_values``).
    """
    if not isinstance(defn.source, KpiSource):
        raise InvalidInput.for_field(
            "source", "a manual metric's values are imported, not computed"
        )
    raise InvalidInput.for_field("source", f"{defn.source.kpi}: not computable yet")


def event_watermark(session: Session) -> int | None:
    """The highest ``work_events.id`` now stored (``None`` before the first event)."""
    return session.scalar(select(func.max(WorkEvent.id)))


# An event id below the highest one seen may still appear: on PostgreSQL, ids are handed out
# at insert and rows become visible at commit, so a slower transaction can commit a lower id
# after a compute moved past it. Ids missing near the top are remembered for this long (no
# request's transaction stays open longer) and read again by the next compute.
UNSEEN_WINDOW_IDS = 10_000
UNSEEN_SECONDS = 900

IdRange = tuple[int, int]


def events_after(
    session: Session, after_id: int, upto_id: int, unseen: Iterable[IdRange] = ()
) -> list[tuple[int, datetime]]:
    """``(id, timestamp)`` of the events with ``after_id < id <= upto_id`` and of those inside
    the ``unseen`` id ranges (``lo``..``hi`` inclusive) that have appeared since."""
    condition = and_(WorkEvent.id > after_id, WorkEvent.id <= upto_id)
    ranges = [WorkEvent.id.between(lo, hi) for lo, hi in unseen]
    rows = session.execute(select(WorkEvent.id, WorkEvent.timestamp).where(or_(condition, *ranges)))
    return [(event_id, at) for event_id, at in rows]


def missing_ids(session: Session, after_id: int, upto_id: int) -> list[IdRange]:
    """The ranges of ids in ``after_id < id <= upto_id`` with no visible event, looking only at
    the last ``UNSEEN_WINDOW_IDS`` ids (a transaction still open holds a recent id)."""
    low = max(after_id, upto_id - UNSEEN_WINDOW_IDS)
    ids = session.scalars(
        select(WorkEvent.id)
        .where(WorkEvent.id > low, WorkEvent.id <= upto_id)
        .order_by(WorkEvent.id)
    )
    gaps: list[IdRange] = []
    expected = low + 1
    for event_id in ids:
        if event_id > expected:
            gaps.append((expected, event_id - 1))
        expected = event_id + 1
    return gaps


def affected_periods(
    timestamps: Iterable[datetime], period_kind: PeriodKind, zone: ZoneInfo
) -> set[Period] | None:
    """The periods holding ``timestamps`` in ``zone``; ``None`` for shift periods, which only
    the site's calendar can place (the caller then recomputes everything)."""
    if period_kind == "shift":
        return None
    return {period_containing(period_kind, at, zone) for at in timestamps}
