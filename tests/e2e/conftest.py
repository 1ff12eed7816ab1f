"""Browser fixtures: the real app under uvicorn on a free local port, driven in Debian chromium.

One server and one browser per session (a fresh migrated SQLite file, seeded through the
services); each test gets its own browser context, so cookies never leak between tests.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from andon.api.app import create_app
from andon.core import migrations
from andon.core.config import Settings
from andon.core.database import Database, create_db_engine
from andon.core.permissions import Role, system_actor
from andon.core.uow import Context
from tests.factories import PASSWORD, make_plant, make_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
VIEWPORT = {"width": 1024, "height": 768}


@dataclass(frozen=True)
class LiveServer:
    url: str
    system: Context


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{data_dir / 'andon.db'}"
    engine = create_db_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    db = Database(url)
    system = Context(db, system_actor("cli:e2e"))
    make_plant(system)
    make_user(system, "ada", Role.ADMIN)
    make_user(system, "otto", Role.OPERATOR)
    settings = Settings(
        database_url=url, secret_key="e" * 64, data_dir=data_dir, timezone="America/Chicago"
    )
    app = create_app(settings, db)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the app server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", system)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install Debian's chromium package"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    playwright = sync_playwright().start()
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
