"""The demo plant's assembly process and about a month of its work, simulated through the services.

Every change goes through the service function a person's click would call, acting as the demo
user whose job it is — the supervisor opens and plans orders, the operator kits, assembles,
reworks and packs, quality inspects — at a simulated instant inside the site's shifts. A
seeded random generator and a fixed end instant make the history reproducible: the same seed
and end give the same event log. SLA sweeps run every few simulated minutes, as the worker
would, so breaches and escalations carry the simulated time.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import random
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from andon.accounts import service as accounts
from andon.calendars import service as calendars
from andon.calendars.hours import WorkingCalendar
from andon.core.clock import utcnow
from andon.core.errors import Conflict
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.notifications.models import Notification
from andon.plant import service as plant
from andon.plant.models import Line
from andon.plant.schemas import LineCreate, SiteUpdate
from andon.processes import service as processes
from andon.processes.spec import Priority, ProcessSpec, Severity
from andon.work import checks, escalations, exceptions, items, line_stops
from andon.work.models import Escalation, PlantException, WorkEvent, WorkItem
from andon.work.schemas import (
    ChecklistRecord,
    CheckResultIn,
    CommentCreate,
    ExceptionRaise,
    ExceptionResolve,
    ExceptionTriage,
    ItemAssign,
    ItemCreate,
    ItemMove,
    ItemPause,
    ItemResume,
    ItemUpdate,
    StopRuleCreate,
)
from andon.work.sweep import sweep_slas
from andon.work.worker import WORKER_ACTOR

PROCESS_FILE = Path(__file__).with_name("assembly.yaml")
SITE, AREA = "CHI", "ASM"
LINES_WANTED = 3
# Orders split unevenly over the lines: line 1 is the big one.
LINE_WEIGHTS = (0.40, 0.35, 0.25)
# The line whose stop-the-line event the history contains (index into the area's lines).
STOPPED_LINE = 1

# Stage work as a share of the stage's SLA: log-normal around these medians, so most items
# finish well inside the SLA; STUCK of them sit far too long (0.8 to 2 times the SLA).
STAGE_SHARE = {
    "intake": 0.40,
    "plan": 0.40,
    "kit": 0.40,
    "assemble": 0.45,
    "inspect": 0.35,
    "rework": 0.35,
    "pack": 0.35,
}
SHARE_SIGMA = 0.3
STUCK = 0.02
REINSPECTION_FAILS = 0.15
# Why a first inspection fails, as independent causes: a main-bolt torque out of limits, or
# a leak or a dent. Together one in ten, as the plant's rework rate has long been.
TORQUE_FAILS = 0.06
OTHER_FAILS = 0.04
FIRST_INSPECTION_FAILS = TORQUE_FAILS + OTHER_FAILS
# The torque story the improvement demo traces (an RCA, a CAPA, its effectiveness check):
# 27 days before the end, line 1's nutrunner drifts out of calibration (nothing verified it
# between the yearly calibrations) and over-torques main bolts, so first inspections on
# line 1 fail on torque far more often. 16 days before the end the CAPA takes effect: the
# nutrunner is recalibrated, SOP-ASM-001 gains a torque verification at shift start (a
# signed revision) and the assembly process a QA gate at Assemble (a new process version)
# whose checklist verifies the tool and a test joint before an item leaves Assemble. Items
# started on that version reach Inspect with torque already verified: torque failures there
# all but vanish, on every line.
TORQUE_LINE = 0  # index into the area's lines, like STOPPED_LINE
TORQUE_DRIFT_DAYS_BEFORE_END = 27
TORQUE_FIX_DAYS_BEFORE_END = 16
# Chicago's zone (``andon.demo.plant.SITES``): the CAPA takes effect at a shift start there.
SITE_ZONE = ZoneInfo("America/Chicago")
TORQUE_FAILS_DRIFTING = 0.16  # added to TORQUE_FAILS on the drifting line
TORQUE_FAILS_GATED = 0.01  # replaces TORQUE_FAILS for items that passed the QA gate
GATE_AUDIT_FAILS = 0.03  # the gate's test joint out of limits: re-torqued, checked again
QA_GATE = (
    {
        "key": "tool_calibration",
        "text": "Nutrunner calibration tag in date (checked at shift start)",
    },
    {
        "key": "torque_audit",
        "text": "Torque audit on test joint TJ-1 with the calibrated wrench",
        "measured": {"unit": "Nm", "min": 10.5, "max": 12.5},
    },
)
# Two weeks before the end, one line switches to pump housings cast by a new supplier, whose
# seal faces leak more often: first inspections on that line fail about two and a half times
# as often from then on. Nothing else changes, so the rework metric of that line shows a
# real shift (a signal on its control chart) and the other lines stay in control.
MATERIAL_CHANGE_LINE = 1  # index into the area's lines, like STOPPED_LINE
MATERIAL_CHANGE_DAYS_BEFORE_END = 14
LEAK_FAILS_AFTER_CHANGE = 0.15  # added to OTHER_FAILS: first inspections fail 0.25 in all

PRODUCTS = (
    ("PH-100", "Pump housing PH-100", 34),
    ("PH-200", "Pump housing PH-200", 28),
    ("PH-350", "Pump housing PH-350", 20),
    ("KIT-SEAL-20", "Seal kit KIT-SEAL-20", 10),
    ("KIT-SVC-40", "Service kit KIT-SVC-40", 8),
)
PRIORITIES = ((Priority.LOW, 10), (Priority.NORMAL, 72), (Priority.HIGH, 15), (Priority.URGENT, 3))
CUSTOMERS = (
    "Globex Water",
    "Initech Facilities",
    "Vandelay Industries",
    "Northwind Utilities",
    "Contoso Irrigation",
    "Fabrikam Chemicals",
    "Wide World Breweries",
    "Tailspin Marine",
    "Litware Foods",
    "Adventure Works Pools",
    "Proseware Mining",
    "Lakeshore Municipal Water",
)

SHORTAGES = (
    "M8x30 flange bolts short at line-side: 12 on hand, 40 needed",
    "Mechanical seal MS-22 out of stock in the kitting area",
    "Impeller IMP-200 castings not delivered by the supplier",
    "O-ring kit OR-7 missing from the kit cart",
    "Bearing 6205-2RS bin empty; below reorder point",
)
DEFECTS = (
    "Porosity on the housing casting near the outlet flange",
    "Thread damage in an M10 tapped hole on the cover",
    "Impeller rubs the housing when turned by hand",
    "Burr on the shaft keyway",
    "Paint run on the volute; outside the customer's finish spec",
)
BREAKDOWNS = (
    "Nutrunner at station 2: torque controller fault E-41",
    "Leak tester will not hold calibration pressure",
    "Press PR-3 hydraulic pressure dropping under load",
    "Conveyor drive tripped at station 4",
)
CRITICAL_BREAKDOWNS = ("Main air compressor down: every pneumatic tool on the line stopped",)
METHOD_GAPS = (
    "SOP-ASM-001 torque sequence unclear for the 8-bolt cover",
    "Kit list does not match BOM revision D",
    "WI-INS-004 photo shows the old gasket",
    "Leak test hold time differs between the SOP and the tester recipe",
)
NEAR_MISSES = (
    "Near miss: oil spill next to the station 3 walkway",
    "Near miss: pallet overhang in the kitting aisle",
    "Lifting strap frayed on hoist H-2; taken out of use",
    "Near miss: forklift entered the pedestrian lane at the dock door",
)
COMMENTS = {
    "supervisor": (
        "Customer asked for an update; promised shipment by Friday.",
        "Drawing revision confirmed with engineering.",
        "Moved ahead in the queue at the customer's request.",
        "Checked capacity with the late shift; they will pick this up.",
    ),
    "operator": (
        "Used torque wrench TW-07, calibrated last week.",
        "Castings staged at the station; starting after the break.",
        "Second pair of hands needed for the cover; asked the lead.",
        "Finished the sub-assembly; cover goes on next shift.",
    ),
    "quality": (
        "Torque readings trending high on this batch; keeping an eye on it.",
        "Leak test repeated after cleaning the seat: passed.",
        "First-article photos attached to the order folder.",
    ),
    "ops-manager": ("Key account: keep me posted on this one.",),
}
REWORK_NOTES = (
    "Re-torqued the main bolts to 11.5 Nm and replaced the gasket.",
    "Reseated the mechanical seal; leak path was a pinched O-ring.",
    "Blended out the damage and touched up the paint.",
)


def torque_fix_at(end_at: datetime) -> datetime:
    """When the torque CAPA takes effect: the early shift's start (06:00 in Chicago) on the
    first weekday after the day ``TORQUE_FIX_DAYS_BEFORE_END`` days before ``end_at``."""
    day = (end_at - timedelta(days=TORQUE_FIX_DAYS_BEFORE_END)).astimezone(SITE_ZONE).date()
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(6), tzinfo=SITE_ZONE).astimezone(UTC)


@dataclass(frozen=True)
class HistoryOptions:
    """How much history to simulate, and when it ends (an aware instant; None: now, to the hour).

    The same seed and end give the same history, on SQLite and PostgreSQL alike.
    """

    items: int = 3600
    days: int = 42
    seed: int = 2026
    end_at: datetime | None = None
    sweep_minutes: int = 15


DEFAULT_HISTORY = HistoryOptions()


@dataclass
class HistorySummary:
    """What the simulated history holds, counted from the database at the end of the load."""

    start_at: datetime
    end_at: datetime
    lines_added: int = 0
    items: int = 0
    open_items: int = 0
    paused_items: int = 0
    late_items: int = 0
    reworked_items: int = 0
    events: int = 0
    exceptions: dict[str, int] = field(default_factory=dict)
    resolved_exceptions: int = 0
    stage_breaches: int = 0
    process_breaches: int = 0
    escalations_fired: int = 0
    escalations_acknowledged: int = 0
    line_stops: int = 0
    comments: int = 0
    notifications: int = 0

    @property
    def rework_share(self) -> float:
        return self.reworked_items / self.items if self.items else 0.0


def load_history(
    ctx: Context, user_ids: Mapping[str, int], options: HistoryOptions = DEFAULT_HISTORY
) -> HistorySummary:
    """Set up the assembly process, calendars and stop rules, then simulate the work history.

    Runs inside the caller's unit of work (``load_demo`` wraps it in ``ctx.atomic()``), so a
    failure anywhere leaves nothing. ``options.items == 0`` sets everything up and simulates
    nothing.
    """
    end_at = options.end_at.astimezone(UTC) if options.end_at else _hour(utcnow())
    start_at = end_at - timedelta(days=options.days)
    with ctx.atomic():
        users = {name: accounts.get_user(ctx, user_id) for name, user_id in user_ids.items()}
        people = {name: ctx.as_actor(accounts.actor_for(user)) for name, user in users.items()}
        setup = _set_up(ctx, people, years=range(start_at.year, end_at.year + 2))
        setup.pinned.extend(users.values())
        if options.items > 0:
            simulation = _Simulation(ctx, people, user_ids, setup, options, start_at, end_at)
            simulation.run()
        return _summarize(ctx, setup, start_at, end_at)


# -- set-up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    lines: tuple[Line, ...]
    lines_added: int
    spec: ProcessSpec
    calendar: WorkingCalendar
    # Rows every service call looks up (line, area, site, process, calendar, users). The
    # session's identity map holds rows only while something refers to them; holding them
    # here for the whole load lets those look-ups find them without a query.
    pinned: list[object]


def _set_up(ctx: Context, people: Mapping[str, Context], *, years: range) -> _Setup:
    manager, safety, quality = people["ops-manager"], people["safety"], people["quality"]
    site = plant.find_site_by_code(ctx, SITE)
    area = plant.find_area_by_code(ctx, SITE, AREA)
    existing = list(plant.list_lines(ctx, area_id=area.id).items)
    added = 0
    while len(existing) < LINES_WANTED:
        number = len(existing) + 1
        existing.append(
            plant.create_line(
                ctx, LineCreate(area_id=area.id, name=f"{SITE} Line {number}", code=f"L{number}")
            )
        )
        added += 1
    if added:
        plant.update_site(
            ctx,
            site.id,
            SiteUpdate(
                version=site.version,
                description=(
                    f"Final assembly of pump housings; {len(existing)} lines on two shifts."
                ),
                reason="Demo plant: assembly lines added for the work history",
            ),
        )
    assembly_lines = tuple(sorted(existing, key=lambda line: line.code)[:LINES_WANTED])

    early, late, night = time(6), time(14), time(22)
    weekdays = (0, 1, 2, 3, 4)
    calendars.set_shifts(
        manager,
        site.id,
        [
            calendars.ShiftInput("Early", weekdays, early, late),
            calendars.ShiftInput("Late", weekdays, late, night),
        ],
        quiet_hours=(night, early),
        reason="Two shifts, Monday to Friday",
    )
    calendars.generate_holidays(manager, site.id, "US", years)
    other = plant.find_site_by_code(ctx, "CLT")
    calendars.set_shifts(
        manager,
        other.id,
        [calendars.ShiftInput("Day", weekdays, time(7), time(15, 30))],
        quiet_hours=(night, early),
        reason="Day shift, Monday to Friday",
    )
    calendars.generate_holidays(manager, other.id, "US", years)

    source = PROCESS_FILE.read_text(encoding="utf-8")
    with contextlib.suppress(Conflict):  # already published with this very definition
        processes.publish(
            manager,
            yaml.safe_load(source),
            reason="Demo plant: the assembly process",
            source=source,
        )
    process, version, spec = processes.get_version(manager, "assembly")

    for line in assembly_lines:
        line_stops.add_rule(
            safety,
            line.id,
            StopRuleCreate(
                name="High-severity safety exception",
                kind="exception",
                category="safety",
                min_severity=Severity.HIGH,
            ),
        )
        line_stops.add_rule(
            quality,
            line.id,
            StopRuleCreate(
                name="Quality spike: 6 failed inspections in 30 min",
                kind="failed_checks",
                count=6,
                window_minutes=30,
            ),
        )
        line_stops.subscribe(people["supervisor"], line.id)

    with ctx.read() as session:
        calendar = calendars.working_calendar(session, site.id)
    row = calendars.get_calendar(ctx, site.id)
    assert row is not None  # set just above
    pinned: list[object] = [
        site,
        area,
        process,
        version,
        row,
        *row.holidays,
        *row.closures,
        *assembly_lines,
    ]
    return _Setup(assembly_lines, added, spec, calendar, pinned)


# -- the simulation ------------------------------------------------------------------------

# A simulated actor is a generator: it yields the instant it wants to act next and acts when
# the clock reaches that instant. The queue resumes every actor in time order.
Process = Iterator[datetime]
Steps = Generator[datetime, None, datetime]
# Something that happens part-way through a stage: it may wait (yield), and it returns when it
# ended and how much extra working time the stage now needs.
IncidentSteps = Generator[datetime, None, tuple[datetime, float]]
Incident = Callable[[WorkItem, random.Random, datetime], IncidentSteps]


@dataclass(frozen=True)
class _Stop:
    line: Line
    stop_at: datetime
    supervisor_at: datetime
    quality_at: datetime


class _Simulation:
    def __init__(
        self,
        ctx: Context,
        people: Mapping[str, Context],
        user_ids: Mapping[str, int],
        setup: _Setup,
        options: HistoryOptions,
        start_at: datetime,
        end_at: datetime,
    ) -> None:
        self.ctx = ctx
        self.people = people
        self.user_ids = user_ids
        self.lines = setup.lines
        self.spec = setup.spec
        self.calendar = setup.calendar
        self.options = options
        self.start_at = start_at
        self.end_at = end_at
        self.sweeper = ctx.as_actor(system_actor(WORKER_ACTOR))
        self.items: dict[int, WorkItem] = {}
        self._queue: list[tuple[datetime, int, Process]] = []
        self._order = itertools.count()
        self._now = start_at
        self.stop = self._plan_stop(_rng(options.seed, "stop"))
        self.material_change_at = end_at - timedelta(days=MATERIAL_CHANGE_DAYS_BEFORE_END)
        self.material_change_line = (
            self.lines[MATERIAL_CHANGE_LINE].id if len(self.lines) > MATERIAL_CHANGE_LINE else None
        )
        self.torque_drift_at = end_at - timedelta(days=TORQUE_DRIFT_DAYS_BEFORE_END)
        self.torque_fix_at = torque_fix_at(end_at)
        self.torque_line = self.lines[TORQUE_LINE].id if self.lines else None
        # The process version with the QA gate at Assemble, once published.
        self.gated_version_id: int | None = None

    def run(self) -> None:
        arrivals = self._arrivals(_rng(self.options.seed, "arrivals"))
        for index, arrives_at in enumerate(arrivals):
            self._spawn(self._item(index, arrives_at, _rng(self.options.seed, "item", index)))
        self._spawn(self._sweeps())
        if self.start_at < self.torque_fix_at < self.end_at:
            self._spawn(self._torque_fix())
        if self.stop is not None:
            self._spawn(self._line_stop(self.stop))
        while self._queue:
            at, _, process = heapq.heappop(self._queue)
            if at > self.end_at:
                break  # everything left lies in the future: those items stay open
            self._now = at
            following = next(process, None)
            if following is not None:
                if following < at:
                    raise AssertionError(f"simulated time ran backwards: {following} < {at}")
                heapq.heappush(self._queue, (following, next(self._order), process))

    def _spawn(self, process: Process) -> None:
        first = next(process, None)
        if first is not None:
            if first < self._now:
                raise AssertionError(f"a process asked to start in the past: {first}")
            heapq.heappush(self._queue, (first, next(self._order), process))

    # Time --------------------------------------------------------------------------------

    def _arrivals(self, rng: random.Random) -> list[datetime]:
        """Orders spread evenly over the working time of the period."""
        total = self.calendar.business_seconds(self.start_at, self.end_at)
        offsets = sorted(rng.uniform(0, total) for _ in range(self.options.items))
        arrivals, at, done = [], self.start_at, 0.0
        for offset in offsets:
            at = self.calendar.add_business_seconds(at, offset - done)
            done = offset
            arrivals.append(_second(at))
        return arrivals

    def _after(self, line_id: int | None, at: datetime, seconds: float) -> datetime:
        """``seconds`` (at least a minute) of working time after ``at``, on ``line_id``."""
        then = _second(self.calendar.add_business_seconds(at, max(seconds, 60.0)))
        return self._on_line(line_id, then)

    def _on_line(self, line_id: int | None, at: datetime) -> datetime:
        """``at``; or, if the line is stopped then, in the half hour after its restart.

        What piled up during the stop is squeezed, in its order, into that half hour.
        """
        stop = self.stop
        if stop is None or line_id != stop.line.id or not stop.stop_at <= at <= stop.quality_at:
            return at
        share = (at - stop.stop_at) / (stop.quality_at - stop.stop_at)
        after = stop.quality_at + timedelta(minutes=5) + share * timedelta(minutes=30)
        return _second(self.calendar.next_working_at(after))

    def _plan_stop(self, rng: random.Random) -> _Stop | None:
        """One safety stop on one line, about 40% into the period, restarted hours later."""
        if len(self.lines) <= STOPPED_LINE:
            return None
        add = self.calendar.add_business_seconds
        day = self.calendar.next_working_at(self.start_at + (self.end_at - self.start_at) * 0.4)
        stop_at = _second(add(day, rng.uniform(2, 4) * 3600))
        supervisor_at = _second(add(stop_at, rng.uniform(100, 140) * 60))
        quality_at = _second(add(supervisor_at, rng.uniform(20, 45) * 60))
        if quality_at >= self.end_at:
            return None
        return _Stop(self.lines[STOPPED_LINE], stop_at, supervisor_at, quality_at)

    # The sweep and acknowledgements ------------------------------------------------------

    def _sweeps(self) -> Process:
        """The worker's sweep every few minutes of working time.

        Due times all fall in working time, so a sweep after a stretch with none (a night, a
        weekend) would find nothing; those are skipped.
        """
        step = timedelta(minutes=self.options.sweep_minutes)
        at = self.start_at + step
        while at <= self.end_at:
            if self.calendar.business_seconds(at - step, at) == 0:
                at += step
                continue
            yield at
            report = sweep_slas(self.sweeper, now=at)
            if report.stage_breaches or report.process_breaches:
                self._reload_breach_marks()
            if report.fired:
                self._acknowledge_fired(at)
            at += step

    def _reload_breach_marks(self) -> None:
        # The sweep marks breaches with a bulk UPDATE that leaves loaded items as they were.
        # In this one long unit of work a later move would then fail to clear the stage's
        # mark (the ORM would see no change), so the items read it afresh.
        with self.ctx.read() as session:
            for item in self.items.values():
                if item.status == "open":
                    session.expire(item, ["stage_breached_at", "breached_at"])

    def _acknowledge_fired(self, fired_at: datetime) -> None:
        with self.ctx.read() as session:
            fired = session.execute(
                select(Escalation.id, Escalation.tier, Escalation.item_id)
                .where(Escalation.status == "fired", Escalation.fired_at == fired_at)
                .order_by(Escalation.item_id, Escalation.tier)
            ).all()
        for escalation_id, tier, item_id in fired:
            # Not seeded by the escalation's id: SQLite reuses the ids of deleted pending
            # tiers and PostgreSQL does not, and the history must not depend on the database.
            rng = _rng(self.options.seed, "ack", item_id, tier, fired_at.isoformat())
            self._spawn(self._acknowledge(escalation_id, tier, self.items[item_id], fired_at, rng))

    def _acknowledge(
        self, escalation_id: int, tier: int, item: WorkItem, fired_at: datetime, rng: random.Random
    ) -> Process:
        """Most tiers are acknowledged by their people within the hour; some are missed."""
        who, chance, (low, high) = ACKNOWLEDGED_BY.get(tier, ACKNOWLEDGED_BY[0])
        if rng.random() > chance:
            return
        at = self._after(None, fired_at, rng.uniform(low, high) * 60)
        yield at
        if item.status != "done":
            note = rng.choice(("On it.", "Talked to the line lead.", "Extra hands sent over."))
            escalations.acknowledge(self.people[who], escalation_id, note=note, at=at)

    # The torque CAPA --------------------------------------------------------------------

    def _torque_fix(self) -> Process:
        """The CAPA's process change: the QA gate at Assemble, published as a new version."""
        yield self.torque_fix_at
        document = yaml.safe_load(PROCESS_FILE.read_text(encoding="utf-8"))
        for stage in document["stages"]:
            if stage["key"] == "assemble":
                stage["checklist"] = [dict(check) for check in QA_GATE]
        published = processes.publish(
            self.people["ops-manager"],
            document,
            reason="CAPA: torque verified at Assemble before an item leaves it (QA gate), "
            "after line 1's rework spike from an uncalibrated nutrunner",
            source=yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
            at=self.torque_fix_at,
        )
        self.gated_version_id = published.version.id

    def _gate(self, item: WorkItem, rng: random.Random, at: datetime) -> Steps:
        """The Assemble QA gate: a failed torque audit is re-torqued and checked again."""
        while True:
            fails = rng.random() < GATE_AUDIT_FAILS
            torque = (
                rng.uniform(12.6, 13.2) if fails else min(max(rng.gauss(11.5, 0.25), 10.7), 12.3)
            )
            run = checks.record_checklist(
                self.people["operator"],
                item.id,
                ChecklistRecord(
                    results=[
                        CheckResultIn(key="tool_calibration", passed=True),
                        CheckResultIn(key="torque_audit", passed=True, value=round(torque, 2)),
                    ]
                ),
                at=at,
            )
            if run.passed:
                return at
            at = self._after(item.line_id, at, rng.uniform(8, 20) * 60)
            yield at

    # The stop-the-line event -------------------------------------------------------------

    def _line_stop(self, stop: _Stop) -> Process:
        yield stop.stop_at
        at_station = next(
            (
                item
                for item in self.items.values()
                if item.line_id == stop.line.id
                and item.status == "open"
                and item.stage == "assemble"
            ),
            None,
        )
        exception = exceptions.raise_exception(
            self.people["operator"],
            ExceptionRaise(
                category="safety",
                severity=Severity.HIGH,
                description="Light curtain at press station 2 bypassed; an operator's hand "
                "reached the pinch point. Nobody was hurt.",
                item_id=at_station.id if at_station else None,
                line_id=None if at_station else stop.line.id,
            ),
            at=stop.stop_at,
        )
        at = _second(stop.stop_at + timedelta(minutes=9))
        yield at
        exception = exceptions.triage_exception(
            self.people["safety"],
            exception.id,
            ExceptionTriage(
                version=exception.version,
                owner_id=self.user_ids["safety"],
                reason="Station isolated; investigating the bypass",
            ),
            at=at,
        )
        yield stop.supervisor_at
        line_stops.sign_off_restart(
            self.people["supervisor"],
            stop.line.id,
            "Light curtain repaired and tested; toolbox talk held with both shifts",
            at=stop.supervisor_at,
        )
        yield stop.quality_at
        line_stops.sign_off_restart(
            self.people["quality"],
            stop.line.id,
            "First piece after the restart inspected: torque and leak test within limits",
            at=stop.quality_at,
        )
        at = self._after(None, stop.quality_at, 6 * 3600)
        yield at
        exceptions.resolve_exception(
            self.people["safety"],
            exception.id,
            ExceptionResolve(
                version=exception.version,
                resolution="Bypass key removed; the interlock is now monitored by the safety PLC",
            ),
            at=at,
        )

    # One work item's life ----------------------------------------------------------------

    def _item(self, index: int, arrives_at: datetime, rng: random.Random) -> Process:
        line = rng.choices(self.lines, weights=LINE_WEIGHTS[: len(self.lines)])[0]
        product, name, _ = rng.choices(PRODUCTS, weights=[p[2] for p in PRODUCTS])[0]
        priority = rng.choices([p for p, _ in PRIORITIES], weights=[w for _, w in PRIORITIES])[0]
        quantity = rng.choice((1, 1, 2, 4, 5, 10, 12, 20, 25, 50))
        customer = rng.choice(CUSTOMERS)
        at = self._on_line(line.id, arrives_at)
        yield at
        due = at.astimezone(self.calendar.zone).date() + timedelta(days=rng.randint(7, 21))
        item = items.create_item(
            self.people["supervisor"],
            ItemCreate(
                process=self.spec.key,
                line_id=line.id,
                title=f"{name} × {quantity} for {customer}",
                product=product,
                quantity=quantity,
                priority=priority,
                fields={
                    "customer": customer,
                    "order_ref": f"SO-{(41000 + index) % 100000:05d}",
                    "due_date": due.isoformat(),
                    "rush": priority in (Priority.HIGH, Priority.URGENT),
                },
            ),
            at=at,
        )
        self.items[item.id] = item
        while item.status != "done":
            at = yield from self._stage(item, rng, at)

    def _stage(self, item: WorkItem, rng: random.Random, at: datetime) -> Steps:
        """One stage: its incidents at points along the way, then the move out of it."""
        stage = item.stage
        sla = self.spec.stage(stage).sla or 3600
        if rng.random() < STUCK:
            share = rng.uniform(0.8, 2.0)
        else:
            share = rng.lognormvariate(math.log(STAGE_SHARE.get(stage, 0.4)), SHARE_SIGMA)
        work, done = share * sla, 0.0
        for point, incident in self._incidents(stage, rng):
            at = self._after(item.line_id, at, work * point - done)
            done = work * point
            yield at
            at, extra = yield from incident(item, rng, at)
            work += extra
        at = self._after(item.line_id, at, work - done)
        yield at
        if stage == "inspect":
            return (yield from self._inspect(item, rng, at))
        if stage == "assemble" and self._gated(item):
            at = yield from self._gate(item, rng, at)
        # Planning is the supervisor's; everything else in the assembly area, the operator's.
        who = "supervisor" if stage in ("intake", "plan") else "operator"
        target = self.spec.targets(stage)[0]
        items.move_item(self.people[who], item.id, ItemMove(to=target, version=item.version), at=at)
        return at

    def _inspect(self, item: WorkItem, rng: random.Random, at: datetime) -> Steps:
        """Record the checklist; a failure sends the item to rework by itself."""
        if item.rework_count:
            fails = "torque" if rng.random() < REINSPECTION_FAILS else None
        else:
            fails = self._first_inspection_fails(item, at, rng)
        run = checks.record_checklist(
            self.people["quality"], item.id, _checklist(rng, fails), at=at
        )
        if not run.passed:
            if rng.random() < 0.3:
                failed = next(r for r in run.results if not r["passed"])
                value = f" ({failed['value']} {failed['unit']})" if failed["value"] else ""
                at = self._after(item.line_id, at, rng.uniform(2, 6) * 60)
                yield at
                self._raise(item, rng, at, "quality", f"Failed inspection: {failed['text']}{value}")
            return at
        at = self._after(item.line_id, at, rng.uniform(3, 12) * 60)
        yield at
        items.move_item(
            self.people["quality"], item.id, ItemMove(to="pack", version=item.version), at=at
        )
        return at

    def _first_inspection_fails(
        self, item: WorkItem, at: datetime, rng: random.Random
    ) -> str | None:
        """What a first inspection fails on (torque, leak or dent), or None when it passes."""
        torque = TORQUE_FAILS_GATED if self._gated(item) else TORQUE_FAILS
        if item.line_id == self.torque_line and self.torque_drift_at <= at < self.torque_fix_at:
            torque += TORQUE_FAILS_DRIFTING
        other = OTHER_FAILS
        if item.line_id == self.material_change_line and at >= self.material_change_at:
            other += LEAK_FAILS_AFTER_CHANGE
        draw = rng.random()
        if draw < torque:
            return "torque"
        if draw < torque + other:
            return "leak" if rng.random() < 0.75 else "visual"
        return None

    def _gated(self, item: WorkItem) -> bool:
        return (
            self.gated_version_id is not None and item.process_version_id == self.gated_version_id
        )

    # Incidents ---------------------------------------------------------------------------

    def _incidents(self, stage: str, rng: random.Random) -> list[tuple[float, Incident]]:
        """What happens to this item in this stage: (share of the stage's work done, what)."""
        table: dict[str, tuple[tuple[float, float, Incident], ...]] = {
            "intake": ((0.04, 0.5, self._comment("supervisor")),),
            "plan": (
                (0.2, 0.2, self._assign("supervisor", "operator")),
                (0.02, 0.4, self._expedite),
                (0.015, 0.5, self._customer_hold),
                (0.05, 0.7, self._comment("supervisor")),
            ),
            "kit": (
                (0.35, 0.03, self._assign("operator", "operator")),
                (0.07, 0.3, self._parts_shortage),
                (0.008, 0.5, self._method_gap),
                (0.04, 0.8, self._comment("operator")),
            ),
            "assemble": (
                (0.02, 0.3, self._parts_shortage),
                (0.025, 0.4, self._breakdown),
                (0.02, 0.5, self._defect),
                (0.008, 0.6, self._method_gap),
                (0.004, 0.7, self._near_miss),
                (0.05, 0.8, self._comment("operator")),
            ),
            "inspect": (
                (0.2, 0.05, self._assign("quality", "quality")),
                (0.03, 0.5, self._comment("quality")),
            ),
            "rework": ((0.4, 0.9, self._comment("operator", REWORK_NOTES)),),
            "pack": ((0.02, 0.5, self._comment("ops-manager")),),
        }
        return [(point, what) for odds, point, what in table[stage] if rng.random() < odds]

    def _comment(self, who: str, texts: tuple[str, ...] = ()) -> Incident:
        def comment(item: WorkItem, rng: random.Random, at: datetime) -> float:
            body = rng.choice(texts or COMMENTS[who])
            items.comment_item(self.people[who], item.id, CommentCreate(body=body), at=at)
            return 0.0

        return _instant(comment)

    def _assign(self, by: str, to: str) -> Incident:
        """``by`` assigns the item to ``to``; taking it oneself when they are the same."""

        def assign(item: WorkItem, rng: random.Random, at: datetime) -> float:
            data = ItemAssign(assignee_id=self.user_ids[to], version=item.version)
            items.assign_item(self.people[by], item.id, data, at=at)
            return 0.0

        return _instant(assign)

    def _expedite(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        if item.priority in (Priority.LOW, Priority.NORMAL):
            items.update_item(
                self.people["supervisor"],
                item.id,
                ItemUpdate(
                    version=item.version,
                    priority=Priority.HIGH,
                    reason="Customer asked to expedite",
                ),
                at=at,
            )
        yield from ()
        return at, 0.0

    def _customer_hold(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        supervisor = self.people["supervisor"]
        hold = ItemPause(
            state="customer_hold", version=item.version, reason="Customer is revising the drawing"
        )
        items.pause_item(supervisor, item.id, hold, at=at)
        at = self._after(item.line_id, at, rng.uniform(1, 4) * WORKING_DAY)
        yield at
        done = ItemResume(version=item.version, reason="Revised drawing received")
        items.resume_item(supervisor, item.id, done, at=at)
        return at, 0.0

    def _parts_shortage(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        """A material exception, the item paused waiting for parts, resumed when they come."""
        shortage = rng.choice(SHORTAGES)
        operator = self.people["operator"]
        exception = exceptions.raise_exception(
            operator,
            ExceptionRaise(category="material", description=shortage, item_id=item.id),
            at=at,
        )
        raised_at = at
        at = self._after(item.line_id, at, rng.uniform(2, 8) * 60)
        yield at
        hold = ItemPause(state="waiting_parts", version=item.version, reason=shortage)
        items.pause_item(operator, item.id, hold, at=at)
        wait = min(max(rng.lognormvariate(math.log(5 * 3600), 0.8), 1800), 40 * 3600)
        at = self._after(item.line_id, at, wait)
        self._follow_up(
            exception,
            "supervisor",
            _child(rng),
            triage_at=min(self._after(None, raised_at, rng.uniform(10, 60) * 60), at),
            resolve_at=self._after(None, at, rng.uniform(1, 10) * 60),
            resolution="Parts received and delivered to the line",
        )
        yield at
        who = "operator" if rng.random() < 0.7 else "supervisor"
        items.resume_item(
            self.people[who],
            item.id,
            ItemResume(version=item.version, reason="Parts arrived"),
            at=at,
        )
        return at, 0.0

    def _breakdown(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        """Equipment down for a while; now and then critical, which escalates at once."""
        critical = rng.random() < 0.06
        downtime = rng.uniform(0.5, 4) * 3600
        exception = exceptions.raise_exception(
            self.people["operator"],
            ExceptionRaise(
                category="equipment",
                severity=Severity.CRITICAL if critical else None,
                description=rng.choice(CRITICAL_BREAKDOWNS if critical else BREAKDOWNS),
                item_id=item.id,
            ),
            at=at,
        )
        if critical:
            self._acknowledge_exception_escalation(exception, item, at, rng)
        self._follow_up(
            exception,
            "supervisor",
            _child(rng),
            triage_at=self._after(None, at, rng.uniform(5, 30) * 60),
            resolve_at=self._after(None, at, downtime),
            resolution=rng.choice(REPAIRS),
        )
        yield from ()
        return at, downtime

    def _acknowledge_exception_escalation(
        self, exception: PlantException, item: WorkItem, at: datetime, rng: random.Random
    ) -> None:
        with self.ctx.read() as session:
            fired = session.execute(
                select(Escalation.id, Escalation.tier)
                .where(Escalation.exception_id == exception.id, Escalation.status == "fired")
                .order_by(Escalation.id)
            ).all()
        for escalation_id, tier in fired:
            self._spawn(self._acknowledge(escalation_id, tier, item, at, _child(rng)))

    def _defect(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        self._raise(item, rng, at, "quality", rng.choice(DEFECTS), raised_by="operator")
        yield from ()
        return at, rng.uniform(0.2, 1.5) * 3600

    def _method_gap(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        self._raise(item, rng, at, "method", rng.choice(METHOD_GAPS), raised_by="operator", days=3)
        yield from ()
        return at, 0.0

    def _near_miss(self, item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        # Below high severity on purpose: a high one would stop the line by its stop rule.
        self._raise(
            item,
            rng,
            at,
            "safety",
            rng.choice(NEAR_MISSES),
            raised_by="operator",
            handled_by="safety",
            severity=rng.choice((Severity.LOW, Severity.MEDIUM)),
            days=2,
        )
        yield from ()
        return at, 0.0

    def _raise(
        self,
        item: WorkItem,
        rng: random.Random,
        at: datetime,
        category: str,
        description: str,
        *,
        raised_by: str = "quality",
        handled_by: str = "quality",
        severity: Severity | None = None,
        days: float = 1,
    ) -> None:
        """Raise an exception on the item and schedule its triage and resolution."""
        exception = exceptions.raise_exception(
            self.people[raised_by],
            ExceptionRaise(
                category=category, severity=severity, description=description, item_id=item.id
            ),
            at=at,
        )
        triage_at = self._after(None, at, rng.uniform(15, 120) * 60)
        self._follow_up(
            exception,
            handled_by,
            _child(rng),
            triage_at=triage_at,
            resolve_at=self._after(None, triage_at, rng.uniform(0.1, days) * WORKING_DAY),
            resolution=f"Cause found and fixed: {category} issue closed",
        )

    def _follow_up(
        self,
        exception: PlantException,
        who: str,
        rng: random.Random,
        *,
        triage_at: datetime,
        resolve_at: datetime,
        resolution: str,
    ) -> None:
        """Triage, then resolve; a few are left triaged, fewer still untouched."""

        def follow_up() -> Process:
            left = rng.random()
            if left < 0.03:
                return
            # Not before now: a stopped line may have delayed whatever raised the exception.
            triaged_at = max(triage_at, self._now)
            yield triaged_at
            triaged = exceptions.triage_exception(
                self.people[who],
                exception.id,
                ExceptionTriage(version=exception.version, owner_id=self.user_ids[who]),
                at=triaged_at,
            )
            if left < 0.10:
                return
            at = max(resolve_at, triaged_at)
            yield at
            exceptions.resolve_exception(
                self.people[who],
                exception.id,
                ExceptionResolve(version=triaged.version, resolution=resolution),
                at=at,
            )

        self._spawn(follow_up())


def _instant(act: Callable[[WorkItem, random.Random, datetime], float]) -> Incident:
    """An incident that happens at once: ``act`` returns the extra working time it causes."""

    def steps(item: WorkItem, rng: random.Random, at: datetime) -> IncidentSteps:
        yield from ()
        return at, act(item, rng, at)

    return steps


def _checklist(rng: random.Random, fails: str | None) -> ChecklistRecord:
    """Inspection results failing on ``fails``: torque out of limits (mostly over-torqued),
    a leak or a dent; all within limits when None."""
    torque = min(max(rng.gauss(11.5, 0.3), 10.6), 12.4)
    visual = leak = True
    if fails == "torque":
        torque = rng.uniform(9.4, 10.4) if rng.random() < 0.25 else rng.uniform(12.6, 13.6)
    elif fails == "leak":
        leak = False
    elif fails == "visual":
        visual = False
    return ChecklistRecord(
        results=[
            CheckResultIn(key="visual", passed=visual, note="" if visual else "Dent on the volute"),
            CheckResultIn(key="torque", passed=True, value=round(torque, 2)),
            CheckResultIn(key="leak", passed=leak, note="" if leak else "Bubbles at the outlet"),
        ]
    )


# -- summary -------------------------------------------------------------------------------


def _summarize(ctx: Context, setup: _Setup, start_at: datetime, end_at: datetime) -> HistorySummary:
    line_ids = [line.id for line in setup.lines]
    summary = HistorySummary(start_at=start_at, end_at=end_at, lines_added=setup.lines_added)
    on_lines = WorkItem.line_id.in_(line_ids)
    cases = select(WorkItem.id).where(on_lines)
    with ctx.read() as session:
        statuses = _grouped(session, WorkItem.status, on_lines)
        kinds = _grouped(
            session,
            WorkEvent.kind,
            WorkEvent.case_id.in_(cases),
            WorkEvent.kind.in_(("stage_breached", "breached", "commented")),
        )
        summary.items = sum(statuses.values())
        summary.paused_items = statuses.get("paused", 0)
        summary.open_items = statuses.get("open", 0) + summary.paused_items
        summary.late_items = _count(
            session, WorkItem, on_lines, WorkItem.status == "open", WorkItem.stage_due_at <= end_at
        )
        summary.reworked_items = _count(session, WorkItem, on_lines, WorkItem.rework_count > 0)
        summary.events = _count(session, WorkEvent, WorkEvent.case_id.in_(cases))
        summary.stage_breaches = kinds.get("stage_breached", 0)
        summary.process_breaches = kinds.get("breached", 0)
        summary.comments = kinds.get("commented", 0)
        ours = Escalation.item_id.in_(cases)
        summary.escalations_fired = _count(
            session, Escalation, ours, Escalation.fired_at.isnot(None)
        )
        summary.escalations_acknowledged = _count(
            session, Escalation, ours, Escalation.status == "acknowledged"
        )
        summary.exceptions = _grouped(
            session, PlantException.category, PlantException.line_id.in_(line_ids)
        )
        summary.resolved_exceptions = _count(
            session,
            PlantException,
            PlantException.line_id.in_(line_ids),
            PlantException.status == "resolved",
        )
        summary.notifications = _count(session, Notification)
    summary.line_stops = sum(len(line_stops.list_stops(ctx, line_id)) for line_id in line_ids)
    return summary


def _count(session: Session, model: type[Any], *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _grouped(
    session: Session, column: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    counts = [(str(key), int(count)) for key, count in rows]
    return dict(sorted(counts, key=lambda row: (-row[1], row[0])))


# -- small pieces --------------------------------------------------------------------------

ACKNOWLEDGED_BY: dict[int, tuple[str, float, tuple[float, float]]] = {
    # tier: (who, how often, minutes of working time after it fired)
    1: ("supervisor", 0.7, (5, 50)),
    2: ("ops-manager", 0.8, (10, 90)),
    0: ("admin", 0.9, (15, 120)),  # any higher tier
}
WORKING_DAY = 16 * 3600
REPAIRS = (
    "Maintenance replaced the worn part; tested OK",
    "Reset and recalibrated by maintenance",
    "Supplier's technician repaired it on site",
)


def _rng(seed: int, *path: object) -> random.Random:
    """An independent generator for one part of the simulation; str seeds are hashed stably."""
    return random.Random(":".join(str(p) for p in (seed, *path)))  # noqa: S311 - not security


def _child(rng: random.Random) -> random.Random:
    return random.Random(rng.getrandbits(64))  # noqa: S311 - not security


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _second(moment: datetime) -> datetime:
    """Rounded up to a whole second: people's actions are not timed to the microsecond."""
    whole = moment.replace(microsecond=0)
    return whole + timedelta(seconds=1) if whole < moment else whole
