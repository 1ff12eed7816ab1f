"""The demo's simulated work history: what it holds, that it replays, that it is reproducible."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from andon.calendars.service import working_calendar
from andon.core import audit_queries
from andon.core.database import Database
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.demo.plant import USERS, DemoSummary, load_demo
from andon.demo.work import HistoryOptions, HistorySummary
from andon.plant import service as plant
from andon.work import checks, line_stops
from andon.work.events import replay, state_of
from andon.work.models import WorkEvent, WorkItem
from andon.work.worker import WORKER_ACTOR

# Thursday 19 Nov 2026, 12:00 in Chicago: mid-shift, so items are in progress at the end.
END = datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
SMALL = HistoryOptions(items=60, days=4, seed=7, end_at=END)
EventRow = tuple[int, str, str, datetime, str]


def load_small(system: Context) -> HistorySummary:
    summary = load_demo(system, SMALL)
    assert summary.history is not None
    return summary.history


def event_log(db: Database) -> list[EventRow]:
    """Sorted: the sweep records breaches found together in the order the database returns."""
    with db.read_session() as session:
        rows = session.execute(
            select(
                WorkEvent.case_id,
                WorkEvent.activity,
                WorkEvent.lifecycle,
                WorkEvent.timestamp,
                WorkEvent.resource,
            )
        )
        return sorted((c, a, lc, t, r) for c, a, lc, t, r in rows)


def test_history_holds_the_items_rework_exceptions_and_escalations_asked_for(
    system: Context,
) -> None:
    history = load_small(system)

    assert history.items == 60
    assert (history.start_at, history.end_at) == (END - timedelta(days=4), END)
    assert 0 < history.open_items < 60
    assert history.reworked_items > 0
    assert history.events > 60 * 8  # at least created, seven stage changes and a check
    assert history.exceptions.get("safety", 0) >= 1
    assert sum(history.exceptions.values()) > history.exceptions["safety"]
    assert history.escalations_fired > 0
    assert history.resolved_exceptions > 0


def test_history_has_one_safety_stop_restarted_by_supervisor_and_quality(
    system: Context,
) -> None:
    load_small(system)

    stops = line_stops.list_stops(system)
    assert len(stops) == 1
    stop = stops[0]
    assert stop.rule == "High-severity safety exception"
    assert (stop.supervisor_signoff_by, stop.quality_signoff_by) == ("supervisor", "quality")
    assert stop.restarted_at is not None
    assert timedelta(hours=1) < stop.restarted_at - stop.stopped_at < timedelta(hours=12)
    assert {row.status for row in line_stops.board(system, now=END)} == {"running"}


def test_every_item_replays_from_its_events_in_time_order_within_shifts(
    system: Context,
) -> None:
    load_small(system)
    people = {u.username for u in USERS} | {WORKER_ACTOR, "andon"}

    with system.read() as session:
        calendar = working_calendar(session, plant.find_site_by_code(system, "CHI").id)
        by_item: dict[int, list[WorkEvent]] = defaultdict(list)
        for event in session.scalars(select(WorkEvent).order_by(WorkEvent.id)):
            by_item[event.case_id].append(event)
        stored = list(session.scalars(select(WorkItem)))

    assert len(stored) == 60
    for item in stored:
        events = by_item[item.id]
        assert replay((e.kind, e.lifecycle, e.attributes) for e in events) == state_of(item)
        # Breaches are recorded by the sweep after the fact, at the instant they happened.
        acted = [e.timestamp for e in events if e.lifecycle != "breach"]
        assert acted == sorted(acted)
        assert END - timedelta(days=4) <= acted[0]
        assert acted[-1] <= END
        assert {e.resource for e in events} <= people
        assert all(calendar.is_working(t - timedelta(seconds=1)) for t in acted)


def test_same_seed_and_end_give_the_same_event_log(
    db: Database, system: Context, sqlite_template: Path, tmp_path: Path
) -> None:
    load_small(system)
    second_path = tmp_path / "second.db"
    shutil.copy(sqlite_template, second_path)
    second = Database(f"sqlite:///{second_path}")
    try:
        load_demo(Context(second, system_actor("cli:other")), SMALL)
        first_log = event_log(db)
        assert len(first_log) > 60 * 8
        assert event_log(second) == first_log
    finally:
        second.dispose()


def test_history_that_fails_part_way_leaves_nothing(
    system: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries_before = audit_queries.verify(system).count
    recorded = 0
    real = checks.record_checklist

    def fails_on_the_tenth(*args: Any, **kwargs: Any) -> Any:
        nonlocal recorded
        recorded += 1
        if recorded == 10:
            raise RuntimeError("inspection station lost power")
        return real(*args, **kwargs)

    monkeypatch.setattr(checks, "record_checklist", fails_on_the_tenth)

    with pytest.raises(RuntimeError, match="lost power"):
        load_demo(system, SMALL)

    assert recorded == 10
    assert plant.list_enterprises(system).items == []
    assert audit_queries.verify(system).count == entries_before
    with system.read() as session:
        assert session.scalar(select(func.count()).select_from(WorkItem)) == 0
        assert session.scalar(select(func.count()).select_from(WorkEvent)) == 0


def test_zero_items_sets_up_the_process_and_calendars_without_history(system: Context) -> None:
    summary: DemoSummary = load_demo(system, HistoryOptions(items=0, end_at=END))

    assert summary.history is not None
    assert summary.history.items == 0
    assert summary.lines == 4  # Chicago's third assembly line was added
    area = plant.find_area_by_code(system, "CHI", "ASM")
    assembly = plant.list_lines(system, area_id=area.id).items
    rules = {
        line.code: [r.kind for r in line_stops.list_rules(system, line.id)] for line in assembly
    }
    assert rules == {code: ["exception", "failed_checks"] for code in ("L1", "L2", "L3")}
    with system.read() as session:
        calendar = working_calendar(session, plant.find_site_by_code(system, "CHI").id)
    # Monday 07:00 in Chicago is in the early shift; Thanksgiving (26 Nov 2026) is a holiday.
    assert calendar.is_working(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert not calendar.is_working(datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
