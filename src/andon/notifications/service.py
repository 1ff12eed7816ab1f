"""Use cases of the outbox: enqueue inside a caller's unit of work, deliver what is due."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.core.audit import jsonable
from andon.core.clock import utcnow
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import InvalidInput, NotFound
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.notifications.models import Channel, DeliveryAttempt, Notification, NotificationStatus
from andon.notifications.transport import DeliveryResult, NetworkTransport, Transport, is_web_url

FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
# A claimed notification is hidden from other workers this long. It must outlast the slowest
# send (an SMTP conversation is several round trips, each with its own timeout); if a worker
# dies mid-send, the notification is tried again once the lease runs out.
CLAIM_LEASE = timedelta(minutes=5)
INTERRUPTED = "no result recorded: the worker stopped during delivery"

_PENDING = NotificationStatus.PENDING.value
_SENT = NotificationStatus.SENT.value
_DEAD = NotificationStatus.DEAD.value


def next_retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed attempts before the next one.

    30 s after the first, doubling each time, never more than an hour:
    1 → 30 s, 2 → 60 s, 3 → 120 s, 4 → 240 s, 5 → 480 s, 6 → 960 s, 7 → 1920 s, 8+ → 3600 s.
    No jitter, so operators and tests can tell exactly when the next try happens.
    """
    if attempts < 1:
        raise ValueError("a retry follows at least one attempt")
    # Past 7 doublings the cap applies; stop there so 2**n stays small.
    return min(FIRST_RETRY_DELAY * (1 << min(attempts - 1, 7)), MAX_RETRY_DELAY)


@dataclass(frozen=True)
class Message:
    """One notification to queue: what ``enqueue`` takes, for ``enqueue_many``."""

    channel: Channel | str
    target: str
    subject: str
    body: str
    dedupe_key: str
    payload: Mapping[str, Any] | None = None
    urgent: bool = False
    not_before: datetime | None = None
    source_type: str | None = None
    source_id: str | int | None = None


def enqueue(
    session: Session,
    *,
    channel: Channel | str,
    target: str,
    subject: str,
    body: str,
    payload: Mapping[str, Any] | None = None,
    dedupe_key: str,
    urgent: bool = False,
    not_before: datetime | None = None,
    source_type: str | None = None,
    source_id: str | int | None = None,
) -> Notification:
    """Add a notification to the outbox inside the caller's transaction.

    It is sent only if the caller commits. Enqueueing a ``dedupe_key`` that is already in the
    outbox changes nothing and returns the existing notification, whatever its status, so a
    retried use case never notifies twice. ``not_before`` delays the first attempt. Line
    breaks in the subject are folded into spaces (a mail header holds one line) and it is
    cut at 300 characters.
    """
    notification = _prepare(
        Message(
            channel=channel,
            target=target,
            subject=subject,
            body=body,
            payload=payload,
            dedupe_key=dedupe_key,
            urgent=urgent,
            not_before=not_before,
            source_type=source_type,
            source_id=source_id,
        )
    )
    return _add_one(session, notification)


def _add_one(session: Session, notification: Notification) -> Notification:
    """Add a prepared notification unless its de-duplication key is already queued."""
    existing = _by_dedupe_key(session, notification.dedupe_key)
    if existing is not None:
        return existing
    try:
        # The savepoint keeps the caller's transaction usable if the insert collides.
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        # A concurrent transaction enqueued the same key between our look and our insert.
        existing = _by_dedupe_key(session, notification.dedupe_key)
        if existing is None:
            raise
        return existing
    return notification


def enqueue_many(session: Session, messages: Sequence[Message]) -> int:
    """``enqueue`` for several messages in two round trips; returns how many were new.

    Every message is checked before anything is added, so one bad target queues nothing.
    """
    prepared = [_prepare(m) for m in messages]
    if not prepared:
        return 0
    keys = [n.dedupe_key for n in prepared]
    known = set(
        session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys)))
    )
    fresh = list({n.dedupe_key: n for n in prepared if n.dedupe_key not in known}.values())
    if not fresh:
        return 0
    try:
        with session.begin_nested():
            session.add_all(fresh)
    except IntegrityError:
        # Raced by a concurrent transaction: fall back to one at a time, which settles it.
        # (The savepoint's rollback took the prepared rows out of the session: fresh ones.)
        for message in messages:
            _add_one(session, _prepare(message))
    return len(fresh)


def _prepare(message: Message) -> Notification:
    channel = _channel(message.channel)
    target = message.target.strip()
    _check_target(channel, target)
    dedupe_key = message.dedupe_key.strip()
    if not dedupe_key or len(dedupe_key) > 200:
        raise InvalidInput.for_field("dedupe_key", "must be 1 to 200 characters")
    not_before = message.not_before
    if not_before is not None and not_before.tzinfo is None:
        raise InvalidInput.for_field("not_before", "must be a timezone-aware instant")
    document = jsonable(dict(message.payload or {}))
    try:
        json.dumps(document)
    except (TypeError, ValueError):
        raise InvalidInput.for_field("payload", "must be a JSON object") from None
    source_id = message.source_id
    return Notification(
        channel=channel.value,
        target=target,
        subject=" ".join(message.subject.split())[:300],
        body=message.body,
        payload=document,
        dedupe_key=dedupe_key,
        urgent=message.urgent,
        status=_PENDING,
        attempts=0,
        next_attempt_at=not_before or utcnow(),
        source_type=message.source_type,
        source_id=None if source_id is None else str(source_id),
    )


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_due`` run did: notifications sent, put back for a retry, given up."""

    sent: int = 0
    retried: int = 0
    dead: int = 0


def deliver_due(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 100,
    transport: Transport | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` pending notifications whose time has come, urgent ones first.

    Each notification is claimed in a short transaction (a lease that hides it from other
    workers, plus an attempt record), sent with no database lock held, and the result
    recorded in a second short transaction: sent, retried after ``next_retry_delay``, or
    dead after ``settings.notify_max_attempts`` attempts or a permanent refusal. Several
    workers may run at once: PostgreSQL hands each row to one worker (FOR UPDATE SKIP
    LOCKED); SQLite serialises the claims with its write lock.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware instant")
    transport = transport or NetworkTransport(settings)
    if not _anything_due(db, now):
        # A read, so an idle worker polling SQLite never queues for the write lock.
        return DeliveryReport()
    max_attempts = settings.notify_max_attempts
    sent = retried = 0
    dead = _bury_interrupted(db, max_attempts, now)
    for _ in range(max(0, limit)):
        claim = _claim_next(db, max_attempts, now)
        if claim is None:
            break
        started = time.monotonic()
        try:
            result = _send(transport, claim)
        except Exception as exc:  # a faulty transport must not strand the claim
            result = DeliveryResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
        duration_ms = round((time.monotonic() - started) * 1000)
        status = _record(db, max_attempts, claim, result, duration_ms, now)
        if status == _SENT:
            sent += 1
        elif status == _DEAD:
            dead += 1
        else:
            retried += 1
    return DeliveryReport(sent=sent, retried=retried, dead=dead)


@dataclass(frozen=True)
class NotificationDetail:
    notification: Notification
    attempts: list[DeliveryAttempt]


def list_notifications(
    ctx: Context,
    *,
    status: NotificationStatus | str | None = None,
    channel: Channel | str | None = None,
    source_type: str | None = None,
    source_id: str | int | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[Notification]:
    """Notifications, newest first, optionally only one status, channel or source."""
    authorize(ctx.actor, Action.AUDIT_READ)
    before = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(Notification).order_by(Notification.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Notification.id < before)
    if status is not None:
        query = query.where(Notification.status == str(status))
    if channel is not None:
        query = query.where(Notification.channel == str(channel))
    if source_type is not None:
        query = query.where(Notification.source_type == source_type)
    if source_id is not None:
        query = query.where(Notification.source_id == str(source_id))
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def get_notification(ctx: Context, notification_id: int) -> NotificationDetail:
    """One notification and its delivery attempts, oldest attempt first."""
    authorize(ctx.actor, Action.AUDIT_READ)
    with ctx.read() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            raise NotFound(f"no notification with id {notification_id}")
        attempts = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == notification_id)
            .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id)
        ).all()
    return NotificationDetail(notification, list(attempts))


@dataclass(frozen=True)
class _Claim:
    """What a worker needs to send one claimed notification, detached from any session."""

    notification_id: int
    attempt_id: int
    lease_until: datetime
    channel: str
    target: str
    subject: str
    body: str
    payload: dict[str, Any]


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        choices = ", ".join(c.value for c in Channel)
        raise InvalidInput.for_field("channel", f"must be one of {choices}") from None


def _check_target(channel: Channel, target: str) -> None:
    if channel is Channel.WEBHOOK:
        if not is_web_url(target) or len(target) > 2000:
            raise InvalidInput.for_field("target", "must be an http:// or https:// URL")
        return
    local, _, domain = target.rpartition("@")
    if not local or not domain or len(target) > 254 or any(c.isspace() for c in target):
        raise InvalidInput.for_field("target", "must be one email address")


def _by_dedupe_key(session: Session, dedupe_key: str) -> Notification | None:
    return session.scalars(
        select(Notification).where(Notification.dedupe_key == dedupe_key)
    ).one_or_none()


def _anything_due(db: Database, now: datetime) -> bool:
    with db.read_session() as session:
        due = session.scalar(
            select(Notification.id)
            .where(Notification.status == _PENDING, Notification.next_attempt_at <= now)
            .limit(1)
        )
    return due is not None


def _bury_interrupted(db: Database, max_attempts: int, now: datetime) -> int:
    """Give up on notifications whose last allowed attempt never reported back."""
    with db.write_session() as session:
        result = session.execute(
            update(Notification)
            .where(
                Notification.status == _PENDING,
                Notification.attempts >= max_attempts,
                Notification.next_attempt_at <= now,
            )
            .values(status=_DEAD, last_error=INTERRUPTED)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _claim_next(db: Database, max_attempts: int, now: datetime) -> _Claim | None:
    """Lease the most pressing due notification and open its attempt record."""
    query = (
        select(Notification)
        .where(
            Notification.status == _PENDING,
            Notification.next_attempt_at <= now,
            Notification.attempts < max_attempts,
        )
        .order_by(Notification.urgent.desc(), Notification.next_attempt_at, Notification.id)
        .limit(1)
        # PostgreSQL: rows another worker is claiming are skipped, not waited for.
        # SQLite renders no FOR UPDATE; its BEGIN IMMEDIATE already serialises claims.
        .with_for_update(skip_locked=True)
    )
    with db.write_session() as session:
        notification = session.scalars(query).first()
        if notification is None:
            return None
        lease_until = now + CLAIM_LEASE
        notification.attempts += 1
        notification.next_attempt_at = lease_until
        # Written before the send, so an attempt cut short by a crash is still on record.
        attempt = DeliveryAttempt(
            notification_id=notification.id, attempted_at=now, ok=False, error=INTERRUPTED
        )
        session.add(attempt)
        session.flush()
        claim = _Claim(
            notification_id=notification.id,
            attempt_id=attempt.id,
            lease_until=lease_until,
            channel=notification.channel,
            target=notification.target,
            subject=notification.subject,
            body=notification.body,
            payload=dict(notification.payload),
        )
        session.commit()
    return claim


def _send(transport: Transport, claim: _Claim) -> DeliveryResult:
    delivery_id = str(claim.notification_id)
    if claim.channel == Channel.EMAIL:
        return transport.send_email(
            claim.target, claim.subject, claim.body, delivery_id=delivery_id
        )
    if claim.channel == Channel.WEBHOOK:
        return transport.post_webhook(claim.target, claim.payload, delivery_id=delivery_id)
    return DeliveryResult(False, error=f"unknown channel {claim.channel!r}", retryable=False)


def _record(
    db: Database,
    max_attempts: int,
    claim: _Claim,
    result: DeliveryResult,
    duration_ms: int,
    now: datetime,
) -> str:
    """Store the attempt's outcome; return the notification's status afterwards."""
    with db.write_session() as session:
        attempt = session.get_one(DeliveryAttempt, claim.attempt_id)
        attempt.ok = result.ok
        attempt.status_code = result.status_code
        attempt.error = None if result.ok else (result.error or "failed")
        attempt.duration_ms = duration_ms
        notification = session.get_one(Notification, claim.notification_id, with_for_update=True)
        # If the lease ran out mid-send another worker may own the row now; a success still
        # counts, but a failure must not reschedule what that worker is handling.
        ours = notification.status == _PENDING and notification.next_attempt_at == claim.lease_until
        if result.ok:
            if notification.status == _PENDING:
                notification.status = _SENT
                notification.sent_at = now
                notification.last_error = None
        elif ours:
            notification.last_error = attempt.error
            if not result.retryable or notification.attempts >= max_attempts:
                notification.status = _DEAD
            else:
                notification.next_attempt_at = now + next_retry_delay(notification.attempts)
        status = notification.status
        session.commit()
    return status
