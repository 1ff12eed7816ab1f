"""The demo's metrics: the definitions in ``demo/metrics/``, half a year of hand-entered values,
and every KPI and OEE metric computed from the simulated history.

The ops manager defines the metrics (they are the plant's standards of measurement); the
safety lead enters the weekly near-miss count and quality the weekly scrap cost, as they would
from the safety board and the ERP report. Those weekly values are seeded draws around a steady
level, except that scrap cost rises in the weeks of the material change on line 2 (see
``andon.demo.work``): the leaking housings are scrapped, so the cost moves with the rework the
KPIs find in the events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.work import MATERIAL_CHANGE_DAYS_BEFORE_END
from andon.metrics import service as metrics
from andon.metrics.definition_yaml import load_definition_yaml
from andon.metrics.periods import period_containing, previous_period
from andon.reviews import service as reviews
from andon.reviews.schemas import ReviewActionIn

DEFINITIONS = Path(__file__).with_name("metrics")
MANUAL_WEEKS = 26
NEAR_MISSES_PER_WEEK = 6.0
SCRAP_COST_PER_WEEK = 2600.0
SCRAP_COST_SPREAD = 380.0
SCRAP_COST_AFTER_CHANGE = 1500.0  # extra scrap a week while line 2 builds leaking housings
REVIEW_AFTER_WEEK = timedelta(hours=8, minutes=30)  # the review: Monday 08:30, site time


@dataclass
class MetricsSummary:
    defined: int = 0
    values_entered: int = 0
    computed: int = 0
    actions_opened: int = 0
    review_week: str | None = None
    decisions: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def load_metrics(
    people: Mapping[str, Context], *, end_at: datetime, seed: int, zone: ZoneInfo
) -> MetricsSummary:
    """Define the demo metrics, enter the manual ones' history and compute the others."""
    summary = MetricsSummary()
    manager = people["ops-manager"]
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        defn = load_definition_yaml(path.read_text(encoding="utf-8"))
        metrics.define_metric(manager, defn, reason="Demo plant: the plant's metric standards")
        summary.defined += 1
    rng = random.Random(f"{seed}/metrics")  # noqa: S311 - a simulation, not a secret
    weeks = _last_weeks(end_at, zone)
    change_at = end_at - timedelta(days=MATERIAL_CHANGE_DAYS_BEFORE_END)
    near_misses = ["period,count"]
    scrap = ["period,value"]
    for week, week_end in weeks:
        near_misses.append(f"{week},{_poisson(rng, NEAR_MISSES_PER_WEEK)}")
        cost = rng.gauss(SCRAP_COST_PER_WEEK, SCRAP_COST_SPREAD)
        if week_end > change_at:
            cost += SCRAP_COST_AFTER_CHANGE
        scrap.append(f"{week},{cost:.2f}")
    for who, key, rows in (
        ("safety", "near_misses", near_misses),
        ("quality", "scrap_cost", scrap),
    ):
        imported = metrics.import_values(people[who], key, "\n".join(rows) + "\n", zone=zone)
        summary.values_entered += imported.values
    for done in metrics.compute_all(manager, zone=zone, at=end_at):
        summary.actions_opened += len(done.actions_opened)
        if done.error:
            summary.errors[done.key] = done.error
        elif not done.skipped:
            summary.computed += 1
    # The last week whose Monday-morning review is already over when the history ends.
    reviewed = [w for w in weeks if w[1] + REVIEW_AFTER_WEEK + timedelta(hours=2) <= end_at]
    _last_review(people, summary, reviewed[-1], zone)
    return summary


def _last_review(
    people: Mapping[str, Context],
    summary: MetricsSummary,
    week: tuple[str, datetime],
    zone: ZoneInfo,
) -> None:
    """Last week's review, held on the Monday after it: who came, what was decided, and the
    containment the rework on line 2 called for."""
    key, ended = week
    held_at = ended + REVIEW_AFTER_WEEK
    chair = people["ops-manager"]
    meeting, _ = reviews.open_meeting(chair, key, chair="ops-manager", at=held_at)
    reviews.record_attendance(
        chair, meeting.id, users=["ops-manager", "quality", "safety", "supervisor"]
    )
    decisions = (
        (
            "rework_inspect",
            "Line 2's rework is a real shift, not noise: it began with the new casting "
            "supplier's housings. Quarantine supplier B's lots and leak-test every line 2 "
            "housing until the cause is known.",
        ),
        (
            "scrap_cost",
            "The scrap rise follows the same housings; quality reports the supplier's credit "
            "for scrapped castings at the next review.",
        ),
        (
            "near_misses",
            "Reporting is steady at about six a week; keep the Friday walk with the safety lead.",
        ),
        (None, "Keep the review at Monday 08:30; the pack is read before the meeting."),
    )
    for metric_key, text in decisions:
        reviews.add_decision(chair, meeting.id, metric_key, text, at=held_at)
        summary.decisions += 1
    due = (held_at.astimezone(zone) + timedelta(days=3)).date()
    reviews.add_action(
        chair,
        meeting.id,
        ReviewActionIn(
            title="Leak-test every line 2 housing from supplier B until the RCA closes",
            owner_role=Role.QUALITY,
            due_on=due,
            priority="high",
            metric_key="rework_inspect",
        ),
        at=held_at,
    )
    reviews.close_meeting(
        chair,
        meeting.id,
        notes="Rework, first-pass yield and scrap all point at line 2's new castings.",
        at=held_at + timedelta(hours=1),
    )
    summary.review_week = key


def _last_weeks(end_at: datetime, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """The ``MANUAL_WEEKS`` complete ISO weeks before the one holding ``end_at``, oldest first,
    each with the instant it ended."""
    week = previous_period(period_containing("week", end_at, zone))
    found = []
    for _ in range(MANUAL_WEEKS):
        ends = datetime.combine(week.last + timedelta(days=1), datetime.min.time(), zone)
        found.append((week.key, ends))
        week = previous_period(week)
    return found[::-1]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: fine for the small means of weekly counts)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
