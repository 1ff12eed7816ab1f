"""`andon process` and `andon calendar`, run in-process against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from andon.calendars.models import BusinessCalendar, CalendarClosure, CalendarHoliday
from andon.core.audit import AuditEntry
from andon.core.database import Database
from andon.core.uow import Context
from andon.processes import service as processes
from andon.processes.models import Process, ProcessVersion
from tests.factories import DEMO_PROCESS, make_plant
from tests.integration.test_cli import andon

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

BAD_PROCESS = """\
key: assembly
name: Assembly order
start: intake
end: [ship]
stages:
  - {key: intake, name: Intake, owner_role: supervisor}
  - {key: ship, name: Ship, owner_role: supervisor}
transitions:
  - {from: intake, to: ship}
  - {from: intake, to: shipp}
"""


def _count(db: Database, model: type) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_process_import_publishes_version_1_and_show_lists_its_stages(db: Database) -> None:
    result = andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "published assembly version 1\n"
    shown = andon(db.url, "process", "show", "assembly")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    inspect = next(line for line in lines if line.startswith("inspect "))
    assert inspect.split() == ["inspect", "Inspect", "quality", "2h", "3", "WI-INS-004", "rework"]
    assert any(line.split() == ["inspect", "rework", "yes", "-"] for line in lines)
    assert any(line.startswith("2  Operations manager  100% of SLA") for line in lines)


def test_process_import_of_a_changed_file_publishes_the_next_version(
    db: Database, tmp_path: Path
) -> None:
    andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")
    changed = tmp_path / "assembly.yaml"
    changed.write_text(DEMO_PROCESS.read_text().replace("sla: 40h", "sla: 48h"))

    result = andon(db.url, "process", "import", str(changed), "--reason", "longer lead time")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "published assembly version 2\n"
    listed = json.loads(andon(db.url, "process", "list", "--json").stdout)
    assert [(p["key"], p["current_version"], p["active"]) for p in listed] == [
        ("assembly", 2, True)
    ]


def test_process_import_of_bad_yaml_names_the_line_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_PROCESS)
    audit_before = _count(db, AuditEntry)

    result = andon(db.url, "process", "import", str(bad), "--reason", "oops")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: invalid process definition: transitions.1.to: line 10:")
    assert "unknown stage 'shipp'" in result.stderr
    assert "Traceback" not in result.output
    assert (_count(db, Process), _count(db, ProcessVersion)) == (0, 0)
    assert _count(db, AuditEntry) == audit_before


def test_process_import_of_unparsable_yaml_reports_line_and_column(
    db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("key: assembly\nstages: [\n")

    result = andon(db.url, "process", "import", str(bad), "--reason", "oops")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid YAML: line 3 column 1:")
    assert _count(db, Process) == 0


def test_process_import_of_the_same_definition_twice_is_refused(db: Database) -> None:
    andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")

    again = andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "again")

    assert again.exit_code == 1
    assert again.stderr == "error: process 'assembly' version 1 already has this definition\n"
    assert _count(db, ProcessVersion) == 1


def test_process_export_bpmn_writes_xml_with_one_task_per_stage(
    db: Database, tmp_path: Path
) -> None:
    andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")
    out = tmp_path / "assembly.bpmn"

    result = andon(db.url, "process", "export", "assembly", "--format", "bpmn", "-o", str(out))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Wrote assembly version 1 (bpmn) to {out}\n"
    root = ET.fromstring(out.read_text())  # noqa: S314 - our own output
    assert root.tag == f"{BPMN}definitions"
    tasks = [t.get("id") for t in root.iter(f"{BPMN}task")]
    assert tasks == [
        f"Task_{key}"
        for key in ("intake", "plan", "kit", "assemble", "inspect", "rework", "pack", "ship")
    ]
    assert len(list(root.iter(f"{BPMN}sequenceFlow"))) >= 8


def test_process_export_yaml_reads_back_as_the_same_definition(
    db: Database, system: Context, tmp_path: Path
) -> None:
    andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")
    exported = andon(db.url, "process", "export", "assembly")
    assert exported.exit_code == 0, exported.stderr
    copy = tmp_path / "copy.yaml"
    copy.write_text(exported.stdout)

    again = andon(db.url, "process", "import", str(copy), "--reason", "round trip")

    assert again.exit_code == 1
    assert "already has this definition" in again.stderr
    as_json = json.loads(andon(db.url, "process", "export", "assembly", "--format", "json").stdout)
    _, _, spec = processes.get_version(system, "assembly")
    assert as_json["key"] == "assembly"
    assert [s["key"] for s in as_json["stages"]] == [s.key for s in spec.stages]


def test_process_deactivate_and_activate_are_audited_with_the_reason(db: Database) -> None:
    andon(db.url, "process", "import", str(DEMO_PROCESS), "--reason", "first cut")

    off = andon(db.url, "process", "deactivate", "assembly", "--reason", "line retooling")
    shown = andon(db.url, "process", "show", "assembly", "--json")
    on = andon(db.url, "process", "activate", "assembly", "--reason", "back")

    assert off.stdout == "Process assembly is deactivated.\n"
    assert json.loads(shown.stdout)["active"] is False
    assert on.stdout == "Process assembly is active.\n"
    with db.read_session() as session:
        actions = session.execute(
            select(AuditEntry.action, AuditEntry.reason)
            .where(AuditEntry.entity_type == "process")
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("create", "first cut"),
        ("deactivate", "line retooling"),
        ("activate", "back"),
    ]


def test_process_show_of_an_unknown_key_exits_1(db: Database) -> None:
    result = andon(db.url, "process", "show", "nosuch")

    assert result.exit_code == 1
    assert result.stderr == "error: no process 'nosuch'\n"


# --- calendars ---------------------------------------------------------------------------


def test_calendar_set_shifts_then_show_lists_them_with_quiet_hours(
    db: Database, system: Context
) -> None:
    make_plant(system)

    result = andon(
        db.url,
        *("calendar", "set-shifts", "chi", "--shift", "Day:mon-fri:06:00-14:00"),
        *("--shift", "Night:mon-fri:22:00-06:00", "--shift", "Weekend:sat,sun:08:00-12:00"),
        *("--quiet", "22:00-06:00", "--reason", "two shifts"),
    )

    assert result.exit_code == 0, result.stderr
    shown = andon(db.url, "calendar", "show", "CHI")
    assert shown.exit_code == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()]
    assert ["Day", "mon-fri", "06:00", "14:00"] in rows
    assert ["Night", "mon-fri", "22:00", "06:00"] in rows
    assert ["Weekend", "sat-sun", "08:00", "12:00"] in rows
    assert "Quiet hours: 22:00-06:00" in shown.stdout
    body = json.loads(andon(db.url, "calendar", "show", "CHI", "--json").stdout)
    assert body["shifts"][0] == {
        "name": "Day",
        "days": [0, 1, 2, 3, 4],
        "start": "06:00",
        "end": "14:00",
    }
    assert body["quiet_hours"] == {"start": "22:00", "end": "06:00"}


def test_calendar_overlapping_shifts_are_refused_and_nothing_is_stored(
    db: Database, system: Context
) -> None:
    make_plant(system)

    result = andon(
        db.url,
        *("calendar", "set-shifts", "CHI", "--shift", "Day:mon-fri:06:00-14:00"),
        *("--shift", "Late:mon:13:00-21:00"),
    )

    assert result.exit_code == 1
    assert "overlaps" in result.stderr
    assert _count(db, BusinessCalendar) == 0


def test_calendar_shift_that_does_not_parse_is_a_usage_error(db: Database, system: Context) -> None:
    make_plant(system)

    result = andon(db.url, "calendar", "set-shifts", "CHI", "--shift", "Day:weekdays:6-14")

    assert result.exit_code == 2
    assert "NAME:DAYS:HH:MM-HH:MM" in " ".join(result.stderr.split())


def test_calendar_closure_is_given_in_site_time_and_stored_in_utc(
    db: Database, system: Context
) -> None:
    make_plant(system)

    result = andon(
        db.url,
        *("calendar", "closure", "CHI", "2026-12-24T12:00", "2026-12-27"),
        *("--reason", "holiday shutdown"),
    )

    assert result.exit_code == 0, result.stderr
    assert "from 2026-12-24 12:00 CST to 2026-12-28 00:00 CST" in result.stdout
    with db.read_session() as session:
        closure = session.scalars(select(CalendarClosure)).one()
    assert closure.start_at == datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    assert closure.end_at == datetime(2026, 12, 28, 6, 0, tzinfo=UTC)
    assert closure.reason == "holiday shutdown"


def test_calendar_holidays_from_a_file_and_by_hand(
    db: Database, system: Context, tmp_path: Path
) -> None:
    make_plant(system)
    csv_file = tmp_path / "shutdown.csv"
    csv_file.write_text("date,name\n2026-07-03,Summer shutdown\n2026-07-06,Summer shutdown\n")

    imported = andon(db.url, "calendar", "import-holidays", "CHI", str(csv_file))
    added = andon(db.url, "calendar", "add-holiday", "CHI", "2026-12-24", "Christmas Eve")
    repeated = andon(db.url, "calendar", "add-holiday", "CHI", "2026-12-24", "Christmas Eve")

    assert imported.stdout == f"Added 2 holidays from {csv_file} to the calendar of CHI.\n"
    assert added.exit_code == 0, added.stderr
    assert repeated.stdout == "2026-12-24 is already a holiday of CHI; nothing changed.\n"
    with db.read_session() as session:
        days = session.execute(
            select(CalendarHoliday.day, CalendarHoliday.source).order_by(CalendarHoliday.day)
        ).all()
    assert [(d.isoformat(), s) for d, s in days] == [
        ("2026-07-03", "file"),
        ("2026-07-06", "file"),
        ("2026-12-24", "manual"),
    ]


def test_calendar_holiday_file_with_a_bad_line_adds_nothing(
    db: Database, system: Context, tmp_path: Path
) -> None:
    make_plant(system)
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("date,name\n2026-07-03,Summer shutdown\n07/06/2026,Oops\n")

    result = andon(db.url, "calendar", "import-holidays", "CHI", str(csv_file))

    assert result.exit_code == 1
    assert "line 3" in result.stderr
    assert _count(db, CalendarHoliday) == 0


def test_calendar_country_holidays_are_added_for_the_year(db: Database, system: Context) -> None:
    make_plant(system)

    result = andon(
        db.url,
        "calendar",
        "holidays",
        "CHI",
        "--country",
        "us",
        "--year",
        "2026",
        "--subdivision",
        "IL",
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Added ")
    body = json.loads(andon(db.url, "calendar", "show", "CHI", "--json").stdout)
    assert (body["holiday_country"], body["holiday_subdivision"]) == ("US", "IL")
    assert {"date": "2026-12-25", "name": "Christmas Day", "source": "country"} in body["holidays"]


def test_calendar_of_an_unknown_site_exits_1(db: Database) -> None:
    result = andon(db.url, "calendar", "show", "NOPE")

    assert result.exit_code == 1
    assert result.stderr == "error: no site with code 'NOPE'\n"


def test_process_import_prints_every_problem_with_its_path_and_line(
    db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        BAD_PROCESS.replace(
            "owner_role: supervisor}\n  - {key: ship", "owner_role: boss}\n  - {key: ship"
        ).replace("end: [ship]", "end: [ship]\nsla: 9000h")
    )

    result = andon(db.url, "process", "import", str(bad), "--reason", "oops")

    assert result.exit_code == 1
    listed = result.stderr.splitlines()[1:]
    assert listed == [
        "  sla: line 5: 9000h is too long: a duration is at most 8760h (365 days of business time)",
        "  stages.0.owner_role: line 7: Input should be 'admin', 'ops_manager', 'quality', "
        "'safety', 'supervisor', 'operator' or 'viewer'",
        "  transitions.1.to: line 11: unknown stage 'shipp'",
    ]
    assert _count(db, Process) == 0
