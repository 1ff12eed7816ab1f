"""Scratch Andon databases for benchmarks: a migrated SQLite file or PostgreSQL database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from andon.core import migrations
from andon.core.database import Database, create_db_engine
from bench import _pg


@contextmanager
def sqlite_database() -> Iterator[Database]:
    """A migrated SQLite database in a temporary directory, removed on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = create_db_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


@contextmanager
def postgresql_database(label: str) -> Iterator[Database]:
    """A migrated scratch PostgreSQL database, dropped on exit (``_pg.Unavailable`` without
    a server)."""
    with _pg.scratch_database(label) as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
