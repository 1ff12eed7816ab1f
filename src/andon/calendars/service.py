"""Use cases of business calendars: shifts, quiet hours, holidays and closures per site."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.calendars.holidays import country_holidays, parse_holiday_file
from andon.calendars.hours import Closure, Shift, WorkingCalendar, always_open, validate_shifts
from andon.calendars.models import BusinessCalendar, CalendarClosure, CalendarHoliday
from andon.core.errors import FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, Scope, authorize, authorize_somewhere
from andon.core.uow import Context
from andon.plant.models import Area, Line, Site

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Called inside the changing transaction with (session, site_id): work items subscribe so
# their cached SLA clocks follow a calendar change at once. (Calendars may not import work.)
calendar_listeners: list[Callable[[Session, int], None]] = []
# session.info key of the calendars a session has read (see working_calendar).
_READ_CALENDARS = "andon.calendars.read"


def _changed(session: Session, site_id: int) -> None:
    session.info.pop(_READ_CALENDARS, None)
    row = session.scalar(select(BusinessCalendar).where(BusinessCalendar.site_id == site_id))
    if row is not None:
        row.revision = uuid.uuid4().hex
    for listener in calendar_listeners:
        listener(session, site_id)


@dataclass(frozen=True)
class ShiftInput:
    name: str
    days: tuple[int, ...]
    start: time
    end: time


def shift_from_row(row: dict[str, object]) -> Shift:
    return Shift(
        name=str(row["name"]),
        days=frozenset(int(d) for d in row["days"]),  # type: ignore[attr-defined]
        start=time.fromisoformat(str(row["start"])),
        end=time.fromisoformat(str(row["end"])),
    )


def working_calendar(session: Session, site_id: int) -> WorkingCalendar:
    """The site's calendar as the clock engine wants it; 24/7 in the site's zone if none.

    Read once per session (unit of work) and site time zone: every change above goes through
    ``_changed``, which forgets what was read, so a session always sees its own changes.
    Sharing one calendar also keeps its per-day cache warm across the items a use case touches.
    """
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site with id {site_id}")
    read: dict[tuple[int, str], WorkingCalendar] = session.info.setdefault(_READ_CALENDARS, {})
    key = (site_id, site.timezone)
    if key not in read:
        read[key] = _read_calendar(session, site_id, site.timezone)
    return read[key]


def calendar_at_revision(
    session: Session, site_id: int, timezone: str, revision: str | None
) -> WorkingCalendar:
    """The site's calendar when its row's revision (None: no row) is already known.

    Built calendars are shared across sessions by revision, so a unit of work that read the
    revision along with its other rows needs no further query; a change anywhere issues a
    new revision, which every process then misses and reads afresh.
    """
    read: dict[tuple[int, str], WorkingCalendar] = session.info.setdefault(_READ_CALENDARS, {})
    key = (site_id, timezone)
    if key in read:
        return read[key]
    if revision is None:
        calendar = _open_calendars.get(timezone) or always_open(timezone)
        _open_calendars[timezone] = calendar
    else:
        shared = _calendars_by_revision.get((revision, timezone)) if revision else None
        calendar = shared or _read_calendar(session, site_id, timezone)
    read[key] = calendar
    return calendar


# Built calendars by (revision, time zone), and 24/7 ones by zone; cleared when too many.
_calendars_by_revision: dict[tuple[str, str], WorkingCalendar] = {}
_open_calendars: dict[str, WorkingCalendar] = {}
_SHARED_CALENDARS = 256


def _read_calendar(session: Session, site_id: int, timezone: str) -> WorkingCalendar:
    row = session.scalar(select(BusinessCalendar).where(BusinessCalendar.site_id == site_id))
    if row is None or not row.shifts:
        calendar = always_open(timezone)
    else:
        quiet = None
        if row.quiet_start and row.quiet_end:
            quiet = (time.fromisoformat(row.quiet_start), time.fromisoformat(row.quiet_end))
        calendar = WorkingCalendar(
            timezone=timezone,
            shifts=tuple(shift_from_row(s) for s in row.shifts),
            holidays=frozenset(h.day for h in row.holidays),
            closures=tuple(Closure(c.start_at, c.end_at, c.reason) for c in row.closures),
            quiet_hours=quiet,
        )
    # Only what was committed may be shared: a row this session changed is not yet.
    if row is not None and row.revision and row not in session.dirty and row not in session.new:
        if len(_calendars_by_revision) >= _SHARED_CALENDARS:
            _calendars_by_revision.clear()
        _calendars_by_revision[(row.revision, timezone)] = calendar
    return calendar


def site_of_line(session: Session, line_id: int) -> Site:
    line = session.get(Line, line_id)
    if line is None:
        raise NotFound(f"no line with id {line_id}")
    area = session.get(Area, line.area_id)
    assert area is not None  # enforced by the foreign key
    site = session.get(Site, area.site_id)
    assert site is not None
    return site


def _row(session: Session, site_id: int, *, create: bool) -> BusinessCalendar:
    if session.get(Site, site_id) is None:
        raise NotFound(f"no site with id {site_id}")
    row = session.scalar(select(BusinessCalendar).where(BusinessCalendar.site_id == site_id))
    if row is None:
        if not create:
            raise NotFound(f"site {site_id} has no business calendar yet")
        row = BusinessCalendar(site_id=site_id, shifts=[])
        session.add(row)
        session.flush()
    return row


def get_calendar(ctx: Context, site_id: int) -> BusinessCalendar | None:
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    with ctx.read() as session:
        if session.get(Site, site_id) is None:
            raise NotFound(f"no site with id {site_id}")
        return session.scalar(select(BusinessCalendar).where(BusinessCalendar.site_id == site_id))


def set_shifts(
    ctx: Context,
    site_id: int,
    shifts: Iterable[ShiftInput],
    *,
    quiet_hours: tuple[time, time] | None = None,
    reason: str | None = None,
) -> BusinessCalendar:
    """Replace the weekly shift pattern (and quiet hours); overlapping shifts are refused."""
    given = list(shifts)
    engine_shifts = [Shift(s.name, frozenset(s.days), s.start, s.end) for s in given]
    errors = validate_shifts(engine_shifts)
    for i, s in enumerate(given):
        if not s.name.strip():
            errors.append(FieldError(("shifts", i, "name"), "a shift needs a name"))
    if errors:
        where = ".".join(str(p) for p in errors[0].loc)
        raise InvalidInput(f"{where}: {errors[0].msg}", errors)
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CALENDAR_MANAGE, Scope(site_id=site_id))
        row = _row(tx.session, site_id, create=True)
        before = _summary(row)
        row.shifts = [
            {
                "name": s.name.strip(),
                "days": sorted(set(s.days)),
                "start": s.start.strftime("%H:%M"),
                "end": s.end.strftime("%H:%M"),
            }
            for s in given
        ]
        row.quiet_start = quiet_hours[0].strftime("%H:%M") if quiet_hours else None
        row.quiet_end = quiet_hours[1].strftime("%H:%M") if quiet_hours else None
        tx.session.flush()
        _changed(tx.session, site_id)
        tx.audit("calendar", row.id, "update", before=before, after=_summary(row), reason=reason)
        return row


def add_holidays(
    ctx: Context, site_id: int, holidays: dict[date, str], *, source: str = "manual"
) -> int:
    """Add holidays (dates already present keep their name); returns how many were new."""
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CALENDAR_MANAGE, Scope(site_id=site_id))
        row = _row(tx.session, site_id, create=True)
        existing = {h.day for h in row.holidays}
        added = 0
        for day, name in sorted(holidays.items()):
            if day in existing:
                continue
            row.holidays.append(CalendarHoliday(day=day, name=name[:120], source=source))
            added += 1
        if added:
            _changed(tx.session, site_id)
        tx.audit(
            "calendar",
            row.id,
            "add_holidays",
            after={"added": added, "source": source, "days": [str(d) for d in sorted(holidays)]},
        )
        return added


def import_holiday_file(ctx: Context, site_id: int, text: str) -> int:
    return add_holidays(ctx, site_id, parse_holiday_file(text), source="file")


def generate_holidays(
    ctx: Context, site_id: int, country: str, years: Iterable[int], subdivision: str | None = None
) -> int:
    days = country_holidays(country, list(years), subdivision)
    with ctx.atomic() as tx:
        added = add_holidays(ctx, site_id, days, source="country")
        row = _row(tx.session, site_id, create=True)
        before = {"holiday_country": row.holiday_country}
        row.holiday_country = country.upper()
        row.holiday_subdivision = subdivision
        tx.audit(
            "calendar",
            row.id,
            "holiday_country",
            before=before,
            after={"holiday_country": row.holiday_country, "subdivision": subdivision},
        )
    return added


def remove_holiday(ctx: Context, site_id: int, day: date) -> None:
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CALENDAR_MANAGE, Scope(site_id=site_id))
        row = _row(tx.session, site_id, create=False)
        match = next((h for h in row.holidays if h.day == day), None)
        if match is None:
            raise NotFound(f"site {site_id} has no holiday on {day}")
        row.holidays.remove(match)
        _changed(tx.session, site_id)
        tx.audit("calendar", row.id, "remove_holiday", before={"day": str(day), "name": match.name})


def add_closure(
    ctx: Context, site_id: int, start_at: datetime, end_at: datetime, reason: str
) -> CalendarClosure:
    if end_at <= start_at:
        raise InvalidInput.for_field("end_at", "must be after start_at")
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CALENDAR_MANAGE, Scope(site_id=site_id))
        row = _row(tx.session, site_id, create=True)
        closure = CalendarClosure(start_at=start_at, end_at=end_at, reason=reason)
        row.closures.append(closure)
        tx.session.flush()
        _changed(tx.session, site_id)
        tx.audit(
            "calendar",
            row.id,
            "add_closure",
            after={"start_at": start_at.isoformat(), "end_at": end_at.isoformat()},
            reason=reason,
        )
        return closure


def _summary(row: BusinessCalendar) -> dict[str, object]:
    return {"shifts": row.shifts, "quiet_start": row.quiet_start, "quiet_end": row.quiet_end}


def remove_closure(
    ctx: Context, site_id: int, closure_id: int, *, reason: str | None = None
) -> None:
    with ctx.write() as tx:
        authorize(ctx.actor, Action.CALENDAR_MANAGE, Scope(site_id=site_id))
        row = _row(tx.session, site_id, create=False)
        match = next((c for c in row.closures if c.id == closure_id), None)
        if match is None:
            raise NotFound(f"site {site_id} has no closure {closure_id}")
        row.closures.remove(match)
        tx.session.flush()
        _changed(tx.session, site_id)
        tx.audit(
            "calendar",
            row.id,
            "remove_closure",
            before={"start_at": match.start_at.isoformat(), "end_at": match.end_at.isoformat()},
            reason=reason,
        )
