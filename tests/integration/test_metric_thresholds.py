"""Threshold crossings on both databases: history kept, exactly one action per standing
crossing (computed twice or from two threads), "no data" never a breach and raised to the
owner once per episode, and the metrics job of the worker."""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.actions import service as actions
from andon.actions.models import ActionItem
from andon.actions.schemas import ActionFilters, ActionLink
from andon.core.clock import to_local
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import Conflict
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import service
from andon.metrics.definition import MetricDefinition, parse_definition
from andon.metrics.models import MetricCrossing
from andon.metrics.periods import Period, period_containing
from andon.metrics.series import PeriodValue
from andon.notifications.models import Notification
from andon.work.worker import run_worker
from tests.factories import make_user

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime.now(UTC)
# The last finished week: the week still running is shown but never judged.
LAST_WEEK = period_containing("week", NOW - timedelta(weeks=1), ZONE)


def week(back: int) -> str:
    """The key of the week ``back`` weeks before this one."""
    return period_containing("week", NOW - timedelta(weeks=back), ZONE).key


def scrap(**overrides: Any) -> MetricDefinition:
    doc: dict[str, Any] = {
        "key": "scrap_cost",
        "name": "Scrap cost",
        "unit": "kEUR",
        "direction": "lower_is_better",
        "kind": "lagging",
        "owner": "quality",
        "source": "manual",
        "period": "week",
        "chart": "xmr",
        "baseline": {"points": 5},
        "thresholds": [
            {"level": "warning", "above": 15, "decision": "Review the scrap tags on Monday."},
            {
                "level": "critical",
                "above": 20,
                "decision": "Stop the new supplier's lots until the cause is known.",
                "action": {"title": "Contain the scrap", "due_in_days": 3},
            },
        ],
    }
    doc.update(overrides)
    return parse_definition(doc)


def csv(*values: float, last_back: int = 1) -> str:
    """Weekly values, the last one ``last_back`` weeks before this week (by default last week:
    the week still running is shown but not judged)."""
    start = last_back + len(values) - 1
    rows = [f"{week(start - i)},{v:g}" for i, v in enumerate(values)]
    return "period,value\n" + "\n".join(rows) + "\n"


@pytest.fixture
def quinn(system: Context) -> Context:
    from andon.accounts.service import actor_for

    return system.as_actor(
        actor_for(make_user(system, "quinn", Role.QUALITY, email="quinn@plant.example"))
    )


def store_unjudged(system: Context, key: str, value: float) -> None:
    """Store last week's value without judging it, as values were before thresholds existed."""
    from andon.metrics import store

    with system.atomic() as tx:
        metric = store.metric_by_key(tx.session, key)
        store.put_values(
            tx.session,
            metric,
            [(LAST_WEEK, "", value, None, None)],
            source="manual",
            zone=ZONE,
            now=NOW,
        )


def count(db: Database, model: Any, *where: Any) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def metric_actions(system: Context, key: str = "scrap_cost") -> list[Any]:
    return actions.list_actions(system, ActionFilters(link=ActionLink(kind="metric", ref=key)))


def no_data_notices(db: Database) -> list[str]:
    with db.read_session() as s:
        return list(
            s.scalars(
                select(Notification.subject)
                .where(Notification.source_type == "metric")
                .order_by(Notification.id)
            )
        )


# --- crossings and actions ----------------------------------------------------------------------


def test_a_standing_crossing_opens_one_action_for_the_owner(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, scrap(), reason="new")
    done = service.import_values(quinn, "scrap_cost", csv(10, 16, 12, 13, 22), zone=ZONE)
    [action] = metric_actions(system)
    assert done.actions_opened == [action.id]
    assert action.title == "Contain the scrap"
    assert (action.owner_role, action.priority, action.status) == ("quality", "urgent", "open")
    assert action.due_on == to_local(NOW, ZONE).date() + timedelta(days=3)
    assert action.description.startswith("Stop the new supplier's lots")
    assert f"Scrap cost was 22 kEUR in {LAST_WEEK.key}" in action.description
    # The owner hears about it through the action's own notice.
    with db.read_session() as s:
        told = s.scalars(select(Notification.target).where(Notification.source_type == "action"))
        assert list(told) == ["quinn@plant.example"]


def test_every_crossing_is_kept_with_its_decision_and_the_standing_one_with_its_action(
    system: Context, quinn: Context
) -> None:
    service.define_metric(system, scrap(), reason="new")
    service.import_values(quinn, "scrap_cost", csv(10, 16, 12, 13, 22), zone=ZONE)
    [action] = metric_actions(system)
    found = service.list_crossings(system, "scrap_cost")
    assert [(c.period, c.level, c.value, c.action_id) for c in found] == [
        (week(1), "critical", 22.0, action.id),
        (week(4), "warning", 16.0, None),
    ]
    assert found[1].decision == "Review the scrap tags on Monday."
    assert service.list_crossings(system, "scrap_cost", since=NOW + timedelta(days=1)) == []


def test_computing_again_opens_no_second_action(system: Context, quinn: Context) -> None:
    service.define_metric(system, scrap(), reason="new")
    service.import_values(quinn, "scrap_cost", csv(10, 16, 12, 13, 22), zone=ZONE)
    again = service.import_values(quinn, "scrap_cost", csv(10, 16, 12, 13, 22), zone=ZONE)
    computed = service.compute_metric(quinn, "scrap_cost", zone=ZONE)
    judged = service.evaluate_metric(quinn, "scrap_cost", zone=ZONE)
    assert (again.actions_opened, computed.actions_opened, judged.actions_opened) == ([], [], [])
    assert (again.new_crossings, computed.new_crossings) == (0, 0)
    assert len(metric_actions(system)) == 1


def test_two_threads_judging_one_crossing_open_exactly_one_action(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, scrap(), reason="new")
    # Values stored without judging them (as before thresholds existed), then judged twice
    # at once.
    store_unjudged(system, "scrap_cost", 25.0)
    barrier = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            # Each thread is its own request: its own context and unit of work.
            own = Context(db, quinn.actor)
            results.append(service.evaluate_metric(own, "scrap_cost", zone=ZONE).actions_opened)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(opened) for opened in results) == [0, 1]
    assert count(db, ActionItem) == 1
    assert count(db, MetricCrossing) == 1
    [crossing] = service.list_crossings(system, "scrap_cost")
    assert crossing.action_id == metric_actions(system)[0].id


class Constant:
    """A KPI source that yields the same values, whole and per line, on every compute."""

    def __init__(self, values: dict[str | None, float]) -> None:
        self.values = values

    def __call__(
        self,
        session: Session,
        defn: MetricDefinition,
        zone: ZoneInfo,
        periods: Collection[Period] | None,
    ) -> list[PeriodValue]:
        return [PeriodValue(LAST_WEEK.key, line, v) for line, v in self.values.items()]


def by_line(**overrides: Any) -> MetricDefinition:
    return scrap(
        key="rework",
        name="Rework",
        source={"kpi": "rework_rate", "stage": "inspect"},
        by_line=True,
        chart="xmr",
        thresholds=[
            {"level": "warning", "above": 0.15, "decision": "Review the rework tags."},
            {"level": "critical", "above": 0.3, "line": "L2", "decision": "Hold L2's lots."},
        ],
        **overrides,
    )


def test_two_threads_computing_a_metric_open_exactly_one_action_per_line_and_level(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, by_line(), reason="new")
    source = Constant({None: 0.1, "L1": 0.2, "L2": 0.4})
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            own = Context(db, quinn.actor)
            results.append(service.compute_metric(own, "rework", zone=ZONE, source=source))
        except Conflict as exc:  # the other compute won the values: nothing of this one kept
            results.append(exc)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert any(not isinstance(r, Conflict) for r in results)
    service.compute_metric(quinn, "rework", zone=ZONE, source=source)  # and once more
    found = sorted((a.title, a.priority) for a in metric_actions(system, "rework"))
    assert found == [
        ("Rework: critical threshold crossed on line L2", "urgent"),
        ("Rework: warning threshold crossed on line L1", "high"),
    ]
    status = {s.line: (s.status, s.level) for s in service.metric_status(system, "rework")}
    assert status == {
        None: ("ok", None),
        "L1": ("warning", "warning"),
        "L2": ("critical", "critical"),
    }


def test_a_closed_action_is_not_reopened_for_its_crossing_but_a_new_crossing_opens_one(
    system: Context, quinn: Context
) -> None:
    service.define_metric(system, scrap(), reason="new")
    service.import_values(quinn, "scrap_cost", csv(22, last_back=2), zone=ZONE)
    [first] = metric_actions(system)
    actions.close_action(quinn, first.id, note="Supplier lots on hold")
    assert service.evaluate_metric(quinn, "scrap_cost", zone=ZONE).actions_opened == []
    later = service.import_values(quinn, "scrap_cost", csv(23), zone=ZONE)
    assert len(later.actions_opened) == 1
    assert later.actions_opened != [first.id]


def test_an_action_for_an_owner_who_left_goes_to_the_operations_managers(
    system: Context, quinn: Context
) -> None:
    from andon.accounts.schemas import UserUpdate
    from andon.accounts.service import update_user

    otto = make_user(system, "otto", Role.QUALITY)
    service.define_metric(system, scrap(owner="otto"), reason="new")
    update_user(system, otto.id, UserUpdate(active=False, version=otto.version))
    service.import_values(quinn, "scrap_cost", csv(22), zone=ZONE)
    [action] = metric_actions(system)
    assert (action.owner_user, action.owner_role) == (None, "ops_manager")
    assert "otto, the metric's owner, is not an active user" in action.description


# --- no data ------------------------------------------------------------------------------------


def test_old_values_beyond_a_band_stand_at_no_data_and_open_no_action(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, scrap(no_data_after="2w"), reason="new")
    done = service.import_values(quinn, "scrap_cost", csv(10, 25, last_back=4), zone=ZONE)
    assert done.actions_opened == []
    assert count(db, ActionItem) == 0
    [whole] = service.metric_status(system, "scrap_cost", zone=ZONE)
    assert (whole.status, whole.stale, whole.period, whole.value) == ("no_data", True, week(4), 25)
    assert (whole.level, whole.action_id) == (None, None)
    # The crossing is history all the same.
    assert [c.level for c in service.list_crossings(system, "scrap_cost")] == ["critical"]


def test_a_stale_series_tells_the_owner_once_per_episode(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, scrap(no_data_after="2w"), reason="new")
    service.import_values(quinn, "scrap_cost", csv(10, 11, last_back=4), zone=ZONE)
    assert no_data_notices(db) == ["[Andon] No data for Scrap cost"]
    service.evaluate_metric(quinn, "scrap_cost", zone=ZONE)
    service.compute_metric(quinn, "scrap_cost", zone=ZONE, at=NOW + timedelta(days=1))
    assert len(no_data_notices(db)) == 1
    [whole] = service.metric_status(system, "scrap_cost", zone=ZONE)
    assert whole.told_at is not None
    # A fresh value ends the episode; when it is too old in turn, the owner hears again.
    service.import_values(quinn, "scrap_cost", csv(12), zone=ZONE)
    assert service.metric_status(system, "scrap_cost", zone=ZONE)[0].status == "ok"
    judged = service.evaluate_metric(quinn, "scrap_cost", zone=ZONE, at=NOW + timedelta(weeks=4))
    assert judged.no_data_told == [None]
    assert len(no_data_notices(db)) == 2
    assert count(db, ActionItem) == 0


def test_a_metric_that_never_had_a_value_is_raised_after_the_gap_not_breached(
    system: Context, quinn: Context, db: Database
) -> None:
    service.define_metric(system, scrap(no_data_after="1d"), reason="new")
    soon = service.evaluate_metric(system, "scrap_cost", zone=ZONE)
    later = service.evaluate_metric(system, "scrap_cost", zone=ZONE, at=NOW + timedelta(days=2))
    again = service.evaluate_metric(system, "scrap_cost", zone=ZONE, at=NOW + timedelta(days=3))
    assert (soon.no_data_told, later.no_data_told, again.no_data_told) == ([], [None], [])
    assert [(s.status, s.stale, s.period) for s in later.statuses] == [("no_data", True, None)]
    assert no_data_notices(db) == ["[Andon] No data for Scrap cost"]
    assert count(db, ActionItem) == 0


# --- the worker ---------------------------------------------------------------------------------


def ticking(stop: threading.Event, calls: int) -> Any:
    """A worker clock that moves a minute each time it is read, and stops the worker after
    ``calls`` reads."""
    read = [0]

    def now() -> datetime:
        read[0] += 1
        if read[0] >= calls:
            stop.set()
        return NOW + timedelta(minutes=read[0])

    return now


def test_the_worker_computes_and_judges_every_metric(
    db: Database, system: Context, quinn: Context, settings: Settings
) -> None:
    service.define_metric(system, scrap(), reason="new")
    service.define_metric(system, scrap(key="other_scrap", no_data_after="1w"), reason="new")
    store_unjudged(system, "scrap_cost", 30.0)
    later = NOW + timedelta(weeks=2)
    first = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: later)
    assert (first.metric_runs, first.metrics_computed, first.metric_actions) == (1, 2, 1)
    assert first.metric_crossings == 1
    assert len(metric_actions(system)) == 1
    assert no_data_notices(db) == ["[Andon] No data for Scrap cost"]
    again = run_worker(db, settings, interval_seconds=0, once=True, now_fn=lambda: later)
    assert (again.metric_runs, again.metric_actions, again.metric_crossings) == (1, 0, 0)
    assert len(metric_actions(system)) == 1
    assert len(no_data_notices(db)) == 1


@pytest.mark.parametrize(("interval", "runs"), [(0, "every"), (3600, "once")])
def test_the_metrics_job_runs_once_per_interval(
    db: Database, system: Context, settings: Settings, interval: float, runs: str
) -> None:
    service.define_metric(system, scrap(), reason="new")
    stop = threading.Event()
    tuned = settings.model_copy(update={"metrics_interval_seconds": interval})
    stats = run_worker(db, tuned, interval_seconds=0, stop=stop, now_fn=ticking(stop, 40))
    assert stats.cycles > 1
    assert stats.metric_runs == (stats.cycles if runs == "every" else 1)


def test_a_metric_split_by_line_without_a_whole_series_is_judged_per_line_only(
    system: Context, quinn: Context
) -> None:
    service.define_metric(system, by_line(no_data_after="2w"), reason="new")
    service.compute_metric(quinn, "rework", zone=ZONE, source=Constant({"L1": 0.1}))
    later = service.evaluate_metric(quinn, "rework", zone=ZONE, at=NOW + timedelta(days=1))
    assert [(s.line, s.status) for s in later.statuses] == [("L1", "ok"), ("L2", "no_data")]
    assert later.no_data_told == []  # L2's band waits two weeks for its first value


def test_the_board_counts_a_crossings_action_on_its_own_line_only(
    system: Context, quinn: Context
) -> None:
    from andon.metrics import board

    service.define_metric(system, by_line(sqdc="quality"), reason="new")
    service.compute_metric(quinn, "rework", zone=ZONE, source=Constant({"L1": 0.1, "L2": 0.5}))
    tiles = {t.line: t for t in board.sqdc_board(system, zone=ZONE).tiles}
    assert (tiles["L1"].status, tiles["L1"].open_actions) == ("ok", 0)
    assert (tiles["L2"].status, tiles["L2"].open_actions) == ("critical", 1)
