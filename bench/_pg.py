"""Scratch PostgreSQL databases for benchmarks: created empty, migrated, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from andon.core import migrations
from andon.core.database import create_db_engine

PG_DSN = os.environ.get("ANDON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class Unavailable(Exception):
    """PostgreSQL cannot be reached; the benchmark is reported as skipped."""


def server_version() -> str | None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError:
        return None
    return str(row[0]) if row else None


def settings() -> dict[str, str]:
    """The server settings that decide write throughput, for the results file."""
    names = ("synchronous_commit", "fsync", "shared_buffers", "max_connections", "work_mem")
    with psycopg.connect(PG_DSN, connect_timeout=5) as conn:
        return {n: str(conn.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """A new database migrated to head; yields its SQLAlchemy URL and drops it on exit."""
    name = f"andon_bench_{label}_{os.getpid()}"
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise Unavailable(str(exc).strip().splitlines()[0]) from None
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    try:
        engine = create_db_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    """The psycopg (libpq) form of a SQLAlchemy URL, for COPY and EXPLAIN."""
    return url.replace("postgresql+psycopg://", "postgresql://")
