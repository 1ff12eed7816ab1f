"""Sign-in limits per client address and per (account, address), on both databases."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from andon.accounts import service as accounts
from andon.accounts.models import SignInLock
from andon.api.app import create_app
from andon.core import audit_queries
from andon.core.audit_queries import AuditFilter
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import NotAuthenticated, TooManyAttempts
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import PASSWORD, make_user

POLICY = accounts.LoginPolicy(
    max_failures=3, lockout_seconds=600, address_max_failures=5, address_window_seconds=300
)
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    """The time the sign-in code reads, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(accounts, "utcnow", lambda: fake.now)
    return fake


def attempt(db: Database, username: str, password: str, address: str) -> accounts.SignIn:
    return accounts.sign_in(db, username, password, POLICY, "r", address)


def entries(system: Context, action: str) -> list[audit_queries.AuditEntry]:
    return list(audit_queries.list_entries(system, AuditFilter(action=action), limit=500).items)


def test_spraying_accounts_from_one_address_is_refused_after_the_limit(
    system: Context, db: Database, clock: Clock
) -> None:
    names = [f"user{i}" for i in range(7)]
    for name in names:
        make_user(system, name, Role.OPERATOR)
    outcomes: list[type[Exception]] = []
    for name in names:
        with pytest.raises((NotAuthenticated, TooManyAttempts)) as caught:
            attempt(db, name, "Winter2026!", ATTACKER)
        outcomes.append(caught.type)
        clock.advance(1)
    assert outcomes == [NotAuthenticated] * 4 + [TooManyAttempts] * 3
    with db.read_session() as session:
        counts = {lock.user_id: lock.failed_logins for lock in session.scalars(select(SignInLock))}
    # Each of the five checked accounts saw one failure: far from its own lock.
    assert sorted(counts.values()) == [1, 1, 1, 1, 1]
    throttles = entries(system, "throttle")
    assert [(e.entity_type, e.entity_id) for e in throttles] == [("sign_in_address", ATTACKER)]


def test_unknown_usernames_count_against_the_address(db: Database, clock: Clock) -> None:
    for i in range(5):
        with pytest.raises((NotAuthenticated, TooManyAttempts)):
            attempt(db, f"nobody{i}", "guess", ATTACKER)
    with pytest.raises(TooManyAttempts):
        attempt(db, "nobody9", "guess", ATTACKER)


def test_a_throttled_address_is_refused_the_right_password_until_the_window_passes(
    system: Context, db: Database, clock: Clock
) -> None:
    make_user(system, "ada", Role.ADMIN)
    for i in range(5):
        with pytest.raises((NotAuthenticated, TooManyAttempts)):
            attempt(db, f"guess{i}", "wrong", ATTACKER)
        clock.advance(10)
    # The five failures were at 0, 10, 20, 30, 40 s; now is 50 s, the oldest leaves at 300 s.
    with pytest.raises(TooManyAttempts) as refused:
        attempt(db, "ada", PASSWORD, ATTACKER)
    assert refused.value.retry_after_seconds == 251
    clock.advance(249)
    with pytest.raises(TooManyAttempts):
        attempt(db, "ada", PASSWORD, ATTACKER)
    clock.advance(2)
    signed = attempt(db, "ada", PASSWORD, ATTACKER)
    assert signed.user.username == "ada"


def test_refused_attempts_do_not_extend_the_window(db: Database, clock: Clock) -> None:
    for i in range(5):
        with pytest.raises((NotAuthenticated, TooManyAttempts)):
            attempt(db, f"guess{i}", "wrong", ATTACKER)
    for _ in range(10):
        clock.advance(20)
        with pytest.raises(TooManyAttempts):
            attempt(db, "guess", "wrong", ATTACKER)
    clock.advance(101)
    with pytest.raises(NotAuthenticated):
        attempt(db, "guess", "wrong", ATTACKER)


def test_another_address_signs_in_while_one_is_throttled(
    system: Context, db: Database, clock: Clock
) -> None:
    make_user(system, "ada", Role.ADMIN)
    for i in range(5):
        with pytest.raises((NotAuthenticated, TooManyAttempts)):
            attempt(db, f"guess{i}", "wrong", ATTACKER)
    with pytest.raises(TooManyAttempts):
        attempt(db, "ada", PASSWORD, ATTACKER)
    assert attempt(db, "ada", PASSWORD, OFFICE).user.username == "ada"


def test_guessing_one_account_locks_it_only_for_the_guessing_address(
    system: Context, db: Database, clock: Clock
) -> None:
    admin = make_user(system, "ada", Role.ADMIN)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            attempt(db, "ada", "wrong", ATTACKER)
    with pytest.raises(TooManyAttempts) as locked:
        attempt(db, "ada", "wrong", ATTACKER)
    assert locked.value.retry_after_seconds == 600
    with pytest.raises(TooManyAttempts):
        attempt(db, "ada", PASSWORD, ATTACKER)
    assert attempt(db, "ada", PASSWORD, OFFICE).user.id == admin.id
    locks = entries(system, "lock")
    assert [(e.entity_id, e.changes["after"]["address"]) for e in locks] == [
        (str(admin.id), ATTACKER)
    ]
    clock.advance(601)
    assert attempt(db, "ada", PASSWORD, ATTACKER).user.id == admin.id


def test_a_new_password_lifts_the_accounts_locks(
    system: Context, db: Database, clock: Clock
) -> None:
    admin = make_user(system, "ada", Role.ADMIN)
    for _ in range(3):
        with pytest.raises((NotAuthenticated, TooManyAttempts)):
            attempt(db, "ada", "wrong", ATTACKER)
    accounts.set_password(system, admin.id, "a brand new password")
    assert attempt(db, "ada", "a brand new password", ATTACKER).user.id == admin.id


def test_failures_spread_over_more_than_the_window_never_throttle(
    db: Database, clock: Clock
) -> None:
    # Five failures a window is the limit; one every 76 s leaves at most four in any window.
    for i in range(12):
        with pytest.raises(NotAuthenticated):
            attempt(db, f"typo{i}", "wrong", OFFICE)
        clock.advance(76)


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def strict_client(settings: Settings, db: Database, clock: Clock) -> TestClient:
    strict = settings.model_copy(
        update={"login_address_max_failures": 3, "login_address_window_seconds": 120}
    )
    return TestClient(create_app(strict, db))


def post_login(client: TestClient, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    found = _TOKEN.search(page.text)
    assert found is not None
    data = {"username": username, "password": password, "csrf_token": found.group(1)}
    return client.post("/login", data=data, follow_redirects=False)


def test_the_sign_in_page_answers_429_with_retry_after(
    strict_client: TestClient, system: Context, clock: Clock
) -> None:
    make_user(system, "ada", Role.ADMIN)
    statuses = []
    for name in ("a", "b", "c"):
        response = post_login(strict_client, name, "wrong")
        statuses.append(response.status_code)
    assert statuses == [401, 401, 429]
    refused = post_login(strict_client, "ada", PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "121"
    assert "Too many failed sign-ins. Try again in 3 min." in refused.text
    assert refused.headers["content-security-policy"].startswith("default-src")
    clock.advance(121)
    assert post_login(strict_client, "ada", PASSWORD).status_code == 303


def test_the_page_counts_the_address_uvicorn_reports(
    settings: Settings, db: Database, system: Context, clock: Clock
) -> None:
    make_user(system, "ada", Role.ADMIN)
    strict = settings.model_copy(update={"login_address_max_failures": 2})
    app = create_app(strict, db)
    attacker = TestClient(app, client=(ATTACKER, 50000))
    office = TestClient(app, client=(OFFICE, 50001))
    for name in ("a", "b"):
        post_login(attacker, name, "wrong")
    assert post_login(attacker, "ada", PASSWORD).status_code == 429
    assert post_login(office, "ada", PASSWORD).status_code == 303


def test_a_failure_that_locks_the_account_and_throttles_the_address_waits_for_both(
    system: Context, db: Database, clock: Clock
) -> None:
    make_user(system, "ada", Role.ADMIN)
    for name in ("x", "y"):
        with pytest.raises(NotAuthenticated):
            attempt(db, name, "wrong", ATTACKER)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            attempt(db, "ada", "wrong", ATTACKER)
    # The fifth failure from the address is also ada's third: the lock (600 s) outlasts the
    # address window (300 s), so the answer says 600.
    with pytest.raises(TooManyAttempts) as refused:
        attempt(db, "ada", "wrong", ATTACKER)
    assert refused.value.retry_after_seconds == 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def served_login(base: str, forwarded_for: str, username: str, password: str) -> int:
    """One sign-in through a real server, on a new connection, as if from ``forwarded_for``."""
    headers = {"X-Forwarded-For": forwarded_for}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        found = _TOKEN.search(client.get("/login").text)
        assert found is not None
        data = {"username": username, "password": password, "csrf_token": found.group(1)}
        return client.post("/login", data=data, follow_redirects=False).status_code


def test_served_behind_a_proxy_each_forwarded_address_has_its_own_limit_in_every_process(
    db_url: str, system: Context, tmp_path: Path
) -> None:
    make_user(system, "ada", Role.ADMIN)
    port = _free_port()
    env = {
        **os.environ,
        "ANDON_DATABASE_URL": db_url,
        "ANDON_DATA_DIR": str(tmp_path),
        "ANDON_SECRET_KEY": "k" * 64,
        "ANDON_LOGIN_ADDRESS_MAX_FAILURES": "3",
        # The test client is the proxy: uvicorn believes its X-Forwarded-For.
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    executable = str(Path(sys.executable).with_name("andon"))
    server = subprocess.Popen(
        [executable, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("andon serve did not answer /healthz")
        guesses = [served_login(base, ATTACKER, name, "wrong") for name in ("a", "b", "c")]
        assert guesses == [401, 401, 429]
        assert served_login(base, ATTACKER, "ada", PASSWORD) == 429
        assert served_login(base, OFFICE, "ada", PASSWORD) == 303
    finally:
        server.terminate()
        server.wait(timeout=30)
