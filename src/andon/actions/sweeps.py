"""The actions' worker job: escalate each overdue action once.

Safe to repeat and to run in two workers at once, as the documents' sweeps are: an action is
claimed by setting ``escalated_at`` in one conditional UPDATE (``WHERE escalated_at IS
NULL``), and its notifications are queued in the same transaction with de-duplication keys.
A new due date clears ``escalated_at``, so the action escalates again once that date passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select, update

from andon.actions import notices
from andon.actions.models import ActionItem
from andon.actions.schemas import UNFINISHED
from andon.core.clock import to_local, utcnow
from andon.core.uow import AuditRecord, Context

BATCH = 200


@dataclass(frozen=True)
class ActionSweepReport:
    escalations: int = 0
    notifications: int = 0


def sweep_actions(ctx: Context, *, zone: tzinfo, now: datetime | None = None) -> ActionSweepReport:
    """Escalate unfinished actions due before today (in ``zone``, the plant's) not yet
    escalated for their due date."""
    now = now or utcnow()
    today = to_local(now, zone).date()
    escalated = sent = 0
    while True:
        with ctx.write() as tx:
            session = tx.session
            pick = (
                select(ActionItem.id)
                .where(
                    ActionItem.status.in_(UNFINISHED),
                    ActionItem.due_on < today,
                    ActionItem.escalated_at.is_(None),
                )
                .order_by(ActionItem.id)
                .limit(BATCH)
            )
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = sorted(
                session.execute(
                    update(ActionItem)
                    .where(ActionItem.id.in_(pick.scalar_subquery()))
                    .where(ActionItem.escalated_at.is_(None))
                    .values(escalated_at=now)
                    .returning(ActionItem.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
            )
            actions = list(
                session.scalars(
                    select(ActionItem).where(ActionItem.id.in_(ids)).order_by(ActionItem.id)
                )
            )
            for action in actions:
                sent += notices.overdue(session, action, now)
            tx.audit_many(
                [
                    AuditRecord("action", a.id, "escalate", after={"due_on": a.due_on.isoformat()})
                    for a in actions
                ]
            )
        escalated += len(ids)
        if len(ids) < BATCH:
            return ActionSweepReport(escalated, sent)
