"""The notification outbox delivers through a real SMTP server and HTTP receiver, once each."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session as SASession

from andon.core.clock import utcnow
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import InvalidInput
from andon.core.uow import Context
from andon.notifications import service as notifications
from andon.notifications.models import DeliveryAttempt, Notification
from andon.notifications.service import CLAIM_LEASE, INTERRUPTED, DeliveryReport, next_retry_delay
from andon.notifications.transport import NetworkTransport, verify_signature

SECRET = "webhook-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses ``nobody@`` addresses."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """A webhook endpoint: answers with ``statuses`` in turn, then 200, and keeps each request."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ReceiverServer(ThreadingHTTPServer):
    receiver: Receiver


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signed = verify_signature(
            SECRET,
            self.headers.get("X-Andon-Timestamp", ""),
            body,
            self.headers.get("X-Andon-Signature"),
        )
        receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append(Received(dict(self.headers), body, signed))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        answer = b"boom" if status >= 400 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _ReceiverServer(("127.0.0.1", 0), _ReceiverHandler)
    server.receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/andon")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def notify_settings(settings: Settings, mailbox: tuple[Mailbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox[1],
            "smtp_from": "andon@plant.example",
            "smtp_timeout_seconds": 5.0,
            "webhook_secret": SecretStr(SECRET),
            "webhook_timeout_seconds": 5.0,
        }
    )


def enqueue(system: Context, **fields: Any) -> int:
    """Enqueue the way a domain does: inside its own unit of work."""
    values: dict[str, Any] = {"subject": "Line 3 stopped", "body": "Stopped at 10:42.", **fields}
    values.setdefault("dedupe_key", f"test:{values['target']}")
    with system.write() as tx:
        return notifications.enqueue(tx.session, **values).id


def enqueue_webhook(system: Context, url: str, **fields: Any) -> int:
    payload = {"event": "line.stopped", "line": "L3"}
    return enqueue(system, channel="webhook", target=url, payload=payload, **fields)


def attempts_of(system: Context, notification_id: int) -> list[DeliveryAttempt]:
    return notifications.get_notification(system, notification_id).attempts


def status_of(system: Context, notification_id: int) -> str:
    return notifications.get_notification(system, notification_id).notification.status


def test_email_reaches_the_mail_server_and_is_marked_sent(
    system: Context, db: Database, notify_settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    note_id = enqueue(system, channel="email", target="supervisor@plant.example")

    report = notifications.deliver_due(db, notify_settings)

    assert report == DeliveryReport(sent=1)
    assert box.recipients == [["supervisor@plant.example"]]
    message = box.messages[0]
    assert message["Subject"] == "Line 3 stopped"
    assert message["To"] == "supervisor@plant.example"
    assert message["From"] == "andon@plant.example"
    assert message["Message-ID"] == f"<andon-notification-{note_id}@plant.example>"
    assert message["Date"]
    assert message.get_content().strip() == "Stopped at 10:42."
    detail = notifications.get_notification(system, note_id)
    assert detail.notification.status == "sent"
    assert detail.notification.sent_at is not None
    assert [(a.ok, a.status_code, a.error) for a in detail.attempts] == [(True, 250, None)]


def test_refused_recipient_is_dead_at_once_with_the_smtp_code(
    system: Context, db: Database, notify_settings: Settings
) -> None:
    note_id = enqueue(system, channel="email", target="nobody@plant.example")

    report = notifications.deliver_due(db, notify_settings)

    assert report == DeliveryReport(dead=1)
    (attempt,) = attempts_of(system, note_id)
    assert attempt.status_code == 550
    assert attempt.error is not None
    assert "no such mailbox" in attempt.error
    assert status_of(system, note_id) == "dead"


def test_webhook_is_retried_after_back_off_until_the_receiver_accepts(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500]
    note_id = enqueue_webhook(system, receiver.url)
    first = utcnow()
    second = first + next_retry_delay(1)
    third = second + next_retry_delay(2)

    reports = [notifications.deliver_due(db, notify_settings, now=first)]
    early = notifications.deliver_due(db, notify_settings, now=second - timedelta(seconds=1))
    reports.append(notifications.deliver_due(db, notify_settings, now=second))
    reports.append(notifications.deliver_due(db, notify_settings, now=third))

    assert early == DeliveryReport()
    assert reports == [DeliveryReport(retried=1), DeliveryReport(retried=1), DeliveryReport(sent=1)]
    assert status_of(system, note_id) == "sent"
    attempts = attempts_of(system, note_id)
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500), (False, 500), (True, 200)]
    assert attempts[0].error == "HTTP 500: boom"
    assert [a.attempted_at for a in attempts] == [first, second, third]
    assert len(receiver.requests) == 3
    assert all(r.signature_ok for r in receiver.requests)
    assert {r.headers["X-Andon-Delivery"] for r in receiver.requests} == {str(note_id)}
    assert json.loads(receiver.requests[0].body) == {"event": "line.stopped", "line": "L3"}
    assert receiver.requests[0].headers["Content-Type"] == "application/json"


def test_tampered_webhook_body_fails_verification(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    enqueue_webhook(system, receiver.url)
    notifications.deliver_due(db, notify_settings)
    (request,) = receiver.requests
    timestamp, signature = (
        request.headers["X-Andon-Timestamp"],
        request.headers["X-Andon-Signature"],
    )

    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, request.body, signature)
    assert not verify_signature(SECRET, timestamp, request.body + b" ", signature)
    assert not verify_signature("another-secret", timestamp, request.body, signature)
    stale = int(timestamp) + 301
    assert not verify_signature(SECRET, timestamp, request.body, signature, now=stale)


def test_webhook_is_unsigned_when_no_secret_is_configured(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    unsigned = notify_settings.model_copy(update={"webhook_secret": None})
    enqueue_webhook(system, receiver.url)

    assert notifications.deliver_due(db, unsigned) == DeliveryReport(sent=1)
    (request,) = receiver.requests
    assert "X-Andon-Signature" not in request.headers
    assert "X-Andon-Timestamp" in request.headers


def test_enqueueing_the_same_key_twice_sends_once(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    first = enqueue_webhook(system, receiver.url, dedupe_key="work_item:42:stopped")
    second = enqueue_webhook(system, receiver.url, dedupe_key="work_item:42:stopped")

    reports = [notifications.deliver_due(db, notify_settings) for _ in range(2)]

    assert first == second
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert reports == [DeliveryReport(sent=1), DeliveryReport()]
    assert len(receiver.requests) == 1


def email_to(session: SASession, target: str, dedupe_key: str) -> Notification:
    return notifications.enqueue(
        session, channel="email", target=target, subject="s", body="", dedupe_key=dedupe_key
    )


def test_a_colliding_insert_returns_the_existing_row_and_keeps_the_transaction(
    system: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = enqueue(system, channel="email", target="a@plant.example", dedupe_key="k")
    # The look-up misses once, as if another transaction committed the key just after it.
    real_lookup = notifications._by_dedupe_key
    lookups: list[str] = []

    def lookup_missing_once(session: SASession, key: str) -> Notification | None:
        lookups.append(key)
        return None if len(lookups) == 1 else real_lookup(session, key)

    monkeypatch.setattr(notifications, "_by_dedupe_key", lookup_missing_once)

    with system.write() as tx:
        again_id = email_to(tx.session, "a@plant.example", "k").id
        other_id = email_to(tx.session, "b@plant.example", "k2").id

    assert lookups == ["k", "k", "k2"]  # miss, collide, find; then the other key
    assert again_id == first
    page = notifications.list_notifications(system)
    assert sorted(n.id for n in page.items) == sorted([first, other_id])


def test_enqueue_in_a_failed_unit_of_work_leaves_nothing(system: Context) -> None:
    def use_case_failing_after_enqueue() -> None:
        with system.write() as tx:
            email_to(tx.session, "a@plant.example", "k")
            raise RuntimeError("the use case failed after enqueueing")

    with pytest.raises(RuntimeError):
        use_case_failing_after_enqueue()

    assert notifications.list_notifications(system).items == []


def test_unreachable_receiver_is_dead_after_the_last_attempt(
    system: Context, db: Database, notify_settings: Settings
) -> None:
    limited = notify_settings.model_copy(update={"notify_max_attempts": 2})
    note_id = enqueue_webhook(system, f"http://127.0.0.1:{free_port()}/closed")
    first = utcnow()

    reports = [
        notifications.deliver_due(db, limited, now=first),
        notifications.deliver_due(db, limited, now=first + next_retry_delay(1)),
        notifications.deliver_due(db, limited, now=first + timedelta(days=1)),
    ]

    assert reports == [DeliveryReport(retried=1), DeliveryReport(dead=1), DeliveryReport()]
    detail = notifications.get_notification(system, note_id)
    assert detail.notification.status == "dead"
    assert detail.notification.attempts == 2
    assert [(a.ok, a.status_code) for a in detail.attempts] == [(False, None), (False, None)]
    assert all("refused" in (a.error or "").lower() for a in detail.attempts)
    assert detail.notification.last_error == detail.attempts[-1].error


def test_a_notification_not_yet_due_is_not_sent(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    now = utcnow()
    note_id = enqueue_webhook(system, receiver.url, not_before=now + timedelta(hours=1))

    early = notifications.deliver_due(db, notify_settings, now=now)
    on_time = notifications.deliver_due(db, notify_settings, now=now + timedelta(hours=1))

    assert early == DeliveryReport()
    assert on_time == DeliveryReport(sent=1)
    assert [a.attempted_at for a in attempts_of(system, note_id)] == [now + timedelta(hours=1)]


def test_urgent_notifications_go_first(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    routine = enqueue_webhook(system, receiver.url, dedupe_key="routine")
    urgent = enqueue_webhook(system, receiver.url, dedupe_key="urgent", urgent=True)

    notifications.deliver_due(db, notify_settings, limit=1)

    assert [r.headers["X-Andon-Delivery"] for r in receiver.requests] == [str(urgent)]
    assert status_of(system, routine) == "pending"


class _Crash(BaseException):
    """Stands in for the worker process dying mid-send."""


class _CrashingTransport(NetworkTransport):
    def post_webhook(self, url: str, payload: Any, *, delivery_id: str | None = None) -> Any:
        raise _Crash


def test_a_send_cut_short_is_recorded_and_retried_after_the_lease(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    note_id = enqueue_webhook(system, receiver.url)
    now = utcnow()
    with pytest.raises(_Crash):
        notifications.deliver_due(
            db, notify_settings, now=now, transport=_CrashingTransport(notify_settings)
        )

    during_lease = notifications.deliver_due(db, notify_settings, now=now + timedelta(seconds=59))
    after_lease = notifications.deliver_due(db, notify_settings, now=now + CLAIM_LEASE)

    assert during_lease == DeliveryReport()
    assert after_lease == DeliveryReport(sent=1)
    assert len(receiver.requests) == 1
    attempts = attempts_of(system, note_id)
    assert [(a.ok, a.error, a.duration_ms) for a in attempts[:1]] == [(False, INTERRUPTED, None)]
    assert [a.ok for a in attempts] == [False, True]


def test_a_last_attempt_cut_short_makes_the_notification_dead(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    single = notify_settings.model_copy(update={"notify_max_attempts": 1})
    note_id = enqueue_webhook(system, receiver.url)
    now = utcnow()
    with pytest.raises(_Crash):
        notifications.deliver_due(db, single, now=now, transport=_CrashingTransport(single))

    report = notifications.deliver_due(db, single, now=now + CLAIM_LEASE)

    assert report == DeliveryReport(dead=1)
    assert receiver.requests == []
    detail = notifications.get_notification(system, note_id)
    assert (detail.notification.status, detail.notification.last_error) == ("dead", INTERRUPTED)


def test_concurrent_workers_send_each_notification_once(
    system: Context, db: Database, notify_settings: Settings, receiver: Receiver
) -> None:
    ids = [enqueue_webhook(system, receiver.url, dedupe_key=f"n{n}") for n in range(12)]

    def work(_: int) -> DeliveryReport:
        return notifications.deliver_due(db, notify_settings, limit=100)

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(work, range(4)))

    assert sum(r.sent for r in reports) == 12
    delivered = sorted(int(r.headers["X-Andon-Delivery"]) for r in receiver.requests)
    assert delivered == sorted(ids)


def test_list_filters_by_source_and_status(system: Context, db: Database) -> None:
    mine = enqueue(
        system,
        channel="email",
        target="qa@plant.example",
        source_type="work_item",
        source_id=42,
    )
    enqueue(
        system, channel="email", target="ops@plant.example", source_type="work_item", source_id=7
    )

    page = notifications.list_notifications(system, source_type="work_item", source_id="42")
    pending = notifications.list_notifications(system, status="pending", limit=1)

    assert [n.id for n in page.items] == [mine]
    assert len(pending.items) == 1
    assert pending.next_cursor is not None
    rest = notifications.list_notifications(system, status="pending", cursor=pending.next_cursor)
    assert len(rest.items) == 1


@pytest.mark.parametrize(
    ("channel", "target"),
    [("webhook", "ftp://plant.example/hook"), ("email", "not an address"), ("sms", "+15550100")],
)
def test_unusable_targets_are_refused_at_enqueue(
    system: Context, channel: str, target: str
) -> None:
    with pytest.raises(InvalidInput), system.write() as tx:
        notifications.enqueue(
            tx.session, channel=channel, target=target, subject="s", body="", dedupe_key="k"
        )


def test_payload_values_are_stored_as_plain_json(system: Context) -> None:
    stopped_at = datetime(2026, 3, 1, 10, 42, tzinfo=utcnow().tzinfo)
    note_id = enqueue(
        system,
        channel="webhook",
        target="https://hooks.plant.example/andon",
        payload={"stopped_at": stopped_at},
    )

    notification = notifications.get_notification(system, note_id).notification

    assert notification.payload == {"stopped_at": "2026-03-01T10:42:00+00:00"}
