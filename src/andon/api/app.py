"""The application factory: API, pages and static files over one database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from andon import __version__
from andon.api import (
    accounts,
    actions,
    analytics,
    audit,
    calendars,
    capa,
    decisions,
    docs,
    documents,
    exceptions,
    health,
    lanes,
    lines,
    metrics,
    oee,
    plant,
    postmortems,
    problems,
    processes,
    rca,
    reviews,
    risks,
    training,
    work,
)
from andon.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware, RouteLimit
from andon.core.config import Settings, get_settings
from andon.core.database import Database

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


class AndonApp(FastAPI):
    """FastAPI with the request-context middleware outside everything, error handling too."""

    def build_middleware_stack(self) -> ASGIApp:
        # Added the usual way, a middleware runs inside Starlette's ServerErrorMiddleware, and
        # the 500 page that one sends would leave without a request id or security headers.
        return RequestContextMiddleware(super().build_middleware_stack())


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    secret_key = settings.require_secret_key()
    db = db or Database(
        settings.resolved_database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.pool_size,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        lanes.open_lanes(settings.request_threads, settings.report_threads)
        from andon.analytics.prepared_cache import prepared_forms

        prepared_forms.max_bytes = settings.analytics_cache_mb * 2**20
        yield
        prepared_forms.clear()

    app = AndonApp(
        lifespan=lifespan,
        title="Andon",
        version=__version__,
        summary="Operations standards for manufacturing plants.",
        # Served by andon.api.docs from our own static files, not FastAPI's CDN page.
        docs_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.secret_key = secret_key

    from andon.web import pages

    problems.install(app, html_renderer=pages.render_error)
    app.include_router(health.router)
    app.include_router(docs.router)
    # Routes are matched in order, one pattern at a time: the floor's work-item requests
    # (most of the traffic) come first. Their paths share no prefix with the others.
    app.include_router(work.router)
    app.include_router(accounts.router)
    app.include_router(plant.router)
    app.include_router(audit.router)
    app.include_router(processes.router)
    app.include_router(calendars.router)
    app.include_router(exceptions.router)
    app.include_router(lines.router)
    app.include_router(oee.router)
    app.include_router(oee.reports)
    app.include_router(analytics.router)
    app.include_router(documents.router)
    app.include_router(training.router)
    app.include_router(actions.router)
    app.include_router(metrics.router)
    app.include_router(reviews.router)
    app.include_router(rca.router)
    app.include_router(rca.reports)
    app.include_router(capa.router)
    app.include_router(postmortems.router)
    app.include_router(decisions.router)
    app.include_router(risks.router)
    pages.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, routes=upload_limits(settings)
    )
    return app


# Room for the multipart envelope around a file of the largest allowed size.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def upload_limits(settings: Settings) -> list[RouteLimit]:
    """File uploads may be as large as ANDON_MAX_ATTACHMENT_BYTES (event logs for analysis:
    ANDON_MAX_LOG_BYTES), not ANDON_MAX_BODY_BYTES."""
    files = settings.max_attachment_bytes + MULTIPART_OVERHEAD_BYTES
    setting = "ANDON_MAX_ATTACHMENT_BYTES"
    logs = settings.max_log_bytes + MULTIPART_OVERHEAD_BYTES
    log_setting = "ANDON_MAX_LOG_BYTES"
    return [
        RouteLimit("POST", re.compile(r"^/api/v1/work-items/[^/]+/attachments$"), files, setting),
        RouteLimit("POST", re.compile(r"^/api/v1/work-items/import$"), files, setting),
        RouteLimit("POST", re.compile(r"^/work/[0-9]+/attachments$"), files, setting),
        RouteLimit("POST", re.compile(r"^/api/v1/documents/[^/]+/attachments$"), files, setting),
        RouteLimit("POST", re.compile(r"^/documents/[^/]+/attachments$"), files, setting),
        RouteLimit("POST", re.compile(r"^/api/v1/analytics/datasets$"), logs, log_setting),
        RouteLimit("POST", re.compile(r"^/analytics/upload$"), logs, log_setting),
    ]
