"""The demo plant: what `andon demo load` builds, that it runs once, and that it is audited."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from andon.accounts import service as accounts
from andon.cli.main import app
from andon.core import audit_queries
from andon.core.database import Database
from andon.core.permissions import Role, Scope
from andon.core.uow import Context
from andon.demo.plant import DEMO_PASSWORD, load_demo
from andon.demo.work import HistoryOptions
from andon.plant import service as plant
from andon.plant.models import LineKind

runner = CliRunner()
SMALL = HistoryOptions(items=20, days=2)


def load(db: Database) -> Result:
    return runner.invoke(
        app,
        ["demo", "load", "--items", "20", "--days", "2"],
        env={"ANDON_DATABASE_URL": db.url, "ANDON_PORT": None},
    )


def plant_counts(system: Context) -> tuple[int, int, int, int]:
    """Enterprises, sites, lines and work centres."""
    tree = plant.plant_tree(system)
    nodes = [line for lines in tree.lines.values() for line in lines]
    return (
        len(tree.enterprises),
        sum(len(sites) for sites in tree.sites.values()),
        sum(1 for n in nodes if n.kind == LineKind.LINE),
        sum(1 for n in nodes if n.kind == LineKind.WORK_CENTRE),
    )


def test_demo_load_builds_two_sites_three_lines_and_seven_users(
    db: Database, system: Context
) -> None:
    result = load(db)
    assert result.exit_code == 0, result.stderr
    # The simulated history adds a third assembly line in Chicago.
    assert plant_counts(system) == (1, 2, 4, 2)
    users = accounts.list_users(system).items
    assert len(users) == 7
    assert {g.role for u in users for g in u.grants} == {r.value for r in Role}
    assert "http://127.0.0.1:8000/" in result.stdout
    assert "andon-demo" in result.stdout
    for username in ("admin", "ops-manager", "operator", "viewer"):
        assert f"\n{username} " in result.stdout


def test_demo_load_twice_does_not_duplicate(db: Database, system: Context) -> None:
    assert load(db).exit_code == 0
    audit_before = audit_queries.verify(system).count
    again = load(db)
    assert again.exit_code == 0, again.stderr
    assert "already loaded" in again.stdout
    # The simulated history adds a third assembly line in Chicago.
    assert plant_counts(system) == (1, 2, 4, 2)
    assert len(accounts.list_users(system).items) == 7
    assert audit_queries.verify(system).count == audit_before


def test_audit_chain_verifies_after_demo_load(db: Database, system: Context) -> None:
    load(db)
    result = runner.invoke(app, ["audit", "verify"], env={"ANDON_DATABASE_URL": db.url})
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("OK: ")
    result = audit_queries.verify(system)
    # The plant and users (19 entries) and then the simulated history's changes.
    assert result.ok
    assert result.count > 1 + 2 + 4 + 5 + 7


def test_demo_users_sign_in_with_the_demo_password(db: Database, system: Context) -> None:
    load_demo(system, SMALL)
    signed = accounts.sign_in(db, "quality", DEMO_PASSWORD, accounts.LoginPolicy(), "r")
    assert signed.user.display_name == "Priya Natarajan"


def test_demo_supervisor_and_operator_are_scoped_to_chicago(db: Database, system: Context) -> None:
    summary = load_demo(system, SMALL)
    chicago = plant.find_site_by_code(system, "CHI")
    chicago_assembly = plant.find_area_by_code(system, "CHI", "ASM")
    charlotte = plant.find_site_by_code(system, "CLT")
    supervisor = accounts.actor_for(accounts.get_user(system, summary.user_ids["supervisor"]))
    operator = accounts.actor_for(accounts.get_user(system, summary.user_ids["operator"]))
    assert supervisor.grants[0].covers(Scope(site_id=chicago.id))
    assert not supervisor.grants[0].covers(Scope(site_id=charlotte.id))
    assert operator.grants[0].covers(Scope(site_id=chicago.id, area_id=chicago_assembly.id))
    assert not operator.grants[0].covers(Scope(site_id=chicago.id))


def test_demo_sites_keep_their_time_zones(db: Database, system: Context) -> None:
    load_demo(system, SMALL)
    assert plant.find_site_by_code(system, "CHI").timezone == "America/Chicago"
    assert plant.find_site_by_code(system, "CLT").timezone == "America/New_York"


def test_demo_load_that_fails_part_way_leaves_nothing(db: Database, system: Context) -> None:
    from tests.factories import make_user

    make_user(system, "viewer", Role.VIEWER)
    entries_before = audit_queries.verify(system).count
    import pytest

    from andon.core.errors import Conflict

    with pytest.raises(Conflict):
        load_demo(system, SMALL)
    assert plant.list_enterprises(system).items == []
    assert audit_queries.verify(system).count == entries_before
