"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL, each test isolated.

PostgreSQL: one database per pytest worker, migrated once, tables truncated between tests.
SQLite: a migrated template file, copied for each test. With CI=true an unreachable
PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from andon.core import migrations
from andon.core.config import Settings
from andon.core.database import Database, create_db_engine
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.models import metadata

PG_ADMIN_DSN = os.environ.get("ANDON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_SECRET = "t" * 64
# Marked, so that `pytest -m "not postgresql"` is a SQLite-only run: marks on a fixture's
# params reach every test that uses the fixture, directly or through another fixture.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2id with the cheapest parameters: the same code path, a fraction of the cost."""
    from argon2 import PasswordHasher

    from andon.core import security

    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = original


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def scratch_pg_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the caller alone, dropped afterwards."""
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with scratch_pg_database(f"andon_test_{_worker()}_{os.getpid()}") as url:
        engine = create_db_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=DATABASES)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) that only this test uses, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with scratch_pg_database(f"andon_fresh_{uuid.uuid4().hex[:12]}") as url:
        yield url


def _truncate_pg(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.engine.begin() as connection:
        # The audit table refuses DELETE by trigger; TRUNCATE is not a row delete.
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / f"andon-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    if not database.sqlite:
        _truncate_pg(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path, timezone="America/Chicago"
    )


@pytest.fixture
def system(db: Database) -> Context:
    """A context acting as the local CLI operator (full rights)."""
    return Context(db, system_actor("cli:test"))


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    from andon.api.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# Fixtures that exist only on one server: a test that asks for one is marked by it, so that
# `-m "not postgresql"` and `-m "not spark"` leave it out even if its author forgot the mark.
SERVER_FIXTURES = {
    "pg_url": "postgresql",
    "postgres_backend": "postgresql",
    "spark_backend": "spark",
}


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` selection reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = SERVER_FIXTURES.get(fixture)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
