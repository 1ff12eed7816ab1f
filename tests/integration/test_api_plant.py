"""Plant hierarchy over the JSON API, on SQLite and PostgreSQL."""

from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer, make_plant


def test_admin_builds_the_hierarchy_top_down(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    enterprise = client.post("/api/v1/enterprises", json={"name": "Acme"}, headers=auth).json()
    site = client.post(
        "/api/v1/sites",
        json={
            "enterprise_id": enterprise["id"],
            "name": "Chicago",
            "code": "chi",
            "timezone": "America/Chicago",
        },
        headers=auth,
    )
    assert site.status_code == 201
    assert site.json()["code"] == "CHI"
    area = client.post(
        "/api/v1/areas",
        json={"site_id": site.json()["id"], "name": "Assembly", "code": "ASM"},
        headers=auth,
    ).json()
    line = client.post(
        "/api/v1/lines",
        json={"area_id": area["id"], "name": "Cell 4", "code": "C4", "kind": "work_centre"},
        headers=auth,
    )
    assert line.status_code == 201
    listed = client.get(f"/api/v1/lines?area_id={area['id']}", headers=auth).json()
    assert [item["name"] for item in listed["items"]] == ["Cell 4"]
    assert listed["next_cursor"] is None


def test_list_pages_with_a_cursor(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    for n in range(5):
        client.post("/api/v1/enterprises", json={"name": f"E{n}"}, headers=auth)
    first = client.get("/api/v1/enterprises?limit=2", headers=auth).json()
    second = client.get(f"/api/v1/enterprises?limit=2&cursor={first['next_cursor']}", headers=auth)
    names = [e["name"] for e in first["items"] + second.json()["items"]]
    assert names == ["E0", "E1", "E2", "E3"]


def test_stale_update_gets_409_and_changes_nothing(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    _, site, _, _ = make_plant(system)
    fresh = client.patch(
        f"/api/v1/sites/{site.id}", json={"version": 1, "name": "North"}, headers=auth
    )
    assert fresh.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/sites/{site.id}", json={"version": 1, "name": "South"}, headers=auth
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert "version 2" in stale.json()["detail"]
    assert client.get(f"/api/v1/sites/{site.id}", headers=auth).json()["name"] == "North"


def test_deleting_a_site_with_areas_is_refused(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    _, site, _, _ = make_plant(system)
    refused = client.delete(f"/api/v1/sites/{site.id}?version=1", headers=auth)
    assert refused.status_code == 409
    assert "areas" in refused.json()["detail"]
    assert client.get(f"/api/v1/sites/{site.id}", headers=auth).status_code == 200


def test_delete_bottom_up_succeeds(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    _, _, area, line = make_plant(system)
    assert (
        client.delete(f"/api/v1/lines/{line.id}?version=1&reason=retired", headers=auth).status_code
        == 204
    )
    assert client.delete(f"/api/v1/areas/{area.id}?version=1", headers=auth).status_code == 204
    assert client.get(f"/api/v1/lines/{line.id}", headers=auth).status_code == 404


def test_operator_may_read_but_not_change_the_plant(client: TestClient, system: Context) -> None:
    auth = bearer(system, "otto", Role.OPERATOR)
    _, site, _, _ = make_plant(system)
    assert client.get(f"/api/v1/sites/{site.id}", headers=auth).status_code == 200
    refused = client.patch(
        f"/api/v1/sites/{site.id}", json={"version": 1, "name": "X"}, headers=auth
    )
    assert refused.status_code == 403
    assert refused.json()["title"] == "Forbidden"


def test_site_scoped_manager_adds_areas_only_to_own_site(
    client: TestClient, system: Context
) -> None:
    enterprise, site, _, _ = make_plant(system)
    other = client.post(
        "/api/v1/sites",
        json={
            "enterprise_id": enterprise.id,
            "name": "Charlotte",
            "code": "CLT",
            "timezone": "America/New_York",
        },
        headers=bearer(system, "ada", Role.ADMIN),
    ).json()
    auth = bearer(system, "mona", Role.OPS_MANAGER, site_id=site.id)
    own = client.post(
        "/api/v1/areas", json={"site_id": site.id, "name": "Paint", "code": "PNT"}, headers=auth
    )
    assert own.status_code == 201
    foreign = client.post(
        "/api/v1/areas", json={"site_id": other["id"], "name": "Paint", "code": "PNT"}, headers=auth
    )
    assert foreign.status_code == 403


def test_unknown_parent_is_named_in_the_error(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    response = client.post(
        "/api/v1/areas", json={"site_id": 999, "name": "A", "code": "A"}, headers=auth
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "site_id"]


def test_every_change_is_in_the_audit_trail(client: TestClient, system: Context) -> None:
    auth = bearer(system, "ada", Role.ADMIN)
    _, site, _, _ = make_plant(system)
    client.patch(
        f"/api/v1/sites/{site.id}",
        json={"version": 1, "timezone": "America/Denver", "reason": "moved"},
        headers=auth,
    )
    trail = client.get(f"/api/v1/audit?entity_type=site&entity_id={site.id}", headers=auth).json()
    newest = trail["items"][0]
    assert newest["actor_name"] == "ada"
    assert newest["reason"] == "moved"
    assert newest["changes"]["after"]["timezone"] == "America/Denver"
    assert newest["request_id"]
