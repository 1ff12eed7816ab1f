"""`andon downtime`, `andon product` and `andon oee`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from andon.core.database import Database
from andon.core.uow import Context
from andon.metrics.oee_models import DowntimeEntry
from tests.factories import Floor, make_floor
from tests.integration.test_cli import andon
from tests.integration.test_oee import ship


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def entries(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(DowntimeEntry)) or 0


def test_downtime_is_recorded_in_site_time_and_listed(db: Database, floor: Floor) -> None:
    # 09:00-09:45 in Chicago (CST, UTC-6) without an offset is site time.
    recorded = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "2026-11-23T09:00"),
        *("--to", "2026-11-23T09:45", "--reason", "changeover", "--note", "PH-100 to PH-200"),
        "--json",
    )
    assert recorded.exit_code == 0, recorded.stderr
    body = json.loads(recorded.stdout)
    assert (body["started_at"], body["minutes"], body["line"]) == (
        "2026-11-23T15:00:00+00:00",
        45.0,
        "CHI/ASM/L1",
    )

    listed = andon(db.url, "downtime", "list", "--line", "L1")

    assert listed.exit_code == 0, listed.stderr
    assert "2026-11-23 09:00 CST" in listed.stdout
    assert "changeover" in listed.stdout
    assert "PH-100 to PH-200" in listed.stdout


def test_an_overlapping_entry_is_refused_with_exit_1_and_nothing_written(
    db: Database, floor: Floor
) -> None:
    first = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "2026-11-23T09:00Z"),
        *("--to", "2026-11-23T10:00Z", "--reason", "breakdown"),
    )
    assert first.exit_code == 0, first.stderr

    second = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "2026-11-23T09:30Z"),
        *("--to", "2026-11-23T10:30Z", "--reason", "breakdown"),
    )

    assert second.exit_code == 1
    assert second.stderr.startswith("error:")
    assert "overlapping" in second.stderr
    assert entries(db) == 1


def test_a_reason_outside_the_setting_is_refused(db: Database, floor: Floor) -> None:
    refused = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "2026-11-23T09:00"),
        *("--to", "2026-11-23T09:10", "--reason", "changeover"),
        downtime_reasons="tooling,other",
    )

    assert refused.exit_code == 1
    assert "reason_code" in refused.stderr
    assert "tooling, other" in refused.stderr
    assert entries(db) == 0


def test_a_bad_time_is_refused_naming_the_option(db: Database, floor: Floor) -> None:
    refused = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "monday"),
        *("--to", "2026-11-23T09:10", "--reason", "other"),
    )

    assert refused.exit_code == 1
    assert "from" in refused.stderr
    assert entries(db) == 0


def test_oee_prints_the_components_per_period(db: Database, system: Context, floor: Floor) -> None:
    ship(system, floor, 0, rework=False)
    ship(system, floor, 40, rework=True)
    set_time = andon(db.url, "product", "cycle-time", "PH-100", "1440", "--line", "L1")
    assert set_time.exit_code == 0, set_time.stderr
    assert "PH-100 on CHI/ASM/L1: 1440 s per unit" in set_time.stdout
    down = andon(
        db.url,
        *("downtime", "record", "--line", "L1", "--from", "2026-11-23T08:40"),
        *("--to", "2026-11-23T09:28", "--reason", "breakdown"),
    )
    assert down.exit_code == 0, down.stderr

    table = andon(db.url, "oee", "--line", "L1", "--period", "day")
    as_json = andon(db.url, "oee", "--line", "L1", "--period", "day", "--json")

    assert table.exit_code == 0, table.stderr
    # 480 min planned, 48 down: 432 run; 2 units × 24 min ideal = 48; 1 of 2 good.
    assert "2026-11-23" in table.stdout
    assert "5.0%" in table.stdout  # OEE = 48/480 × 0.5
    assert "90.0%" in table.stdout  # availability
    (row,) = json.loads(as_json.stdout)
    assert row["oee"] == pytest.approx(0.05)
    assert row["performance"] == pytest.approx(48 / 432)
    assert (row["total_count"], row["good_count"]) == (2, 1)


def test_cycle_times_are_listed(db: Database, floor: Floor) -> None:
    assert andon(db.url, "product", "cycle-time", "PH-100", "90").exit_code == 0

    listed = andon(db.url, "product", "cycle-times", "--json")

    assert json.loads(listed.stdout) == [{"product": "PH-100", "line": None, "seconds": 90.0}]
