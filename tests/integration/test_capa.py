"""CAPAs on both databases: closing only on an effective check, the held action, dangling
references refused on their field, re-checks after new values, the CLI check contract and
the pages."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import select

from andon.core.audit import AuditEntry
from andon.core.clock import utcnow
from andon.core.database import Database
from andon.core.errors import Conflict, InvalidInput
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.improvement import capa as service
from andon.improvement import rca
from andon.improvement.capa_schemas import CapaCreate, ChangeLink
from andon.improvement.models import RcaCause, RootCauseAnalysis
from andon.improvement.rca_schemas import CauseCreate, CauseVerify, RcaCreate
from andon.improvement.recurrence import next_exceptions
from andon.metrics.definition import parse_definition
from andon.metrics.service import define_metric, import_values
from andon.work.models import PlantException
from tests.factories import bearer, make_plant, make_user
from tests.integration.test_cli import andon
from tests.integration.test_web_pages import csrf_token, sign_in

UTC_ZONE = ZoneInfo("UTC")
START = date(2025, 3, 1)
EFFECTIVE = date(2025, 3, 15)
BEFORE = [10, 12, 9, 11, 8, 10, 13, 9, 10, 11, 12, 9, 10, 11]
DROP = [3, 4, 2, 3, 5, 3, 2, 4, 3, 3, 4, 2, 3, 3]
SAME = [11, 9, 10, 12, 10, 8, 11, 10, 9, 12, 10, 11, 9, 10]
DUE = date(2099, 1, 1)


def _definition(key: str) -> dict[str, object]:
    return {
        "key": key,
        "name": f"Scrap ({key})",
        "owner": "quality",
        "unit": "share",
        "direction": "lower_is_better",
        "kind": "lagging",
        "source": "manual",
        "period": "day",
        "chart": "p",
        "baseline": {"points": 10},
    }


def _csv(counts: list[int]) -> str:
    rows = [f"{(START + timedelta(days=i)).isoformat()},{c},100" for i, c in enumerate(counts)]
    return "period,count,n\n" + "\n".join(rows) + "\n"


@pytest.fixture
def metrics(system: Context) -> None:
    for key, after in (("scrap", DROP), ("flat", SAME)):
        define_metric(system, parse_definition(_definition(key)), reason="test")
        import_values(system, key, _csv(BEFORE + after), zone=UTC_ZONE)


def _open(system: Context, metric: str, **more: object) -> int:
    data = {
        "title": "Poka-yoke the torque fixture",
        "owner_role": "quality",
        "due_on": DUE,
        "metric_key": metric,
        "effective_on": EFFECTIVE,
        "window_days": 14,
        **more,
    }
    return service.open_capa(system, CapaCreate.model_validate(data)).id


def _field(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return str(exc.value.errors[0].loc[0])


def test_close_is_refused_without_a_check_and_on_a_not_effective_one(
    system: Context, metrics: None
) -> None:
    capa_id = _open(system, "flat")
    with pytest.raises(InvalidInput) as no_check:
        service.close_capa(system, capa_id, note="done")
    assert _field(no_check) == "check"
    found = service.run_check(system, capa_id, zone=UTC_ZONE)
    assert found.verdict == "not_effective"
    with pytest.raises(InvalidInput) as not_effective:
        service.close_capa(system, capa_id, note="done")
    assert _field(not_effective) == "check"
    assert "not effective" in not_effective.value.detail
    assert service.get_capa(system, capa_id).action.status == "open"


def test_an_effective_check_closes_the_capa_and_its_action(
    db: Database, system: Context, metrics: None
) -> None:
    capa_id = _open(system, "flat")
    service.run_check(system, capa_id, zone=UTC_ZONE)
    found = service.run_check(system, capa_id, zone=UTC_ZONE, metric_key="scrap")
    assert found.verdict == "effective"
    assert (found.before.n, found.after.n) == (14, 14)
    assert found.before.value == pytest.approx(sum(BEFORE) / 1400)
    closed = service.close_capa(system, capa_id, note="fixture changed, scrap down")
    assert closed.action.status == "done"
    assert closed.closed_on is not None
    assert closed.closed_on.id == found.id
    assert closed.metric_key == "scrap"
    with pytest.raises(Conflict, match="its changes are settled"):
        service.link_change(system, capa_id, ChangeLink(kind="metric_version", ref="scrap/1"))
    with db.read_session() as s:
        actions = s.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "capa", AuditEntry.entity_id == str(capa_id)
            )
        ).all()
    assert list(actions) == ["open", "check", "check", "close"]


def test_open_capas_are_checked_again_when_their_metric_gets_values(
    system: Context, metrics: None
) -> None:
    capa_id = _open(system, "scrap")
    done = _open(system, "flat")
    service.cancel_capa(system, done, note="superseded")
    assert service.recheck_open_capas(system, zone=UTC_ZONE).checked == [capa_id]
    assert service.recheck_open_capas(system, zone=UTC_ZONE).checked == []
    import_values(system, "scrap", "period,count,n\n2025-03-29,2,100\n", zone=UTC_ZONE)
    assert service.recheck_open_capas(system, zone=UTC_ZONE).checked == [capa_id]
    assert len(service.list_checks(system, capa_id)) == 2


def test_api_refuses_dangling_references_and_closes_the_held_action_only_through_the_capa(
    client: TestClient, system: Context, metrics: None
) -> None:
    headers = bearer(system, "qe", Role.QUALITY)
    owner = make_user(system, "lead", Role.QUALITY)
    with system.write() as tx:
        rcas = [
            RootCauseAnalysis(
                title=f"RCA {i}",
                what="loose bolts",
                started_at=utcnow(),
                owner_user_id=owner.id,
                created_by="qe",
            )
            for i in range(2)
        ]
        tx.session.add_all(rcas)
        tx.session.flush()
        cause = RcaCause(rca_id=rcas[1].id, text="worn bit", created_by="qe")
        tx.session.add(cause)
        tx.session.flush()
        rca_id, cause_id = rcas[0].id, cause.id
    body = {"title": "Fix", "owner_role": "quality", "due_on": DUE.isoformat()}
    for extra, field in (
        ({"rca_id": 999_999}, "rca_id"),
        ({"rca_id": rca_id, "cause_id": cause_id}, "cause_id"),
        ({"metric_key": "nope"}, "metric_key"),
        ({"metric_key": "scrap", "metric_line": "L9"}, "metric_line"),
    ):
        refused = client.post("/api/v1/capa", json={**body, **extra}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert [e["loc"][-1] for e in refused.json()["errors"]] == [field]
    made = client.post("/api/v1/capa", json={**body, "rca_id": rca_id}, headers=headers)
    assert made.status_code == 201, made.text
    capa = made.json()
    assert {(x["kind"], x["ref"]) for x in capa["action"]["links"]} == {
        ("rca", str(rca_id)),
        ("capa", str(capa["id"])),
    }
    link = client.post(
        f"/api/v1/capa/{capa['id']}/changes",
        json={"kind": "document_revision", "ref": "SOP-NOPE-001/1"},
        headers=headers,
    )
    assert link.status_code == 422
    assert [e["loc"][-1] for e in link.json()["errors"]] == ["ref"]
    held = client.post(
        f"/api/v1/actions/{capa['action']['id']}/close", json={"note": "done"}, headers=headers
    )
    assert held.status_code == 409
    assert "CAPA" in held.json()["detail"]
    close = client.post(f"/api/v1/capa/{capa['id']}/close", json={"note": "x"}, headers=headers)
    assert close.status_code == 422
    assert [e["loc"][-1] for e in close.json()["errors"]] == ["check"]
    body = {"metric_key": "scrap", "effective_on": EFFECTIVE.isoformat(), "window_days": 14}
    checked = client.post(f"/api/v1/capa/{capa['id']}/check", json=body, headers=headers)
    assert checked.status_code == 201, checked.text
    assert checked.json()["verdict"] == "effective"
    close = client.post(f"/api/v1/capa/{capa['id']}/close", json={"note": "x"}, headers=headers)
    assert close.json()["action"]["status"] == "done"
    assert close.json()["closed_on"]["id"] == checked.json()["id"]
    loose = client.post("/api/v1/capa/check", json={**body, "metric_key": "nope"}, headers=headers)
    assert loose.status_code == 404


def test_cli_check_prints_the_fixed_contract_on_imported_values(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path
    (folder / "scrap.yaml").write_text(json.dumps(_definition("scrap")), encoding="utf-8")
    (folder / "scrap.csv").write_text(_csv(BEFORE + DROP), encoding="utf-8")
    assert andon(db.url, "metric", "define", str(folder / "scrap.yaml")).exit_code == 0
    imported = andon(db.url, "metric", "import", "scrap", str(folder / "scrap.csv"))
    assert imported.exit_code == 0, imported.stderr
    result = andon(
        db.url,
        "capa",
        "check",
        "--metric",
        "scrap",
        "--effective-at",
        EFFECTIVE.isoformat(),
        "--window-days",
        "14",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"verdict", "method", "before", "after", "p_value", "signals"} <= set(data)
    assert set(data["before"]) == {"n", "value"}
    x1, x2 = sum(BEFORE), sum(DROP)
    pooled = (x1 + x2) / 2800
    z = (x2 / 1400 - x1 / 1400) / math.sqrt(pooled * (1 - pooled) * (2 / 1400))
    assert data["verdict"] == "effective"
    assert data["before"] == {"n": 14, "value": pytest.approx(x1 / 1400)}
    assert data["after"] == {"n": 14, "value": pytest.approx(x2 / 1400)}
    assert data["p_value"] == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    assert all(s["direction"] == "better" for s in data["signals"])
    opened = andon(
        db.url, "capa", "new", "--title", "Fix", "--owner", "quality", "--due", "2099-01-01"
    )
    assert opened.exit_code == 0, opened.stderr
    recorded = andon(
        db.url,
        "capa",
        "check",
        "1",
        "--metric",
        "scrap",
        "--effective-at",
        EFFECTIVE.isoformat(),
        "--window-days",
        "14",
        "--json",
    )
    assert recorded.exit_code == 0, recorded.stderr
    kept = json.loads(recorded.stdout)
    assert kept["id"] is not None
    assert {k: kept[k] for k in ("verdict", "before", "after", "p_value")} == {
        k: data[k] for k in ("verdict", "before", "after", "p_value")
    }
    unknown = andon(db.url, "capa", "check", "--metric", "nope", "--effective-at", "2025-03-15")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "error: no metric 'nope'"


def test_capa_pages_show_the_verdict_and_refuse_closing_with_a_message(
    client: TestClient, system: Context, metrics: None
) -> None:
    make_user(system, "qe", Role.QUALITY)
    capa_id = _open(system, "flat")
    service.run_check(system, capa_id, zone=UTC_ZONE)
    action_id = service.get_capa(system, capa_id).action.id
    sign_in(client, "qe")
    listed = client.get("/capa").text
    assert f'href="/capa/{capa_id}"' in listed
    assert "Not effective" in listed
    page = client.get(f"/capa/{capa_id}").text
    assert "Not effective" in page
    assert "two-proportion z-test" in page.lower()
    assert 'class="annotation" data-period="2025-03-15"' in page
    token = csrf_token(client, f"/capa/{capa_id}")
    refused = client.post(
        f"/capa/{capa_id}/close", data={"note": "done", "csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 422
    assert "a CAPA closes on an effective check" in refused.text
    action_page = client.get(f"/actions/{action_id}").text
    assert f'Closed through <a href="/capa/{capa_id}">CAPA {capa_id}</a>' in action_page
    assert f'action="/actions/{action_id}/close"' not in action_page
    assert f'action="/actions/{action_id}/update"' in action_page
    checked = client.post(
        f"/capa/{capa_id}/check",
        data={"metric_key": "scrap", "effective_on": "", "window_days": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert checked.status_code == 303
    closed = client.post(
        f"/capa/{capa_id}/close", data={"note": "done", "csrf_token": token}, follow_redirects=True
    )
    assert "The check it was closed on" in closed.text


def test_the_next_exceptions_after_a_fix_against_the_same_time_before(system: Context) -> None:
    *_, line = make_plant(system)
    since = datetime(2025, 3, 15, 6, tzinfo=UTC)
    hours = [-100, -30, -5, 10, 20, 40]  # three before the fix, three after
    with system.write() as tx:
        for i, h in enumerate(hours):
            tx.session.add(
                PlantException(
                    line_id=line.id,
                    category="torque" if i != 1 else "paint",
                    severity="minor",
                    description=f"e{i}",
                    raised_at=since + timedelta(hours=h),
                    raised_by="op",
                )
            )
    found = next_exceptions(system, category="torque", line_id=line.id, since=since, count=2)
    assert [e.description for e in found.after] == ["e3", "e4"]
    # The after window ends with the 2nd exception (20 h): the same 20 h before hold e2 only.
    assert found.after_end == since + timedelta(hours=20, microseconds=1)
    assert [e.description for e in found.before] == ["e2"]
    assert found.after[0].line == "L1"
    # No calendar: every hour works, so 20 h is 20/24 of a business day.
    assert found.after_business_days == pytest.approx(20 / 24, abs=1e-6)
    assert found.after_rate == pytest.approx(2 / (20 / 24), rel=1e-6)


def test_the_date_comes_from_the_latest_linked_change(system: Context, metrics: None) -> None:
    capa_id = _open(system, "scrap", effective_on=None)
    with pytest.raises(InvalidInput) as undated:
        service.run_check(system, capa_id, zone=UTC_ZONE)
    assert _field(undated) == "effective_on"
    linked = service.link_change(system, capa_id, ChangeLink(kind="metric_version", ref="scrap/1"))
    (change,) = linked.changes
    assert change.effective_at is not None
    found = service.run_check(system, capa_id, zone=UTC_ZONE)
    assert found.effective_on == change.effective_at.astimezone(UTC).date()
    # The threshold change is today: no finished period after it yet.
    assert (found.verdict, found.after.n) == ("not_enough_data", 0)


def _rca_with_a_root_cause(system: Context, line_id: int) -> tuple[int, int]:
    make_user(system, "lead", Role.QUALITY)
    opened = rca.open_rca(
        system,
        RcaCreate(
            title="Loose bolts",
            what="Bolts found loose at final inspection",
            started_at=datetime(2025, 3, 1, tzinfo=UTC),
            line_id=line_id,
            category="torque",
            owner_user="lead",
        ),
    )
    cause = rca.add_cause(system, opened.id, CauseCreate(text="The nutrunner drifted"))
    rca.verify_cause(system, opened.id, cause.id, CauseVerify(evidence="Calibration log"))
    rca.set_root(system, opened.id, cause.id)
    return opened.id, cause.id


def test_rca_page_opens_a_capa_per_root_cause_and_shows_its_verdict_and_the_next_exceptions(
    client: TestClient, system: Context, metrics: None
) -> None:
    *_, line = make_plant(system)
    rca_id, cause_id = _rca_with_a_root_cause(system, line.id)
    make_user(system, "viewer", Role.VIEWER)
    capa_id = _open(system, "scrap", rca_id=rca_id, cause_id=cause_id)
    service.run_check(system, capa_id, zone=UTC_ZONE)
    # Midnight of the effective day in the app's zone (Chicago, CDT): three before, one after.
    since = datetime(2025, 3, 15, 5, tzinfo=UTC)
    with system.write() as tx:
        for i, hours in enumerate([-50, -20, -2, 30]):
            tx.session.add(
                PlantException(
                    line_id=line.id,
                    category="torque",
                    severity="minor",
                    description=f"loose bolt {i}",
                    raised_at=since + timedelta(hours=hours),
                    raised_by="op",
                )
            )
    sign_in(client, "lead")
    page = client.get(f"/rca/{rca_id}").text
    assert f'href="/capa/new?rca={rca_id}&amp;cause={cause_id}"' in page
    assert "Open a CAPA for this cause" in page
    row = page[page.index(f'href="/capa/{capa_id}"') :].split("</tr>")[0]
    assert "Poka-yoke the torque fixture" in row
    assert ">open<" in row
    assert "2099-01-01" in row
    assert ">Effective<" in row
    assert "The next 20: torque exceptions" in page
    start = page.index("The next 20: torque exceptions")
    recurrence = page[start : page.index("</section>", start)]
    assert "After the change: 1 exception(s)" in recurrence
    assert "loose bolt 3" in recurrence
    assert "loose bolt 2" not in recurrence  # before the change: counted, not listed
    client.cookies.clear()
    sign_in(client, "viewer")
    seen = client.get(f"/rca/{rca_id}").text
    assert "Open a CAPA for this cause" not in seen
    assert ">Effective<" in seen


def test_metric_page_marks_the_capas_checked_on_it(
    client: TestClient, system: Context, metrics: None
) -> None:
    make_user(system, "qe", Role.QUALITY)
    capa_id = _open(system, "scrap")
    service.run_check(system, capa_id, zone=UTC_ZONE)
    elsewhere = _open(system, "flat")
    sign_in(client, "qe")
    page = client.get("/metrics/scrap").text
    marker = page[page.index('<g class="annotation" data-period="2025-03-15">') :]
    marker = marker[: marker.index("</g>")]
    assert f'<a href="/capa/{capa_id}">' in marker
    assert f"CAPA {capa_id}</text>" in marker
    listed = page[page.index(">CAPAs checked on this metric</h3>") :].split("</ul>")[0]
    assert f'<a href="/capa/{capa_id}">CAPA {capa_id}</a>' in listed
    assert "change effective 2025-03-15" in listed
    assert "<strong>Effective</strong>" in listed
    assert f"/capa/{elsewhere}" not in listed
    assert [c.id for c in service.capas_for_metric(system, "scrap")] == [capa_id]
    assert service.capas_for_metric(system, "scrap", "L1") == []
