"""`andon item`, `andon sla`, `andon exception` and `andon line`, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, LineCreate
from andon.work import line_stops
from andon.work.models import Escalation, WorkEvent, WorkItem
from tests.factories import Floor, make_floor, new_item
from tests.integration.test_cli import andon

# Monday 23 Nov 2026, 07:00 in Chicago (CST, UTC-6): inside the 06:00-14:00 day shift.
MONDAY_7AM = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return MONDAY_7AM + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def _items(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(WorkItem)) or 0


# --- items -------------------------------------------------------------------------------


def test_item_create_move_and_show(db: Database, floor: Floor) -> None:
    created = andon(
        db.url,
        *("item", "create", "--process", "assembly", "--line", "l1", "--title", "Pump housing"),
        *("--product", "PH-100", "--priority", "high"),
        *("--field", "customer=Globex", "--field", "order_ref=SO-12345"),
    )
    assert created.exit_code == 0, created.stderr
    assert created.stdout.startswith("Created work item 1 at stage intake on line CHI/ASM/L1")

    moved = andon(db.url, "item", "move", "1", "plan", "--reason", "planned")
    assert moved.exit_code == 0, moved.stderr
    assert moved.stdout.startswith("Work item 1 is at plan")

    shown = andon(db.url, "item", "show", "1")
    assert shown.exit_code == 0, shown.stderr
    fields = {
        label: value.strip()
        for label, value in (
            line.strip().split("  ", 1) for line in shown.stdout.splitlines()[1:13]
        )
    }
    assert fields["Stage"] == "Plan (plan), open"
    assert fields["Line"] == "CHI/ASM/L1"
    assert fields["Priority"] == "high"
    assert fields["Fields"] == "customer=Globex, order_ref=SO-12345"
    assert fields["Allowed moves"] == "kit"
    assert fields["Stage clock"].startswith("running; ")
    assert "Last 3 of 3 events" in shown.stdout
    assert [line.split()[3] for line in shown.stdout.splitlines()[-3:]] == [
        "created",
        "completed",
        "moved",
    ]
    body = json.loads(andon(db.url, "item", "show", "1", "--json").stdout)
    assert (body["stage"], body["priority"], body["allowed_moves"]) == ("plan", "high", ["kit"])
    assert body["fields"] == {"customer": "Globex", "order_ref": "SO-12345"}


def test_item_create_with_a_bad_intake_field_names_it_and_writes_nothing(
    db: Database, floor: Floor
) -> None:
    result = andon(
        db.url,
        *("item", "create", "--process", "assembly", "--line", "L1"),
        *("--field", "customer=Globex", "--field", "order_ref=12345"),
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: fields.order_ref: must match the pattern")
    assert _items(db) == 0


def test_item_create_with_several_bad_intake_fields_lists_each_by_its_path(
    db: Database, floor: Floor
) -> None:
    result = andon(
        db.url,
        *("item", "create", "--process", "assembly", "--line", "L1"),
        *("--field", "order_ref=12345", "--field", "colour=red"),
    )

    assert result.exit_code == 1
    listed = [line.strip().split(":")[0] for line in result.stderr.splitlines()[1:]]
    assert sorted(listed) == ["fields.colour", "fields.customer", "fields.order_ref"]
    assert _items(db) == 0


def test_item_move_outside_the_map_exits_1_naming_the_allowed_targets(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    result = andon(db.url, "item", "move", str(item.id), "ship")

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: work item {item.id} cannot move from 'intake' to 'ship'; allowed: plan\n"
    )
    assert result.stdout == ""
    with db.read_session() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert (stored.stage, stored.version) == ("intake", item.version)


def test_item_move_with_a_stale_version_is_refused(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    andon(db.url, "item", "move", str(item.id), "plan")

    stale = andon(db.url, "item", "move", str(item.id), "kit", "--version", str(item.version))

    assert stale.exit_code == 1
    assert "reload and retry" in stale.stderr


def test_item_pause_resume_and_assign(db: Database, system: Context, floor: Floor) -> None:
    from tests.factories import make_user

    make_user(system, "otto")
    item = new_item(system, floor, at=MONDAY_7AM)

    paused = andon(db.url, "item", "pause", str(item.id), "waiting_parts", "--reason", "bolts")
    refused = andon(db.url, "item", "move", str(item.id), "plan")
    resumed = andon(db.url, "item", "resume", str(item.id))
    assigned = andon(db.url, "item", "assign", str(item.id), "otto")
    unassigned = andon(db.url, "item", "assign", str(item.id), "--none")
    both = andon(db.url, "item", "assign", str(item.id), "otto", "--none")

    assert paused.stdout.startswith(f"Work item {item.id} paused (waiting_parts)")
    assert refused.exit_code == 1
    assert "resume it first" in refused.stderr
    assert resumed.exit_code == 0, resumed.stderr
    assert assigned.stdout == f"Work item {item.id} is assigned to otto.\n"
    assert unassigned.stdout == f"Work item {item.id} is assigned to nobody.\n"
    assert both.exit_code == 2
    kinds = [
        e["kind"]
        for e in json.loads(andon(db.url, "item", "events", str(item.id), "--json").stdout)
    ]
    assert kinds == ["created", "paused", "resumed", "assigned", "assigned"]


def test_item_check_with_torque_out_of_limits_sends_the_item_to_rework(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)
    for stage in ("plan", "kit", "assemble", "inspect"):
        assert andon(db.url, "item", "move", str(item.id), stage).exit_code == 0

    failed = andon(
        db.url,
        *("item", "check", str(item.id), "--result", "visual=pass"),
        *("--result", "torque=pass:13.1", "--result", "leak=pass"),
    )

    assert failed.exit_code == 0, failed.stderr
    assert failed.stdout.splitlines() == [
        f"Checklist of inspect FAILED for work item {item.id}: torque (13.1 Nm).",
        f"Work item {item.id} is now at rework.",
    ]


def test_item_check_with_a_malformed_result_is_a_usage_error(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    result = andon(db.url, "item", "check", str(item.id), "--result", "torque=11.2")

    assert result.exit_code == 2
    assert "KEY=pass|fail[:VALUE]" in " ".join(result.stderr.split())


def test_item_list_filters_by_stage_and_lateness(
    db: Database, system: Context, floor: Floor
) -> None:
    early = new_item(system, floor, at=datetime(2020, 1, 6, 13, 0, tzinfo=UTC))
    fresh = new_item(system, floor, title="Fresh")
    andon(db.url, "item", "move", str(fresh.id), "plan")

    at_plan = json.loads(andon(db.url, "item", "list", "--stage", "plan", "--json").stdout)
    late = andon(db.url, "item", "list", "--late")
    everything = andon(db.url, "item", "list", "--line", "CHI/L1")

    assert [i["id"] for i in at_plan] == [fresh.id]
    assert [row.split()[0] for row in late.stdout.splitlines()[1:]] == [str(early.id)]
    assert [row.split()[0] for row in everything.stdout.splitlines()[1:]] == [
        str(early.id),
        str(fresh.id),
    ]


def test_a_line_code_used_by_two_sites_must_be_given_with_its_site(
    db: Database, system: Context, floor: Floor
) -> None:
    from andon.plant.schemas import SiteCreate

    other = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=floor.site.enterprise_id,
            name="Charlotte",
            code="CLT",
            timezone="America/New_York",
        ),
    )
    area = plant.create_area(system, AreaCreate(site_id=other.id, name="Assembly", code="ASM"))
    plant.create_line(system, LineCreate(area_id=area.id, name="Line 1", code="L1"))

    ambiguous = andon(db.url, "line", "stop", "L1", "--reason", "smoke")
    exact = andon(db.url, "line", "stop", "clt/l1", "--reason", "smoke")

    assert ambiguous.exit_code == 1
    assert ambiguous.stderr == (
        "error: line: 'L1' is more than one line (CHI/ASM/L1, CLT/ASM/L1); give SITE/AREA/LINE\n"
    )
    assert exact.exit_code == 0, exact.stderr
    assert [r.status for r in line_stops.board(system)] == ["running", "stopped"]


# --- bulk import -------------------------------------------------------------------------

GOOD_ROW = "assembly,L1,Pump housing,PH-100,1,normal,Globex,SO-12345"
IMPORT_HEADER = "process,line,title,product,quantity,priority,customer,order_ref"


def test_item_import_creates_every_row(db: Database, floor: Floor, tmp_path: Path) -> None:
    good = tmp_path / "orders.csv"
    good.write_text(f"{IMPORT_HEADER}\n{GOOD_ROW}\n{GOOD_ROW.replace('12345', '12346')}\n")

    result = andon(db.url, "item", "import", str(good))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Imported 2 work items: ids 1-2.\n"
    assert _items(db) == 2


def test_item_import_with_a_bad_row_writes_nothing_and_writes_the_rejects_file(
    db: Database, floor: Floor, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    bad_row = 'assembly,L1,=HYPERLINK("http://evil"),PH-100,1,normal,Globex,12345'
    orders.write_text(f"{IMPORT_HEADER}\n{GOOD_ROW}\n{bad_row}\n")
    rejects = tmp_path / "rejects.csv"
    audit_before = _audit_count(db)

    result = andon(db.url, "item", "import", str(orders), "--rejects", str(rejects))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("line 3: ")
    assert "order_ref" in result.stderr.splitlines()[0]
    assert "1 rows refused; nothing was imported" in result.stderr
    assert _items(db) == 0
    assert _audit_count(db) == audit_before
    rows = list(csv.DictReader(io.StringIO(rejects.read_text())))
    assert len(rows) == 1
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["order_ref"] == "12345"
    assert "order_ref" in rows[0]["errors"]


def _audit_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


# --- SLA ---------------------------------------------------------------------------------


def test_sla_due_lists_the_item_about_to_breach(
    db: Database, system: Context, floor: Floor
) -> None:
    soon = new_item(system, floor, at=MONDAY_7AM, title="Soon")  # intake due at 09:00 CST
    new_item(system, floor, at=at(60), title="Later")  # intake due at 10:00 CST

    result = andon(db.url, "sla", "due", "--within", "30m", "--now", iso(at(100)))

    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["ITEM", "STAGE", "LINE", "CLOCK", "DUE", "LEFT", "TITLE"]
    assert rows[1:] == [
        [str(soon.id), "intake", "CHI/ASM/L1", "stage", "2026-11-23", "09:00", "CST", "20m", "Soon"]
    ]
    body = json.loads(
        andon(db.url, "sla", "due", "--within", "2h", "--now", iso(at(130)), "--json").stdout
    )
    assert [(r["title"], r["seconds_left"]) for r in body] == [("Soon", -600), ("Later", 3000)]
    assert body[0]["due_at"] == "2026-11-23T15:00:00+00:00"


def test_sla_due_refuses_a_duration_it_cannot_read(db: Database) -> None:
    result = andon(db.url, "sla", "due", "--within", "soon")

    assert result.exit_code == 2
    assert "not a duration" in result.stderr


def test_sla_sweep_twice_fires_each_tier_once(db: Database, system: Context, floor: Floor) -> None:
    new_item(system, floor, at=MONDAY_7AM)

    first = andon(db.url, "sla", "sweep", "--now", iso(at(95)), "--json")
    second = andon(db.url, "sla", "sweep", "--now", iso(at(95)), "--json")
    text = andon(db.url, "sla", "sweep", "--now", iso(at(96)))

    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["fired"] == 1
    assert json.loads(second.stdout)["fired"] == 0
    assert text.stdout == (
        "Swept at 2026-11-23 14:36:00Z: 0 stage breaches, 0 end-to-end breaches, "
        "0 escalation tiers fired, 0 notifications queued.\n"
    )
    with db.read_session() as session:
        fired = session.scalar(
            select(func.count()).select_from(Escalation).where(Escalation.status == "fired")
        )
    assert fired == 1


def test_sla_sweep_records_a_breach_once(db: Database, system: Context, floor: Floor) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    first = json.loads(andon(db.url, "sla", "sweep", "--now", iso(at(121)), "--json").stdout)
    second = json.loads(andon(db.url, "sla", "sweep", "--now", iso(at(122)), "--json").stdout)

    assert (first["stage_breaches"], second["stage_breaches"]) == (1, 0)
    with db.read_session() as session:
        breaches = session.scalar(
            select(func.count())
            .select_from(WorkEvent)
            .where(WorkEvent.case_id == item.id, WorkEvent.kind == "stage_breached")
        )
    assert breaches == 1


# --- exceptions --------------------------------------------------------------------------


def test_exception_raised_on_a_line_with_a_rule_stops_it(db: Database, floor: Floor) -> None:
    rule = andon(
        db.url,
        *("line", "rule", "add", "L1", "--name", "Safety first"),
        *("--exception", "--min-severity", "high"),
    )
    assert rule.exit_code == 0, rule.stderr

    raised = andon(
        db.url,
        *("exception", "raise", "--line", "L1", "--category", "safety"),
        *("--description", "guard missing"),
    )

    assert raised.exit_code == 0, raised.stderr
    assert raised.stdout.splitlines()[:2] == [
        "Raised exception 1: high safety on line CHI/ASM/L1.",
        "Line CHI/ASM/L1 STOPPED by rule Safety first: high safety exception #1: guard missing",
    ]
    board = json.loads(andon(db.url, "line", "board", "--json").stdout)
    assert [(b["line"], b["status"], b["open_exceptions"]) for b in board] == [("L1", "stopped", 1)]


def test_exception_list_resolve_and_pareto(db: Database, system: Context, floor: Floor) -> None:
    for category in ("material", "material", "quality", "material", "method"):
        result = andon(
            db.url,
            *("exception", "raise", "--line", "L1", "--category", category),
            *("--description", "x"),
        )
        assert result.exit_code == 0, result.stderr

    resolved = andon(db.url, "exception", "resolve", "1", "--resolution", "bolts arrived")
    still_open = json.loads(andon(db.url, "exception", "list", "--open", "--json").stdout)
    chart = andon(db.url, "exception", "pareto")

    assert resolved.stdout == "Resolved exception 1 (material).\n"
    assert [e["id"] for e in still_open] == [5, 4, 3, 2]
    assert chart.stdout.splitlines() == [
        "Exceptions by category: 5",
        "material  " + "#" * 40 + "  3   60.0%  cum  60.0%",
        "method    " + "#" * 13 + " " * 27 + "  1   20.0%  cum  80.0%",
        "quality   " + "#" * 13 + " " * 27 + "  1   20.0%  cum 100.0%",
    ]
    future = andon(db.url, "exception", "pareto", "--since", "2999-01-01")
    assert future.stdout == "No exceptions since 2999-01-01.\n"


def test_exception_needs_an_item_or_a_line(db: Database, floor: Floor) -> None:
    result = andon(db.url, "exception", "raise", "--category", "safety", "--description", "x")

    assert result.exit_code == 2
    assert "--item ID or --line LINE" in " ".join(result.stderr.split())


# --- lines -------------------------------------------------------------------------------


def test_line_stop_then_two_signoffs_restart_it(
    db: Database, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor, at=MONDAY_7AM)

    stopped = andon(db.url, "line", "stop", "L1", "--reason", "smoke from the press")
    refused = andon(db.url, "item", "move", str(item.id), "plan")
    supervisor = andon(
        db.url, "line", "signoff", "L1", "--reason", "press checked", "--as", "supervisor"
    )
    board = andon(db.url, "line", "board")
    quality = andon(db.url, "line", "signoff", "L1", "--reason", "parts ok", "--as", "quality")
    again = andon(db.url, "line", "signoff", "L1", "--reason", "again")

    assert stopped.stdout.startswith("Line CHI/ASM/L1 stopped (stop 1).")
    assert refused.exit_code == 1
    assert "is stopped" in refused.stderr
    assert supervisor.stdout == (
        "Line CHI/ASM/L1: supervisor sign-off recorded; still stopped until quality signs off.\n"
    )
    assert board.stdout.splitlines()[1].split()[:3] == ["CHI/ASM/L1", "Line", "1"]
    assert "STOPPED" in board.stdout
    assert "smoke from the press" in board.stdout
    assert quality.stdout.startswith("Line CHI/ASM/L1 restarted: ")
    assert again.exit_code == 1
    assert "nothing to sign off" in again.stderr
    assert line_stops.board(system)[0].status == "running"
    with db.read_session() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "line", AuditEntry.action != "create")
            .order_by(AuditEntry.seq)
        ).all()
    assert actions == ["stop", "sign_off_supervisor", "sign_off_quality", "restart"]


def test_line_rules_add_and_list(db: Database, floor: Floor) -> None:
    checks = andon(
        db.url,
        *("line", "rule", "add", "L1", "--name", "Quality spike"),
        *("--failed-checks", "3", "--window", "30m"),
    )
    neither = andon(db.url, "line", "rule", "add", "L1", "--name", "Nothing")
    odd_window = andon(
        db.url,
        *("line", "rule", "add", "L1", "--name", "X", "--failed-checks", "3", "--window", "90s"),
    )

    assert checks.stdout == "Added rule 1 to line CHI/ASM/L1: 3 failed checks within 30m\n"
    assert neither.exit_code == 2
    assert odd_window.exit_code == 2
    listed = json.loads(andon(db.url, "line", "rule", "list", "L1", "--json").stdout)
    assert [(r["name"], r["kind"], r["count"], r["window_seconds"]) for r in listed] == [
        ("Quality spike", "failed_checks", 3, 1800)
    ]
