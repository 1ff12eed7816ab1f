""" "The next 20": did a category of exception stop recurring once a fix took effect? The first
exceptions of the category raised after the fix against the same length of time before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.calendars.hours import WorkingCalendar, always_open
from andon.calendars.service import site_of_line, working_calendar
from andon.core.clock import utcnow
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.plant.models import Line, Site
from andon.work.models import PlantException


@dataclass(frozen=True)
class RecurredException:
    id: int
    raised_at: datetime
    line: str | None
    severity: str
    description: str


@dataclass(frozen=True)
class Recurrence:
    """The first ``count`` exceptions of ``category`` raised at or after ``since`` (``after``,
    in ``[since, after_end)``: up to the last of them, or up to now when fewer came) and every
    one raised in the same length of time before (``before``, in ``[before_start, since)``).
    ``*_business_days``: the working time of each window in the site calendar's days (24/7 in
    UTC without one); ``*_rate``: exceptions per business day (``None`` without working time).
    """

    category: str
    line_id: int | None
    since: datetime
    count: int
    before_start: datetime
    after_end: datetime
    before: list[RecurredException]
    after: list[RecurredException]
    before_business_days: float
    after_business_days: float

    @property
    def before_rate(self) -> float | None:
        return _rate(len(self.before), self.before_business_days)

    @property
    def after_rate(self) -> float | None:
        return _rate(len(self.after), self.after_business_days)


def next_exceptions(
    ctx: Context,
    *,
    category: str,
    line_id: int | None,
    since: datetime,
    count: int = 20,
    now: datetime | None = None,
) -> Recurrence:
    """The next ``count`` exceptions of ``category`` (on ``line_id``, or on every line) raised
    at or after ``since`` against the same-length window before it; oldest first."""
    now = now or utcnow()
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        base = select(PlantException).where(PlantException.category == category)
        if line_id is not None:
            base = base.where(PlantException.line_id == line_id)
        after = list(
            session.scalars(
                base.where(PlantException.raised_at >= since)
                .order_by(PlantException.raised_at, PlantException.id)
                .limit(count)
            )
        )
        end = after[-1].raised_at + timedelta(microseconds=1) if len(after) == count else now
        end = max(end, since)
        start = since - (end - since)
        before = list(
            session.scalars(
                base.where(
                    PlantException.raised_at >= start, PlantException.raised_at < since
                ).order_by(PlantException.raised_at, PlantException.id)
            )
        )
        codes: dict[int, str] = dict(session.execute(select(Line.id, Line.code)).all())
        calendar = _calendar(session, line_id)
        return Recurrence(
            category=category,
            line_id=line_id,
            since=since,
            count=count,
            before_start=start,
            after_end=end,
            before=[_out(e, codes) for e in before],
            after=[_out(e, codes) for e in after],
            before_business_days=_business_days(calendar, start, since),
            after_business_days=_business_days(calendar, since, end),
        )


def _calendar(session: Session, line_id: int | None) -> WorkingCalendar:
    if line_id is not None:
        return working_calendar(session, site_of_line(session, line_id).id)
    sites = list(session.scalars(select(Site.id).limit(2)))
    return working_calendar(session, sites[0]) if len(sites) == 1 else always_open()


def _business_days(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """The working time in ``[start, end)`` counted in days of the calendar: each local day's
    share of its own working time (a whole working day is 1, whatever its hours)."""
    if end <= start:
        return 0.0
    zone = calendar.zone
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    total = 0.0
    while day <= last:
        day_start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        whole = calendar.business_seconds(day_start, day_end)
        if whole > 0:
            part = calendar.business_seconds(max(day_start, start), min(day_end, end))
            total += part / whole
        day += timedelta(days=1)
    return total


def _rate(found: int, days: float) -> float | None:
    return found / days if days > 0 else None


def _out(e: PlantException, codes: dict[int, str]) -> RecurredException:
    return RecurredException(e.id, e.raised_at, codes.get(e.line_id), e.severity, e.description)
