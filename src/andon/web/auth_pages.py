"""Signing in and out of the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.accounts import service as accounts
from andon.accounts.schemas import LoginIn
from andon.core.config import Settings
from andon.core.errors import NotAuthenticated, TooManyAttempts
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, read_form, text
from andon.web.session import (
    COOKIE,
    clear_session_cookie,
    optional_actor,
    safe_next,
    set_session_cookie,
)
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]


def _login_page(
    request: Request,
    next_path: str,
    username: str,
    error: str,
    status_code: int,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "auth/login.html",
        {"next": next_path, "username": username, "error": error},
        status_code=status_code,
        headers=headers,
    )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    optional_actor(request)
    return _login_page(request, safe_next(next), "", "", 200)


@router.post("/login")
def login(request: Request, form: Form) -> Response:
    settings: Settings = request.app.state.settings
    next_path = safe_next(text(form, "next"))
    username = text(form, "username")
    request.state.actor = None
    try:
        data = build(LoginIn, {"username": username, "password": form.get("password") or ""})
    except FormInvalid:
        return _login_page(request, next_path, username, "Enter your username and password.", 422)
    policy = accounts.LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
        session_hours=settings.session_hours,
        address_max_failures=settings.login_address_max_failures,
        address_window_seconds=settings.login_address_window_seconds,
    )
    # Behind a reverse proxy this is the address uvicorn took from X-Forwarded-For, for the
    # proxies FORWARDED_ALLOW_IPS trusts; otherwise the connection's peer.
    address = request.client.host if request.client else accounts.UNKNOWN_ADDRESS
    try:
        signed = accounts.sign_in(
            request.app.state.db,
            data.username,
            data.password,
            policy,
            str(getattr(request.state, "request_id", "-")),
            address,
        )
    except TooManyAttempts as exc:
        minutes = max(1, -(-exc.retry_after_seconds // 60))
        message = f"Too many failed sign-ins. Try again in {minutes} min."
        retry = {"Retry-After": str(exc.retry_after_seconds)}
        return _login_page(request, next_path, username, message, 429, retry)
    except NotAuthenticated:
        return _login_page(request, next_path, username, "Wrong username or password.", 401)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, signed.session_token, signed.expires_at)
    # A new sign-in gets a new form token, so one planted before it is worthless.
    csrf.renew(request)
    csrf.attach(request, response)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        accounts.sign_out(
            request.app.state.db, token, str(getattr(request.state, "request_id", "-"))
        )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    csrf.renew(request)
    csrf.attach(request, response)
    flash.put(request, response, "You are signed out.", "info")
    return response
