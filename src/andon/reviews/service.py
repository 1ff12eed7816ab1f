"""Use cases of the weekly review: open the meeting of a week, record who attended, the
decisions and the actions taken, close it; and build the week's review pack.

Writes need ``review.run`` (the people who chair the review); reading the pack and the
meetings needs ``metric.read``. The pack is computed from what is stored now: values of every
metric against its target, the control-chart signals and threshold crossings that fall in the
week, the metric's open and overdue actions, and the decisions of this and last week's review.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.actions import service as actions
from andon.actions.schemas import ActionCreate, ActionFilters, ActionLink, ActionOut
from andon.core.audit import snapshot
from andon.core.clock import to_local, utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import Action, Actor, Scope, authorize
from andon.core.uow import Context
from andon.metrics import store
from andon.metrics.definition import MetricDefinition
from andon.metrics.models import Metric, MetricValue
from andon.metrics.periods import Period, parse_period, previous_period
from andon.metrics.series import PeriodValue
from andon.metrics.spc import Chart, apply_limits
from andon.metrics.thresholds import bands_for, crossings
from andon.plant.models import Area
from andon.reviews.models import ReviewDecision, ReviewMeeting
from andon.reviews.schemas import (
    Attendee,
    CrossingOut,
    DecisionOut,
    MeetingOut,
    PackGroup,
    PackMetric,
    ReviewActionIn,
    ReviewPack,
    SeriesOut,
    SignalOut,
    WeekValue,
)

SQDC = (
    ("safety", "Safety"),
    ("quality", "Quality"),
    ("delivery", "Delivery"),
    ("cost", "Cost"),
    ("other", "Other metrics"),
)
# The chart the pack draws for a metric: its line ('' the whole source), the chart, and its
# threshold bands as (level, above, below).
ChartData = tuple[str, Chart, list[tuple[str, float | None, float | None]]]
MEETING_FIELDS = ("week", "area", "chair", "attendees", "notes", "status", "version")


def parse_week(week: str) -> Period:
    """The ISO week a key such as ``2026-W47`` names; InvalidInput on ``week`` otherwise
    (also for a year before 1970 or after 9998: the pack looks a week back and the calendar
    has no year 0)."""
    period = parse_period("week", week, field="week")
    if not 1970 <= period.first.year <= 9998:
        msg = f"{week!r} is out of range; weeks of 1970 to 9998"
        raise InvalidInput(f"week: {msg}", [FieldError(("week",), msg, "invalid_period")])
    return period


def review_ref(week: str, area: str | None) -> str:
    """What an action raised in a review links to: ``review:2026-W47`` (``2026-W47/ASM`` for
    an area's review)."""
    return f"{week}/{area}" if area else week


# --- meetings -----------------------------------------------------------------------------------


def open_meeting(
    ctx: Context,
    week: str,
    area: str | None = None,
    *,
    chair: str | None = None,
    at: datetime | None = None,
) -> tuple[MeetingOut, bool]:
    """Open the review of ``week`` (and ``area``); returns it and whether it was created.

    A review already held for that week and area is returned as it is (and False): there is
    one per week and area, which the database's unique (week, area) settles in a race.
    """
    key = parse_week(week).key
    with ctx.write() as tx:
        session = tx.session
        code = _area(session, area)
        _authorize_run(session, ctx.actor, code)
        found = _meeting_for(session, key, code)
        if found is not None:
            return _meeting_out(session, found), False
        chair_name = ctx.actor.username
        if chair is not None:
            chair_name = _username(session, chair, "chair")
        now = at or utcnow()
        meeting = ReviewMeeting(
            week=key,
            area=code,
            held_at=now,
            chair=chair_name,
            attendees=[],
            notes="",
            status="open",
            created_by=ctx.actor.username,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(meeting)
                session.flush()
        except IntegrityError:
            found = _meeting_for(session, key, code)
            if found is None:
                raise
            return _meeting_out(session, found), False
        tx.audit("review_meeting", meeting.id, "open", after=snapshot(meeting, MEETING_FIELDS))
        return _meeting_out(session, meeting), True


def get_meeting(ctx: Context, week: str, area: str | None = None) -> MeetingOut:
    """The review of ``week`` (and ``area``) with its decisions; NotFound when none was held."""
    key = parse_week(week).key
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        found = _meeting_for(session, key, (area or "").strip())
        if found is None:
            where = f" for area {area}" if area else ""
            raise NotFound(f"no review of {key}{where}")
        return _meeting_out(session, found)


def attendee_candidates(ctx: Context, area: str | None = None) -> list[tuple[str, str]]:
    """The active users who may be ticked as attending the review of ``area``:
    ``(username, display name)``."""
    with ctx.read() as session:
        _authorize_run(session, ctx.actor, (area or "").strip())
        rows = session.execute(
            select(User.username, User.display_name)
            .where(User.active.is_(True))
            .order_by(User.display_name, User.username)
        )
        return [(username, name) for username, name in rows]


def recent_weeks(today: date, count: int = 8) -> list[str]:
    """The ISO week holding ``today`` and the ``count - 1`` before it, newest first."""
    week = Period("week", today - timedelta(days=today.weekday()))
    found = []
    for _ in range(count):
        found.append(week.key)
        week = previous_period(week)
    return found


def decisions_about(
    ctx: Context, metric_key: str, *, limit: int = 20
) -> list[tuple[str, DecisionOut]]:
    """The review decisions about one metric, newest first, each with its meeting's week."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        rows = session.execute(
            select(ReviewMeeting.week, ReviewDecision)
            .join(ReviewMeeting, ReviewMeeting.id == ReviewDecision.meeting_id)
            .where(ReviewDecision.metric_key == metric_key)
            .order_by(ReviewDecision.created_at.desc(), ReviewDecision.id.desc())
            .limit(limit)
        )
        return [(week, DecisionOut.model_validate(d, from_attributes=True)) for week, d in rows]


def list_meetings(ctx: Context, *, limit: int = 60) -> list[MeetingOut]:
    """The reviews held, newest week first."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        rows = list(
            session.scalars(
                select(ReviewMeeting)
                .order_by(ReviewMeeting.week.desc(), ReviewMeeting.area)
                .limit(limit)
            )
        )
        return [_meeting_out(session, m) for m in rows]


def record_attendance(
    ctx: Context,
    meeting_id: int,
    *,
    users: Sequence[str],
    guests: Sequence[str] = (),
    version: int | None = None,
) -> MeetingOut:
    """Set who attended: users by username (each must exist), and guests by name."""
    with ctx.write() as tx:
        session = tx.session
        meeting = _open_for_change(session, ctx.actor, meeting_id, version)
        names = []
        for i, name in enumerate(dict.fromkeys(u.strip().lower() for u in users if u.strip())):
            names.append(_username(session, name, "users", i))
        people = [{"user": n} for n in names] + [
            {"guest": g.strip()} for g in dict.fromkeys(guests) if g.strip()
        ]
        before = snapshot(meeting, MEETING_FIELDS)
        meeting.attendees = people
        session.flush()
        tx.audit(
            "review_meeting",
            meeting.id,
            "attendance",
            before=before,
            after=snapshot(meeting, MEETING_FIELDS),
        )
        return _meeting_out(session, meeting)


def add_decision(
    ctx: Context,
    meeting_id: int,
    metric_key: str | None,
    text: str,
    *,
    at: datetime | None = None,
) -> DecisionOut:
    """Record a decision taken in the review, about ``metric_key`` or (None) in general."""
    body = text.strip()
    if not body:
        raise InvalidInput.for_field("text", "say what was decided")
    with ctx.write() as tx:
        session = tx.session
        meeting = _open_for_change(session, ctx.actor, meeting_id, None)
        key = _metric_key(session, metric_key)
        decision = ReviewDecision(
            meeting_id=meeting.id,
            metric_key=key,
            text=body,
            decided_by=ctx.actor.username,
            created_at=at or utcnow(),
        )
        session.add(decision)
        session.flush()
        tx.audit(
            "review_meeting",
            meeting.id,
            "decide",
            after={"decision_id": decision.id, "metric_key": key, "text": body},
        )
        return _decision_out(decision)


def add_action(
    ctx: Context, meeting_id: int, data: ReviewActionIn, *, at: datetime | None = None
) -> ActionOut:
    """Open an action in the review: linked to the review (``review:WEEK``) and, when it is
    about a metric, to ``metric:KEY``; its owner is told as for any action."""
    with ctx.atomic() as tx:
        session = tx.session
        meeting = _open_for_change(session, ctx.actor, meeting_id, None)
        key = _metric_key(session, data.metric_key)
        links = [ActionLink(kind="review", ref=review_ref(meeting.week, meeting.area or None))]
        if key is not None:
            links.append(ActionLink(kind="metric", ref=key))
        action, _ = actions.open_action(
            ctx,
            ActionCreate(
                title=data.title,
                description=data.description,
                owner_user=data.owner_user,
                owner_role=data.owner_role,
                due_on=data.due_on,
                priority=data.priority,
                links=links,
            ),
            at=at,
        )
        tx.audit(
            "review_meeting",
            meeting.id,
            "add_action",
            after={"action_id": action.id, "metric_key": key, "title": action.title},
        )
        return action


def close_meeting(
    ctx: Context,
    meeting_id: int,
    *,
    notes: str | None = None,
    version: int | None = None,
    at: datetime | None = None,
) -> MeetingOut:
    """Close the review (with its notes); a closed review takes no more changes."""
    with ctx.write() as tx:
        session = tx.session
        meeting = _open_for_change(session, ctx.actor, meeting_id, version)
        before = snapshot(meeting, MEETING_FIELDS)
        if notes is not None:
            meeting.notes = notes.strip()
        meeting.status = "closed"
        meeting.closed_at = at or utcnow()
        session.flush()
        tx.audit(
            "review_meeting",
            meeting.id,
            "close",
            before=before,
            after=snapshot(meeting, MEETING_FIELDS),
        )
        return _meeting_out(session, meeting)


# --- the pack -----------------------------------------------------------------------------------


def build_pack(
    ctx: Context,
    week: str,
    *,
    area: str | None = None,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> ReviewPack:
    """The review pack of ``week``: every metric (of ``area`` and the plant-wide ones, or all
    when no area is given), grouped by SQDC letter.

    For each series of a metric (the whole source, and each line of a metric split by line):
    the values of the periods the week covers (its days for a day metric, the week, or the
    month holding the week's Thursday) and the week's value (the mean, or for p and u charts
    the pooled rate) against the target; the control-chart signals and the threshold
    crossings among those periods, judged over the whole history as the chart and the bands
    judge them. Then the metric's unfinished actions (overdue ones named by today's date in
    ``zone``), last week's decisions and this week's.
    """
    wk = parse_week(week)
    now = now or utcnow()
    today = to_local(now, zone).date()
    with ctx.read() as session:
        authorize(ctx.actor, Action.METRIC_READ)
        code = _area(session, area)
        meeting = _meeting_for(session, wk.key, code)
        last = _meeting_for(session, previous_period(wk).key, code)
        meeting_out = None if meeting is None else _meeting_out(session, meeting)
        last_out = None if last is None else _meeting_out(session, last)
        metrics = []
        for metric in session.scalars(
            select(Metric).where(Metric.archived.is_(False)).order_by(Metric.key)
        ):
            defn = store.current_definition(session, metric)
            if code and defn.area not in (None, code):
                continue
            metrics.append((metric, defn, _series(session, metric, defn, wk)))
    groups: dict[str, list[PackMetric]] = defaultdict(list)
    for metric, defn, (periods, series, chart_data) in metrics:
        unfinished = actions.list_actions(
            ctx,
            ActionFilters(
                link=ActionLink(kind="metric", ref=metric.key), status="unfinished", today=today
            ),
        )
        groups[defn.sqdc or "other"].append(
            PackMetric(
                key=metric.key,
                name=defn.name,
                unit=defn.unit,
                sqdc=defn.sqdc,
                area=defn.area,
                owner=defn.owner.role.value if defn.owner.role else str(defn.owner.user),
                direction=defn.direction,
                period=defn.period,
                chart=defn.chart,
                target=defn.target,
                periods=periods,
                series=series,
                open_actions=unfinished,
                overdue_actions=[a.id for a in unfinished if actions.is_overdue(a, today)],
                last_week_decisions=_about(last_out, metric.key),
                decisions=_about(meeting_out, metric.key),
                chart_data=chart_data,
            )
        )
    review_actions: list[ActionOut] = []
    if meeting_out is not None:
        review_actions = actions.list_actions(
            ctx,
            ActionFilters(link=ActionLink(kind="review", ref=review_ref(wk.key, code or None))),
        )
    return ReviewPack(
        week=wk.key,
        area=code or None,
        first_day=wk.first,
        last_day=wk.last,
        generated_at=now,
        today=today,
        groups=[
            PackGroup(sqdc=letter, title=title, metrics=groups[letter])
            for letter, title in SQDC
            if groups.get(letter)
        ],
        meeting=meeting_out,
        last_meeting=last_out,
        general_decisions=_about(meeting_out, None),
        last_week_general_decisions=_about(last_out, None),
        review_actions=review_actions,
    )


def week_periods(defn: MetricDefinition, week: Period) -> list[str]:
    """The period keys of ``defn``'s kind that the ISO ``week`` covers: its seven days, the
    week itself, or the month that holds its Thursday (ISO 8601 gives a week to the month,
    as to the year, of its Thursday). Shift metrics: the days (their shifts start on them)."""
    if defn.period == "week":
        return [week.key]
    if defn.period == "month":
        thursday = week.first + timedelta(days=3)
        return [f"{thursday.year:04d}-{thursday.month:02d}"]
    return [(week.first + timedelta(days=i)).isoformat() for i in range(7)]


def _series(
    session: Session, metric: Metric, defn: MetricDefinition, week: Period
) -> tuple[list[str], list[SeriesOut], ChartData | None]:
    periods = week_periods(defn, week)
    wanted = set(periods)

    def in_week(period: str) -> bool:
        return (period.split("/", 1)[0] if defn.period == "shift" else period) in wanted

    by_line: dict[str, list[MetricValue]] = defaultdict(list)
    for row in store.values(session, metric):
        by_line[row.line].append(row)
    out = []
    chart_data: ChartData | None = None
    most = -1
    for line in sorted(by_line):  # '' (the whole source) first
        rows = by_line[line]
        history = [PeriodValue(v.period, line or None, v.value, v.count, v.n) for v in rows]
        this_week = [v for v in history if in_week(v.period)]
        value = _week_value(defn.chart, this_week)
        limits = store.current_limits(session, metric, line)
        chart = None
        if limits is not None and limits.chart == defn.chart:
            chart = apply_limits(
                store.limits_of(limits), store.observations(rows, defn.chart), defn.rule_ids()
            )
        signals = [
            SignalOut(
                period=p.period, value=p.value, rules=list(p.signals), reasons=list(p.reasons)
            )
            for p in (chart.points if chart else ())
            if p.signals and in_week(p.period)
        ]
        crossed = [
            CrossingOut(
                period=c.period,
                value=c.value,
                level=c.level,
                above=c.band.above,
                below=c.band.below,
                decision=c.band.decision,
            )
            for c in crossings(defn, history)
            if in_week(c.period)
        ]
        out.append(
            SeriesOut(
                line=line or None,
                values=[
                    WeekValue(period=v.period, value=v.value, count=v.count, n=v.n)
                    for v in this_week
                ],
                value=value,
                on_target=_on_target(defn, value),
                limits=chart is not None,
                signals=signals,
                crossings=crossed,
            )
        )
        # The pack draws one chart per metric: the series with the most signals in the
        # week (a shift on one line shows on that line's chart), else the whole source.
        if chart is not None and len(signals) > most:
            most = len(signals)
            bands: list[tuple[str, float | None, float | None]] = [
                (str(b.level), b.above, b.below) for _, b in bands_for(defn, line or None)
            ]
            chart_data = (line, chart, bands)
    return periods, out, chart_data


def _week_value(chart: str, values: Sequence[PeriodValue]) -> float | None:
    """The week's value: the pooled rate (sum of counts over sum of sizes) for p and u charts,
    else the mean of the periods that have data."""
    measured = [v for v in values if v.value is not None]
    if not measured:
        return None
    if chart in ("p", "u"):
        n = sum(v.n or 0 for v in measured)
        if n > 0 and all(v.count is not None for v in measured):
            return sum(v.count or 0 for v in measured) / n
    return sum(v.value for v in measured if v.value is not None) / len(measured)


def _on_target(defn: MetricDefinition, value: float | None) -> bool | None:
    if defn.target is None or value is None:
        return None
    if defn.direction == "higher_is_better":
        return value >= defn.target
    return value <= defn.target


def _about(meeting: MeetingOut | None, key: str | None) -> list[DecisionOut]:
    if meeting is None:
        return []
    return [d for d in meeting.decisions if d.metric_key == key]


# --- shared -------------------------------------------------------------------------------------


def _area(session: Session, area: str | None) -> str:
    """The area code ('' for the plant); InvalidInput on ``area`` when no area has it."""
    code = (area or "").strip()
    if code and session.scalar(select(Area.id).where(Area.code == code).limit(1)) is None:
        raise InvalidInput.for_field("area", f"no area with code {code!r}")
    return code


def _meeting_for(session: Session, week: str, area: str) -> ReviewMeeting | None:
    return session.scalar(
        select(ReviewMeeting).where(ReviewMeeting.week == week, ReviewMeeting.area == area)
    )


def may_run(ctx: Context, area: str | None = None) -> bool:
    """Whether the actor may run the review of ``area`` (None: the plant's)."""
    with ctx.read() as session:
        try:
            _authorize_run(session, ctx.actor, (area or "").strip())
        except PermissionDenied:
            return False
        return True


def _authorize_run(session: Session, actor: Actor, area: str) -> None:
    """``review.run`` plant-wide, or, for an area's review, in an area with that code (a
    supervisor granted one area runs that area's review)."""
    if actor.can(Action.REVIEW_RUN):
        return
    if area:
        for area_id, site_id in session.execute(
            select(Area.id, Area.site_id).where(Area.code == area)
        ):
            if actor.can(Action.REVIEW_RUN, Scope(site_id=site_id, area_id=area_id)):
                return
    authorize(actor, Action.REVIEW_RUN)


def _open_for_change(
    session: Session, actor: Actor, meeting_id: int, version: int | None
) -> ReviewMeeting:
    """The open meeting, once the actor may run its review and ``version`` holds."""
    meeting = session.get(ReviewMeeting, meeting_id)
    if meeting is None:
        raise NotFound(f"no review meeting with id {meeting_id}")
    _authorize_run(session, actor, meeting.area)
    if version is not None and meeting.version != version:
        raise Conflict(f"review {meeting.week} is at version {meeting.version}, not {version}")
    if meeting.status != "open":
        raise Conflict(f"the review of {meeting.week} is closed")
    return meeting


def _username(session: Session, name: str, field: str, index: int | None = None) -> str:
    username = name.strip().lower()
    found = session.scalar(select(User.username).where(User.username == username))
    if found is None:
        loc: tuple[str | int, ...] = (field,) if index is None else (field, index)
        msg = f"no user named {name!r}"
        raise InvalidInput(f"{field}: {msg}", [FieldError(loc, msg, "unknown_user")])
    return found


def _metric_key(session: Session, key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    key = key.strip()
    if session.scalar(select(Metric.id).where(Metric.key == key)) is None:
        raise InvalidInput.for_field("metric_key", f"no metric {key!r}")
    return key


def _decision_out(d: ReviewDecision) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        metric_key=d.metric_key,
        text=d.text,
        decided_by=d.decided_by,
        created_at=d.created_at,
    )


def _meeting_out(session: Session, m: ReviewMeeting) -> MeetingOut:
    decisions = session.scalars(
        select(ReviewDecision).where(ReviewDecision.meeting_id == m.id).order_by(ReviewDecision.id)
    )
    return MeetingOut(
        id=m.id,
        week=m.week,
        area=m.area or None,
        held_at=m.held_at,
        chair=m.chair,
        attendees=[Attendee(**a) for a in m.attendees],
        notes=m.notes,
        status="closed" if m.status == "closed" else "open",
        created_by=m.created_by,
        created_at=m.created_at,
        closed_at=m.closed_at,
        version=m.version,
        decisions=[_decision_out(d) for d in decisions],
    )


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The plant's date now."""
    return to_local(now or utcnow(), zone).date()
