import pytest

from andon.core.errors import PermissionDenied
from andon.core.permissions import MATRIX, Action, Actor, Grant, Role, Scope, authorize


def actor(*grants: Grant) -> Actor:
    return Actor(user_id=1, username="someone", grants=grants)


def test_every_action_has_a_row_in_the_matrix() -> None:
    assert set(MATRIX) == set(Action)


def test_operator_may_read_the_plant_but_not_manage_it() -> None:
    operator = actor(Grant(Role.OPERATOR))
    assert operator.can(Action.PLANT_READ)
    assert not operator.can(Action.PLANT_MANAGE)


def test_site_scoped_manager_manages_only_inside_that_site() -> None:
    manager = actor(Grant(Role.OPS_MANAGER, site_id=1))
    assert manager.can(Action.PLANT_MANAGE, Scope(site_id=1))
    assert manager.can(Action.PLANT_MANAGE, Scope(site_id=1, area_id=7))
    assert not manager.can(Action.PLANT_MANAGE, Scope(site_id=2))
    assert not manager.can(Action.PLANT_MANAGE)


def test_area_scoped_grant_does_not_cover_its_whole_site() -> None:
    manager = actor(Grant(Role.OPS_MANAGER, site_id=1, area_id=3))
    assert manager.can(Action.PLANT_MANAGE, Scope(site_id=1, area_id=3))
    assert not manager.can(Action.PLANT_MANAGE, Scope(site_id=1))
    assert not manager.can(Action.PLANT_MANAGE, Scope(site_id=1, area_id=4))


def test_authorize_names_actor_action_and_place_when_refusing() -> None:
    with pytest.raises(PermissionDenied, match=r"someone may not plant\.manage in site 2"):
        authorize(actor(Grant(Role.OPS_MANAGER, site_id=1)), Action.PLANT_MANAGE, Scope(site_id=2))


def test_only_admin_manages_users() -> None:
    for role in Role:
        assert actor(Grant(role)).can(Action.USER_MANAGE) == (role is Role.ADMIN)


def test_the_access_page_lists_every_action_with_the_roles_that_have_it() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text("utf-8")
    order = [
        Role.ADMIN,
        Role.OPS_MANAGER,
        Role.QUALITY,
        Role.SAFETY,
        Role.SUPERVISOR,
        Role.OPERATOR,
        Role.VIEWER,
    ]
    documented = {}
    for line in page.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            action = cells[0].split("`")[1]
            documented[action] = {role for role, cell in zip(order, cells[1:], strict=True) if cell}
    assert documented == {action.value: set(roles) for action, roles in MATRIX.items()}
