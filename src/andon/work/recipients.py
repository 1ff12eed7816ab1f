"""Who a notification goes to: roles covering a place, named users, addresses, webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from andon.accounts.models import RoleGrant, User
from andon.calendars.hours import WorkingCalendar
from andon.core.permissions import Role, Scope
from andon.notifications.service import enqueue


@dataclass(frozen=True)
class Recipients:
    emails: tuple[str, ...]
    webhooks: tuple[str, ...]


def users_with_roles(session: Session, roles: Iterable[Role | str], scope: Scope) -> list[User]:
    """Active users holding one of ``roles`` plant-wide or for the place ``scope`` names."""
    names = [str(r) for r in roles]
    if not names:
        return []
    query = (
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role.in_(names), User.active.is_(True))
        .where(or_(RoleGrant.site_id.is_(None), RoleGrant.site_id == scope.site_id))
        .where(or_(RoleGrant.area_id.is_(None), RoleGrant.area_id == scope.area_id))
        .distinct()
        .order_by(User.id)
    )
    return list(session.scalars(query))


def resolve(
    session: Session,
    *,
    scope: Scope,
    roles: Iterable[Role | str] = (),
    usernames: Iterable[str] = (),
    emails: Iterable[str] = (),
    webhooks: Iterable[str] = (),
    user_ids: Iterable[int] = (),
) -> Recipients:
    people = users_with_roles(session, roles, scope)
    names = list(usernames)
    if names:
        people += list(session.scalars(select(User).where(User.username.in_(names))))
    ids = list(user_ids)
    if ids:
        people += list(session.scalars(select(User).where(User.id.in_(ids))))
    addresses = {u.email for u in people if u.email and u.active} | set(emails)
    return Recipients(tuple(sorted(addresses)), tuple(dict.fromkeys(webhooks)))


def notify(
    session: Session,
    recipients: Recipients,
    *,
    key: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    urgent: bool,
    calendar: WorkingCalendar,
    now: datetime,
    source_type: str,
    source_id: int,
) -> int:
    """Queue one notification per recipient; non-urgent ones wait out quiet hours."""
    not_before = now if urgent else calendar.next_outside_quiet_hours(now)
    count = 0
    for address in recipients.emails:
        enqueue(
            session,
            channel="email",
            target=address,
            subject=subject,
            body=body,
            payload=payload,
            dedupe_key=f"{key}:email:{address}"[:200],
            urgent=urgent,
            not_before=not_before,
            source_type=source_type,
            source_id=source_id,
        )
        count += 1
    for url in recipients.webhooks:
        enqueue(
            session,
            channel="webhook",
            target=url,
            subject=subject,
            body=body,
            payload=payload,
            dedupe_key=f"{key}:webhook:{url}"[:200],
            urgent=urgent,
            not_before=not_before,
            source_type=source_type,
            source_id=source_id,
        )
        count += 1
    return count
