"""The application factory: API, pages and static files over one database."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from andon import __version__
from andon.api import accounts, audit, health, plant, problems
from andon.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from andon.core.config import Settings, get_settings
from andon.core.database import Database

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    secret_key = settings.require_secret_key()
    db = db or Database(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    app = FastAPI(
        title="Andon",
        version=__version__,
        summary="Operations standards for manufacturing plants.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.secret_key = secret_key

    from andon.web import pages

    problems.install(app, html_renderer=pages.render_error)
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(plant.router)
    app.include_router(audit.router)
    pages.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
