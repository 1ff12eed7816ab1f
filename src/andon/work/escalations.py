"""Escalation of work items: pending tiers kept current, fired by the sweep, acknowledged.

Pending SLA tiers are recomputed from scratch on every change of an item, so they never go
stale; tiers that fired are history and stay. Firing and queuing its notifications happen in
one transaction, and every notification has a de-duplication key, so a sweep that is retried
or a worker that restarts never notifies twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput, NotFound
from andon.core.permissions import Action, authorize
from andon.core.queued import insert_rows
from andon.core.uow import Context, Transaction
from andon.notifications.service import Message
from andon.plant.models import Area, Line
from andon.processes.sla import Pause, read_clock
from andon.processes.spec import Severity, Tier
from andon.work import recipients
from andon.work.clocks import item_pauses, refresh_clocks
from andon.work.events import append_event
from andon.work.loading import Loaded, load
from andon.work.models import Escalation, PlantException, WorkItem, WorkPause
from andon.work.schemas import EscalationSend

SLA_BASES = ("stage", "process")
_ESCALATIONS = cast(Table, Escalation.__table__)
# On the table, built once: the move path runs one of these per change, and no pending tier
# is ever loaded as an object that would need to learn it was deleted.
_DROP_PENDING = delete(_ESCALATIONS).where(
    _ESCALATIONS.c.item_id == bindparam("item_id"), _ESCALATIONS.c.status == "pending"
)
_DROP_SLA_PENDING = _DROP_PENDING.where(_ESCALATIONS.c.basis.in_(SLA_BASES))


def recompute(
    session: Session,
    loaded: Loaded,
    pauses: list[WorkPause],
    now: datetime,
    *,
    new: bool = False,
) -> None:
    """Replace the item's pending SLA tiers with ones computed from its state now (for a
    ``new`` item, one just created, there are none to replace)."""
    item, spec = loaded.item, loaded.spec
    policy = spec.escalation
    active = policy.active and loaded.escalation_active
    if not new:
        session.execute(
            _DROP_SLA_PENDING if item.status == "open" and active else _DROP_PENDING,
            {"item_id": item.id},
        )
    if item.status != "open" or not active or not policy.tiers:
        return
    stage = spec.stage(item.stage)
    stage_target = item.stage_sla_seconds or stage.sla
    if stage_target is not None:
        basis, target, started_at = "stage", stage_target, item.stage_entered_at
        relevant = [p for p in pauses if p.stage == item.stage and p.start_at >= started_at]
    elif spec.sla is not None:
        basis, target, started_at = "process", spec.sla, item.created_at
        relevant = pauses
    else:
        target, relevant = 0, []
        basis, started_at = "process", item.created_at
    clock_pauses = [Pause(p.start_at, p.end_at) for p in relevant]
    highest = (
        _highest_fired(session, item, since=started_at if basis == "stage" else None)
        if loaded.ever_escalated
        else 0
    )
    rows: list[dict[str, object]] = []
    for number, tier in enumerate(policy.tiers, start=1):
        if number <= highest:
            continue
        seconds = _tier_seconds(tier, target)
        if seconds is None:
            continue
        reading = read_clock(
            loaded.calendar,
            target_seconds=seconds,
            started_at=started_at,
            pauses=clock_pauses,
            now=now,
        )
        due = reading.breached_at if reading.breached else reading.due_at
        rows.append(
            {
                "item_id": item.id,
                "tier": number,
                "tier_name": tier.name,
                "basis": basis,
                "stage": item.stage,
                "due_at": due,
                "status": "pending",
                "urgent": False,
                "created_at": now,
                "reason": _why(tier, basis, stage.name),
            }
        )
    if rows:
        # Straight to the table: pending tiers are replaced, never updated, through the ORM.
        insert_rows(session, _ESCALATIONS, rows)


def _tier_seconds(tier: Tier, target: int) -> float | None:
    if tier.at.share is not None:
        return tier.at.share * target if target else None
    return float(tier.at.after) if tier.at.after is not None else None


def _why(tier: Tier, basis: str, stage_name: str) -> str:
    where = f"the {stage_name} stage SLA" if basis == "stage" else "the end-to-end SLA"
    if tier.at.share is not None:
        return f"{tier.at.share * 100:g}% of {where} used"
    return f"{tier.at.after} s of business time against {where}"


def _highest_fired(session: Session, item: WorkItem, *, since: datetime | None) -> int:
    query = select(Escalation.tier).where(
        Escalation.item_id == item.id,
        Escalation.status.in_(("fired", "acknowledged")),
        Escalation.basis.in_((*SLA_BASES, "reescalation")),
    )
    if since is not None:
        query = query.where(Escalation.stage == item.stage, Escalation.fired_at >= since)
    return max(session.scalars(query), default=0)


def fire(
    session: Session,
    loaded: Loaded,
    escalation: Escalation,
    *,
    now: datetime,
    resource: str,
    outbox: list[Message] | None = None,
) -> int:
    """Fire one tier: mark it, queue its notifications, schedule re-escalation if unanswered.

    ``outbox``: collect the notifications there for the caller to queue (a sweep, in bulk);
    the caller then also drops the item's pending tiers up to this one.
    """
    item, spec = loaded.item, loaded.spec
    policy = spec.escalation
    tier = policy.tiers[escalation.tier - 1]
    loaded.ever_escalated = True
    escalation.status = "fired"
    escalation.fired_at = now
    if outbox is None:
        # A tier reached by two routes (SLA and re-escalation) notifies once. (A batch drops
        # them itself, once for all its items: see sweep_slas.)
        session.execute(
            delete(Escalation).where(
                Escalation.item_id == item.id,
                Escalation.status == "pending",
                Escalation.tier <= escalation.tier,
                Escalation.id != escalation.id,
            )
        )
    if tier.ack_within is not None and escalation.tier < len(policy.tiers):
        # None: the calendar holds no such stretch of working time; nothing to schedule.
        reescalate_at = loaded.calendar.reach_business_seconds(now, tier.ack_within)
        if reescalate_at is not None:
            nxt = policy.tiers[escalation.tier]
            session.add(
                Escalation(
                    item_id=item.id,
                    exception_id=escalation.exception_id,
                    tier=escalation.tier + 1,
                    tier_name=nxt.name,
                    basis="reescalation",
                    stage=item.stage,
                    due_at=reescalate_at,
                    urgent=escalation.urgent,
                    created_at=now,
                    reason=f"{tier.name} did not acknowledge within {tier.ack_within // 60} min",
                )
            )
    stage_name = spec.stage(item.stage).name
    subject = (
        f"[Andon] {tier.name}: work item #{item.id} {item.title or ''} "
        f"at {stage_name} on line {loaded.line.code}"
    ).replace("  ", " ")
    body = (
        f"Escalated to {tier.name} (tier {escalation.tier}): {escalation.reason}.\n"
        f"Work item #{item.id} '{item.title}' is at {stage_name} on line {loaded.line.code}, "
        f"priority {item.priority}.\nAcknowledge it in Andon: /work/{item.id}\n"
    )
    payload = {
        "event": "escalation",
        "escalation_id": escalation.id,
        "tier": escalation.tier,
        "tier_name": tier.name,
        "basis": escalation.basis,
        "reason": escalation.reason,
        "urgent": escalation.urgent,
        "work_item": {
            "id": item.id,
            "title": item.title,
            "stage": item.stage,
            "line": loaded.line.code,
            "priority": item.priority,
        },
        "fired_at": now.isoformat(),
    }
    who = recipients.resolve(
        session,
        scope=loaded.scope,
        roles=tier.notify.roles,
        usernames=tier.notify.users,
        emails=tier.notify.emails,
        webhooks=tier.notify.webhooks,
    )
    sent = recipients.notify(
        session,
        who,
        key=f"escalation:{escalation.id}",
        subject=subject,
        body=body,
        payload=payload,
        urgent=escalation.urgent,
        calendar=loaded.calendar,
        now=now,
        source_type="work_item",
        source_id=item.id,
        outbox=outbox,
    )
    append_event(
        session,
        item,
        kind="escalated",
        activity=stage_name,
        at=now,
        resource=resource,
        process_key=spec.key,
        lifecycle="escalate",
        tier=escalation.tier,
        tier_name=tier.name,
        basis=escalation.basis,
        escalation_id=escalation.id,
    )
    return sent


def escalate_exception(
    tx: Transaction, loaded: Loaded, exception: PlantException, now: datetime
) -> Escalation | None:
    """An exception of a severity a tier lists under ``immediate_for`` fires that tier now."""
    policy = loaded.spec.escalation
    if not policy.active or not loaded.escalation_active or loaded.item.status == "done":
        return None
    severity = Severity(exception.severity)
    for number, tier in enumerate(policy.tiers, start=1):
        if severity in tier.immediate_for:
            escalation = Escalation(
                item_id=loaded.item.id,
                exception_id=exception.id,
                tier=number,
                tier_name=tier.name,
                basis="exception",
                stage=loaded.item.stage,
                due_at=now,
                urgent=severity in policy.urgent,
                created_at=now,
                reason=f"{severity.value} {exception.category} exception raised",
            )
            tx.session.add(escalation)
            tx.session.flush()
            fire(tx.session, loaded, escalation, now=now, resource=tx.actor.username)
            tx.audit(
                "escalation",
                escalation.id,
                "fire",
                after={"item_id": loaded.item.id, "tier": number, "basis": "exception"},
            )
            return escalation
    return None


def send_to_tier(
    ctx: Context, item_id: int, data: EscalationSend, *, at: datetime | None = None
) -> Escalation:
    """A supervisor sends an item straight to a chosen tier, with a reason."""
    now = at or utcnow()
    with ctx.write() as tx:
        loaded = load(tx.session, item_id, lock=True)
        authorize(ctx.actor, Action.ESCALATION_SEND, loaded.scope)
        tiers = loaded.spec.escalation.tiers
        if data.tier > len(tiers):
            raise InvalidInput.for_field(
                "tier", f"{loaded.spec.name} has {len(tiers)} escalation tiers"
            )
        if loaded.item.status == "done":
            raise Conflict(f"work item {item_id} is finished; there is nothing to escalate")
        tier = tiers[data.tier - 1]
        severity_urgent = loaded.item.priority == "urgent"
        escalation = Escalation(
            item_id=item_id,
            tier=data.tier,
            tier_name=tier.name,
            basis="manual",
            stage=loaded.item.stage,
            due_at=now,
            urgent=severity_urgent,
            created_at=now,
            reason=f"sent by {ctx.actor.username}: {data.reason}",
        )
        tx.session.add(escalation)
        tx.session.flush()
        fire(tx.session, loaded, escalation, now=now, resource=ctx.actor.username)
        tx.audit(
            "escalation",
            escalation.id,
            "send",
            after={"item_id": item_id, "tier": data.tier},
            reason=data.reason,
        )
        return escalation


def acknowledge(
    ctx: Context, escalation_id: int, *, note: str | None = None, at: datetime | None = None
) -> Escalation:
    """Acknowledge a fired tier: its pending re-escalation to the next tier is dropped."""
    now = at or utcnow()
    with ctx.write() as tx:
        escalation = tx.session.get(Escalation, escalation_id)
        if escalation is None:
            raise NotFound(f"no escalation with id {escalation_id}")
        loaded = load(tx.session, escalation.item_id)
        authorize(ctx.actor, Action.ESCALATION_ACK, loaded.scope)
        if escalation.status != "fired":
            raise Conflict(f"escalation {escalation_id} is {escalation.status}, not fired")
        escalation.status = "acknowledged"
        escalation.acknowledged_at = now
        escalation.acknowledged_by = ctx.actor.username
        tx.session.execute(
            delete(Escalation).where(
                Escalation.item_id == escalation.item_id,
                Escalation.status == "pending",
                Escalation.basis == "reescalation",
                Escalation.tier == escalation.tier + 1,
            )
        )
        append_event(
            tx.session,
            loaded.item,
            kind="acknowledged",
            activity=loaded.spec.stage(loaded.item.stage).name,
            at=now,
            resource=ctx.actor.username,
            process_key=loaded.spec.key,
            lifecycle="acknowledge",
            tier=escalation.tier,
            escalation_id=escalation.id,
            note=note,
        )
        tx.audit(
            "escalation",
            escalation.id,
            "acknowledge",
            before={"status": "fired"},
            after={"status": "acknowledged"},
            reason=note,
        )
        return escalation


def refresh_open_items(
    session: Session,
    *,
    site_id: int | None = None,
    process_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Recompute cached clocks and pending escalations of every open or paused item.

    Called when something every item's clock depends on changes: a site's calendar, a
    process's escalation switch. Returns how many items were refreshed.
    """
    now = now or utcnow()
    query = select(WorkItem.id).where(WorkItem.status.in_(("open", "paused")))
    if process_id is not None:
        query = query.where(WorkItem.process_id == process_id)
    if site_id is not None:
        query = (
            query.join(Line, Line.id == WorkItem.line_id)
            .join(Area, Area.id == Line.area_id)
            .where(Area.site_id == site_id)
        )
    ids = list(session.scalars(query))
    for item_id in ids:
        loaded = load(session, item_id)
        pauses = item_pauses(session, item_id)
        refresh_clocks(loaded.item, loaded.spec, loaded.calendar, pauses, now)
        recompute(session, loaded, pauses, now)
    return len(ids)


@dataclass(frozen=True)
class SweepReport:
    stage_breaches: int
    process_breaches: int
    fired: int
    notifications: int


def list_escalations(ctx: Context, item_id: int) -> list[Escalation]:
    with ctx.read() as session:
        authorize(ctx.actor, Action.WORK_READ, load(session, item_id).scope)
        return list(
            session.scalars(
                select(Escalation)
                .where(Escalation.item_id == item_id)
                .order_by(Escalation.created_at, Escalation.id)
            )
        )


def set_escalation_active(
    ctx: Context, process_key: str, active: bool, *, reason: str, at: datetime | None = None
) -> int:
    """Switch a process's escalation on or off; every open item's pending tiers follow at once.

    Returns how many open items were recomputed.
    """
    from andon.processes.service import find_process

    now = at or utcnow()
    with ctx.write() as tx:
        authorize(ctx.actor, Action.PROCESS_MANAGE)
        process = find_process(tx.session, process_key)
        if process.escalation_active == active:
            return 0
        process.escalation_active = active
        tx.session.flush()
        count = refresh_open_items(tx.session, process_id=process.id, now=now)
        tx.audit(
            "process",
            process.id,
            "escalation_on" if active else "escalation_off",
            before={"escalation_active": not active},
            after={"escalation_active": active, "items_recomputed": count},
            reason=reason,
        )
        return count
