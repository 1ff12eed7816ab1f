"""Acting as another person inside a unit of work stays in it, and every entry names its person."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from andon.core.audit import AuditEntry
from andon.core.audit_queries import verify
from andon.core.database import Database
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Enterprise, Site
from andon.plant.schemas import AreaCreate, EnterpriseCreate, SiteCreate, SiteUpdate


def entries(db: Database) -> list[tuple[str, str, str]]:
    """(who, what kind, which action) of every entry, oldest first."""
    with db.read_session() as session:
        rows = session.execute(
            select(AuditEntry.actor_name, AuditEntry.entity_type, AuditEntry.action).order_by(
                AuditEntry.seq
            )
        )
        return [(who, kind, action) for who, kind, action in rows]


def count(db: Database, model: type[Enterprise] | type[Site]) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def site_of(enterprise_id: int, code: str) -> SiteCreate:
    return SiteCreate(
        enterprise_id=enterprise_id, name=f"Site {code}", code=code, timezone="America/Chicago"
    )


def load_then_abandon(outer: Context, other: Context, enterprise_id: int | None = None) -> None:
    """A unit of work of ``outer`` in which ``other`` acts, failing at its end."""
    with outer.atomic():
        if enterprise_id is None:
            enterprise_id = plant.create_enterprise(outer, EnterpriseCreate(name="Acme")).id
        plant.create_site(other, site_of(enterprise_id, "CHI2"))
        raise RuntimeError("abandon the load")


def test_each_entry_names_who_did_that_step_in_one_transaction(db: Database) -> None:
    alice = Context(db, system_actor("alice"))
    bob = alice.as_actor(system_actor("bob"))
    with alice.atomic():
        enterprise = plant.create_enterprise(alice, EnterpriseCreate(name="Acme"))
        site = plant.create_site(bob, site_of(enterprise.id, "CHI"))
        # Alice's step after Bob's: the shared transaction must not still be labelled Bob.
        plant.create_area(alice, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
        plant.update_site(bob, site.id, SiteUpdate(version=1, name="Chicago", reason="rename"))
        plant.create_site(alice, site_of(enterprise.id, "DAL"))
    assert entries(db) == [
        ("alice", "enterprise", "create"),
        ("bob", "site", "create"),
        ("alice", "area", "create"),
        ("bob", "site", "update"),
        ("alice", "site", "create"),
    ]
    assert verify(alice).ok


def test_nested_atomic_and_write_keep_each_actor(db: Database) -> None:
    alice = Context(db, system_actor("alice"))
    bob = alice.as_actor(system_actor("bob"))
    with alice.atomic() as outer:
        enterprise = plant.create_enterprise(alice, EnterpriseCreate(name="Acme"))
        with bob.atomic() as inner:
            assert inner.session is outer.session
            with bob.write() as step:
                assert step.session is outer.session
                assert step.actor.username == "bob"
            plant.create_site(bob, site_of(enterprise.id, "CHI"))
            with alice.write() as step:
                assert step.actor.username == "alice"
            plant.create_site(alice, site_of(enterprise.id, "DAL"))
        assert outer.actor.username == "alice"
        plant.create_site(bob, site_of(enterprise.id, "HOU"))
    assert entries(db) == [
        ("alice", "enterprise", "create"),
        ("bob", "site", "create"),
        ("alice", "site", "create"),
        ("bob", "site", "create"),
    ]


def test_acting_as_another_person_stays_in_the_unit_of_work(db: Database) -> None:
    alice = Context(db, system_actor("alice"))
    bob = alice.as_actor(system_actor("bob"))
    with pytest.raises(RuntimeError, match="abandon"):
        load_then_abandon(alice, bob)
    # Bob's step was part of Alice's transaction: it went with the rollback.
    assert count(db, Enterprise) == 0
    assert count(db, Site) == 0
    assert entries(db) == []


def test_a_derived_context_opens_its_own_unit_of_work_once_the_outer_one_ended(
    db: Database,
) -> None:
    alice = Context(db, system_actor("alice"))
    bob = alice.as_actor(system_actor("bob"))
    with alice.atomic():
        enterprise = plant.create_enterprise(alice, EnterpriseCreate(name="Acme"))
    plant.create_site(bob, site_of(enterprise.id, "CHI"))
    with pytest.raises(RuntimeError, match="abandon"):
        load_then_abandon(bob, alice, enterprise.id)
    assert count(db, Site) == 1
    assert entries(db) == [("alice", "enterprise", "create"), ("bob", "site", "create")]
