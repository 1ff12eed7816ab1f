"""`andon doc`, on SQLite and PostgreSQL: import, sign with passwords from stdin, read, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents.markdown_io import parse_markdown
from andon.documents.models import Document, DocumentSignature
from tests.factories import PASSWORD, make_plant, make_user
from tests.integration.risk_plant import make_risk
from tests.integration.test_cli import andon

TEXTS = dict(demo_document_texts())
CHANGES = dict(demo_change_texts())
LOTO = "SOP-SAF-001"


@pytest.fixture
def people(system: Context) -> None:
    _, site, area, _ = make_plant(system)
    make_user(system, "safety", Role.SAFETY)  # the owner named in the demo files
    make_risk(system, "safety")  # RSK-1, which the demo's safety change links
    make_user(system, "quality", Role.QUALITY)
    make_user(system, "author", Role.QUALITY, Role.SAFETY)
    make_user(system, "qe", Role.QUALITY)
    make_user(system, "se", Role.SAFETY)
    make_user(system, "op", Role.OPERATOR, site_id=site.id, area_id=area.id)


def _file(tmp_path: Path, text: str, name: str = "doc.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _signatures(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(DocumentSignature)) or 0


def _audit(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _effective(db: Database, tmp_path: Path, number: str = LOTO) -> None:
    """Import, submit and approve a demo document, all through the CLI."""
    made = andon(db.url, "doc", "import", str(_file(tmp_path, TEXTS[number])), "--as", "author")
    assert made.exit_code == 0, made.stderr
    assert andon(db.url, "doc", "submit", number, "--as", "author").exit_code == 0
    done = andon(db.url, "doc", "approve", number, "--as", "qe", stdin=PASSWORD + "\n")
    assert done.exit_code == 0, done.stderr


@pytest.mark.usefixtures("people")
def test_import_submit_approve_then_show_json(db: Database, tmp_path: Path) -> None:
    made = andon(
        db.url, "doc", "import", str(_file(tmp_path, TEXTS[LOTO])), "--as", "author", "--json"
    )
    assert made.exit_code == 0, made.stderr
    data = json.loads(made.stdout)
    assert (data["number"], data["revision"], data["status"]) == (LOTO, 1, "draft")

    sent = andon(db.url, "doc", "submit", LOTO, "--as", "author", "--sign", stdin=PASSWORD + "\n")
    assert sent.exit_code == 0, sent.stderr
    assert "in_review" in sent.stdout
    assert "still needs approval by quality" in sent.stdout

    done = andon(db.url, "doc", "approve", LOTO, "--as", "qe", "--json", stdin=PASSWORD + "\n")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "effective"

    shown = andon(db.url, "doc", "show", LOTO, "--json")
    assert shown.exit_code == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert (view["number"], view["revision"], view["status"]) == (LOTO, 1, "effective")
    assert view["effective_at"] is not None
    assert [(s["username"], s["meaning"]) for s in view["signatures"]] == [
        ("author", "authored"),
        ("qe", "approved"),
    ]
    for sig in view["signatures"]:
        assert {"username", "name", "meaning", "signed_at", "content_sha256"} <= set(sig)
        assert sig["content_sha256"] == view["content_sha256"]
    assert view["signatures"][1]["name"] == "Qe"

    text = andon(db.url, "doc", "show", LOTO)
    assert text.exit_code == 0, text.stderr
    assert text.stdout.startswith(f"{LOTO} revision 1: Lockout/tagout")
    assert "approved  quality" in text.stdout
    assert "## Steps" in text.stdout


@pytest.mark.usefixtures("people")
def test_a_wrong_password_exits_1_and_stores_nothing(db: Database, tmp_path: Path) -> None:
    andon(db.url, "doc", "import", str(_file(tmp_path, TEXTS[LOTO])), "--as", "author")
    assert andon(db.url, "doc", "submit", LOTO, "--as", "author").exit_code == 0
    before = (_signatures(db), _audit(db))
    wrong = andon(db.url, "doc", "approve", LOTO, "--as", "qe", stdin="not it\n")
    assert wrong.exit_code == 1
    assert "password" in wrong.stderr
    assert "nothing was signed" in wrong.stderr
    empty = andon(db.url, "doc", "approve", LOTO, "--as", "qe", stdin="")
    assert empty.exit_code == 1
    assert (_signatures(db), _audit(db)) == before
    shown = json.loads(andon(db.url, "doc", "show", LOTO, "--json").stdout)
    assert (shown["status"], shown["signatures"]) == ("in_review", [])


@pytest.mark.usefixtures("people")
def test_reject_needs_a_comment(db: Database, tmp_path: Path) -> None:
    andon(db.url, "doc", "import", str(_file(tmp_path, TEXTS[LOTO])), "--as", "author")
    andon(db.url, "doc", "submit", LOTO, "--as", "author")
    before = _signatures(db)
    missing = andon(db.url, "doc", "reject", LOTO, "--as", "qe", stdin=PASSWORD + "\n")
    assert missing.exit_code == 2
    blank = andon(
        db.url, "doc", "reject", LOTO, "--as", "qe", "--comment", "  ", stdin=PASSWORD + "\n"
    )
    assert blank.exit_code == 1
    assert "comment" in blank.stderr
    assert _signatures(db) == before
    done = andon(
        db.url,
        *("doc", "reject", LOTO, "--as", "qe", "--comment", "Step 3 lacks the air bleed"),
        stdin=PASSWORD + "\n",
    )
    assert done.exit_code == 0, done.stderr
    assert "draft" in done.stdout
    assert _signatures(db) == before + 1


@pytest.mark.usefixtures("people")
def test_import_refusals_name_field_and_line_and_write_nothing(
    db: Database, tmp_path: Path
) -> None:
    text = TEXTS[LOTO].replace("owner: safety\n", "owner: safety\ncolour: red\n", 1)
    bad = andon(db.url, "doc", "import", str(_file(tmp_path, text)), "--as", "author")
    assert bad.exit_code == 1
    # Line 1 is the opening "---"; the unknown field is the sixth line of the file.
    assert "front_matter.colour (line 6)" in bad.stderr
    unknown = TEXTS[LOTO].replace("owner: safety\n", "owner: nobody\n", 1)
    nobody = andon(db.url, "doc", "import", str(_file(tmp_path, unknown)))
    assert nobody.exit_code == 1
    assert "nobody" in nobody.stderr
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0


@pytest.mark.usefixtures("people")
def test_export_is_the_imported_file_byte_for_byte(db: Database, tmp_path: Path) -> None:
    _effective(db, tmp_path)
    printed = andon(db.url, "doc", "export", LOTO)
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout == TEXTS[LOTO]
    out = tmp_path / "out.md"
    written = andon(db.url, "doc", "export", LOTO, "--revision", "1", "-o", str(out))
    assert written.exit_code == 0, written.stderr
    assert out.read_bytes() == TEXTS[LOTO].encode("utf-8")


@pytest.mark.usefixtures("people")
def test_change_diff_search_and_ack(db: Database, tmp_path: Path) -> None:
    _effective(db, tmp_path)
    change = _file(tmp_path, CHANGES[LOTO], "change.md")
    assert andon(db.url, "doc", "import", str(change), "--as", "author").exit_code == 0
    assert andon(db.url, "doc", "submit", LOTO, "--as", "author").exit_code == 0
    for signer in ("qe", "se"):
        signed = andon(db.url, "doc", "approve", LOTO, "--as", signer, stdin=PASSWORD + "\n")
        assert signed.exit_code == 0, signed.stderr
    assert "is effective" in signed.stdout

    red = andon(db.url, "doc", "diff", LOTO, "--from", "1", "--to", "2", "--json")
    assert red.exit_code == 0, red.stderr
    body = json.loads(red.stdout)
    assert (body["from"], body["to"], body["changed"]) == (1, 2, True)
    assert any(s["kind"] == "added" for s in body["steps"])
    unified = andon(db.url, "doc", "diff", LOTO, "--from", "1", "--to", "2")
    assert unified.stdout.startswith(f"--- {LOTO} revision 1\n+++ {LOTO} revision 2\n")
    assert "{+" in unified.stdout
    assert andon(db.url, "doc", "diff", LOTO, "--from", "1", "--to", "9").exit_code == 1

    found = andon(db.url, "doc", "search", "ram block", "--json")
    assert found.exit_code == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [(h["number"], h["revision"]) for h in hits] == [(LOTO, 2)]
    assert json.loads(andon(db.url, "doc", "search", "zeppelin", "--json").stdout) == []

    before = _signatures(db)
    acked = andon(db.url, "doc", "ack", LOTO, "--as", "op", "--json", stdin=PASSWORD + "\n")
    assert acked.exit_code == 0, acked.stderr
    assert json.loads(acked.stdout)["revision"] == 2
    again = andon(db.url, "doc", "ack", LOTO, "--as", "op", stdin=PASSWORD + "\n")
    assert again.exit_code == 1
    assert _signatures(db) == before + 1

    listed = json.loads(andon(db.url, "doc", "list", "--json").stdout)
    assert [(d["number"], d["effective_revision"]) for d in listed] == [(LOTO, 2)]


@pytest.mark.usefixtures("people")
def test_revise_and_review(db: Database, tmp_path: Path) -> None:
    _effective(db, tmp_path)
    reviewed = andon(
        db.url, "doc", "review", LOTO, "--as", "se", "--outcome", "confirm", stdin=PASSWORD + "\n"
    )
    assert reviewed.exit_code == 0, reviewed.stderr
    revised = andon(
        db.url,
        *("doc", "revise", LOTO, "--as", "author", "--reason", "Typo in step 2"),
        *("--no-safety-impact", "--no-training", "--json"),
    )
    assert revised.exit_code == 0, revised.stderr
    assert json.loads(revised.stdout)["revision"] == 2
    draft = json.loads(andon(db.url, "doc", "show", LOTO, "--revision", "2", "--json").stdout)
    assert draft["status"] == "draft"
    assert draft["change"] == {
        "reason": "Typo in step 2",
        "safety_impact": False,
        "training": False,
    }


def test_new_writes_a_starter_that_imports(db: Database, system: Context, tmp_path: Path) -> None:
    out = tmp_path / "new.md"
    made = andon(
        db.url,
        *("doc", "new", "--type", "WI", "--title", "Torque check", "--owner", "qe"),
        *("--area", "ASM", "-o", str(out)),
    )
    assert made.exit_code == 0, made.stderr
    parsed = parse_markdown(out.read_text(encoding="utf-8"))
    assert (parsed.header.type, parsed.header.title, parsed.header.area) == (
        "WI",
        "Torque check",
        "ASM",
    )
    assert len(parsed.content.steps) == 1
    assert (
        andon(
            db.url, "doc", "new", "--type", "WI", "--title", "T", "--owner", "qe", "-o", str(out)
        ).exit_code
        == 1
    )
    make_plant(system)
    make_user(system, "qe", Role.QUALITY)
    imported = andon(db.url, "doc", "import", str(out), "--as", "qe", "--json")
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)["number"] == "WI-ASM-001"


@pytest.mark.usefixtures("people")
def test_without_as_the_owner_authors(db: Database, tmp_path: Path) -> None:
    made = andon(db.url, "doc", "import", str(_file(tmp_path, TEXTS[LOTO])), "--json")
    assert made.exit_code == 0, made.stderr
    shown = json.loads(andon(db.url, "doc", "show", LOTO, "--json").stdout)
    assert shown["author"] == "safety"  # the owner the front matter names
    assert andon(db.url, "doc", "submit", LOTO, "--as", "safety").exit_code == 0
    assert andon(db.url, "doc", "approve", LOTO, "--as", "qe", stdin=PASSWORD + "\n").exit_code == 0
    revised = andon(db.url, "doc", "revise", LOTO, "--reason", "Typo", "--json")
    assert revised.exit_code == 0, revised.stderr
    draft = json.loads(andon(db.url, "doc", "show", LOTO, "--revision", "2", "--json").stdout)
    assert draft["author"] == "safety"
