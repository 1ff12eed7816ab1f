"""`andon action` on both databases: the fixed contract of new, list and close, with --json."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func, select

from andon.actions.models import ActionItem
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import make_user
from tests.integration.test_cli import andon

FAR = (date.today() + timedelta(days=30)).isoformat()


def _counts(db: Database) -> tuple[int, int]:
    with db.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(ActionItem)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def _new(db: Database, *args: str) -> dict[str, object]:
    result = andon(db.url, "action", "new", *args, "--json")
    assert result.exit_code == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_new_with_links_prints_the_action(db: Database, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    result = andon(
        db.url,
        "action",
        "new",
        "--title",
        "Fix the jig",
        "--owner",
        "sue",
        "--due",
        FAR,
        "--priority",
        "high",
        "--link",
        "metric:rework-rate",
        "--link",
        "work_item:7",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Opened action 1: Fix the jig (owner sue, due ")
    shown = json.loads(andon(db.url, "action", "show", "1", "--json").stdout)
    assert shown["priority"] == "high"
    assert shown["links"] == [
        {"kind": "metric", "ref": "rework-rate"},
        {"kind": "work_item", "ref": "7"},
    ]
    assert shown["comments"] == []


def test_new_owned_by_a_role_as_json(db: Database) -> None:
    action = _new(db, "--title", "Audit PPE", "--owner", "safety", "--due", FAR)
    assert (action["owner_user"], action["owner_role"], action["status"]) == (
        None,
        "safety",
        "open",
    )
    assert action["due_on"] == FAR


def test_new_refuses_an_unknown_owner_or_link_and_writes_nothing(db: Database) -> None:
    before = _counts(db)
    unknown = andon(db.url, "action", "new", "--title", "T", "--owner", "ghost", "--due", FAR)
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: owner_user: no active user named 'ghost'")
    bad_link = andon(
        db.url,
        "action",
        "new",
        "--title",
        "T",
        "--owner",
        "quality",
        "--due",
        FAR,
        "--link",
        "widget:1",
    )
    assert bad_link.exit_code == 1
    assert bad_link.stderr.startswith("error: kind:")
    no_colon = andon(
        db.url,
        "action",
        "new",
        "--title",
        "T",
        "--owner",
        "quality",
        "--due",
        FAR,
        "--link",
        "metric",
    )
    assert no_colon.exit_code == 2
    assert _counts(db) == before


def test_list_mine_overdue_and_by_link(db: Database, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    make_user(system, "qe", Role.QUALITY)
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    late = _new(db, "--title", "Late", "--owner", "sue", "--due", yesterday)
    role = _new(
        db, "--title", "Chart", "--owner", "supervisor", "--due", FAR, "--link", "metric:fpy"
    )
    other = _new(db, "--title", "Other", "--owner", "qe", "--due", FAR)

    def ids(*args: str) -> list[object]:
        result = andon(db.url, "action", "list", *args, "--json")
        assert result.exit_code == 0, result.stderr
        return [a["id"] for a in json.loads(result.stdout)]

    assert ids("--mine", "--as", "sue") == [late["id"], role["id"]]
    assert ids("--overdue") == [late["id"]]
    assert ids("--link", "metric:fpy") == [role["id"]]
    assert ids("--owner", "qe") == [other["id"]]
    assert ids("--status", "done") == []
    table = andon(db.url, "action", "list")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "ID",
        "DUE",
        "PRIORITY",
        "STATUS",
        "OWNER",
        "TITLE",
        "LINKS",
    ]
    assert f"{yesterday} overdue" in table.stdout
    mine_without_as = andon(db.url, "action", "list", "--mine")
    assert mine_without_as.exit_code == 2


def test_close_by_the_owner_and_refused_for_someone_else(db: Database, system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    make_user(system, "op", Role.OPERATOR)
    action = _new(db, "--title", "Fix", "--owner", "sue", "--due", FAR)
    before = _counts(db)
    refused = andon(db.url, "action", "close", str(action["id"]), "--note", "x", "--as", "op")
    assert refused.exit_code == 1
    assert "may not change action" in refused.stderr
    assert _counts(db) == before
    commented = andon(db.url, "action", "comment", "1", "--text", "On it", "--as", "sue")
    assert commented.exit_code == 0, commented.stderr
    closed = andon(db.url, "action", "close", "1", "--note", "Jig fixed", "--as", "sue", "--json")
    assert closed.exit_code == 0, closed.stderr
    data = json.loads(closed.stdout)
    assert (data["status"], data["closed_by"], data["close_note"]) == ("done", "sue", "Jig fixed")
    shown = andon(db.url, "action", "show", "1")
    assert "Status:   done" in shown.stdout
    assert "sue: On it" in shown.stdout
    again = andon(db.url, "action", "close", "1", "--note", "again")
    assert again.exit_code == 1
    assert again.stderr.startswith("error: action 1 is done")


def test_cancel_needs_a_note(db: Database) -> None:
    _new(db, "--title", "Fix", "--owner", "quality", "--due", FAR)
    missing = andon(db.url, "action", "cancel", "1")
    assert missing.exit_code == 2
    done = andon(db.url, "action", "cancel", "1", "--note", "Duplicate")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "Cancelled action 1: Fix.\n"
