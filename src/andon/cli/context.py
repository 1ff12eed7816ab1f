"""What one CLI command runs with: settings from the environment, a database, an operator.

Settings are read afresh on every invocation (never the cached ``get_settings``), so a command
always sees the environment it was started with. Heavy modules are imported only when a
command needs them, which keeps ``andon --help`` fast.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from andon.core.config import Settings
    from andon.core.uow import Context


def read_settings() -> Settings:
    """The ``ANDON_*`` settings; a bad value raises ConfigurationError naming the variable."""
    from andon.core.config import load_settings

    return load_settings()


def operator_name() -> str:
    """The name the audit trail records for the person at the terminal, e.g. ``cli:maria``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def new_request_id() -> str:
    """One id per command, so every audit entry a command writes can be found together."""
    return f"cli-{uuid.uuid4().hex}"


def shown_url(url: str) -> str:
    """A database URL safe to print: any password is masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def operator_context(settings: Settings | None = None) -> Iterator[Context]:
    """A service context acting as the local operator (full rights), disposed afterwards."""
    from andon.core.database import Database
    from andon.core.permissions import system_actor
    from andon.core.uow import Context

    settings = settings or read_settings()
    db = Database(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        yield Context(db, system_actor(operator_name()), new_request_id())
    finally:
        db.dispose()


@contextmanager
def acting_as(username: str | None) -> Iterator[Context]:
    """The context of the person named with ``--as`` (the local operator when None): what
    they may do is checked as for them; a disabled user does nothing."""
    from andon.accounts.service import actor_for, find_user

    with operator_context() as ctx:
        if username is None:
            yield ctx
            return
        user = find_user(ctx, username)
        if not user.active:
            from andon.core.errors import Conflict

            raise Conflict(f"{user.username} is disabled; nothing was done")
        yield ctx.as_actor(actor_for(user))


@contextmanager
def migration_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """A bare engine for Alembic, disposed afterwards."""
    from andon.core.database import create_db_engine

    settings = settings or read_settings()
    engine = create_db_engine(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    try:
        yield engine
    finally:
        engine.dispose()
