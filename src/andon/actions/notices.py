"""Who hears about an action, and what they read: its owner on assignment, the owner, its
creator and the operations managers when it is overdue. Queued in the notifications outbox
in the caller's transaction, de-duplicated by key, non-urgent (they wait out quiet hours)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import RoleGrant, User
from andon.actions.models import ActionItem
from andon.calendars.hours import WorkingCalendar, always_open
from andon.calendars.service import working_calendar
from andon.core.permissions import PLANT_WIDE, Role
from andon.plant.models import Site
from andon.work import recipients

# Besides the owner and whoever opened it, an overdue action goes to these roles.
ESCALATION_ROLES: tuple[Role, ...] = (Role.OPS_MANAGER,)


def owner_ids(session: Session, action: ActionItem) -> list[int]:
    """The active users who own the action: its user, or everyone holding its role anywhere."""
    if action.owner_user_id is not None:
        return [action.owner_user_id]
    return list(
        session.scalars(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == action.owner_role, User.active.is_(True))
            .distinct()
            .order_by(User.id)
        )
    )


def owner_text(session: Session, action: ActionItem) -> str:
    if action.owner_user_id is not None:
        return session.get_one(User, action.owner_user_id).username
    return f"role {action.owner_role}"


def assigned(session: Session, action: ActionItem, now: datetime) -> int:
    """Tell the owner an action is theirs; returns how many recipients were queued."""
    who = recipients.resolve(session, scope=PLANT_WIDE, user_ids=owner_ids(session, action))
    body = (
        f"Action #{action.id} '{action.title}' is yours ({owner_text(session, action)}), "
        f"priority {action.priority}, due {action.due_on.isoformat()}.\n"
        f"{action.description}\n/actions/{action.id}\n"
    )
    key = f"action:{action.id}:assigned:{action.version}"
    subject = f"[Andon] Action for you, due {action.due_on.isoformat()}: {action.title}"
    return _notify(session, action, who, "action_assigned", key, subject, body, now)


def overdue(session: Session, action: ActionItem, now: datetime) -> int:
    """Escalate an overdue action to its owner, its creator and the escalation roles."""
    due = action.due_on.isoformat()
    who = recipients.resolve(
        session,
        scope=PLANT_WIDE,
        user_ids=owner_ids(session, action),
        usernames=[action.created_by],
        roles=ESCALATION_ROLES,
    )
    body = (
        f"Action #{action.id} '{action.title}' was due on {due} and is still "
        f"{action.status.replace('_', ' ')}. Its owner is {owner_text(session, action)}; "
        f"it was opened by {action.created_by}.\nClose it or agree a new date: "
        f"/actions/{action.id}\n"
    )
    key = f"action:{action.id}:overdue:{due}"
    subject = f"[Andon] Action overdue since {due}: {action.title}"
    return _notify(session, action, who, "action_overdue", key, subject, body, now)


def _notify(
    session: Session,
    action: ActionItem,
    who: recipients.Recipients,
    event: str,
    key: str,
    subject: str,
    body: str,
    now: datetime,
) -> int:
    """Queue one notice about ``action`` to ``who``: not urgent, so quiet hours hold it."""
    return recipients.notify(
        session,
        who,
        key=key,
        subject=subject,
        body=body,
        payload=_payload(event, session, action, now),
        urgent=False,
        calendar=_calendar(session, now),
        now=now,
        source_type="action",
        source_id=action.id,
    )


def _payload(event: str, session: Session, action: ActionItem, now: datetime) -> dict[str, object]:
    return {
        "event": event,
        "action": {
            "id": action.id,
            "title": action.title,
            "owner": owner_text(session, action),
            "due_on": action.due_on.isoformat(),
            "priority": action.priority,
            "status": action.status,
        },
        "at": now.isoformat(),
    }


def _calendar(session: Session, now: datetime) -> WorkingCalendar:
    """The calendar whose quiet hours end last, of all sites: an action belongs to no one
    site, so its notice waits until it is quiet at none of them."""
    ids = list(session.scalars(select(Site.id).order_by(Site.id)))
    if not ids:
        return always_open()
    calendars = [working_calendar(session, site_id) for site_id in ids]
    return max(calendars, key=lambda c: c.next_outside_quiet_hours(now))
