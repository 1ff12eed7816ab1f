"""KPI values per period on a small hand-built plant log, values worked out by hand.

The plant is in America/Chicago (CST, UTC−6, in November 2026): local week 2026-W47 runs from
16 Nov 06:00 UTC to 23 Nov 06:00 UTC, so an event on 23 Nov 02:00 UTC (Sunday 20:00 local)
belongs to W47 there and to W48 in UTC.

Process ``asm``: Assemble (SLA 8 h) → Inspect (SLA 2 h) → Ship, Inspect → Rework → Inspect.

- Item 1 (L1, P1): Assemble 16 Nov 14:00, Inspect 20:00, Ship 21:00 — done, no rework.
- Item 2 (L1, P2): Assemble 20 Nov 12:00, Inspect 16:00, (breach Inspect 18:00, exception
  quality 18:30), Rework 19:00, Inspect again 23 Nov 02:00 (local W47), (breach 04:00), Ship
  23 Nov 07:00 (W48) — done, reworked.
- Item 3 (L2, P1): Assemble 22 Nov 10:00, (exception quality 12:00, breach Assemble 18:00),
  Inspect 24 Nov 10:00, (exception material 11:00) — open.
- Item 4 (L1, P1, process ``other``): Assemble 17 Nov 10:00, Ship 12:00 — done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pytest

from andon.analytics.andon_events import _arrow_schema
from andon.analytics.log import EventLog
from andon.calendars.hours import Shift
from andon.core.errors import InvalidInput
from andon.metrics.definition import KpiSource
from andon.metrics.kpi_values import affected_periods, kpi_values
from andon.metrics.periods import Period, parse_period
from andon.metrics.series import PeriodValue
from andon.processes.spec import ProcessSpec
from andon.processes.spec_yaml import load_spec_yaml
from tests.unit.analytics.conftest import connect_postgres

CHICAGO = ZoneInfo("America/Chicago")
SPEC = """
key: asm
name: Assembly
start: assemble
end: [ship]
stages:
  - {key: assemble, name: Assemble, owner_role: operator, sla: 8h}
  - {key: inspect, name: Inspect, owner_role: quality, sla: 2h}
  - {key: rework, name: Rework, owner_role: operator}
  - {key: ship, name: Ship, owner_role: supervisor}
transitions:
  - {from: assemble, to: inspect}
  - {from: inspect, to: ship}
  - {from: inspect, to: rework, rework: true}
  - {from: rework, to: inspect}
"""
ITEMS = {
    "1": ("asm", "L1", "P1", "done"),
    "2": ("asm", "L1", "P2", "done"),
    "3": ("asm", "L2", "P1", "open"),
    "4": ("other", "L1", "P1", "done"),
}
# (item, kind, activity, UTC time "MM-DD HH:MM", category)
EVENTS = [
    ("1", "created", "Assemble", "11-16 14:00", None),
    ("1", "moved", "Inspect", "11-16 20:00", None),
    ("1", "moved", "Ship", "11-16 21:00", None),
    ("4", "created", "Assemble", "11-17 10:00", None),
    ("4", "moved", "Ship", "11-17 12:00", None),
    ("2", "created", "Assemble", "11-20 12:00", None),
    ("2", "moved", "Inspect", "11-20 16:00", None),
    ("2", "stage_breached", "Inspect", "11-20 18:00", None),
    ("2", "exception", "Inspect", "11-20 18:30", "quality"),
    ("2", "moved", "Rework", "11-20 19:00", None),
    ("3", "created", "Assemble", "11-22 10:00", None),
    ("3", "exception", "Assemble", "11-22 12:00", "quality"),
    ("3", "stage_breached", "Assemble", "11-22 18:00", None),
    ("2", "moved", "Inspect", "11-23 02:00", None),
    ("2", "stage_breached", "Inspect", "11-23 04:00", None),
    ("2", "moved", "Ship", "11-23 07:00", None),
    ("3", "moved", "Inspect", "11-24 10:00", None),
    ("3", "exception", "Inspect", "11-24 11:00", "material"),
]


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def plant_table(events: list[tuple[Any, ...]] = EVENTS) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for order, (item, kind, activity, stamp, category) in enumerate(events, start=1):
        process, line, product, status = ITEMS[item]
        rows.append(
            {
                "case_id": item,
                "activity": activity,
                "timestamp": at(stamp),
                "start_timestamp": None,
                "resource": "ann",
                "lifecycle": "start",
                "event_order": order,
                "kind": kind,
                "process_key": process,
                "process_version": 1,
                "line": line,
                "priority": "normal",
                "product": product,
                "item_status": status,
                "item_breached": False,
                "category": category,
            }
        )
    return pa.Table.from_pylist(rows, schema=_arrow_schema())


@pytest.fixture(scope="module")
def log() -> EventLog:
    return EventLog(ibis.memtable(plant_table()), "test")


@pytest.fixture(scope="module")
def spec() -> ProcessSpec:
    return load_spec_yaml(SPEC)


def weekly(log: EventLog, zone: ZoneInfo = CHICAGO, **source: Any) -> list[PeriodValue]:
    extra = {k: source.pop(k) for k in ("by_line", "periods", "specs") if k in source}
    return kpi_values(log, KpiSource(**source), "week", zone, **extra)


def W(period: str, value: float | None, count: float | None, n: float | None) -> PeriodValue:  # noqa: N802
    return PeriodValue(period, None, value, count, n)


def test_rework_rate_counts_items_that_re_entered_a_stage_in_the_local_week(
    log: EventLog,
) -> None:
    # W47: items 1–4 entered stages; item 2 re-entered Inspect on Sunday evening local time.
    assert weekly(log, kpi="rework_rate") == [
        W("2026-W47", 1 / 4, 1, 4),
        W("2026-W48", 0.0, 0, 2),
    ]


def test_rework_rate_follows_the_site_zone_across_the_week_boundary(log: EventLog) -> None:
    # In UTC the re-entry (23 Nov 02:00) falls in W48: items 2 and 3 entered stages there.
    assert weekly(log, ZoneInfo("UTC"), kpi="rework_rate") == [
        W("2026-W47", 0.0, 0, 4),
        W("2026-W48", 1 / 2, 1, 2),
    ]


def test_rework_rate_at_a_stage_by_name_or_by_key_with_the_definition(
    log: EventLog, spec: ProcessSpec
) -> None:
    expected = [W("2026-W47", 1 / 2, 1, 2), W("2026-W48", 0.0, 0, 1)]

    assert weekly(log, kpi="rework_rate", stage="Inspect") == expected
    assert weekly(log, kpi="rework_rate", stage="inspect", specs={"asm": spec}) == expected


def test_a_stage_key_without_the_definition_matches_no_activity_so_no_data(
    log: EventLog,
) -> None:
    assert weekly(log, kpi="rework_rate", stage="inspect") == [
        W("2026-W47", None, 0, 0),
        W("2026-W48", None, 0, 0),
    ]


def test_first_pass_yield_counts_completed_items_without_rework(log: EventLog) -> None:
    # Items 1 and 4 completed in W47 cleanly; item 2 completed in W48 after rework.
    assert weekly(log, kpi="first_pass_yield") == [
        W("2026-W47", 1.0, 2, 2),
        W("2026-W48", 0.0, 0, 1),
    ]


def test_first_pass_yield_of_one_process(log: EventLog) -> None:
    assert weekly(log, kpi="first_pass_yield", process="asm") == [
        W("2026-W47", 1.0, 1, 1),
        W("2026-W48", 0.0, 0, 1),
    ]


def test_first_pass_yield_at_a_stage_ignores_rework_elsewhere(log: EventLog) -> None:
    # Item 2 re-entered Inspect but never Assemble.
    assert weekly(log, kpi="first_pass_yield", stage="Assemble") == [
        W("2026-W47", 1.0, 2, 2),
        W("2026-W48", 1.0, 1, 1),
    ]


def test_time_in_stage_is_the_mean_of_visits_ending_in_the_week(log: EventLog) -> None:
    # W47: Inspect visits of 1 h (item 1) and 3 h (item 2); W48: item 2's second, 5 h.
    assert weekly(log, kpi="time_in_stage", stage="Inspect") == [
        W("2026-W47", 2.0, None, 2),
        W("2026-W48", 5.0, None, 1),
    ]


def test_cycle_time_is_the_mean_of_items_completed_in_the_week(log: EventLog) -> None:
    # W47: item 1 took 7 h, item 4 2 h; W48: item 2, 20 Nov 12:00 → 23 Nov 07:00 = 67 h.
    assert weekly(log, kpi="cycle_time") == [
        W("2026-W47", 4.5, None, 2),
        W("2026-W48", 67.0, None, 1),
    ]


def test_cycle_time_of_one_product_has_no_data_in_a_week_without_completions(
    log: EventLog,
) -> None:
    assert weekly(log, kpi="cycle_time", product="P2") == [
        W("2026-W47", None, None, 0),
        W("2026-W48", 67.0, None, 1),
    ]


def test_throughput_per_line_counts_zero_where_nothing_completed(log: EventLog) -> None:
    assert weekly(log, kpi="throughput", by_line=True) == [
        PeriodValue("2026-W47", "L1", 2, 2, None),
        PeriodValue("2026-W47", "L2", 0, 0, None),
        PeriodValue("2026-W48", "L1", 1, 1, None),
        PeriodValue("2026-W48", "L2", 0, 0, None),
    ]


def test_wip_counts_items_open_at_the_end_of_the_week(log: EventLog) -> None:
    # End of W47 (23 Nov 06:00 UTC): items 2 (done at 07:00) and 3; end of W48: item 3.
    assert weekly(log, kpi="wip") == [W("2026-W47", 2, 2, None), W("2026-W48", 1, 1, None)]


def test_wip_of_one_line(log: EventLog) -> None:
    assert weekly(log, kpi="wip", line="L2") == [
        W("2026-W47", 1, 1, None),
        W("2026-W48", 1, 1, None),
    ]


def test_sla_attainment_counts_visits_without_a_breach_by_the_week_they_ended(
    log: EventLog, spec: ProcessSpec
) -> None:
    # W47: Assemble (items 1, 2) and Inspect (item 1) within, item 2's first Inspect breached;
    # W48: item 2's second Inspect and item 3's Assemble both breached. Rework has no SLA.
    assert weekly(log, kpi="sla_attainment", process="asm", specs={"asm": spec}) == [
        W("2026-W47", 3 / 4, 3, 4),
        W("2026-W48", 0.0, 0, 2),
    ]


def test_sla_attainment_at_one_stage(log: EventLog, spec: ProcessSpec) -> None:
    assert weekly(
        log, kpi="sla_attainment", process="asm", stage="inspect", specs={"asm": spec}
    ) == [W("2026-W47", 1 / 2, 1, 2), W("2026-W48", 0.0, 0, 1)]


def test_sla_attainment_without_a_process_definition_is_refused(
    log: EventLog, spec: ProcessSpec
) -> None:
    with pytest.raises(InvalidInput) as caught:
        weekly(log, kpi="sla_attainment", specs={"asm": spec})

    assert caught.value.errors[0].loc == ("specs",)
    assert "other" in caught.value.errors[0].msg


def test_exception_count_with_items_worked_as_exposure(log: EventLog) -> None:
    # n: W47 items 1–4 had events; W48 items 2 and 3.
    assert weekly(log, kpi="exception_count") == [
        W("2026-W47", 2, 2, 4),
        W("2026-W48", 1, 1, 2),
    ]


def test_exception_count_of_a_category(log: EventLog) -> None:
    assert weekly(log, kpi="exception_count", category="quality") == [
        W("2026-W47", 2, 2, 4),
        W("2026-W48", 0, 0, 2),
    ]


def test_exception_count_at_a_stage_per_line(log: EventLog) -> None:
    assert weekly(log, kpi="exception_count", stage="Inspect", by_line=True) == [
        PeriodValue("2026-W47", "L1", 1, 1, 3),
        PeriodValue("2026-W47", "L2", 0, 0, 1),
        PeriodValue("2026-W48", "L1", 0, 0, 1),
        PeriodValue("2026-W48", "L2", 1, 1, 1),
    ]


SOURCES = [
    {"kpi": "rework_rate"},
    {"kpi": "rework_rate", "stage": "Inspect"},
    {"kpi": "first_pass_yield"},
    {"kpi": "time_in_stage", "stage": "Inspect"},
    {"kpi": "cycle_time"},
    {"kpi": "throughput"},
    {"kpi": "wip"},
    {"kpi": "sla_attainment", "process": "asm"},
    {"kpi": "exception_count", "category": "quality"},
]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: "-".join(s.values()))
@pytest.mark.parametrize("kind", ["day", "week", "month"])
def test_chosen_periods_have_the_values_of_a_full_run(
    log: EventLog, spec: ProcessSpec, source: dict[str, str], kind: Any
) -> None:
    specs = {"asm": spec}
    full = kpi_values(log, KpiSource(**source), kind, CHICAGO, by_line=True, specs=specs)
    chosen = {parse_period(kind, v.period) for v in full[1::3]}

    some = kpi_values(
        log, KpiSource(**source), kind, CHICAGO, by_line=True, specs=specs, periods=chosen
    )

    assert some == [v for v in full if parse_period(kind, v.period) in chosen]
    assert some


def test_days_follow_local_midnight(log: EventLog) -> None:
    values = kpi_values(log, KpiSource(kpi="throughput"), "day", CHICAGO)
    # Item 2 completed 23 Nov 07:00 UTC = 01:00 local; item 1 on 16 Nov 15:00 local.
    completions = {v.period: v.value for v in values if v.value}

    assert completions == {"2026-11-16": 1, "2026-11-17": 1, "2026-11-23": 1}
    assert (values[0].period, values[-1].period) == ("2026-11-16", "2026-11-24")


SHIFTS = [
    Shift("Day", frozenset(range(5)), time(6), time(18)),
    Shift("Night", frozenset(range(5)), time(18), time(6)),
]


def test_shift_periods_come_from_the_calendar(log: EventLog) -> None:
    values = kpi_values(log, KpiSource(kpi="throughput"), "shift", CHICAGO, shifts=SHIFTS)
    completions = {v.period: v.value for v in values if v.value}

    # 16 Nov 15:00 local (Day), 17 Nov 06:00 local (Day), 23 Nov 01:00 local: the Night shift
    # that started on Sunday 22 Nov does not exist (Monday to Friday), so no shift holds it.
    assert completions == {"2026-11-16/Day": 1, "2026-11-17/Day": 1}
    assert values[0].period == "2026-11-16/Day"


def test_affected_periods_map_instants_to_local_periods() -> None:
    stamps = [at("11-23 02:00"), at("11-23 07:00"), at("11-17 03:00"), at("11-23 13:00")]

    assert affected_periods(stamps, "week", CHICAGO) == {
        Period("week", parse_period("week", "2026-W47").first),
        Period("week", parse_period("week", "2026-W48").first),
    }
    # 17 Nov 03:00 UTC is Monday 16 Nov 21:00 local: the Night shift of the 16th; 23 Nov
    # 13:00 UTC is Monday 07:00 local (Day); Sunday 20:00 and Monday 01:00 are in no shift.
    assert affected_periods(stamps, "shift", CHICAGO, shifts=SHIFTS) == {
        parse_period("shift", "2026-11-16/Night"),
        parse_period("shift", "2026-11-23/Day"),
    }


def test_no_shift_starts_on_a_holiday(log: EventLog) -> None:
    monday = parse_period("day", "2026-11-16").first
    values = kpi_values(
        log, KpiSource(kpi="throughput"), "shift", CHICAGO, shifts=SHIFTS, holidays={monday}
    )

    # Item 1's completion (Monday 15:00 local) falls in no shift; item 4's is Tuesday's Day.
    assert {v.period: v.value for v in values if v.value} == {"2026-11-17/Day": 1}
    assert not [v for v in values if v.period.startswith("2026-11-16")]


def test_the_day_clocks_go_back_is_25_hours_long() -> None:
    # 1 Nov 2026, Chicago: CDT (UTC−5) until 07:00 UTC, then CST (UTC−6). Local midnight
    # starts the day at 05:00 UTC and ends it at 06:00 UTC on 2 Nov.
    events = [
        ("1", "created", "Assemble", "11-01 04:59", None),  # 31 Oct 23:59 CDT
        ("1", "moved", "Ship", "11-01 05:00", None),  # 1 Nov 00:00 CDT
        ("2", "created", "Assemble", "11-01 06:00", None),
        ("2", "moved", "Ship", "11-02 05:59", None),  # 1 Nov 23:59 CST
        ("4", "created", "Assemble", "11-01 06:00", None),
        ("4", "moved", "Ship", "11-02 06:00", None),  # 2 Nov 00:00 CST
    ]
    dst = EventLog(ibis.memtable(plant_table(events)), "dst")

    values = kpi_values(dst, KpiSource(kpi="throughput"), "day", CHICAGO)

    assert [(v.period, v.value) for v in values] == [
        ("2026-10-31", 0),
        ("2026-11-01", 2),
        ("2026-11-02", 1),
    ]


def test_shift_periods_without_shifts_are_refused(log: EventLog) -> None:
    with pytest.raises(InvalidInput) as caught:
        kpi_values(log, KpiSource(kpi="throughput"), "shift", CHICAGO)

    assert caught.value.errors[0].loc == ("period",)
    assert "around the clock" in caught.value.errors[0].msg


def test_a_log_without_andon_columns_is_refused() -> None:
    bare = EventLog(ibis.memtable(plant_table().select(["case_id", "activity", "timestamp"])), "x")

    with pytest.raises(InvalidInput) as caught:
        kpi_values(bare, KpiSource(kpi="throughput"), "week", CHICAGO)

    assert caught.value.errors[0].loc == ("log",)


def test_a_period_of_another_kind_is_refused(log: EventLog) -> None:
    with pytest.raises(InvalidInput) as caught:
        kpi_values(
            log,
            KpiSource(kpi="throughput"),
            "week",
            CHICAGO,
            periods=[parse_period("day", "2026-11-20")],
        )

    assert caught.value.errors[0].loc == ("periods",)


@pytest.fixture
def postgres_backend() -> Iterator[Any]:
    backend = connect_postgres()
    yield backend
    backend.disconnect()


@pytest.mark.postgresql
@pytest.mark.parametrize("source", SOURCES, ids=lambda s: "-".join(s.values()))
def test_postgres_gives_the_duckdb_values(
    log: EventLog, spec: ProcessSpec, source: dict[str, str], postgres_backend: Any
) -> None:
    name = f"kpi_log_{uuid.uuid4().hex[:8]}"
    on_postgres = EventLog(postgres_backend.create_table(name, plant_table(), temp=True), "pg")
    specs = {"asm": spec}

    expected = kpi_values(log, KpiSource(**source), "week", CHICAGO, by_line=True, specs=specs)
    got = kpi_values(on_postgres, KpiSource(**source), "week", CHICAGO, by_line=True, specs=specs)
    w48 = [parse_period("week", "2026-W48")]
    one_week = kpi_values(
        on_postgres, KpiSource(**source), "week", CHICAGO, by_line=True, specs=specs, periods=w48
    )

    assert got == expected
    assert one_week == [v for v in expected if v.period == "2026-W48"]
