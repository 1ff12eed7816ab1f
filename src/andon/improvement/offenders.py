"""The repeat-offender report: exception categories ranked by count and by impact.

A period is plant dates ``since``..``until`` (inclusive) in the plant's zone. An exception
belongs to it when raised in it. Its impact:

- items affected: distinct work items with an exception of the category;
- business hours lost: for each item, the time it had an exception of the category open
  (raised → resolved, or the period's end, or now if sooner), overlaps counted once and
  measured on its line's working calendar (shifts, holidays, closures, as SLA clocks are);
  an exception raised on a line rather than an item counts the line's open time the same way;
- line-stop minutes: wall minutes of the line stops its exceptions triggered (stopped →
  restarted, or the period's end / now), for stops that began in the period.

Counts, items, weekly trend, lines, products and stop time are SQL aggregates; open time is
measured in Python because working calendars live there (``impact.open_seconds``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from andon.calendars.service import working_calendar
from andon.core.clock import utcnow
from andon.core.errors import InvalidInput
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.improvement.impact import (
    SORTS,
    Offender,
    clip,
    open_seconds,
    rank,
    top,
    week_starts,
)
from andon.improvement.models import RcaCause, RcaLink, RootCauseAnalysis
from andon.plant.models import Area, Line, Site
from andon.work.exceptions import known_categories
from andon.work.models import LineStop, PlantException, WorkItem
from andon.work.visibility import restrict

MAX_DAYS = 366


@dataclass(frozen=True)
class OffenderReport:
    since: date
    until: date
    started_at: datetime  # the period in UTC: [started_at, ended_at)
    ended_at: datetime
    weeks: tuple[date, ...]
    sort: str
    rows: tuple[Offender, ...]

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)


def period_bounds(since: date, until: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight starting ``since`` and the one after ``until``, as UTC instants."""
    if until < since:
        raise InvalidInput.for_field("until", "must not be before since")
    if (until - since).days >= MAX_DAYS:
        raise InvalidInput.for_field("until", f"a period is at most {MAX_DAYS} days")
    start = datetime.combine(since, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    return start, end.astimezone(UTC)


def offenders(
    ctx: Context,
    *,
    since: date,
    until: date,
    zone: ZoneInfo,
    line_id: int | None = None,
    product: str | None = None,
    category: str | None = None,
    sort: str = "count",
    at: datetime | None = None,
) -> OffenderReport:
    """Exception categories raised in the period, ranked by ``sort`` (see ``impact.SORTS``),
    limited to a line, a product (the work item's) and/or one category when given."""
    if sort not in SORTS:
        raise InvalidInput.for_field("sort", f"one of: {', '.join(SORTS)}")
    start, end = period_bounds(since, until, zone)
    cap = min(end, at or utcnow())
    weeks = week_starts(since, until)
    names = {key: name for key, (name, _) in known_categories(ctx).items()}
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)

        def scoped(query: Any) -> Any:
            query = query.select_from(PlantException)
            query = restrict(query, ctx.actor, PlantException.line_id).where(
                PlantException.raised_at >= start, PlantException.raised_at < end
            )
            if line_id is not None:
                query = query.where(PlantException.line_id == line_id)
            if product is not None:
                query = query.join(WorkItem, WorkItem.id == PlantException.item_id).where(
                    WorkItem.product == product
                )
            if category is not None:
                query = query.where(PlantException.category == category)
            return query

        cat = PlantException.category
        counts = session.execute(
            scoped(
                select(cat, func.count(), func.count(distinct(PlantException.item_id)))
            ).group_by(cat)
        ).all()
        if not counts:
            return OffenderReport(since, until, start, end, tuple(weeks), sort, ())
        week = _whole_weeks(session, PlantException.raised_at, start)
        weekly: dict[str, list[int]] = defaultdict(lambda: [0] * len(weeks))
        for key, index, n in session.execute(
            scoped(select(cat, week, func.count())).group_by(cat, week)
        ):
            weekly[key][min(int(index), len(weeks) - 1)] += n
        # Line codes repeat across sites and areas: name each line by its full path.
        codes = dict(
            session.execute(
                select(Line.id, Site.code + "/" + Area.code + "/" + Line.code)
                .join(Area, Area.id == Line.area_id)
                .join(Site, Site.id == Area.site_id)
            ).all()
        )
        lines: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for key, line, n in session.execute(
            scoped(select(cat, PlantException.line_id, func.count())).group_by(
                cat, PlantException.line_id
            )
        ):
            lines[key].append((codes.get(line, str(line)), n))
        products: dict[str, list[tuple[str, int]]] = defaultdict(list)
        product_query = select(cat, WorkItem.product, func.count()).select_from(PlantException)
        if product is None:
            product_query = product_query.join(WorkItem, WorkItem.id == PlantException.item_id)
        for key, name, n in session.execute(
            scoped(product_query)
            .where(WorkItem.product.is_not(None))
            .group_by(cat, WorkItem.product)
        ):
            products[key].append((name, n))
        hours = _open_seconds(session, scoped, cap)
        stops = _stop_seconds(session, ctx, start, end, cap, line_id, product, category)
        causes = _root_causes(session, [row[0] for row in counts])
    rows = [
        Offender(
            category=key,
            name=names.get(key, key),
            count=n,
            items=items,
            business_seconds=hours.get(key, 0.0),
            stop_seconds=stops.get(key, 0.0),
            weekly=tuple(weekly[key]),
            lines=top(lines[key]),
            products=top(products[key]),
            causes=top(causes.get(key, {}).items(), 10),
        )
        for key, n, items in counts
    ]
    return OffenderReport(since, until, start, end, tuple(weeks), sort, tuple(rank(rows, sort)))


def category_exceptions(
    ctx: Context,
    *,
    category: str,
    since: date,
    until: date,
    zone: ZoneInfo,
    line_id: int | None = None,
    product: str | None = None,
    limit: int = 100,
) -> list[int]:
    """Ids of the period's exceptions of ``category`` (newest first, at most ``limit``): what
    an RCA started from the report links to."""
    start, end = period_bounds(since, until, zone)
    query = restrict(select(PlantException.id), ctx.actor, PlantException.line_id).where(
        PlantException.category == category,
        PlantException.raised_at >= start,
        PlantException.raised_at < end,
    )
    if line_id is not None:
        query = query.where(PlantException.line_id == line_id)
    if product is not None:
        query = query.join(WorkItem, WorkItem.id == PlantException.item_id).where(
            WorkItem.product == product
        )
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        return list(session.scalars(query.order_by(PlantException.id.desc()).limit(limit)))


def _open_seconds(session: Session, scoped: Any, cap: datetime) -> dict[str, float]:
    """Per category: business seconds its exceptions were open, per item (or line) merged."""
    rows = session.execute(
        scoped(
            select(
                PlantException.category,
                PlantException.line_id,
                PlantException.item_id,
                PlantException.raised_at,
                PlantException.resolved_at,
            )
        )
    ).all()
    sites = dict(
        session.execute(
            select(Line.id, Area.site_id)
            .join(Area, Area.id == Line.area_id)
            .where(Line.id.in_({row[1] for row in rows}))
        ).all()
    )
    spans: dict[tuple[str, int, int | None], list[tuple[datetime, datetime]]] = defaultdict(list)
    for key, line, item, raised, resolved in rows:
        spans[(key, line, item)].append(clip(raised, resolved, cap))
    found: dict[str, float] = defaultdict(float)
    for (key, line, _), intervals in spans.items():
        calendar = working_calendar(session, sites[line])
        found[key] += open_seconds(intervals, calendar.business_seconds)
    return found


def _stop_seconds(
    session: Session,
    ctx: Context,
    start: datetime,
    end: datetime,
    cap: datetime,
    line_id: int | None,
    product: str | None,
    category: str | None,
) -> dict[str, float]:
    """Per category: wall seconds of the line stops its exceptions triggered in the period."""
    restarted = LineStop.restarted_at
    seconds = case(
        (
            and_(restarted.is_not(None), restarted < cap),
            _seconds_between(session, restarted, LineStop.stopped_at),
        ),
        else_=_seconds_between(session, _instant(cap), LineStop.stopped_at),
    )
    query = restrict(
        select(PlantException.category, func.sum(seconds))
        .select_from(LineStop)
        .join(PlantException, PlantException.id == LineStop.exception_id),
        ctx.actor,
        LineStop.line_id,
    ).where(LineStop.stopped_at >= start, LineStop.stopped_at < min(end, cap))
    if line_id is not None:
        query = query.where(LineStop.line_id == line_id)
    if product is not None:
        query = query.join(WorkItem, WorkItem.id == PlantException.item_id).where(
            WorkItem.product == product
        )
    if category is not None:
        query = query.where(PlantException.category == category)
    rows = session.execute(query.group_by(PlantException.category)).all()
    return {key: max(0.0, float(total or 0)) for key, total in rows}


def _root_causes(session: Session, categories: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per category: each verified root cause's text and how many RCAs name it; an RCA counts
    for a category when started from it or linked to an exception of it."""
    roots = and_(RcaCause.root.is_(True), RcaCause.verified.is_(True))
    by_link = (
        select(PlantException.category, RcaCause.rca_id, RcaCause.text)
        .join(RcaLink, and_(RcaLink.rca_id == RcaCause.rca_id, RcaLink.kind == "exception"))
        .join(PlantException, cast(PlantException.id, String) == RcaLink.ref)
        .where(roots, PlantException.category.in_(categories))
    )
    by_category = (
        select(RootCauseAnalysis.category, RcaCause.rca_id, RcaCause.text)
        .join(RootCauseAnalysis, RootCauseAnalysis.id == RcaCause.rca_id)
        .where(roots, RootCauseAnalysis.category.in_(categories))
    )
    seen: set[tuple[str, int, str]] = {
        (str(key), rca, text.strip())
        for q in (by_link, by_category)
        for key, rca, text in session.execute(q)
    }
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, _, text in seen:
        found[key][text] += 1
    return found


def _instant(moment: datetime) -> Any:
    return literal(moment.astimezone(UTC).replace(tzinfo=None), DateTime())


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _whole_weeks(session: Session, moment: Any, start: datetime) -> Any:
    """Whole 7-day weeks from ``start`` to ``moment`` (moment >= start), in the database."""
    weeks = _seconds_between(session, moment, _instant(start)) / 604800.0
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(weeks), Integer)
    return cast(weeks, Integer)
