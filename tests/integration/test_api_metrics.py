"""Metrics over the JSON API: define (JSON or YAML), values (CSV or rows), chart, rebaseline."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer

YAML = {"content-type": "application/yaml"}
CSV = {"content-type": "text/csv"}
DEFINITION: dict[str, Any] = {
    "key": "near_misses",
    "name": "Near misses",
    "owner": "quality",
    "unit": "count",
    "direction": "lower_is_better",
    "kind": "leading",
    "source": "manual",
    "period": "week",
    "chart": "xmr",
    "rules": ["WE1"],
    "baseline": {"points": 5},
}
VALUES = "period,value\n2026-W40,10\n2026-W41,12\n2026-W42,11\n2026-W43,13\n2026-W44,12\n"


@pytest.fixture
def admin(system: Context) -> dict[str, str]:
    return bearer(system, "ada", Role.ADMIN)


def define(client: TestClient, auth: dict[str, str], **overrides: Any) -> Any:
    body = {"definition": {**DEFINITION, **overrides}, "reason": "new metric"}
    response = client.post("/api/v1/metrics", json=body, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_define_json_then_identical_yaml_is_unchanged(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = define(client, admin)
    assert (first["created"], first["version"]["version"]) == (True, 1)
    again = client.post(
        "/api/v1/metrics?reason=same", content=yaml.safe_dump(DEFINITION), headers={**admin, **YAML}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["changed"], again.json()["version"]["version"]) == (False, 1)


def test_invalid_definition_is_422_with_loc(client: TestClient, admin: dict[str, str]) -> None:
    body = {"definition": {**DEFINITION, "rules": ["WE1", "WE9"]}, "reason": "r"}
    response = client.post("/api/v1/metrics", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "definition", "rules", 1]
    assert client.get("/api/v1/metrics", headers=admin).json() == []


def test_thresholds_out_of_order_in_yaml_name_field_and_line(
    client: TestClient, admin: dict[str, str]
) -> None:
    doc = {
        **DEFINITION,
        "thresholds": [
            {"level": "warning", "above": 10, "decision": "look"},
            {"level": "critical", "above": 5, "decision": "stop"},
        ],
    }
    response = client.post(
        "/api/v1/metrics", content=yaml.safe_dump(doc, sort_keys=False), headers={**admin, **YAML}
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "thresholds", 1, "above"]
    assert error["msg"].startswith("line ")


def test_operator_may_not_define(client: TestClient, system: Context) -> None:
    operator = bearer(system, "olga", Role.OPERATOR)
    body = {"definition": DEFINITION, "reason": "r"}
    assert client.post("/api/v1/metrics", json=body, headers=operator).status_code == 403


def test_csv_values_then_chart(client: TestClient, admin: dict[str, str]) -> None:
    define(client, admin)
    posted = client.post(
        "/api/v1/metrics/near_misses/values", content=VALUES, headers={**admin, **CSV}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["limits_frozen"] is True
    chart = client.get("/api/v1/metrics/near_misses/chart", headers=admin).json()
    assert chart["center"] == pytest.approx(11.6)
    assert chart["ucl"] == pytest.approx(15.59)
    assert [p["signals"] for p in chart["points"]] == [[]] * 5


def test_bad_csv_row_is_422_naming_line(client: TestClient, admin: dict[str, str]) -> None:
    define(client, admin)
    bad = "period,value\n2026-W40,10\n2026-W41,x\n"
    response = client.post(
        "/api/v1/metrics/near_misses/values", content=bad, headers={**admin, **CSV}
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "value"]
    assert error["msg"].startswith("line 3:")
    shown = client.get("/api/v1/metrics/near_misses", headers=admin).json()
    assert shown["latest_values"] == []


def test_json_rows_error_names_the_row(client: TestClient, admin: dict[str, str]) -> None:
    define(client, admin)
    rows = {"rows": [{"period": "2026-W40", "value": 10}, {"period": "2026-W99", "value": 3}]}
    response = client.post("/api/v1/metrics/near_misses/values", json=rows, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "rows", 1, "period"]
    good = {"rows": [{"period": "2026-W40", "value": 10}, {"period": "2026-W41", "value": 3.5}]}
    stored = client.post("/api/v1/metrics/near_misses/values", json=good, headers=admin)
    assert stored.json()["values"] == 2
    values = client.get("/api/v1/metrics/near_misses", headers=admin).json()["latest_values"]
    assert [v["value"] for v in values] == [10, 3.5]


def test_rebaseline_versions_and_export(client: TestClient, admin: dict[str, str]) -> None:
    define(client, admin)
    client.post("/api/v1/metrics/near_misses/values", content=VALUES, headers={**admin, **CSV})
    missing = client.post("/api/v1/metrics/near_misses/rebaseline", json={}, headers=admin)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "reason"]
    moved = client.post(
        "/api/v1/metrics/near_misses/rebaseline",
        json={"reason": "shorter baseline", "points": 3},
        headers=admin,
    )
    assert moved.status_code == 201, moved.text
    # 10, 12, 11: mean 11, moving ranges 2 and 1 -> MR-bar 1.5.
    assert (moved.json()["seq"], moved.json()["center"]) == (2, pytest.approx(11.0))
    define(client, admin, rules=["WE1", "WE2"])
    versions = client.get("/api/v1/metrics/near_misses/versions", headers=admin).json()
    assert [v["version"] for v in versions] == [2, 1]
    exported = client.get("/api/v1/metrics/near_misses/export", headers=admin)
    assert exported.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(exported.text)["rules"] == ["WE1", "WE2"]


def test_compute_of_manual_metric_is_skipped(client: TestClient, admin: dict[str, str]) -> None:
    define(client, admin)
    response = client.post("/api/v1/metrics/near_misses/compute", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["skipped"] == "manual values"


def test_unknown_metric_is_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/api/v1/metrics/nope/chart", headers=admin).status_code == 404


def test_viewer_reads_the_chart_but_records_nothing(
    client: TestClient, admin: dict[str, str], system: Context
) -> None:
    define(client, admin)
    client.post("/api/v1/metrics/near_misses/values", content=VALUES, headers={**admin, **CSV})
    viewer = bearer(system, "vic", Role.VIEWER)
    assert client.get("/api/v1/metrics/near_misses/chart", headers=viewer).status_code == 200
    more = "period,value\n2026-W45,9\n"
    refused = client.post(
        "/api/v1/metrics/near_misses/values", content=more, headers={**viewer, **CSV}
    )
    assert refused.status_code == 403
    assert client.post("/api/v1/metrics/near_misses/compute", headers=viewer).status_code == 403
    rebased = client.post(
        "/api/v1/metrics/near_misses/rebaseline", json={"reason": "r"}, headers=viewer
    )
    assert rebased.status_code == 403
    shown = client.get("/api/v1/metrics/near_misses", headers=admin).json()
    assert [v["period"] for v in shown["latest_values"]][-1] == "2026-W44"


def test_status_and_crossings_of_a_metric(client: TestClient, admin: dict[str, str]) -> None:
    thresholds = [{"level": "critical", "above": 12.5, "decision": "Stop and walk the floor"}]
    define(client, admin, thresholds=thresholds)
    posted = client.post(
        "/api/v1/metrics/near_misses/values", content=VALUES, headers={**admin, **CSV}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["new_crossings"] == 1
    assert posted.json()["actions_opened"] == []  # W44's 12 stands: within the band
    status = client.get("/api/v1/metrics/near_misses/status", headers=admin)
    assert status.status_code == 200, status.text
    [whole] = status.json()
    assert (whole["line"], whole["status"], whole["period"], whole["value"]) == (
        None,
        "ok",
        "2026-W44",
        12.0,
    )
    crossings = client.get("/api/v1/metrics/near_misses/crossings", headers=admin)
    assert [(c["period"], c["level"], c["value"], c["action_id"]) for c in crossings.json()] == [
        ("2026-W43", "critical", 13.0, None)
    ]
    later = client.get(
        "/api/v1/metrics/near_misses/crossings",
        params={"since": "2999-01-01T00:00:00+00:00"},
        headers=admin,
    )
    assert later.json() == []
    naive = client.get(
        "/api/v1/metrics/near_misses/crossings", params={"since": "2026-01-01T00:00"}, headers=admin
    )
    assert naive.status_code == 422
    missing = client.get("/api/v1/metrics/nothing/status", headers=admin)
    assert missing.status_code == 404
