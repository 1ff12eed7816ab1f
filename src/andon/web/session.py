"""The signed-in person of a page request: session cookie → Actor → service Context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from andon.accounts.service import actor_from_session
from andon.core.clock import utcnow
from andon.core.database import Database
from andon.core.errors import NotAuthenticated
from andon.core.permissions import Actor
from andon.core.uow import Context

COOKIE = "andon_session"


def optional_actor(request: Request) -> Actor | None:
    """The actor of a valid, unexpired session cookie, or None; remembered on request.state."""
    if hasattr(request.state, "actor"):
        known: Actor | None = request.state.actor
        return known
    token = request.cookies.get(COOKIE)
    db: Database = request.app.state.db
    actor = actor_from_session(db, token) if token else None
    request.state.actor = actor
    return actor


def page_actor(request: Request) -> Actor:
    """The signed-in actor; NotAuthenticated otherwise, which pages turn into a login redirect."""
    actor = optional_actor(request)
    if actor is None:
        raise NotAuthenticated("sign in to see this page")
    return actor


def page_context(request: Request, actor: Annotated[Actor, Depends(page_actor)]) -> Context:
    return Context(request.app.state.db, actor, str(getattr(request.state, "request_id", "-")))


PageCtx = Annotated[Context, Depends(page_context)]


def set_session_cookie(
    request: Request, response: Response, token: str, expires_at: datetime
) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(0, int((expires_at - utcnow()).total_seconds())),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\\"):
        return "/"
    return target
