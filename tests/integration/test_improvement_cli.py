"""`andon postmortem` and `andon decision` on both databases, with --json."""

from __future__ import annotations

import json
from typing import Any

from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import line_stops
from tests.factories import make_floor, make_user, minutes_after_monday
from tests.integration.test_cli import andon


def _json(db: Database, *args: str) -> Any:
    result = andon(db.url, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_postmortem_new_edit_submit_publish_and_search(db: Database, system: Context) -> None:
    floor = make_floor(system)
    stop = line_stops.pull_cord(system, floor.line.id, "guard open", at=minutes_after_monday(5))
    make_user(system, "wanda", Role.SUPERVISOR)
    make_user(system, "quinn", Role.QUALITY)

    pm = _json(
        db, "postmortem", "new", "--title", "Guard stop", "--kind", "line_stop",
        "--line-stop", str(stop.id), "--to", "2026-11-23T13:30:00+00:00", "--as", "wanda",
    )  # fmt: skip
    edited = _json(
        db, "postmortem", "edit", str(pm["id"]), "--what-happened", "Careless latch handling.",
        "--add-entry", "2026-11-23T13:10:00Z Latch replaced", "--as", "wanda",
    )  # fmt: skip
    assert [p["phrase"] for p in edited["prompts"]] == ["Careless"]
    assert "Latch replaced" in [e["title"] for e in edited["timeline"]]
    own = andon(db.url, "postmortem", "publish", str(pm["id"]), "--as", "wanda")
    assert own.exit_code != 0
    assert _json(db, "postmortem", "submit", str(pm["id"]), "--as", "wanda")["status"] == (
        "in_review"
    )
    published = andon(db.url, "postmortem", "publish", str(pm["id"]), "--as", "quinn")
    assert published.exit_code == 0, published.stderr
    assert [h["id"] for h in _json(db, "postmortem", "search", "latch")] == [pm["id"]]
    shown = andon(db.url, "postmortem", "show", str(pm["id"]))
    assert "Line L1 stopped by cli" in shown.stdout
    assert [p["id"] for p in _json(db, "postmortem", "list")] == [pm["id"]]


def test_decision_new_reopen_show_and_due(db: Database, system: Context) -> None:
    make_floor(system)
    first = _json(
        db, "decision", "new", "--title", "Andon cord rights", "--decision", "Anyone pulls it.",
        "--decides", "role:ops_manager", "--decided-on", "2026-11-02",
        "--revisit-on", "2026-11-20", "--option", "Leads only|fewer stops|slower",
        "--process-version", "assembly/1",
    )  # fmt: skip
    assert first["options"] == [{"name": "Leads only", "pros": "fewer stops", "cons": "slower"}]
    dangling = andon(
        db.url, "decision", "new", "--title", "x", "--decision", "y", "--decides", "admin",
        "--decided-on", "2026-11-02", "--rca", "5",
    )  # fmt: skip
    assert dangling.exit_code != 0
    assert "rcas" in dangling.stderr
    assert [d["id"] for d in _json(db, "decision", "due")] == [first["id"]]

    second = _json(db, "decision", "reopen", str(first["id"]), "--reason", "Too many stops")

    assert [c["id"] for c in second["chain"]] == [first["id"], second["id"]]
    assert _json(db, "decision", "due") == []
    shown = andon(db.url, "decision", "show", str(first["id"]))
    assert "superseded" in shown.stdout
    assert "Too many stops" in shown.stdout
    assert [d["id"] for d in _json(db, "decision", "list", "--status", "reopened")] == [
        second["id"]
    ]
