"""The risk register and the safety gate on document changes, on both databases."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from andon.accounts.service import actor_for
from andon.actions.service import close_action
from andon.core.clock import utcnow
from andon.core.database import Database
from andon.core.errors import InvalidInput
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents import queries, service
from andon.documents.rules import DEFAULT_RULES
from andon.documents.sweeps import sweep_documents
from andon.improvement import risks
from andon.improvement.risk_schemas import MitigationCreate, RiskCreate, RiskUpdate
from tests.factories import PASSWORD, bearer, make_plant, make_user
from tests.integration.test_cli import andon
from tests.integration.test_web_pages import csrf_token, sign_in

LOTO = "SOP-SAF-001"
DUE = date.today() + timedelta(days=10)


def _risk(system: Context, **fields: object) -> int:
    data = {
        "title": "Ram falls",
        "owner": "safety",
        "inherent_likelihood": 3,
        "inherent_severity": 5,
        **fields,
    }
    return risks.add_risk(system, RiskCreate.model_validate(data)).id


@pytest.fixture
def safety(system: Context) -> Context:
    return system.as_actor(actor_for(make_user(system, "safety", Role.SAFETY)))


def test_invalid_scores_are_refused_with_the_field(system: Context, safety: Context) -> None:
    with pytest.raises(InvalidInput) as off_scale:
        _risk(safety, inherent_severity=6)
    assert [e.loc for e in off_scale.value.errors] == [("inherent_severity",)]
    with pytest.raises(InvalidInput) as zero:
        _risk(safety, inherent_likelihood=0)
    assert [e.loc for e in zero.value.errors] == [("inherent_likelihood",)]
    risk_id = _risk(safety, residual_likelihood=1, residual_severity=5)
    with pytest.raises(InvalidInput) as worse:
        risks.edit_risk(safety, risk_id, RiskUpdate(version=1, residual_likelihood=4))
    assert [e.loc for e in worse.value.errors] == [("residual_likelihood",)]
    assert risks.list_risks(system)[0].residual_score == 5  # nothing was stored


def test_the_safety_gate_holds_a_change_until_its_mitigations_are_done(
    client: TestClient, system: Context, safety: Context
) -> None:
    make_plant(system)
    author = system.as_actor(actor_for(make_user(system, "author", Role.QUALITY)))
    quality = system.as_actor(actor_for(make_user(system, "qe", Role.QUALITY)))
    officer = system.as_actor(actor_for(make_user(system, "se", Role.SAFETY)))
    risk_id = _risk(safety)
    block = risks.add_mitigation(
        safety, risk_id, MitigationCreate(title="Fit a ram block", owner_user="se", due_on=DUE)
    )
    service.import_markdown(author, dict(demo_document_texts())[LOTO])
    service.submit(author, LOTO)
    service.approve(quality, LOTO, PASSWORD)
    service.import_markdown(author, dict(demo_change_texts())[LOTO])  # links RSK-1
    service.submit(author, LOTO)
    service.approve(quality, LOTO, PASSWORD)
    held = service.approve(officer, LOTO, PASSWORD)

    assert (held.revision, held.status) == (2, "approved")
    assert f'action #{block.id} "Fit a ram block"' in (held.waiting or "")
    report = sweep_documents(system, rules=DEFAULT_RULES, now=utcnow())
    assert report.took_effect == 0
    assert "Fit a ram block" in report.held[0]
    view = queries.show(system, LOTO, 2)
    assert (view.revision.status, view.risk and view.risk.reference) == ("approved", "RSK-1")
    assert view.revision.change["risk"] == "RSK-1"  # the signed record names the entry
    assert view.waiting_for
    assert [d.revision for d in risks.get_risk(system, risk_id).documents] == [2]
    sign_in(client, "se")
    page = client.get(f"/documents/{LOTO}?revision=2").text
    assert "cannot take effect while its risk's mitigations are unfinished" in page
    assert 'href="/risks/1">RSK-1</a>' in page

    shown = client.get(
        f"/api/v1/documents/{LOTO}?revision=2", headers=bearer(system, "vw", Role.VIEWER)
    )
    assert shown.json()["risk"]["reference"] == "RSK-1"
    assert "Fit a ram block" in shown.json()["waiting_for"][0]
    close_action(officer, block.id, note="Blocks fitted")
    assert service.take_effect_due(system)[0].status == "effective"
    assert queries.show(system, LOTO).revision.number == 2


def test_a_change_names_a_register_entry_not_free_text(system: Context) -> None:
    make_plant(system)
    make_user(system, "safety", Role.SAFETY)
    author = system.as_actor(actor_for(make_user(system, "author", Role.QUALITY)))
    text = dict(demo_change_texts())[LOTO]
    for risk, message in (("RSK-9", "no risk RSK-9"), ("the ram falls", "risk register entry")):
        with pytest.raises(InvalidInput, match=message) as refused:
            service.import_markdown(author, text.replace("risk: RSK-1", f"risk: {risk}"))
        assert refused.value.errors[0].loc == ("front_matter", "risk")
        assert refused.value.errors[0].msg.startswith("line 11: ")


def test_api_adds_scores_maps_and_exports(client: TestClient, system: Context) -> None:
    make_user(system, "safety", Role.SAFETY)
    manager = bearer(system, "sam", Role.SAFETY)
    body = {
        "title": "Forklift meets walker",
        "area": "WH",
        "owner": "safety",
        "inherent_likelihood": 4,
        "inherent_severity": 4,
    }
    made = client.post("/api/v1/risks", json=body, headers=manager)
    assert made.status_code == 201, made.text
    assert (made.json()["reference"], made.json()["inherent_band"]) == ("RSK-1", "high")
    bad = client.post("/api/v1/risks", json={**body, "inherent_severity": 0}, headers=manager)
    assert bad.status_code == 422
    assert "inherent_severity" in bad.text
    client.post("/api/v1/risks", json={**body, "title": "=cmd()", "area": "ASM"}, headers=manager)
    mitigation = client.post(
        "/api/v1/risks/1/mitigations",
        json={"title": "Mark walkways", "owner_user": "safety", "due_on": DUE.isoformat()},
        headers=manager,
    )
    assert mitigation.status_code == 201
    assert mitigation.json()["links"] == [{"kind": "risk", "ref": "1"}]

    heat = client.get("/api/v1/risks/heatmap", headers=manager).json()
    assert heat["rows"][1][3] == {"likelihood": 4, "severity": 4, "band": "high", "count": 2}
    listed = client.get("/api/v1/risks", params={"area": "wh"}, headers=manager).json()
    assert [(r["reference"], r["open_mitigations"]) for r in listed] == [("RSK-1", 1)]
    xlsx = client.get("/api/v1/risks.xlsx", headers=manager)
    sheet = openpyxl.load_workbook(BytesIO(xlsx.content))["Risk register"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Reference", "Title")
    titles = {r[0]: (r[1], r[9], r[10]) for r in rows[1:]}
    assert titles["RSK-1"] == ("Forklift meets walker", 16, "high")
    assert titles["RSK-2"][0] == "=cmd()"  # text, never a formula
    assert sheet["B3"].data_type == "s"


def test_cli_new_list_and_refusal(db: Database, system: Context, tmp_path: Path) -> None:
    make_user(system, "safety", Role.SAFETY)
    made = andon(
        db.url,
        "risk",
        "new",
        "--title",
        "Ram falls",
        "--owner",
        "safety",
        "--check-every",
        "30",
        "--json",
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["status"] == "to_assess"
    scored = json.loads(
        andon(db.url, "risk", "edit", "RSK-1", "--inherent", "3x5", "--json").stdout
    )
    assert (scored["inherent_score"], scored["status"]) == (15, "open")
    refused = andon(db.url, "risk", "edit", "RSK-1", "--residual", "4x5")
    assert refused.exit_code != 0
    assert "residual_likelihood" in refused.output
    assert andon(db.url, "risk", "verify", "RSK-1", "--result", "met").exit_code == 0
    listed = json.loads(andon(db.url, "risk", "list", "--band", "high", "--json").stdout)
    assert [(r["reference"], r["verification_state"]) for r in listed] == [("RSK-1", "met")]
    out = tmp_path / "risks.xlsx"
    assert andon(db.url, "risk", "export", "-o", str(out)).exit_code == 0
    assert openpyxl.load_workbook(out)["Risk register"]["A2"].value == "RSK-1"


def test_pages_show_the_register_and_refuse_a_bad_score(
    client: TestClient, system: Context, safety: Context
) -> None:
    risk_id = _risk(safety, area="ASM")
    sign_in(client, "safety")
    register = client.get("/risks?scale=inherent").text
    assert 'href="/risks?scale=inherent&amp;likelihood=3&amp;severity=5"' in register
    assert f'href="/risks/{risk_id}"' in register
    token = csrf_token(client, "/risks/new")
    bad = client.post(
        "/risks/new",
        data={
            "title": "Spill",
            "owner": "safety",
            "inherent_likelihood": "2",
            "inherent_severity": "2",
            "residual_likelihood": "3",
            "residual_severity": "2",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert 'id="new-rl-error"' in bad.text
    detail = client.get(f"/risks/{risk_id}").text
    assert "RSK-1: Ram falls" in detail
    assert f'action="/risks/{risk_id}/mitigations"' in detail


def test_a_metric_verification_judges_the_latest_finished_value(
    system: Context, safety: Context
) -> None:
    from zoneinfo import ZoneInfo

    from andon.improvement.risk_schemas import RiskVerify
    from andon.metrics import service as metrics
    from andon.metrics.definition import parse_definition

    definition = {
        "key": "near_misses",
        "name": "Near misses",
        "unit": "count",
        "direction": "lower_is_better",
        "kind": "leading",
        "owner": "quality",
        "source": "manual",
        "period": "week",
        "chart": "xmr",
        "rules": ["WE1"],
        "baseline": {"points": 3},
    }
    metrics.define_metric(system, parse_definition(definition), reason="new")
    csv = "period,value\n2026-W40,10\n2026-W41,12\n2026-W42,9\n"
    metrics.import_values(system, "near_misses", csv, zone=ZoneInfo("UTC"))
    with pytest.raises(InvalidInput) as dangling:
        _risk(
            safety,
            verification={
                "method": "metric",
                "metric_key": "nope",
                "metric_comparison": "le",
                "metric_threshold": 9,
            },
        )
    assert dangling.value.errors[0].loc == ("verification.metric_key",)
    risk_id = _risk(
        safety,
        verification={
            "method": "metric",
            "metric_key": "near_misses",
            "metric_comparison": "le",
            "metric_threshold": 9,
        },
    )
    met = risks.verify_risk(safety, risk_id, RiskVerify(), zone=ZoneInfo("UTC"))
    assert (met.verification_state, met.verification_value) == ("met", 9.0)
    risks.edit_risk(
        safety,
        risk_id,
        RiskUpdate(
            version=met.version,
            verification={
                "method": "metric",
                "metric_key": "near_misses",
                "metric_comparison": "lt",
                "metric_threshold": 9,
            },
        ),
    )
    missed = risks.verify_risk(safety, risk_id, RiskVerify(), zone=ZoneInfo("UTC"))
    assert missed.verification_state == "not_met"
