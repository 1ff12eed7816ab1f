"""How notifications leave the building: SMTP mail and HMAC-signed JSON webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from andon.core.config import Settings

SIGNATURE_PREFIX = "sha256="
USER_AGENT = "andon-notifications"
# How much of a refusing server's answer is kept in the attempt record.
_ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one send.

    ``status_code`` is the HTTP status or SMTP reply code when the other side answered;
    ``retryable`` is False when trying again cannot help (a refused address, a bad URL).
    """

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = True


class Transport(Protocol):
    """What the outbox worker sends through; tests may pass their own."""

    def send_email(
        self, to: str, subject: str, body: str, *, delivery_id: str | None = None
    ) -> DeliveryResult: ...

    def post_webhook(
        self, url: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
    ) -> DeliveryResult: ...


def webhook_body(payload: Mapping[str, Any]) -> str:
    """The exact text posted (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(secret: str, timestamp: str | int, body: str | bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>.<body>"``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    message = str(timestamp).encode("ascii") + b"." + raw
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: str | bytes,
    header: str | None,
    *,
    max_age_seconds: float | None = 300,
    now: float | None = None,
) -> bool:
    """True if ``header`` is the signature of this timestamp and body under ``secret``.

    For receivers. The comparison takes constant time. A timestamp further than
    ``max_age_seconds`` from ``now`` (Unix seconds, default: the clock) is refused so a
    captured request cannot be replayed later; pass ``max_age_seconds=None`` to skip that.
    """
    if not header:
        return False
    try:
        sent_at = int(str(timestamp))
    except ValueError:
        return False
    if max_age_seconds is not None:
        current = time.time() if now is None else now
        if abs(current - sent_at) > max_age_seconds:
            return False
    return hmac.compare_digest(sign(secret, sent_at, body).encode(), header.strip().encode())


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


class NetworkTransport:
    """Sends mail through the configured SMTP server and posts webhooks with httpx."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send_email(
        self, to: str, subject: str, body: str, *, delivery_id: str | None = None
    ) -> DeliveryResult:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        domain = s.smtp_from.rpartition("@")[2] or "localhost"
        # A stable Message-ID per notification lets mail systems drop a repeated delivery.
        message["Message-ID"] = (
            f"<andon-notification-{delivery_id}@{domain}>"
            if delivery_id
            else make_msgid("andon", domain=domain)
        )
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(body)
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            try:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                    smtp.login(s.smtp_username, password)
                smtp.send_message(message)
            finally:
                _hang_up(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            return _smtp_refusal(code, reason)
        except smtplib.SMTPResponseException as exc:
            return _smtp_refusal(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(False, error=_describe(exc, s.smtp_timeout_seconds))
        # smtplib raises unless the server accepted the message with 250.
        return DeliveryResult(True, status_code=250)

    def post_webhook(
        self, url: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
    ) -> DeliveryResult:
        if not is_web_url(url):
            return DeliveryResult(False, error="not an http(s) URL", retryable=False)
        body = webhook_body(payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Andon-Timestamp": timestamp,
        }
        if delivery_id:
            headers["X-Andon-Delivery"] = delivery_id
        if self.settings.webhook_secret is not None:
            secret = self.settings.webhook_secret.get_secret_value()
            headers["X-Andon-Signature"] = sign(secret, timestamp, body)
        timeout = self.settings.webhook_timeout_seconds
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                response = client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryResult(False, error=_describe(exc, timeout))
        if response.is_success:
            return DeliveryResult(True, status_code=response.status_code)
        answer = response.text.strip()[:_ERROR_TEXT_LIMIT]
        error = f"HTTP {response.status_code}" + (f": {answer}" if answer else "")
        return DeliveryResult(False, status_code=response.status_code, error=error)


def _hang_up(smtp: smtplib.SMTP) -> None:
    # Once the message is accepted, a failed QUIT must not turn the delivery into a failure
    # (that would send it again); smtplib's context manager raises on a non-221 QUIT.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _smtp_refusal(code: int, reason: bytes | str) -> DeliveryResult:
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason
    # RFC 5321: 5xx replies are permanent, 4xx are "try again later".
    return DeliveryResult(
        False,
        status_code=code,
        error=f"SMTP {code}: {text}"[:_ERROR_TEXT_LIMIT],
        retryable=not 500 <= code < 600,
    )


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    detail = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"[:_ERROR_TEXT_LIMIT]
