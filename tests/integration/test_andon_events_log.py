"""Andon's own work events as an event log, checked for conformance and SLA attainment,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from andon.analytics.andon_events import read_andon_events, stage_entries
from andon.analytics.conformance import check_conformance
from andon.analytics.sla import sla_attainment
from andon.core.errors import InvalidInput, NotFound
from andon.core.uow import Context
from andon.processes.service import get_version
from andon.work.models import WorkItem
from andon.work.sweep import sweep_slas
from tests.factories import Floor, make_floor, new_item
from tests.factories import inspect_at as inspect
from tests.factories import minutes_after_monday as at
from tests.factories import move_at as move


@pytest.fixture
def history(system: Context) -> dict[str, int]:
    """Three items: one straight through, one via rework, one left at kit after a late plan."""
    floor: Floor = make_floor(system)
    straight = new_item(system, floor, at=at(0))
    for i, stage in enumerate(["plan", "kit", "assemble", "inspect"], start=1):
        straight = move(system, straight, stage, i * 10)
    straight = inspect(system, straight, 45, torque=11.0)
    straight = move(system, straight, "pack", 50)
    move(system, straight, "ship", 60)

    reworked = new_item(system, floor, at=at(1))
    for i, stage in enumerate(["plan", "kit", "assemble", "inspect"], start=1):
        reworked = move(system, reworked, stage, 1 + i * 10)
    reworked = inspect(system, reworked, 46, torque=13.1)  # fails: sent to rework at once
    assert reworked.stage == "rework"
    reworked = move(system, reworked, "inspect", 70)
    reworked = inspect(system, reworked, 75, torque=11.0)
    reworked = move(system, reworked, "pack", 80)
    move(system, reworked, "ship", 90)

    late = new_item(system, floor, at=at(2))
    late = move(system, late, "plan", 12)
    # Plan's 4 h business-time SLA falls due at 11:12 local; the sweep records the breach.
    assert sweep_slas(system, now=at(300)).stage_breaches == 1
    with system.read() as session:
        fresh = session.get(WorkItem, late.id)
        assert fresh is not None
    move(system, fresh, "kit", 310)
    return {"straight": straight.id, "reworked": reworked.id, "late": late.id}


def spec_of(system: Context) -> Any:
    return get_version(system, "assembly")[2]


def test_each_stage_entry_is_one_event_named_for_the_stage(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    log = read_andon_events(db_url, process="assembly")

    frame = log.table.order_by(["timestamp", "event_order"]).execute()
    straight = frame[frame["case_id"] == str(history["straight"])]

    assert straight["activity"].tolist() == [
        "Intake", "Plan", "Kit", "Assemble", "Inspect", "Pack", "Ship",
    ]  # fmt: skip
    assert straight["timestamp"].iloc[1] == pd_utc(at(10))
    assert set(straight["lifecycle"]) == {"start"}
    assert set(straight["resource"]) == {"cli:test"}
    assert set(frame["line"]) == {"L1"}
    assert set(frame["process_version"]) == {1}
    assert len(frame) == 7 + 9 + 3


def pd_utc(moment: datetime) -> Any:
    import pandas as pd

    return pd.Timestamp(moment)


def test_conformance_of_andon_history(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    log = read_andon_events(db_url, process="assembly")

    report = check_conformance(log, spec_of(system))

    late = str(history["late"])
    assert (report["cases"], report["conforming_cases"], report["incomplete_cases"]) == (3, 2, 1)
    assert report["deviations"] == [
        {"kind": "incomplete", "source": "kit", "target": None, "cases": 1, "examples": [late]}
    ]
    assert report["fitness"] == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_sla_attainment_in_business_time_uses_andon_breach_records(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    log = read_andon_events(db_url, process="assembly", events="all")

    report = sla_attainment(log, spec_of(system), basis="business")
    stages = {s["stage"]: s for s in report["stages"]}

    assert (stages["plan"]["visits"], stages["plan"]["within"]) == (3, 2)
    assert (stages["inspect"]["visits"], stages["inspect"]["within"]) == (3, 3)
    assert stages["kit"]["visits"] == 2  # the late item's kit visit is still open
    assert report["process"] == {
        "target_seconds": 144000,
        "cases": 2,
        "within": 2,
        "attainment": 1.0,
    }
    # The stage-entry view of the same log is what events="stages" reads.
    assert stage_entries(log).table.count().execute() == 19


def test_postgres_engine_reads_the_table_in_place(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    if not db_url.startswith("postgresql"):
        with pytest.raises(InvalidInput, match="needs Andon on PostgreSQL"):
            read_andon_events(db_url, engine="postgres")
        return
    in_place = read_andon_events(db_url, process="assembly", engine="postgres")
    copied = read_andon_events(db_url, process="assembly")

    assert in_place.table._find_backend().name == "postgres"
    assert check_conformance(in_place, spec_of(system)) == check_conformance(
        copied, spec_of(system)
    )
    business = read_andon_events(db_url, process="assembly", engine="postgres", events="all")
    assert sla_attainment(business, spec_of(system), basis="business")["stage_visits"] == {
        "visits": 16,
        "within": 15,
        "attainment": 15 / 16,
    }


def test_process_may_be_named_by_its_name(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    log = read_andon_events(db_url, process="Assembly order", batch_rows=4)

    assert log.table.count().execute() == 19


def test_unknown_process_is_not_found(
    system: Context, db_url: str, history: dict[str, int]
) -> None:
    with pytest.raises(NotFound, match="no process 'paint'"):
        read_andon_events(db_url, process="paint")


def test_no_events_is_an_empty_log(system: Context, db_url: str) -> None:
    with pytest.raises(InvalidInput, match="empty log"):
        read_andon_events(db_url)


def test_the_latest_event_id_is_none_before_any_event_and_grows_with_each(
    system: Context,
) -> None:
    from andon.work.events import latest_event_id

    with system.read() as session:
        before = latest_event_id(session)
    floor = make_floor(system, shifts=False)
    item = new_item(system, floor, at=at(0))
    with system.read() as session:
        created = latest_event_id(session)
    move(system, item, "plan", 10)
    with system.read() as session:
        moved = latest_event_id(session)

    assert before is None
    assert created is not None
    assert moved is not None
    assert moved > created
