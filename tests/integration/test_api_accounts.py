"""Users, roles, tokens and sign-in throttling."""

import pytest
from fastapi.testclient import TestClient

from andon.accounts import service as accounts
from andon.core.database import Database
from andon.core.errors import NotAuthenticated, TooManyAttempts
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import PASSWORD, bearer, make_plant, make_user


def test_requests_without_a_token_get_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_admin_creates_a_user_who_can_then_sign_in(
    client: TestClient, system: Context, db: Database
) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    created = client.post(
        "/api/v1/users",
        json={
            "username": "Sam",
            "display_name": "Sam Supervisor",
            "password": "long enough pw",
            "grants": [{"role": "supervisor"}],
        },
        headers=auth,
    )
    assert created.status_code == 201
    assert created.json()["username"] == "sam"
    assert "password" not in created.text
    signed = accounts.sign_in(db, "sam", "long enough pw", accounts.LoginPolicy(), "r")
    assert signed.user.username == "sam"


def test_non_admin_cannot_list_users(client: TestClient, system: Context) -> None:
    assert (
        client.get("/api/v1/users", headers=bearer(system, "vic", Role.VIEWER)).status_code == 403
    )


def test_set_roles_replaces_grants_with_scopes(client: TestClient, system: Context) -> None:
    _, site, area, _ = make_plant(system)
    auth = bearer(system, "ada", Role.ADMIN)
    user = make_user(system, "otto", Role.VIEWER)
    response = client.put(
        f"/api/v1/users/{user.id}/roles",
        json={"grants": [{"role": "operator", "area_id": area.id}], "reason": "moved to assembly"},
        headers=auth,
    )
    grants = response.json()["grants"]
    assert [(g["role"], g["site_id"], g["area_id"]) for g in grants] == [
        ("operator", site.id, area.id)
    ]


def test_disabled_user_loses_token_access(client: TestClient, system: Context) -> None:
    admin = bearer(system, "ada", Role.ADMIN)
    user_auth = bearer(system, "otto", Role.OPERATOR)
    me = client.get("/api/v1/me", headers=user_auth).json()
    disabled = client.patch(
        f"/api/v1/users/{me['id']}", json={"version": me["version"], "active": False}, headers=admin
    )
    assert disabled.json()["active"] is False
    assert client.get("/api/v1/me", headers=user_auth).status_code == 401


def test_token_is_shown_once_and_revocable(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    created = client.post("/api/v1/tokens", json={"name": "line scanner"}, headers=auth).json()
    secret = created["token"]
    new_auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=new_auth).status_code == 200
    listed = client.get("/api/v1/tokens", headers=auth).json()
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=auth).json()["revoked_at"]
    assert client.get("/api/v1/me", headers=new_auth).status_code == 401


def test_forged_token_with_a_known_prefix_is_refused(client: TestClient, system: Context) -> None:
    secret = bearer(system, "ada", Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    forged = secret[: secret.rindex("_") + 1] + "x" * 43
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )


def test_repeated_failures_lock_the_account(system: Context, db: Database) -> None:
    make_user(system, "otto", Role.OPERATOR)
    policy = accounts.LoginPolicy(max_failures=3, lockout_seconds=600)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            accounts.sign_in(db, "otto", "wrong password", policy, "r")
    with pytest.raises(TooManyAttempts):
        accounts.sign_in(db, "otto", "wrong password", policy, "r")
    with pytest.raises(TooManyAttempts):
        accounts.sign_in(db, "otto", PASSWORD, policy, "r")


def test_successful_sign_in_resets_the_failure_count(system: Context, db: Database) -> None:
    make_user(system, "otto", Role.OPERATOR)
    policy = accounts.LoginPolicy(max_failures=3)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            accounts.sign_in(db, "otto", "wrong password", policy, "r")
    accounts.sign_in(db, "otto", PASSWORD, policy, "r")
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(db, "otto", "wrong password", policy, "r")


def test_session_token_resolves_to_the_user_until_sign_out(system: Context, db: Database) -> None:
    make_user(system, "otto", Role.OPERATOR)
    signed = accounts.sign_in(db, "otto", PASSWORD, accounts.LoginPolicy(), "r")
    actor = accounts.actor_from_session(db, signed.session_token)
    assert actor is not None
    assert actor.roles == {Role.OPERATOR}
    accounts.sign_out(db, signed.session_token, "r")
    assert accounts.actor_from_session(db, signed.session_token) is None


def test_admin_cannot_lock_themselves_out(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    me = client.get("/api/v1/me", headers=auth).json()
    response = client.put(
        f"/api/v1/users/{me['id']}/roles", json={"grants": [{"role": "viewer"}]}, headers=auth
    )
    assert response.status_code == 409
