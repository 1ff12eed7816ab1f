"""The SLA and escalation sweep: mark breaches, fire due tiers. Safe to run again at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.core.uow import AuditRecord, Context
from andon.notifications.service import Message, enqueue_many
from andon.processes.models import Process
from andon.work.escalations import SweepReport, fire
from andon.work.loading import load_many
from andon.work.models import Escalation, WorkEvent, WorkItem

BATCH = 200


def sweep_slas(ctx: Context, *, now: datetime | None = None) -> SweepReport:
    """Record breaches of open items and fire every escalation tier that is due.

    Breaches are found with index scans on the cached due times (``status, *_due_at``), so
    the cost grows with the number of items that breach, not with the number open.
    """
    now = now or utcnow()
    with ctx.write() as tx:
        stage_breaches = _mark(tx.session, now, stage=True)
        process_breaches = _mark(tx.session, now, stage=False)
    fired = notifications = 0
    while True:
        with ctx.write() as tx:
            due = _due_escalations(tx.session, now)
            # A batch in few round trips: its items read at once, its notifications queued
            # at once, its audit entries appended after the changes they record.
            items = load_many(tx.session, {e.item_id for e in due})
            outbox: list[Message] = []
            done: list[Escalation] = []
            fired_up_to: dict[int, int] = {}
            for escalation in due:
                if escalation.tier <= fired_up_to.get(escalation.item_id, 0):
                    # This tier of the item already fired in this batch by another route
                    # (SLA or re-escalation): it notifies once, and is dropped below.
                    continue
                loaded = items[escalation.item_id]
                if loaded.item.status != "open":
                    escalation.status = "cancelled"
                    continue
                notifications += fire(
                    tx.session,
                    loaded,
                    escalation,
                    now=now,
                    resource=ctx.actor.username,
                    outbox=outbox,
                )
                done.append(escalation)
                fired_up_to[escalation.item_id] = escalation.tier
            _drop_reached(tx.session, fired_up_to)
            enqueue_many(tx.session, outbox)
            tx.audit_many(
                [
                    AuditRecord(
                        "escalation",
                        escalation.id,
                        "fire",
                        after={
                            "item_id": escalation.item_id,
                            "tier": escalation.tier,
                            "basis": escalation.basis,
                        },
                    )
                    for escalation in done
                ]
            )
            fired += len(done)
        if len(due) < BATCH:
            break
    return SweepReport(stage_breaches, process_breaches, fired, notifications)


def _drop_reached(session: Session, fired_up_to: dict[int, int]) -> None:
    """Drop each item's pending tiers up to the highest that fired for it, in one statement."""
    if not fired_up_to:
        return
    session.execute(
        delete(Escalation)
        .where(
            Escalation.status == "pending",
            or_(
                *(
                    and_(Escalation.item_id == item_id, Escalation.tier <= tier)
                    for item_id, tier in fired_up_to.items()
                )
            ),
        )
        # Nothing dropped here is touched again in this unit of work.
        .execution_options(synchronize_session=False)
    )


def _due_escalations(session: Session, now: datetime) -> list[Escalation]:
    query = (
        select(Escalation)
        .where(Escalation.status == "pending", Escalation.due_at <= now)
        .order_by(Escalation.due_at, Escalation.id)
        .limit(BATCH)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _mark(session: Session, now: datetime, *, stage: bool) -> int:
    due = WorkItem.stage_due_at if stage else WorkItem.due_at
    flag = WorkItem.stage_breached_at if stage else WorkItem.breached_at
    rows = session.execute(
        update(WorkItem)
        .where(and_(WorkItem.status == "open", due <= now, flag.is_(None)))
        .values({flag: due})
        .returning(WorkItem.id, WorkItem.stage, WorkItem.process_id, due)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return 0
    keys = dict(session.execute(select(Process.id, Process.key)).all())
    session.execute(
        insert(WorkEvent),
        [
            {
                "case_id": item_id,
                "process_key": keys.get(process_id, ""),
                "activity": stage_key,
                "lifecycle": "breach",
                "kind": "stage_breached" if stage else "breached",
                "timestamp": due_at,
                "resource": "andon",
                "attributes": {
                    "stage": stage_key,
                    "due_at": due_at.isoformat() if due_at else None,
                },
            }
            for item_id, stage_key, process_id, due_at in rows
        ],
    )
    return len(rows)
