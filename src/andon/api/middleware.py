"""ASGI middleware: request ids, a body size limit, and security headers."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


# Pages load only their own scripts, stylesheets and images: nothing inline, nothing from
# another host, no plugins, no framing, forms post only here. A response that sets its own
# policy keeps it (attachments are sandboxed further).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_CSP = b"content-security-policy"
_CSP_HEADER = (_CSP, CONTENT_SECURITY_POLICY.encode())


class RequestContextMiddleware:
    """Gives each request an id (kept from X-Request-ID when sane) and sets response headers.

    The application wraps its whole stack in it (outside Starlette's error middleware), so the
    headers are on every response: pages, API, static files, 404s and 500s alike.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
                break
        text = incoming.decode("latin-1")
        request_id = text if _SAFE_ID.match(text) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == _CSP for name, _ in headers):
                    headers.append(_CSP_HEADER)
                headers.append(id_header)
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            detail = "NUL characters are not allowed in URLs"
            await send_problem(send_with_headers, scope, 400, "Bad request", detail)
            return
        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class RouteLimit:
    """A larger (or smaller) body limit for one method and path pattern, e.g. file uploads."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    setting: str


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, max_bytes: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = tuple(routes)

    def _limit(self, scope: Scope) -> tuple[int, str]:
        for route in self.routes:
            if scope.get("method") == route.method and route.path.match(scope.get("path", "")):
                return route.max_bytes, route.setting
        return self.max_bytes, "ANDON_MAX_BODY_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self._limit(scope)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, limit, setting)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, send, limit, setting)

    async def _refuse(self, scope: Scope, send: Send, limit: int, setting: str) -> None:
        detail = f"the body exceeds {limit} bytes ({setting})"
        await send_problem(send, scope, 413, "Request body too large", detail)


async def send_problem(send: Send, scope: Scope, status: int, title: str, detail: str) -> None:
    """A problem+json response sent before the application has seen the request."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


# A BaseException so FastAPI's body parsing (`except Exception`) cannot turn it into a 400.
class _TooLarge(BaseException):
    pass
