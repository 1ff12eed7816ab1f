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
from andon.notifications.service import Message, enqueue_many


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
    """Addresses and webhooks to notify; the same question twice in one unit of work (a
    sweep firing many tiers) is answered once."""
    roles, usernames, emails, webhooks, user_ids = (
        tuple(roles),
        tuple(usernames),
        tuple(emails),
        tuple(webhooks),
        tuple(user_ids),
    )
    memo: dict[tuple[Any, ...], Recipients] = session.info.setdefault(_RESOLVED, {})
    key = (scope, roles, usernames, emails, webhooks, user_ids)
    if key not in memo:
        memo[key] = _resolve(session, scope, roles, usernames, emails, webhooks, user_ids)
    return memo[key]


_RESOLVED = "andon.recipients.resolved"


def _resolve(
    session: Session,
    scope: Scope,
    roles: Iterable[Role | str],
    usernames: Iterable[str],
    emails: Iterable[str],
    webhooks: Iterable[str],
    user_ids: Iterable[int],
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
    outbox: list[Message] | None = None,
) -> int:
    """Queue one notification per recipient; non-urgent ones wait out quiet hours.

    Returns how many recipients there were (a key already queued is not queued again).
    ``outbox``: collect the messages there instead, for the caller to queue many at once.
    """
    not_before = now if urgent else calendar.next_outside_quiet_hours(now)
    targets = [("email", address) for address in recipients.emails] + [
        ("webhook", url) for url in recipients.webhooks
    ]
    messages = [
        Message(
            channel=channel,
            target=target,
            subject=subject,
            body=body,
            payload=payload,
            dedupe_key=f"{key}:{channel}:{target}"[:200],
            urgent=urgent,
            not_before=not_before,
            source_type=source_type,
            source_id=source_id,
        )
        for channel, target in targets
    ]
    if outbox is not None:
        outbox.extend(messages)
    else:
        enqueue_many(session, messages)
    return len(targets)
