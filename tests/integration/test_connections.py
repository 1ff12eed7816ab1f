"""Pooled connections: tested after idling, not on every checkout; reads end in COMMIT."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from andon.core import database as database_module
from andon.core.database import Database
from andon.core.uow import Context
from andon.plant.models import Site
from tests.conftest import PG_ADMIN_DSN
from tests.factories import make_plant


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url, pool_size=1)
    yield db
    db.dispose()


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.postgresql
def test_a_connection_dropped_while_idle_is_replaced_before_use(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(database_module, "IDLE_PING_SECONDS", 0.0)
    # The pooled connection is dead; the ping finds out and the pool opens another.
    assert _backend_pid(pg) != pid


@pytest.mark.postgresql
def test_a_connection_back_in_use_at_once_is_not_pinged(pg: Database) -> None:
    pid = _backend_pid(pg)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # Within the idle window nothing tests it: the first statement meets the dead connection,
    # and the pool is then renewed, so the next unit of work runs.
    with pytest.raises(OperationalError):
        _backend_pid(pg)
    assert _backend_pid(pg) != pid


@pytest.mark.postgresql
def test_checkouts_under_load_cost_no_extra_round_trip(pg: Database) -> None:
    _backend_pid(pg)
    pings: list[int] = []
    original = pg.engine.dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(1)
        return original(connection)

    pg.engine.dialect.do_ping = counted  # type: ignore[method-assign,assignment]
    for _ in range(5):
        _backend_pid(pg)
    assert pings == []


@pytest.mark.postgresql
def test_reads_keep_the_connections_prepared_statements(pg: Database) -> None:
    # psycopg prepares a statement on its sixth run and forgets them all on ROLLBACK: reads
    # that ended in ROLLBACK would have PostgreSQL plan every statement on every request.
    query = text("SELECT count(*) FROM audit_entries WHERE seq > :seq")
    for n in range(8):
        with pg.read_session() as session:
            session.execute(query, {"seq": n})
    with pg.read_session() as session:
        prepared = session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%seq >%'")
        ).scalar_one()
    assert prepared == 1


def test_a_read_session_never_writes_what_it_changed(db: Database, system: Context) -> None:
    site = make_plant(system)[1]
    with db.read_session() as session:
        loaded = session.get(Site, site.id)
        assert loaded is not None
        loaded.name = "Changed while reading"
    with db.read_session() as session:
        assert session.get(Site, site.id).name == site.name  # type: ignore[union-attr]
