"""The audit trail records every change in the same transaction and detects tampering."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from andon.core import audit_queries
from andon.core.audit import AuditEntry
from andon.core.audit_queries import AuditFilter
from andon.core.database import Database
from andon.core.errors import Conflict
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import EnterpriseCreate, SiteCreate, SiteUpdate
from tests.factories import make_plant, tamper_with_entry


def count_entries(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_each_change_writes_one_entry_with_actor_and_diff(system: Context) -> None:
    _, site, _, _ = make_plant(system)
    plant.update_site(system, site.id, SiteUpdate(version=1, name="Chicago South", reason="rename"))
    history = audit_queries.entity_history(system, "site", site.id)
    assert [e.action for e in history] == ["create", "update"]
    update = history[-1]
    assert update.actor_name == "cli:test"
    assert update.reason == "rename"
    assert update.changes == {
        "before": {"name": "Chicago", "version": 1},
        "after": {"name": "Chicago South", "version": 2},
    }


def test_a_failed_change_leaves_no_entry(system: Context, db: Database) -> None:
    make_plant(system)
    before = count_entries(db)
    with pytest.raises(Conflict):
        plant.create_enterprise(system, EnterpriseCreate(name="Acme Manufacturing"))
    assert count_entries(db) == before


def test_verify_passes_on_an_untouched_chain(system: Context) -> None:
    make_plant(system)
    result = audit_queries.verify(system)
    assert result.ok
    assert result.count == 4


def test_verify_reports_the_first_edited_entry(system: Context, db: Database) -> None:
    make_plant(system)
    tamper_with_entry(db.url, 2)
    result = audit_queries.verify(system)
    assert not result.ok
    assert result.broken_seq == 2
    assert result.count == 1
    assert result.problem == "content does not match its hash"


def test_entries_cannot_be_updated_or_deleted_in_place(system: Context, db: Database) -> None:
    make_plant(system)
    for statement in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert count_entries(db) == 4


def test_concurrent_writers_never_fork_the_chain(system: Context, db: Database) -> None:
    def create(n: int) -> None:
        plant.create_enterprise(Context(db, system.actor), EnterpriseCreate(name=f"E{n}"))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, range(30)))
    result = audit_queries.verify(system)
    assert result.ok
    assert result.count == 30


def test_query_filters_by_entity_actor_and_time(system: Context) -> None:
    enterprise, _, _, _ = make_plant(system)
    plant.create_site(
        system,
        SiteCreate(
            enterprise_id=enterprise.id, name="Charlotte", code="CLT", timezone="America/New_York"
        ),
    )
    sites = audit_queries.list_entries(system, AuditFilter(entity_type="site"))
    assert [e.entity_type for e in sites.items] == ["site", "site"]
    everything = audit_queries.list_entries(system, AuditFilter(actor="cli:test"))
    assert len(everything.items) == 5
    first_page = audit_queries.list_entries(system, AuditFilter(), limit=2)
    assert [e.seq for e in first_page.items] == [5, 4]
    second_page = audit_queries.list_entries(
        system, AuditFilter(), cursor=first_page.next_cursor, limit=2
    )
    assert [e.seq for e in second_page.items] == [3, 2]
    newest = first_page.items[0].occurred_at
    recent = audit_queries.list_entries(system, AuditFilter(since=newest))
    assert [e.seq for e in recent.items] == [5]


AWKWARD = "it's 100% \"done\"; $$ \\ back\\slash {brace} [x] 'quotes' — naïve 🚨\nline\ttab"


def test_awkward_text_is_chained_exactly_and_read_back_unchanged(
    system: Context, db: Database
) -> None:
    # On PostgreSQL the entries travel as literals in the text of the committing message.
    with system.write() as tx:
        tx.audit(
            "thing",
            AWKWARD,
            "note",
            before={"text": "a"},
            after={"text": AWKWARD, "n": 1.5, "list": [None, True, "%s"]},
            reason=AWKWARD,
        )
    assert audit_queries.verify(system).ok
    with db.read_session() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.reason, entry.entity_id) == (AWKWARD, AWKWARD[:100])
    assert entry.changes["after"] == {"text": AWKWARD, "n": 1.5, "list": [None, True, "%s"]}


def test_a_use_case_that_fails_after_auditing_leaves_no_entry(
    system: Context, db: Database
) -> None:
    def failing() -> None:
        with system.write() as tx:
            tx.audit("thing", 1, "note")
            raise RuntimeError("the use case fails after its audit")

    with pytest.raises(RuntimeError):
        failing()
    with system.write() as tx:
        tx.audit("thing", 2, "note")
    with db.read_session() as session:
        assert list(session.scalars(select(AuditEntry.entity_id))) == ["2"]
    assert audit_queries.verify(system).ok


def test_a_rolled_back_savepoint_takes_back_only_its_own_entries(
    system: Context, db: Database
) -> None:
    with system.write() as tx:
        tx.audit("thing", "kept before", "note")
        try:
            with tx.session.begin_nested():
                tx.audit("thing", "taken back", "note")
                raise RuntimeError("the savepoint fails")
        except RuntimeError:
            pass
        with tx.session.begin_nested():
            tx.audit("thing", "kept inside", "note")
        tx.audit("thing", "kept after", "note")
    with db.read_session() as session:
        kept = list(session.scalars(select(AuditEntry.entity_id).order_by(AuditEntry.seq)))
    assert kept == ["kept before", "kept inside", "kept after"]
    assert audit_queries.verify(system).ok
