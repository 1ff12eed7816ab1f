"""Who hears that a metric has no data, and what they read: the metric's owner (the user, or
everyone holding the owning role), once per stale episode. Queued in the notifications outbox
in the caller's transaction, de-duplicated by key, non-urgent (it waits out quiet hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import RoleGrant, User
from andon.calendars.hours import WorkingCalendar, always_open
from andon.calendars.service import working_calendar
from andon.core.permissions import PLANT_WIDE
from andon.metrics.definition import format_gap
from andon.metrics.models import Metric
from andon.plant.models import Site
from andon.work import recipients


def owner_ids(session: Session, metric: Metric) -> list[int]:
    """The active users who own the metric: its user, or everyone holding its role anywhere."""
    if metric.owner_kind == "user":
        query = select(User.id).where(User.username == metric.owner, User.active.is_(True))
    else:
        query = (
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == metric.owner, User.active.is_(True))
            .distinct()
        )
    return list(session.scalars(query.order_by(User.id)))


def no_data(
    session: Session,
    metric: Metric,
    line: str,
    latest: str | None,
    gap: timedelta,
    now: datetime,
) -> int:
    """Tell the owner that a series (``line``; '' the whole metric) has no data: its latest
    value is for period ``latest`` (``None``: it never had one) and older than ``gap``.
    Returns how many recipients were queued."""
    where = f" on line {line}" if line else ""
    since = (
        f"its latest value is for {latest}, more than {format_gap(gap)} ago"
        if latest is not None
        else f"it has had no value in the {format_gap(gap)} since it was defined"
    )
    body = (
        f"Metric {metric.key} ({metric.name}){where} has no data: {since}. "
        "No data is never a threshold breach, so nothing is judged until values arrive. "
        "Check its source (the plant's events, or the values entered by hand).\n"
        f"/metrics/{metric.key}\n"
    )
    who = recipients.resolve(session, scope=PLANT_WIDE, user_ids=owner_ids(session, metric))
    return recipients.notify(
        session,
        who,
        key=f"metric:{metric.key}:{line or '*'}:no_data:{latest or 'none'}:{now.date()}",
        subject=f"[Andon] No data for {metric.name}{where}",
        body=body,
        payload={
            "event": "metric_no_data",
            "metric": {"key": metric.key, "name": metric.name, "owner": metric.owner},
            "line": line or None,
            "latest_period": latest,
            "gap": format_gap(gap),
            "at": now.isoformat(),
        },
        urgent=False,
        calendar=_calendar(session, now),
        now=now,
        source_type="metric",
        source_id=metric.id,
    )


def _calendar(session: Session, now: datetime) -> WorkingCalendar:
    """The calendar whose quiet hours end last, of all sites (a metric's owner may work at
    any of them), as for actions."""
    ids = list(session.scalars(select(Site.id).order_by(Site.id)))
    if not ids:
        return always_open()
    calendars = [working_calendar(session, site_id) for site_id in ids]
    return max(calendars, key=lambda c: c.next_outside_quiet_hours(now))
