"""Engine and session factory for SQLite (embedded, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants as naive UTC (portable) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """Optimistic concurrency: a stale UPDATE matches no row and raises StaleDataError."""

    version: Mapped[int] = mapped_column(nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - declared_attr takes the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(
    url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False, pool_size: int = 16
) -> Engine:
    """An engine with Andon's connection rules applied (WAL, foreign keys, explicit BEGIN)."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    # A few overflow connections for threads outside the request pool (the worker's sweeps).
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=4)
    _ping_after_idle(engine)
    return engine


# A connection back in use within this many seconds is trusted without a round trip.
IDLE_PING_SECONDS = 5.0


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle, not on every checkout.

    SQLAlchemy's ``pool_pre_ping`` costs every request a round trip (and the server a
    statement), a tenth of a busy move's statements. A connection dropped while idle (a
    restarted server, a firewall's timeout) is still caught before any work uses it; one
    dropped in the seconds since its last use fails that request's statement, and the
    pool then discards every connection opened before the failure.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["andon_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("andon_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool then replaces this connection and tries again.
            raise DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up
    # front; we issue BEGIN ourselves so writing units of work can use BEGIN IMMEDIATE and
    # never fail half-way on a lock upgrade (which would fork the audit hash chain).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("andon_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class ReadSession(Session):
    """A session for reading that ends a sound transaction with COMMIT, not ROLLBACK.

    psycopg forgets every prepared statement of a connection when it rolls back, so a read
    that ended in ROLLBACK would have PostgreSQL plan the next statements on that connection
    afresh: planning the work-item load costs ten times running it. A read transaction has
    nothing to undo; one holding unflushed changes is rolled back, so a read never writes.
    """

    def close(self) -> None:
        transaction = self.get_transaction()
        if (
            transaction is not None
            and transaction.is_active
            and not (self.new or self.dirty or self.deleted)
        ):
            self.commit()
        super().close()


class Database:
    """One engine and its session factories; passed to services through the unit of work."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10_000, pool_size: int = 16) -> None:
        self.url = url
        self.engine = create_db_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
        self.sqlite = is_sqlite(url)
        self._read = sessionmaker(self.engine, class_=ReadSession, expire_on_commit=False)
        write_engine = self.engine.execution_options(andon_write=True)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    def read_session(self) -> Session:
        return self._read()

    def write_session(self) -> Session:
        return self._write()

    def dispose(self) -> None:
        self.engine.dispose()
