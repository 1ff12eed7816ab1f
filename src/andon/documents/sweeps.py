"""The documents' background jobs, run by the worker each cycle: revisions taking effect,
periodic-review and training reminders and escalations, tasks for people new to a role.

Each job is safe to repeat and to run in two workers at once: a reminder or escalation is
claimed by setting its ``*_reminded_at`` / ``*_escalated_at`` in one conditional UPDATE
(``WHERE ... IS NULL``), its notifications are queued in the same transaction with
de-duplication keys, so each is sent once. Notifications go through the same recipients and
outbox as work-item escalations: e-mail to people, webhooks, non-urgent, so they wait out the
quiet hours of the sites the document (or person) belongs to.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from andon.accounts.models import RoleGrant, User
from andon.calendars.hours import WorkingCalendar, always_open
from andon.calendars.service import working_calendar
from andon.core.clock import utcnow
from andon.core.permissions import PLANT_WIDE, Scope
from andon.core.uow import AuditRecord, Context
from andon.documents import assignments, service
from andon.documents.lifecycle import Status
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.documents.rules import DocumentRules
from andon.plant.models import Area, Line, Site
from andon.work import recipients
from andon.work.recipients import Recipients

BATCH = 200
_EFFECTIVE = Status.EFFECTIVE.value


@dataclass(frozen=True)
class DocumentSweepReport:
    """What one pass of the document jobs did."""

    took_effect: int = 0
    newcomer_tasks: int = 0
    review_reminders: int = 0
    review_escalations: int = 0
    training_reminders: int = 0
    training_escalations: int = 0
    notifications: int = 0
    held: tuple[str, ...] = ()
    """Approved revisions due that did not take effect, each with why (a change with safety
    impact whose risk has unfinished mitigations)."""


def sweep_documents(
    ctx: Context, *, rules: DocumentRules, now: datetime | None = None
) -> DocumentSweepReport:
    """Every document job once, in the order their effects feed each other: a revision that
    takes effect assigns tasks, newcomers get theirs, then reminders and escalations."""
    now = now or utcnow()
    took = service.take_effect_due(ctx, rules=rules, now=now)
    newcomers = assign_newcomers(ctx, rules=rules, now=now)
    review_reminders, review_escalations, review_sent = sweep_reviews(ctx, rules=rules, now=now)
    training_reminders, training_escalations, training_sent = sweep_training(
        ctx, rules=rules, now=now
    )
    return DocumentSweepReport(
        took_effect=sum(1 for o in took if o.waiting is None),
        newcomer_tasks=newcomers,
        review_reminders=review_reminders,
        review_escalations=review_escalations,
        training_reminders=training_reminders,
        training_escalations=training_escalations,
        notifications=review_sent + training_sent,
        held=tuple(f"{o.number}: {o.waiting}" for o in took if o.waiting is not None),
    )


# --- newcomers ---------------------------------------------------------------------------


def assign_newcomers(ctx: Context, *, rules: DocumentRules, now: datetime | None = None) -> int:
    """Tasks, for every effective revision, for the people who took up a training role where
    it applies after it took effect. Returns how many were created."""
    now = now or utcnow()
    with ctx.read() as session:
        # Read first, write only where someone is missing: most cycles find nobody new, and
        # a read per revision is far cheaper than a write transaction per revision.
        effective = [
            revision
            for revision, document in session.execute(
                select(DocumentRevision, Document)
                .join(Document, Document.id == DocumentRevision.document_id)
                .where(DocumentRevision.status == _EFFECTIVE, Document.status == _EFFECTIVE)
                .order_by(DocumentRevision.id)
            )
            if assignments.find_newcomers(session, document, revision, rules)
        ]
    created = 0
    for found in effective:
        with ctx.write() as tx:
            revision = tx.session.get_one(DocumentRevision, found.id)
            document = tx.session.get_one(Document, revision.document_id)
            try:
                # A savepoint: a worker beside this one may create the same task first.
                with tx.session.begin_nested():
                    added = assignments.assign_newcomers(tx.session, document, revision, rules, now)
            except IntegrityError:
                continue
            if added:
                tx.audit(
                    "document_revision",
                    revision.id,
                    "assign_newcomers",
                    after={"number": document.number, "training_tasks": added},
                )
            created += added
    return created


# --- periodic review ---------------------------------------------------------------------


def sweep_reviews(
    ctx: Context, *, rules: DocumentRules, now: datetime | None = None
) -> tuple[int, int, int]:
    """Remind owners of reviews due within ``rules.review_reminder_days`` (once per review
    date), escalate reviews whose date has passed (once). Returns reminders, escalations and
    notifications queued."""
    now = now or utcnow()
    today = rules.today(now)
    horizon = today + timedelta(days=rules.review_reminder_days)
    reminders, sent_reminders = _review_pass(
        ctx,
        rules,
        now,
        flag=Document.review_reminded_at,
        where=[Document.next_review_on >= today, Document.next_review_on <= horizon],
        escalate=False,
    )
    escalations, sent_escalations = _review_pass(
        ctx,
        rules,
        now,
        flag=Document.review_escalated_at,
        where=[Document.next_review_on < today],
        escalate=True,
    )
    return reminders, escalations, sent_reminders + sent_escalations


def _review_pass(
    ctx: Context,
    rules: DocumentRules,
    now: datetime,
    *,
    flag: InstrumentedAttribute[datetime | None],
    where: Sequence[ColumnElement[bool]],
    escalate: bool,
) -> tuple[int, int]:
    claimed = sent = 0
    while True:
        with ctx.write() as tx:
            session = tx.session
            ids = _claim(
                session,
                update(Document),
                Document.id,
                flag,
                [Document.status == _EFFECTIVE, *where],
                now,
            )
            documents = list(
                session.scalars(select(Document).where(Document.id.in_(ids)).order_by(Document.id))
            )
            for document in documents:
                sent += _notify_review(session, document, rules, now, escalate=escalate)
            tx.audit_many(
                [
                    AuditRecord(
                        "document",
                        d.id,
                        "review_escalate" if escalate else "review_remind",
                        after={"number": d.number, "next_review_on": _iso(d.next_review_on)},
                    )
                    for d in documents
                ]
            )
        claimed += len(ids)
        if len(ids) < BATCH:
            return claimed, sent


def _notify_review(
    session: Session, document: Document, rules: DocumentRules, now: datetime, *, escalate: bool
) -> int:
    scope, site_ids = _place(session, document)
    due = _iso(document.next_review_on)
    who = recipients.resolve(
        session,
        scope=scope,
        user_ids=[document.owner_id],
        roles=sorted(rules.review_escalation_roles) if escalate else (),
        webhooks=rules.escalation_webhooks if escalate else (),
    )
    owner = session.get_one(User, document.owner_id)
    if escalate:
        subject = f"[Andon] Periodic review overdue: {document.number} {document.title}"
        body = (
            f"The periodic review of {document.number} '{document.title}' was due on {due} "
            f"and has not been done. Its owner is {owner.display_name} ({owner.username}).\n"
            f"Confirm the revision in force or start a change: /documents/{document.number}\n"
        )
    else:
        subject = f"[Andon] Periodic review due {due}: {document.number} {document.title}"
        body = (
            f"{document.number} '{document.title}' is due for its periodic review on {due}. "
            f"Confirm the revision in force or start a change: /documents/{document.number}\n"
        )
    kind = "review_escalation" if escalate else "review_reminder"
    return recipients.notify(
        session,
        who,
        key=f"document:{document.id}:{kind}:{due}",
        subject=subject,
        body=body,
        payload={
            "event": kind,
            "document": {
                "number": document.number,
                "title": document.title,
                "owner": owner.username,
                "next_review_on": due,
                "effective_revision": document.effective_revision,
            },
            "at": now.isoformat(),
        },
        urgent=False,
        calendar=_calendar(session, site_ids, now, rules),
        now=now,
        source_type="document",
        source_id=document.id,
    )


# --- training ----------------------------------------------------------------------------


def sweep_training(
    ctx: Context, *, rules: DocumentRules, now: datetime | None = None
) -> tuple[int, int, int]:
    """Remind people of tasks due within ``rules.training_reminder_days`` (once per task) and
    escalate tasks past their due date to the person and the supervisors where they work
    (once per task). One message per person per pass lists all their tasks. Returns tasks
    reminded, tasks escalated and notifications queued."""
    now = now or utcnow()
    today = rules.today(now)
    horizon = today + timedelta(days=rules.training_reminder_days)
    reminded, sent_reminders = _training_pass(
        ctx,
        rules,
        now,
        flag=TrainingAssignment.reminded_at,
        where=[TrainingAssignment.due_on >= today, TrainingAssignment.due_on <= horizon],
        escalate=False,
    )
    escalated, sent_escalations = _training_pass(
        ctx,
        rules,
        now,
        flag=TrainingAssignment.escalated_at,
        where=[TrainingAssignment.due_on < today],
        escalate=True,
    )
    return reminded, escalated, sent_reminders + sent_escalations


@dataclass(frozen=True)
class _Task:
    id: int
    user_id: int
    number: str
    title: str
    revision: int
    due_on: date
    site_id: int | None


def _training_pass(
    ctx: Context,
    rules: DocumentRules,
    now: datetime,
    *,
    flag: InstrumentedAttribute[datetime | None],
    where: Sequence[ColumnElement[bool]],
    escalate: bool,
) -> tuple[int, int]:
    claimed = sent = 0
    while True:
        with ctx.write() as tx:
            session = tx.session
            ids = _claim(
                session,
                update(TrainingAssignment),
                TrainingAssignment.id,
                flag,
                [TrainingAssignment.status == assignments.DUE, *where],
                now,
            )
            tasks = _tasks(session, ids)
            by_person: dict[int, list[_Task]] = defaultdict(list)
            for task in tasks:
                by_person[task.user_id].append(task)
            for user_id, theirs in sorted(by_person.items()):
                sent += _notify_training(session, user_id, theirs, rules, now, escalate=escalate)
            tx.audit_many(
                [
                    AuditRecord(
                        "training_assignment",
                        t.id,
                        "escalate" if escalate else "remind",
                        after={"user_id": t.user_id, "number": t.number, "due_on": _iso(t.due_on)},
                    )
                    for t in tasks
                ]
            )
        claimed += len(ids)
        if len(ids) < BATCH:
            return claimed, sent


def _tasks(session: Session, ids: Iterable[int]) -> list[_Task]:
    rows = session.execute(
        select(
            TrainingAssignment.id,
            TrainingAssignment.user_id,
            Document.number,
            Document.title,
            DocumentRevision.number,
            TrainingAssignment.due_on,
            Document.site_id,
        )
        .join(Document, Document.id == TrainingAssignment.document_id)
        .join(DocumentRevision, DocumentRevision.id == TrainingAssignment.revision_id)
        .where(TrainingAssignment.id.in_(list(ids)))
        .order_by(TrainingAssignment.due_on, TrainingAssignment.id)
    )
    return [_Task(*row) for row in rows]


def _notify_training(
    session: Session,
    user_id: int,
    tasks: list[_Task],
    rules: DocumentRules,
    now: datetime,
    *,
    escalate: bool,
) -> int:
    person = session.get_one(User, user_id)
    places = _work_scopes(session, user_id, rules)
    # A reminder goes to the person alone, so where it is looked up does not matter.
    scopes = places if escalate else [PLANT_WIDE]
    who = _union(
        recipients.resolve(
            session,
            scope=scope,
            user_ids=[user_id],
            roles=sorted(rules.training_escalation_roles) if escalate else (),
            webhooks=rules.escalation_webhooks if escalate else (),
        )
        for scope in scopes
    )
    site_ids = {s.site_id for s in places if s.site_id}
    task_sites = {t.site_id for t in tasks if t.site_id}
    lines = "\n".join(
        f"- {t.number} rev {t.revision} '{t.title}', due {_iso(t.due_on)}: "
        f"/documents/{t.number}/acknowledge"
        for t in tasks
    )
    if escalate:
        subject = (
            f"[Andon] Training overdue: {person.display_name} has {len(tasks)} "
            f"document{'s' if len(tasks) > 1 else ''} to acknowledge"
        )
        body = (
            f"{person.display_name} ({person.username}) has not read and acknowledged "
            f"these documents by their due date:\n{lines}\n"
        )
    else:
        subject = (
            f"[Andon] Reminder: {len(tasks)} document{'s' if len(tasks) > 1 else ''} "
            "to read and acknowledge"
        )
        body = f"Please read and acknowledge before the due date:\n{lines}\n"
    kind = "training_escalation" if escalate else "training_reminder"
    # The tasks claimed together name the message: a retried pass queues nothing new.
    digest = hashlib.sha256(",".join(str(t.id) for t in tasks).encode()).hexdigest()[:16]
    payload: dict[str, Any] = {
        "event": kind,
        "user": person.username,
        "tasks": [
            {"number": t.number, "revision": t.revision, "due_on": _iso(t.due_on)} for t in tasks
        ],
        "at": now.isoformat(),
    }
    return recipients.notify(
        session,
        who,
        key=f"training:{user_id}:{kind}:{digest}",
        subject=subject,
        body=body,
        payload=payload,
        urgent=False,
        calendar=_calendar(session, site_ids or task_sites, now, rules),
        now=now,
        source_type="user",
        source_id=user_id,
    )


def _work_scopes(session: Session, user_id: int, rules: DocumentRules) -> list[Scope]:
    """The places where the person holds a training role: whose supervisors hear of it."""
    rows = session.execute(
        select(RoleGrant.site_id, RoleGrant.area_id, Area.site_id)
        .outerjoin(Area, Area.id == RoleGrant.area_id)
        .where(RoleGrant.user_id == user_id, RoleGrant.role.in_(sorted(rules.training_roles)))
    )
    scopes = {Scope(site_id=site or area_site, area_id=area) for site, area, area_site in rows}
    return sorted(scopes, key=lambda s: (s.site_id or 0, s.area_id or 0)) or [PLANT_WIDE]


def _union(found: Iterable[Recipients]) -> Recipients:
    emails: set[str] = set()
    webhooks: dict[str, None] = {}
    for r in found:
        emails.update(r.emails)
        webhooks.update(dict.fromkeys(r.webhooks))
    return Recipients(tuple(sorted(emails)), tuple(webhooks))


# --- shared ------------------------------------------------------------------------------


def _claim(
    session: Session,
    statement: Update,
    key: InstrumentedAttribute[int],
    flag: InstrumentedAttribute[datetime | None],
    where: Sequence[ColumnElement[bool]],
    now: datetime,
) -> list[int]:
    """Set ``flag`` to ``now`` on up to ``BATCH`` rows matching ``where`` where it is unset,
    in one statement; return their ids. A row another worker claimed first is not returned:
    on PostgreSQL it is skipped while locked and fails ``flag IS NULL`` once committed."""
    pick = select(key).where(*where, flag.is_(None)).order_by(key).limit(BATCH)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    rows = session.execute(
        statement.where(key.in_(pick.scalar_subquery()), flag.is_(None))
        .values({flag: now})
        .returning(key)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows.scalars())


def _place(session: Session, document: Document) -> tuple[Scope, set[int]]:
    """Where the document applies: the scope its escalation roles are looked up in, and the
    sites whose quiet hours its notifications respect (none: every site)."""
    if document.line_id is not None:
        query = select(Area.site_id, Area.id).join(Line, Line.area_id == Area.id)
        query = query.where(Line.id == document.line_id)
    elif document.area_code is not None:
        query = select(Area.site_id, Area.id).where(Area.code == document.area_code)
        if document.site_id is not None:
            query = query.where(Area.site_id == document.site_id)
    elif document.site_id is not None:
        return Scope(site_id=document.site_id), {document.site_id}
    else:
        return PLANT_WIDE, set()
    places: set[tuple[int, int]] = {(site, area) for site, area in session.execute(query)}
    sites = {site for site, _ in places}
    if len(places) == 1:
        ((site, area),) = places
        return Scope(site_id=site, area_id=area), sites
    if len(sites) == 1:
        return Scope(site_id=next(iter(sites))), sites
    return PLANT_WIDE, sites


def _calendar(
    session: Session, site_ids: set[int], now: datetime, rules: DocumentRules
) -> WorkingCalendar:
    """The calendar whose quiet hours end last, of the given sites (none: all of them), so a
    notification about several sites waits until it is quiet at none of them."""
    ids = sorted(site_ids) or list(session.scalars(select(Site.id).order_by(Site.id)))
    if not ids:
        return always_open(str(rules.zone))
    calendars = [working_calendar(session, site_id) for site_id in ids]
    return max(calendars, key=lambda c: c.next_outside_quiet_hours(now))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
