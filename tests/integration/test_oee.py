"""Downtime entries, ideal cycle times and OEE per line through the service, on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from andon.accounts.models import User
from andon.accounts.service import actor_for
from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import downtime
from andon.metrics.oee_models import DowntimeEntry, IdealCycleTime
from andon.metrics.oee_schemas import DowntimeCreate, IdealCycleTimeSet
from andon.metrics.periods import Period
from andon.work.models import LineStop
from tests.factories import MONDAY_7AM, Floor, make_floor, make_user, new_item
from tests.factories import inspect_at as inspect
from tests.factories import minutes_after_monday as at
from tests.factories import move_at as move

CHICAGO = ZoneInfo("America/Chicago")
SHIFT_SECONDS = 8 * 3600


def as_user(system: Context, username: str, *roles: Role, **scope: int) -> Context:
    make_user(system, username, *roles, **scope)
    with system.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return Context(system.db, actor_for(user))


def ship(system: Context, floor: Floor, start: float, *, rework: bool, **fields: object) -> None:
    """One item from intake to ship, through rework when asked, all within ~40 minutes."""
    item = new_item(system, floor, at=at(start), **fields)
    for i, stage in enumerate(["plan", "kit", "assemble", "inspect"], start=1):
        item = move(system, item, stage, start + i * 5)
    if rework:
        item = inspect(system, item, start + 21, torque=13.1)  # fails: sent to rework
        assert item.stage == "rework"
        item = move(system, item, "inspect", start + 25)
    item = inspect(system, item, start + 27, torque=11.0)
    item = move(system, item, "pack", start + 30)
    move(system, item, "ship", start + 35)


def entry(start: float, end: float, reason: str = "changeover", note: str = "") -> DowntimeCreate:
    return DowntimeCreate(started_at=at(start), ended_at=at(end), reason_code=reason, note=note)


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


@pytest.fixture
def monday(system: Context, floor: Floor) -> Floor:
    """Monday on L1: 5 units made (one reworked), a stop and an overlapping downtime entry.

    PH-100: two items of one unit, one reworked, at 600 s each (any line).
    PH-200: one item of three units at 1200 s on L1 (the any-line 9999 s is overridden).
    Stop 09:00-09:30 local and changeover 09:20-09:50 overlap: 50 minutes down. A stop at
    16:00-17:00 local is after the shift and does not count.
    """
    ship(system, floor, 0, rework=False)
    ship(system, floor, 40, rework=True)
    ship(system, floor, 80, rework=False, product="PH-200", quantity=3)
    with system.write() as tx:
        tx.session.add_all(
            [
                LineStop(
                    line_id=floor.line.id,
                    stopped_at=at(120),
                    stopped_by="admin",
                    reason="jam",
                    restarted_at=at(150),
                ),
                LineStop(
                    line_id=floor.line.id,
                    stopped_at=at(540),
                    stopped_by="admin",
                    reason="after hours",
                    restarted_at=at(600),
                ),
            ]
        )
    downtime.record_downtime(system, floor.line.id, entry(140, 170))
    for product, line_id, seconds in (
        ("PH-100", None, 600.0),
        ("PH-200", None, 9999.0),
        ("PH-200", floor.line.id, 1200.0),
    ):
        downtime.set_ideal_cycle_time(
            system, IdealCycleTimeSet(product=product, line_id=line_id, seconds=seconds)
        )
    return floor


def test_oee_of_a_day_is_computed_from_calendar_stops_entries_and_items(
    system: Context, monday: Floor
) -> None:
    with system.read() as session:
        (row,) = downtime.oee_breakdown(session, "L1", "day", CHICAGO)

    r = row.result
    assert (row.period, row.line) == ("2026-11-23", "L1")
    assert r.planned_seconds == SHIFT_SECONDS
    assert r.downtime_seconds == 50 * 60
    assert r.run_seconds == SHIFT_SECONDS - 3000
    assert r.ideal_seconds == 2 * 600 + 3 * 1200
    assert (r.total_count, r.good_count) == (5, 4)
    assert r.availability == pytest.approx(25_800 / 28_800)
    assert r.performance == pytest.approx(4_800 / 25_800)
    assert r.quality == pytest.approx(0.8)
    assert r.oee == pytest.approx(4_800 / 28_800 * 0.8)


def test_oee_values_give_the_week_as_a_metric_series(system: Context, monday: Floor) -> None:
    with system.read() as session:
        values = downtime.oee_values(session, "CHI/ASM/L1", "week", CHICAGO)

    # Five 8-hour days planned in the week; the 50 minutes down and the 5 units are Monday's.
    (value,) = values
    assert value.period == "2026-W48"
    assert value.line == "L1"
    assert value.value == pytest.approx(4_800 / (5 * SHIFT_SECONDS) * 0.8)
    assert value.n == 5


def test_a_day_without_planned_time_or_output_is_no_data(system: Context, monday: Floor) -> None:
    saturday = Period("day", MONDAY_7AM.date() + timedelta(days=5))
    tuesday = Period("day", MONDAY_7AM.date() + timedelta(days=1))
    with system.read() as session:
        values = downtime.oee_values(session, "L1", "day", CHICAGO, periods=[saturday, tuesday])

    assert [(v.period, v.value) for v in values] == [("2026-11-24", None), ("2026-11-28", None)]


def test_a_product_without_an_ideal_cycle_time_leaves_oee_unknown(
    system: Context, floor: Floor
) -> None:
    ship(system, floor, 0, rework=False, product="PH-900")

    (row,) = downtime.line_oee(system, floor.line.id, "day")

    assert row.result.oee is None
    assert row.result.missing_cycle_times == ("PH-900",)
    assert row.result.quality == 1


def test_shift_periods_come_from_the_site_calendar(system: Context, monday: Floor) -> None:
    (row,) = downtime.line_oee(system, monday.line.id, "shift", periods=["2026-11-23/Day"])

    assert row.period == "2026-11-23/Day"
    assert row.result.oee == pytest.approx(4_800 / 28_800 * 0.8)


def test_a_line_with_nothing_recorded_has_no_periods(system: Context, floor: Floor) -> None:
    assert downtime.line_oee(system, floor.line.id, "week") == []


def test_recorded_downtime_is_listed_newest_first_and_audited(
    system: Context, floor: Floor
) -> None:
    first = downtime.record_downtime(system, floor.line.id, entry(0, 30, "breakdown", "belt"))
    second = downtime.record_downtime(system, floor.line.id, entry(30, 45))

    listed = downtime.list_downtime(system, floor.line.id)

    assert [e.id for e in listed] == [second.id, first.id]
    assert (listed[1].reason_code, listed[1].note, listed[1].recorded_by) == (
        "breakdown",
        "belt",
        system.actor.username,
    )


def count_entries(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(DowntimeEntry)) or 0


def test_downtime_overlapping_another_entry_is_refused_and_nothing_is_written(
    system: Context, floor: Floor
) -> None:
    downtime.record_downtime(system, floor.line.id, entry(0, 30))

    with pytest.raises(Conflict, match="overlapping"):
        downtime.record_downtime(system, floor.line.id, entry(29, 60, "breakdown"))

    assert count_entries(system) == 1


def test_an_end_before_the_start_and_an_unknown_reason_are_refused_by_field(
    system: Context, floor: Floor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        downtime.record_downtime(system, floor.line.id, entry(30, 30, "coffee"))

    assert {e.loc for e in caught.value.errors} == {("ended_at",), ("reason_code",)}
    assert count_entries(system) == 0


def test_reason_codes_come_from_the_configured_list(system: Context, floor: Floor) -> None:
    recorded = downtime.record_downtime(
        system, floor.line.id, entry(0, 10, "tooling"), reasons=("tooling",)
    )

    assert recorded.reason_code == "tooling"
    with pytest.raises(InvalidInput):
        downtime.record_downtime(system, floor.line.id, entry(20, 30), reasons=("tooling",))


def test_an_operator_may_not_record_downtime(system: Context, floor: Floor) -> None:
    operator = as_user(system, "otto", Role.OPERATOR)

    with pytest.raises(PermissionDenied):
        downtime.record_downtime(operator, floor.line.id, entry(0, 10))

    assert count_entries(system) == 0


def test_setting_a_cycle_time_again_replaces_it(system: Context, floor: Floor) -> None:
    first = downtime.set_ideal_cycle_time(
        system, IdealCycleTimeSet(product="PH-100", line_id=floor.line.id, seconds=60)
    )
    second = downtime.set_ideal_cycle_time(
        system, IdealCycleTimeSet(product="PH-100", line_id=floor.line.id, seconds=45)
    )

    assert second.id == first.id
    assert (second.seconds, second.version) == (45, 2)
    assert [(c.product, c.line_id) for c in downtime.list_ideal_cycle_times(system)] == [
        ("PH-100", floor.line.id)
    ]


def test_a_supervisor_may_not_set_an_any_line_cycle_time_outside_their_reach(
    system: Context, floor: Floor
) -> None:
    sam = as_user(system, "sam", Role.SUPERVISOR, site_id=floor.site.id)

    with pytest.raises(PermissionDenied):
        downtime.set_ideal_cycle_time(sam, IdealCycleTimeSet(product="PH-1", seconds=30))

    with system.read() as session:
        assert session.scalar(select(func.count()).select_from(IdealCycleTime)) == 0


def test_an_unknown_period_key_is_refused_by_field(system: Context, floor: Floor) -> None:
    with pytest.raises(InvalidInput) as caught:
        downtime.line_oee(system, floor.line.id, "week", periods=["2026-48"])

    assert caught.value.errors[0].loc == ("period",)


def test_two_overlapping_entries_at_once_store_one(system: Context, floor: Floor) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(start: float) -> None:
        barrier.wait()
        try:
            downtime.record_downtime(system, floor.line.id, entry(start, start + 30))
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(start,)) for start in (0, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["conflict", "recorded"]
    assert count_entries(system) == 1


@pytest.mark.parametrize("key", ["9999-12", "0001-01"])
def test_a_period_at_the_end_of_the_calendar_is_refused_by_field(
    system: Context, floor: Floor, key: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        downtime.line_oee(system, floor.line.id, "month", periods=[key])

    assert caught.value.errors[0].loc == ("period",)


def test_an_oee_metric_recomputes_only_the_days_new_downtime_touches(
    system: Context, monday: Floor
) -> None:
    from andon.metrics import service
    from andon.metrics.definition import parse_definition

    defn = parse_definition(
        {
            "key": "oee_l1",
            "name": "OEE L1",
            "unit": "%",
            "direction": "higher_is_better",
            "kind": "lagging",
            "owner": "supervisor",
            "source": {"kpi": "oee", "line": monday.line.code},
            "period": "day",
            "chart": "xmr",
        }
    )
    service.define_metric(system, defn, reason="new")
    first = service.compute_metric(system, "oee_l1", zone=CHICAGO)
    assert first.full is True
    assert service.compute_metric(system, "oee_l1", zone=CHICAGO).periods == []
    # Downtime entered late for Wednesday, no work event at all: Wednesday alone.
    downtime.record_downtime(system, monday.line.id, entry(2 * 1440 + 60, 2 * 1440 + 90))
    again = service.compute_metric(system, "oee_l1", zone=CHICAGO)
    assert (again.full, again.periods) == (False, ["2026-11-25"])
    # A changed ideal cycle time may move every day.
    downtime.set_ideal_cycle_time(system, IdealCycleTimeSet(product="PH-100", seconds=500.0))
    assert service.compute_metric(system, "oee_l1", zone=CHICAGO).full is True
