"""Page routes installed on the app, and the HTML error page every page error ends in."""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from andon.web import (
    action_pages,
    admin_pages,
    analytics_pages,
    audit_pages,
    auth_pages,
    board_pages,
    calendar_pages,
    capa_pages,
    decision_pages,
    document_edit_pages,
    document_pages,
    document_sign_pages,
    exception_pages,
    home_pages,
    improvement_pages,
    metric_pages,
    oee_pages,
    plant_pages,
    postmortem_pages,
    process_pages,
    rca_pages,
    review_pages,
    risk_pages,
    token_pages,
    training_pages,
    work_item_pages,
    work_new_pages,
    work_queue_pages,
)
from andon.web.session import optional_actor
from andon.web.templating import render

log = logging.getLogger("andon.web")


def install(app: FastAPI) -> None:
    """Add every page router; each runs the CSRF check before its POST routes."""
    for module in (
        auth_pages,
        home_pages,
        plant_pages,
        admin_pages,
        token_pages,
        audit_pages,
        process_pages,
        work_queue_pages,
        work_new_pages,
        work_item_pages,
        board_pages,
        exception_pages,
        calendar_pages,
        analytics_pages,
        # Before document_pages: /documents/new must not be read as a document number.
        document_edit_pages,
        document_sign_pages,
        document_pages,
        training_pages,
        oee_pages,
        action_pages,
        metric_pages,
        review_pages,
        improvement_pages,
        rca_pages,
        capa_pages,
        postmortem_pages,
        decision_pages,
        risk_pages,
    ):
        app.include_router(module.router)


def render_error(request: Request, status: int, title: str, detail: str) -> Response:
    """An error page in the layout; a page that needs a sign-in redirects to the login form."""
    if status == 401:
        target = "/"
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    try:
        # The error may have come before the session was read (an unknown address, say).
        optional_actor(request)
    except Exception:
        log.exception("could not read the session while rendering an error page")
        request.state.actor = None
    try:
        return render(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail},
            status_code=status,
        )
    except Exception:
        log.exception("could not render the error page")
        body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        return HTMLResponse(body + f"<p>{html.escape(detail)}</p>", status_code=status)
