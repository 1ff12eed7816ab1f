"""One-shot messages carried across a redirect in a signed cookie."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "andon_flash"
_SALT = "andon.web.flash"
KINDS = frozenset({"ok", "error", "info"})


@dataclass(frozen=True)
class Flash:
    kind: str
    text: str


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret_key, salt=_SALT)


def put(request: Request, response: Response, text: str, kind: str = "ok") -> None:
    """Show ``text`` on the next page this browser renders."""
    payload = {"kind": kind if kind in KINDS else "info", "text": text[:500]}
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(payload),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def redirect(request: Request, url: str, text: str) -> Response:
    """See Other to ``url``, showing ``text`` there: where a form that worked leads."""
    response = RedirectResponse(url, status_code=303)
    put(request, response, text)
    return response


def read(request: Request) -> Flash | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        payload = _signer(request).loads(raw)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    return Flash(str(payload.get("kind", "info")), str(payload.get("text", "")))


def clear(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")
