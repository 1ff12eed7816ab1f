"""KPI values over a real Andon history made through the work services, on SQLite and
PostgreSQL (and, on PostgreSQL, computed in place by the postgres engine)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from andon.analytics.andon_events import read_andon_events
from andon.calendars.service import working_calendar
from andon.core.uow import Context
from andon.metrics.definition import KpiSource
from andon.metrics.kpi_values import kpi_values
from andon.metrics.series import PeriodValue
from andon.processes.service import get_version
from andon.work import exceptions
from andon.work.models import WorkItem
from andon.work.schemas import ExceptionRaise
from andon.work.sweep import sweep_slas
from tests.factories import Floor, make_floor, new_item
from tests.factories import inspect_at as inspect
from tests.factories import minutes_after_monday as at
from tests.factories import move_at as move

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def floor(system: Context) -> Floor:
    """Three items on line L1: straight through (60 min), via rework (89 min), and one left at
    Kit after its Plan visit breached the 4 h SLA, with a material exception."""
    floor = make_floor(system)
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
    reworked = move(system, reworked, "inspect", 70)
    reworked = inspect(system, reworked, 75, torque=11.0)
    reworked = move(system, reworked, "pack", 80)
    move(system, reworked, "ship", 90)

    late = new_item(system, floor, at=at(2))
    late = move(system, late, "plan", 12)
    exceptions.raise_exception(
        system,
        ExceptionRaise(category="material", description="Short of bolts", item_id=late.id),
        at=at(100),
    )
    assert sweep_slas(system, now=at(300)).stage_breaches == 1
    with system.read() as session:
        fresh = session.get(WorkItem, late.id)
        assert fresh is not None
    move(system, fresh, "kit", 310)
    return floor


def week(db_url: str, system: Context, engine: Any = "duckdb", **source: Any) -> PeriodValue:
    log = read_andon_events(db_url, events="all", engine=engine)
    specs = {"assembly": get_version(system, "assembly")[2]}
    values = kpi_values(log, KpiSource(**source), "week", CHICAGO, specs=specs)
    assert [v.period for v in values] == ["2026-W48"]
    return values[0]


def test_kpis_of_the_week_from_andon_history(system: Context, db_url: str, floor: Floor) -> None:
    def value(**source: Any) -> PeriodValue:
        return week(db_url, system, **source)

    assert value(kpi="throughput") == PeriodValue("2026-W48", None, 2, 2, None)
    assert value(kpi="wip") == PeriodValue("2026-W48", None, 1, 1, None)
    assert value(kpi="first_pass_yield") == PeriodValue("2026-W48", None, 0.5, 1, 2)
    assert value(kpi="rework_rate", stage="inspect") == PeriodValue("2026-W48", None, 0.5, 1, 2)
    # (60 + 89) / 2 minutes.
    assert value(kpi="cycle_time") == PeriodValue(
        "2026-W48", None, float(Fraction(149, 120)), None, 2
    )
    # Inspect visits of 10, 5 and 10 minutes.
    assert value(kpi="time_in_stage", stage="inspect") == PeriodValue(
        "2026-W48", None, float(Fraction(25, 180)), None, 3
    )
    # Ended visits of stages with an SLA: 6 + 8 + 2; only the late item's Plan breached.
    assert value(kpi="sla_attainment", process="assembly") == PeriodValue(
        "2026-W48", None, 15 / 16, 15, 16
    )
    assert value(kpi="exception_count", category="material") == PeriodValue(
        "2026-W48", None, 1, 1, 3
    )
    assert value(kpi="exception_count", category="quality") == PeriodValue(
        "2026-W48", None, 0, 0, 3
    )


def test_shift_values_from_the_site_calendar(system: Context, db_url: str, floor: Floor) -> None:
    with system.read() as session:
        shifts = working_calendar(session, floor.site.id).shifts
    log = read_andon_events(db_url, events="all")
    source = KpiSource(kpi="throughput", line="L1")

    values = kpi_values(log, source, "shift", CHICAGO, shifts=shifts)

    assert values == [PeriodValue("2026-11-23/Day", None, 2, 2, None)]


SOURCES = [
    {"kpi": "rework_rate"},
    {"kpi": "first_pass_yield"},
    {"kpi": "time_in_stage", "stage": "Plan"},
    {"kpi": "cycle_time"},
    {"kpi": "throughput"},
    {"kpi": "wip"},
    {"kpi": "sla_attainment"},
    {"kpi": "exception_count"},
]


# The postgres engine reads Andon's events in place: only Andon on PostgreSQL has it.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)
def test_postgres_engine_computes_in_place_the_duckdb_values(
    system: Context, db_url: str, floor: Floor
) -> None:
    for source in SOURCES:
        assert week(db_url, system, "postgres", **source) == week(db_url, system, **source)
