"""Use cases of OEE: entering downtime, ideal cycle times, and OEE per line and period.

OEE's inputs come from four places: the site calendar (planned time), ``line_stops`` and
``downtime_entries`` (downtime), ``ideal_cycle_times`` and the work items completed on the
line (units made, and good units: those whose item entered no stage twice). The arithmetic is
in :mod:`andon.metrics.oee`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from andon.calendars.hours import WorkingCalendar
from andon.calendars.service import site_of_line, working_calendar
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, Scope, authorize
from andon.core.uow import Context
from andon.metrics.oee import Interval, Oee, ProductCount, compute_oee
from andon.metrics.oee_models import DowntimeEntry, IdealCycleTime
from andon.metrics.oee_schemas import DowntimeCreate, IdealCycleTimeSet
from andon.metrics.periods import (
    Period,
    PeriodKind,
    parse_period,
    period_bounds,
    periods_between,
)
from andon.metrics.series import PeriodValue
from andon.plant.models import Area, Line, Site
from andon.work.loading import line_scope
from andon.work.models import LineStop, WorkEvent, WorkItem
from andon.work.visibility import restrict

DEFAULT_DOWNTIME_REASONS: tuple[str, ...] = (
    "changeover",
    "breakdown",
    "material_shortage",
    "no_operator",
    "quality_hold",
    "planned_maintenance",
    "other",
)
"""The reason codes of ``ANDON_DOWNTIME_REASONS`` when it is not set."""

# Event kinds that put an item into a stage: its first stage, then every move.
_ENTERING_KINDS = ("created", "moved")


# -- downtime entries --------------------------------------------------------------------


def record_downtime(
    ctx: Context,
    line_id: int,
    data: DowntimeCreate,
    *,
    reasons: Collection[str] = DEFAULT_DOWNTIME_REASONS,
) -> DowntimeEntry:
    """Enter downtime of a line with a reason code from ``reasons``.

    Refuses an end not after the start and an unknown reason code (InvalidInput naming the
    field), and a span overlapping another entry of the line (Conflict): one stretch of lost
    time has one reason. Overlap with a line stop is fine; OEE counts it once.
    """
    errors: list[FieldError] = []
    if data.ended_at <= data.started_at:
        errors.append(FieldError(("ended_at",), "must be after started_at"))
    if data.reason_code not in reasons:
        allowed = ", ".join(reasons)
        errors.append(FieldError(("reason_code",), f"unknown reason code; use one of {allowed}"))
    with ctx.write() as tx:
        session = tx.session
        line, scope = line_scope(session, line_id)
        authorize(ctx.actor, Action.METRIC_RECORD, scope)
        if errors:
            raise InvalidInput("; ".join(f"{e.loc[0]}: {e.msg}" for e in errors), errors)
        _lock_line(session, line_id)
        clash = session.scalar(
            select(DowntimeEntry)
            .where(
                DowntimeEntry.line_id == line_id,
                DowntimeEntry.started_at < data.ended_at,
                DowntimeEntry.ended_at > data.started_at,
            )
            .order_by(DowntimeEntry.started_at)
            .limit(1)
        )
        if clash is not None:
            raise Conflict(
                f"line {line.code} already has downtime {clash.id} from "
                f"{clash.started_at.isoformat()} to {clash.ended_at.isoformat()} "
                f"({clash.reason_code}) overlapping this one"
            )
        entry = DowntimeEntry(
            line_id=line_id,
            started_at=data.started_at,
            ended_at=data.ended_at,
            reason_code=data.reason_code,
            note=data.note,
            recorded_by=ctx.actor.username,
            created_at=utcnow(),
        )
        session.add(entry)
        session.flush()
        tx.audit(
            "downtime_entry",
            entry.id,
            "record",
            after={
                "line_id": line_id,
                "started_at": data.started_at.isoformat(),
                "ended_at": data.ended_at.isoformat(),
                "reason_code": data.reason_code,
                "note": data.note,
            },
        )
        return entry


def _lock_line(session: Session, line_id: int) -> None:
    """Serialise writers of one line's downtime so two overlapping entries cannot both pass
    the overlap check (SQLite already lets one writer in at a time)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(select(Line.id).where(Line.id == line_id).with_for_update())


def list_downtime(
    ctx: Context, line_id: int | None = None, *, limit: int = 200
) -> list[DowntimeEntry]:
    """Entered downtime, newest first: of one line (NotFound if none such) or of every line
    the actor may read metrics of."""
    with ctx.read() as session:
        query = select(DowntimeEntry).order_by(
            DowntimeEntry.started_at.desc(), DowntimeEntry.id.desc()
        )
        if line_id is not None:
            authorize(ctx.actor, Action.METRIC_READ, line_scope(session, line_id)[1])
            query = query.where(DowntimeEntry.line_id == line_id)
        else:
            query = restrict(query, ctx.actor, DowntimeEntry.line_id, Action.METRIC_READ)
        return list(session.scalars(query.limit(limit)))


# -- ideal cycle times -------------------------------------------------------------------


def set_ideal_cycle_time(ctx: Context, data: IdealCycleTimeSet) -> IdealCycleTime:
    """Set a product's ideal seconds per unit on one line or (``line_id`` None) any line.

    Replaces the time already set for that product and line. Needs METRIC_MANAGE for the
    line's place, or plant-wide for an any-line time.
    """
    with ctx.write() as tx:
        session = tx.session
        scope = line_scope(session, data.line_id)[1] if data.line_id is not None else Scope()
        authorize(ctx.actor, Action.METRIC_MANAGE, scope)
        line_match = (
            IdealCycleTime.line_id.is_(None)
            if data.line_id is None
            else IdealCycleTime.line_id == data.line_id
        )
        row = session.scalar(
            select(IdealCycleTime).where(IdealCycleTime.product == data.product, line_match)
        )
        before = None if row is None else {"seconds": row.seconds}
        if row is None:
            row = IdealCycleTime(product=data.product, line_id=data.line_id, seconds=data.seconds)
            session.add(row)
        row.seconds = data.seconds
        row.updated_by = ctx.actor.username
        row.updated_at = utcnow()
        session.flush()
        tx.audit(
            "ideal_cycle_time",
            row.id,
            "set" if before is None else "update",
            before=before,
            after={"product": data.product, "line_id": data.line_id, "seconds": data.seconds},
        )
        return row


def list_ideal_cycle_times(ctx: Context) -> list[IdealCycleTime]:
    """Every ideal cycle time, by product, any-line times first."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        return list(
            session.scalars(
                select(IdealCycleTime).order_by(
                    IdealCycleTime.product,
                    IdealCycleTime.line_id.is_not(None),
                    IdealCycleTime.line_id,
                )
            )
        )


# -- OEE -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OeePeriod:
    """OEE of one line in one period: the key, the line code and the figures."""

    period: str
    line: str
    result: Oee

    def as_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "period": self.period,
            "line": self.line,
            "oee": r.oee,
            "availability": r.availability,
            "performance": r.performance,
            "quality": r.quality,
            "planned_seconds": r.planned_seconds,
            "downtime_seconds": r.downtime_seconds,
            "run_seconds": r.run_seconds,
            "ideal_seconds": r.ideal_seconds,
            "total_count": r.total_count,
            "good_count": r.good_count,
            "performance_capped": r.performance_capped,
            "missing_cycle_times": list(r.missing_cycle_times),
            "no_data": r.no_data,
        }


def oee_values(
    session: Session,
    line_code: str | None,
    period_kind: PeriodKind,
    zone: ZoneInfo,
    periods: Collection[Period] | None = None,
) -> list[PeriodValue]:
    """OEE per period of one line (``line_code``) or of every line (None), as a metric series.

    ``value`` is the OEE, None for no data (no planned time, nothing made, a product without
    an ideal cycle time); ``n`` is the units made; ``count`` is None. No permission check:
    the caller (a metric compute) has made it.
    """
    return [
        PeriodValue(
            period=row.period,
            line=row.line,
            value=row.result.oee,
            count=None,
            n=float(row.result.total_count),
        )
        for row in oee_breakdown(session, line_code, period_kind, zone, periods)
    ]


def oee_breakdown(
    session: Session,
    line_code: str | None,
    period_kind: PeriodKind,
    zone: ZoneInfo,
    periods: Collection[Period] | None = None,
    *,
    now: datetime | None = None,
) -> list[OeePeriod]:
    """OEE with its components per line and period, ordered by line code then period.

    ``line_code`` is ``L1``, ``SITE/L1``, ``AREA/L1`` or ``SITE/AREA/L1``; None means every
    line. Periods are cut in ``zone``; planned time comes from each line's site calendar.
    ``periods`` None: every period from the first to the last thing that happened on the
    line (an item completed, a stop, entered downtime). A stop still in force counts as
    downtime until ``now``.
    """
    now = now or utcnow()
    found: list[OeePeriod] = []
    for line, site_id in _lines(session, line_code):
        calendar = working_calendar(session, site_id)
        wanted = (
            sorted(set(periods))
            if periods is not None
            else _covered_periods(session, line.id, period_kind, zone, calendar)
        )
        if not wanted:
            continue
        bounds = [_bounds(p, zone, calendar) for p in wanted]
        start = min(b[0] for b in bounds)
        end = max(b[1] for b in bounds)
        counts = _counts(session, line.id, bounds)
        cycle_times = _cycle_times(session, line.id)
        downtime = _downtime(session, line.id, start, end, now)
        for index, (period, (a, b)) in enumerate(zip(wanted, bounds, strict=True)):
            made = [
                ProductCount(product, total, good, cycle_times.get(product or ""))
                for product, total, good in counts.get(index, [])
            ]
            result = compute_oee(calendar.working_intervals(a, b), downtime, made)
            found.append(OeePeriod(period.key, line.code, result))
    return found


def line_oee(
    ctx: Context,
    line_id: int,
    period_kind: PeriodKind,
    *,
    periods: Sequence[str] | None = None,
) -> list[OeePeriod]:
    """OEE per period of one line in its site's time zone, for pages, the API and the CLI.

    ``periods`` are period keys (``2026-W47``); None: every period with activity.
    """
    with ctx.read() as session:
        line, scope = line_scope(session, line_id)
        authorize(ctx.actor, Action.METRIC_READ, scope)
        zone = ZoneInfo(site_of_line(session, line_id).timezone)
        chosen = None
        if periods is not None:
            chosen = [parse_period(period_kind, key) for key in periods]
        return oee_breakdown(session, _path_of(session, line), period_kind, zone, chosen)


def _path_of(session: Session, line: Line) -> str:
    area = session.get(Area, line.area_id)
    assert area is not None  # enforced by the foreign key
    site = session.get(Site, area.site_id)
    assert site is not None
    return f"{site.code}/{area.code}/{line.code}"


def _lines(session: Session, line_code: str | None) -> list[tuple[Line, int]]:
    """The lines ``line_code`` names (every line for None) with their site ids."""
    rows = session.execute(
        select(Line, Area.code, Site.code, Site.id)
        .join(Area, Area.id == Line.area_id)
        .join(Site, Site.id == Area.site_id)
        .order_by(Line.code, Site.code, Area.code)
    ).all()
    if line_code is None:
        return [(line, site_id) for line, _, _, site_id in rows]
    parts = [p.strip().upper() for p in line_code.split("/")]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InvalidInput.for_field(
            "line", f"{line_code!r} is not LINE, SITE/LINE or SITE/AREA/LINE"
        )
    matches = [
        (line, site_id)
        for line, area_code, site_code, site_id in rows
        if _names(parts, site_code.upper(), area_code.upper(), line.code.upper())
    ]
    if not matches:
        raise NotFound(f"no line {line_code!r}")
    if len(matches) > 1:
        raise InvalidInput.for_field(
            "line", f"{line_code!r} is more than one line; give SITE/AREA/LINE"
        )
    return matches


def _names(parts: list[str], site: str, area: str, line: str) -> bool:
    if len(parts) == 1:
        return parts == [line]
    if len(parts) == 2:
        return parts in ([site, line], [area, line])
    return parts == [site, area, line]


def _bounds(period: Period, zone: ZoneInfo, calendar: WorkingCalendar) -> tuple[datetime, datetime]:
    try:
        # A day of slack each side for zone offsets and overnight shifts, which the
        # calendar needs around a period; datetime stops at years 1 and 9999.
        if period.first.year <= 1 or period.last.year >= 9999:
            raise OverflowError
        if period.kind != "shift":
            return period_bounds(period, zone)
        for shift in calendar.shifts:
            if shift.name == period.shift:
                return period_bounds(period, zone, shift_times=(shift.start, shift.end))
    except (OverflowError, ValueError):  # the first or last days datetime can hold
        raise InvalidInput.for_field(
            "period", f"{period.key} is outside the range of dates this server can hold"
        ) from None
    names = ", ".join(s.name for s in calendar.shifts) or "none: the site has no shifts"
    raise InvalidInput.for_field(
        "period", f"no shift {period.shift!r} in the site's calendar ({names})"
    )


def _covered_periods(
    session: Session, line_id: int, kind: PeriodKind, zone: ZoneInfo, calendar: WorkingCalendar
) -> list[Period]:
    """Every period from the line's first recorded activity to its last."""
    firsts: list[datetime] = []
    lasts: list[datetime] = []
    for query in (
        select(func.min(WorkItem.closed_at), func.max(WorkItem.closed_at)).where(
            WorkItem.line_id == line_id, WorkItem.status == "done"
        ),
        select(
            func.min(LineStop.stopped_at),
            func.max(func.coalesce(LineStop.restarted_at, LineStop.stopped_at)),
        ).where(LineStop.line_id == line_id),
        select(func.min(DowntimeEntry.started_at), func.max(DowntimeEntry.ended_at)).where(
            DowntimeEntry.line_id == line_id
        ),
    ):
        low, high = session.execute(query).one()
        if low is not None and high is not None:
            firsts.append(low)
            lasts.append(high)
    if not firsts:
        return []
    first_day = min(firsts).astimezone(zone).date()
    last_day = max(lasts).astimezone(zone).date()
    if kind != "shift":
        return periods_between(kind, first_day, last_day)
    return _shift_periods(calendar, first_day - timedelta(days=1), last_day)


def _shift_periods(calendar: WorkingCalendar, first: date, last: date) -> list[Period]:
    """The shift periods the calendar starts from ``first`` to ``last`` (holidays have none)."""
    if not calendar.shifts:
        raise InvalidInput.for_field(
            "period", "the site's calendar has no shifts to cut periods by"
        )
    found = []
    day = first
    while day <= last:
        if day not in calendar.holidays:
            for shift in sorted(calendar.shifts, key=lambda s: s.start):
                if day.weekday() in shift.days:
                    found.append(Period("shift", day, shift.name))
        day += timedelta(days=1)
    return found


def _counts(
    session: Session, line_id: int, bounds: Sequence[tuple[datetime, datetime]]
) -> dict[int, list[tuple[str | None, int, int]]]:
    """Units made and good units per product, by index of the period they were completed in.

    One SQL aggregate: each completed item is put in its period by a CASE over the period
    bounds; an item is reworked when an event put it into the same stage twice.
    """
    start = min(b[0] for b in bounds)
    end = max(b[1] for b in bounds)
    in_range = and_(
        WorkItem.line_id == line_id,
        WorkItem.status == "done",
        WorkItem.closed_at >= start,
        WorkItem.closed_at < end,
    )
    reworked = (
        select(WorkEvent.case_id)
        .join(WorkItem, WorkItem.id == WorkEvent.case_id)
        .where(in_range, WorkEvent.kind.in_(_ENTERING_KINDS))
        .group_by(WorkEvent.case_id, WorkEvent.activity)
        .having(func.count() > 1)
    )
    bucket = case(
        *[
            (and_(WorkItem.closed_at >= a, WorkItem.closed_at < b), index)
            for index, (a, b) in enumerate(bounds)
        ],
        else_=-1,
    )
    per_item = (
        select(
            bucket.label("bucket"),
            WorkItem.product.label("product"),
            WorkItem.quantity.label("units"),
            case((WorkItem.id.in_(reworked), 0), else_=WorkItem.quantity).label("good"),
        )
        .where(in_range)
        .subquery()
    )
    # Grouping by the subquery's column, not the CASE itself: PostgreSQL would not see two
    # renderings of the CASE (with their own parameters) as the same expression.
    rows = session.execute(
        select(
            per_item.c.bucket,
            per_item.c.product,
            func.sum(per_item.c.units),
            func.sum(per_item.c.good),
        )
        .where(per_item.c.bucket >= 0)
        .group_by(per_item.c.bucket, per_item.c.product)
        .order_by(per_item.c.bucket, per_item.c.product)
    ).all()
    found: dict[int, list[tuple[str | None, int, int]]] = {}
    for index, product, units, good in rows:
        found.setdefault(int(index), []).append((product, int(units or 0), int(good or 0)))
    return found


def _cycle_times(session: Session, line_id: int) -> dict[str, float]:
    """Ideal seconds per unit by product on this line: its own time, else the any-line one."""
    rows = session.execute(
        select(IdealCycleTime.product, IdealCycleTime.line_id, IdealCycleTime.seconds).where(
            or_(IdealCycleTime.line_id.is_(None), IdealCycleTime.line_id == line_id)
        )
    ).all()
    found: dict[str, float] = {}
    # The line's own time comes last, so it wins over the any-line one.
    for product, _, seconds in sorted(rows, key=lambda r: r[1] is not None):
        found[product] = seconds
    return found


def _downtime(
    session: Session, line_id: int, start: datetime, end: datetime, now: datetime
) -> list[Interval]:
    """The line's stops and entered downtime that touch ``[start, end)``, as intervals."""
    stops = session.execute(
        select(LineStop.stopped_at, LineStop.restarted_at).where(
            LineStop.line_id == line_id,
            LineStop.stopped_at < end,
            or_(LineStop.restarted_at.is_(None), LineStop.restarted_at > start),
        )
    ).all()
    entries = session.execute(
        select(DowntimeEntry.started_at, DowntimeEntry.ended_at).where(
            DowntimeEntry.line_id == line_id,
            DowntimeEntry.started_at < end,
            DowntimeEntry.ended_at > start,
        )
    ).all()
    intervals: list[Interval] = [(a, b if b is not None else max(a, now)) for a, b in stops]
    intervals.extend((a, b) for a, b in entries)
    return intervals


def oee_inputs_changed(session: Session, since: datetime, now: datetime) -> list[datetime] | None:
    """Instants whose periods OEE inputs other than work events changed after ``since``:
    downtime entered, line stops made or ended (a stop still in force changes the time up to
    ``now``), each stretch as its start, its end and every day between, so every period it
    touches is found. ``None`` when an ideal cycle time changed: every period may move."""
    changed_cycle = session.scalar(
        select(func.count()).select_from(IdealCycleTime).where(IdealCycleTime.updated_at > since)
    )
    if changed_cycle:
        return None
    spans: list[tuple[datetime, datetime]] = list(
        session.execute(
            select(DowntimeEntry.started_at, DowntimeEntry.ended_at).where(
                DowntimeEntry.created_at > since
            )
        ).tuples()
    )
    stops = session.execute(
        select(LineStop.stopped_at, LineStop.restarted_at).where(
            or_(
                LineStop.stopped_at > since,
                LineStop.restarted_at > since,
                LineStop.restarted_at.is_(None),
            )
        )
    )
    spans += [(began, ended or now) for began, ended in stops]
    instants: list[datetime] = []
    for began, ended in spans:
        at = began
        while at < ended:
            instants.append(at)
            at += timedelta(days=1)
        instants.append(ended)
    return instants
