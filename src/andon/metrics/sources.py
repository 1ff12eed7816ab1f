"""Where a metric's values come from: the seam between the metric service and its sources.

``compute_source`` is the one function the service calls to compute a KPI or OEE metric. A
source takes the database session, the definition, the site's zone and the periods to compute
(``None``: every period the data covers) and yields ``PeriodValue`` rows; the service stores
them. Tests hand the service another function of the same shape.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from andon.core.errors import InvalidInput
from andon.metrics.definition import KpiSource, MetricDefinition
from andon.metrics.periods import Period
from andon.metrics.series import PeriodValue
from andon.work.models import WorkEvent

if TYPE_CHECKING:
    from andon.analytics.log import EventLog
    from andon.calendars.hours import Shift
    from andon.processes.spec import ProcessSpec


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

    Reads the plant's events afresh; :class:`PlantSource` reads them once for many metrics.
    Raises InvalidInput on ``source`` for a manual metric (its values are entered, not
    computed).
    """
    return PlantSource()(session, defn, zone, periods)


class PlantSource:
    """The plant's KPI and OEE sources, with the event log read once and kept while no new
    event arrives, so computing a dozen metrics reads the events once, not a dozen times.

    A KPI comes from :func:`andon.metrics.kpi_values.kpi_values` over every work event
    (filters narrow it there), with the processes' current definitions (SLA attainment and
    stages named by key need them) and, for shift periods, the shifts and holidays of the
    site the metric measures (its ``line``'s site, else the first site in the metric's zone).
    OEE comes from :func:`andon.metrics.downtime.oee_values`, per line.
    """

    def __init__(self) -> None:
        self._log: EventLog | None = None
        self._log_key: tuple[int | None, int] | None = None

    def __call__(
        self,
        session: Session,
        defn: MetricDefinition,
        zone: ZoneInfo,
        periods: Collection[Period] | None,
    ) -> list[PeriodValue]:
        source = defn.source
        if not isinstance(source, KpiSource):
            raise InvalidInput.for_field(
                "source", "a manual metric's values are imported, not computed"
            )
        if source.kpi == "oee":
            from andon.metrics.downtime import oee_values

            found = oee_values(session, source.line, defn.period, zone, periods)
            if defn.by_line:
                return found
            # One line's OEE is the metric's whole series, as a KPI narrowed to a line is.
            return [replace(v, line=None) for v in found]
        from andon.metrics.kpi_values import kpi_values

        log = self._events(session)
        if log is None:
            return []
        shifts, holidays = (
            _shifts(session, source.line, zone) if defn.period == "shift" else (None, ())
        )
        return kpi_values(
            log,
            source,
            defn.period,
            zone,
            by_line=defn.by_line,
            periods=periods,
            shifts=shifts,
            holidays=holidays,
            specs=_specs(session),
        )

    def _events(self, session: Session) -> EventLog | None:
        from andon.analytics.andon_events import read_andon_events_on

        key = (
            session.scalar(select(func.max(WorkEvent.id))),
            session.scalar(select(func.count()).select_from(WorkEvent)) or 0,
        )
        if key != self._log_key:
            self._log = read_andon_events_on(session.connection(), events="all")
            self._log_key = key
        return self._log


def _specs(session: Session) -> dict[str, ProcessSpec]:
    """Each process's current definition, by key."""
    from andon.processes.models import Process, ProcessVersion
    from andon.processes.service import spec_of

    rows = session.execute(
        select(Process.key, ProcessVersion)
        .join(ProcessVersion, ProcessVersion.process_id == Process.id)
        .where(ProcessVersion.number == Process.current_version)
    )
    return {key: spec_of(version) for key, version in rows}


def _shifts(
    session: Session, line_code: str | None, zone: ZoneInfo
) -> tuple[Sequence[Shift] | None, Collection[date]]:
    """The shifts and holidays of the site a shift metric measures."""
    from andon.calendars.service import working_calendar
    from andon.plant.models import Area, Line, Site

    query = select(Site.id).order_by(Site.id)
    if line_code is not None:
        query = query.join(Area, Area.site_id == Site.id).join(Line, Line.area_id == Area.id)
        query = query.where(Line.code == line_code)
    else:
        query = query.where(Site.timezone == str(zone))
    site_id = session.scalar(query.limit(1))
    if site_id is None:
        return None, ()
    calendar = working_calendar(session, site_id)
    return calendar.shifts, calendar.holidays


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


def periods_to_recompute(
    defn: MetricDefinition, timestamps: Iterable[datetime], zone: ZoneInfo
) -> set[Period] | None:
    """The periods new events at ``timestamps`` change (``None``: every period).

    Everything for shift periods (only the calendar places an instant in a shift) and for
    ``wip`` (an item's creation or completion counts at the end of every later period). For
    OEE the caller adds the instants of downtime and stops changed since the last compute
    (:func:`andon.metrics.downtime.oee_inputs_changed`).
    """
    from andon.metrics.kpi_values import affected_periods

    source = defn.source
    if defn.period == "shift" or not isinstance(source, KpiSource):
        return None
    if source.kpi == "wip":
        return None
    return affected_periods(timestamps, defn.period, zone)
