"""Double-submit CSRF protection: a signed token in a cookie, the same token in every form."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from andon.core.errors import PermissionDenied

COOKIE = "andon_csrf"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SALT = "andon.web.csrf"


class CsrfRefused(PermissionDenied):
    """A form came without the token its page was given; nothing it asked for is done."""

    title = "Form refused"


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret_key, salt=_SALT)


def _from_cookie(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token = _signer(request).loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) and token else None


def token_for(request: Request) -> str:
    """The token to put in this page's forms; a new one is issued when the cookie has none."""
    issued: str | None = getattr(request.state, "csrf_issued", None)
    if issued is not None:
        return issued
    token = _from_cookie(request)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.csrf_issued = token
    return token


def renew(request: Request) -> None:
    """Issue a fresh token, e.g. when someone signs in or out."""
    request.state.csrf_issued = secrets.token_urlsafe(32)


def attach(request: Request, response: Response) -> None:
    """Set the cookie on the response when this request issued a new token."""
    issued: str | None = getattr(request.state, "csrf_issued", None)
    if issued is None:
        return
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(issued),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


async def check_csrf(request: Request) -> None:
    """Refuse (403) any unsafe request whose form token is missing or not the cookie's token.

    Installed on every page router, so it runs before the route and its other dependencies.
    """
    if request.method in SAFE_METHODS:
        return
    expected = _from_cookie(request)
    form = await request.form()
    sent = form.get(FIELD)
    if (
        expected is None
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRefused(
            "the form's security token was missing or did not match; "
            "reload the page and send the form again"
        )
