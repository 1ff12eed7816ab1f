"""An anchor kept outside the database makes cutting off the newest audit entries detectable."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from andon.cli.main import app
from andon.core import audit_queries
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import EnterpriseCreate
from tests.factories import bearer, cut_off_entries, make_plant

runner = CliRunner()


def andon(db_url: str, *args: str) -> Result:
    env: dict[str, str | None] = {"ANDON_DATABASE_URL": db_url, "ANDON_DATA_DIR": None}
    return runner.invoke(app, list(args), env=env)


def entry_hash(db: Database, seq: int) -> str:
    with db.read_session() as session:
        found = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
    assert found is not None
    return found


def test_anchor_names_the_newest_entry(system: Context, db: Database, tmp_path: Path) -> None:
    make_plant(system)
    path = tmp_path / "anchor.json"

    result = andon(db.url, "audit", "anchor", str(path))

    assert result.exit_code == 0, result.stderr
    anchor = json.loads(path.read_text())
    assert (anchor["format"], anchor["seq"]) == ("andon-audit-anchor", 4)
    assert anchor["hash"] == entry_hash(db, 4)
    assert result.stdout.startswith(f"Anchored entry 4 ({anchor['hash'][:12]}")


def test_anchor_without_a_file_prints_the_json(system: Context, db: Database) -> None:
    make_plant(system)

    result = andon(db.url, "audit", "anchor")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hash"] == entry_hash(db, 4)


def test_an_empty_trail_has_nothing_to_anchor(db: Database, tmp_path: Path) -> None:
    result = andon(db.url, "audit", "anchor", str(tmp_path / "anchor.json"))

    assert result.exit_code == 1
    assert "the audit trail is empty" in result.stderr
    assert not (tmp_path / "anchor.json").exists()


def test_verify_with_an_anchor_passes_when_entries_were_only_added(
    system: Context, db: Database, tmp_path: Path
) -> None:
    make_plant(system)
    path = tmp_path / "anchor.json"
    assert andon(db.url, "audit", "anchor", str(path)).exit_code == 0
    plant.create_enterprise(system, EnterpriseCreate(name="Globex"))

    result = andon(db.url, "audit", "verify", "--anchor", str(path))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "OK: 5 entries verified; entry 4 matches the anchor"


def test_cutting_off_the_newest_entries_fails_verify_with_the_anchor(
    system: Context, db: Database, tmp_path: Path
) -> None:
    make_plant(system)
    for name in ("Globex", "Initech"):
        plant.create_enterprise(system, EnterpriseCreate(name=name))
    path = tmp_path / "anchor.json"
    assert andon(db.url, "audit", "anchor", str(path)).exit_code == 0
    cut_off_entries(db.url, keep=4)

    without = andon(db.url, "audit", "verify")
    result = andon(db.url, "audit", "verify", "--anchor", str(path))

    # The shorter chain is still a valid chain: only the anchor shows what is gone.
    assert without.exit_code == 0
    assert without.stdout.strip() == "OK: 4 entries verified"
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        "BROKEN: entry 6 named by the anchor is missing (the trail ends at entry 4): "
        "the newest entries were cut off (4 entries verified as a chain)"
    )


def test_entries_rewritten_after_a_cut_fail_verify_with_the_anchor(
    system: Context, db: Database, tmp_path: Path
) -> None:
    make_plant(system)
    plant.create_enterprise(system, EnterpriseCreate(name="Globex"))
    path = tmp_path / "anchor.json"
    assert andon(db.url, "audit", "anchor", str(path)).exit_code == 0
    cut_off_entries(db.url, keep=4)
    plant.create_enterprise(system, EnterpriseCreate(name="Initech"))  # a new entry 5

    result = andon(db.url, "audit", "verify", "--anchor", str(path))

    assert result.exit_code == 1
    assert "entry 5 no longer has the anchored hash: the chain was rewritten" in result.stdout


def test_an_unreadable_anchor_file_is_refused(
    system: Context, db: Database, tmp_path: Path
) -> None:
    make_plant(system)
    path = tmp_path / "anchor.json"
    path.write_text('{"seq": 4}')

    result = andon(db.url, "audit", "verify", "--anchor", str(path))

    assert result.exit_code == 1
    assert "anchor: unreadable" in result.stderr


def test_api_anchor_then_verify_reports_cut_off_entries(
    client: TestClient, system: Context, db: Database
) -> None:
    auth = bearer(system, "quinn", Role.QUALITY)
    make_plant(system)
    newest = audit_queries.verify(system).count
    anchor = client.get("/api/v1/audit/anchor", headers=auth)
    assert anchor.status_code == 200
    assert (anchor.json()["seq"], anchor.json()["hash"]) == (newest, entry_hash(db, newest))
    intact = client.post("/api/v1/audit/verify", json=anchor.json(), headers=auth)
    cut_off_entries(db.url, keep=newest - 2)

    broken = client.post("/api/v1/audit/verify", json=anchor.json(), headers=auth)

    assert intact.json() == {
        "ok": True,
        "count": newest,
        "broken_seq": None,
        "problem": None,
        "anchor_failed": False,
    }
    assert broken.status_code == 200
    assert broken.json() == {
        "ok": False,
        "count": newest - 2,
        "broken_seq": newest,
        "problem": f"entry {newest} named by the anchor is missing (the trail ends at entry "
        f"{newest - 2}): the newest entries were cut off",
        "anchor_failed": True,
    }


def test_api_anchor_needs_the_audit_read_right(client: TestClient, system: Context) -> None:
    auth = bearer(system, "olga", Role.OPERATOR)

    response = client.get("/api/v1/audit/anchor", headers=auth)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
