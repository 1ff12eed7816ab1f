"""The demo's OEE inputs: ideal cycle times per product and a month of downtime entries.

The ops manager sets the ideal cycle times; the supervisor enters downtime with its reason as
a shift lead would from the line's log: on about two working days in five, a stretch of ten
minutes to an hour inside the shift, changeovers the most common reason. Seeded, so the same
seed and window give the same entries.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from andon.calendars.service import working_calendar
from andon.core.uow import Context
from andon.demo.work import AREA, SITE
from andon.metrics import downtime
from andon.metrics.oee_schemas import DowntimeCreate, IdealCycleTimeSet
from andon.plant import service as plant

# Ideal seconds per unit, any line: the engineered standard of each product.
IDEAL_CYCLE_SECONDS = {
    "PH-100": 36.0,
    "PH-200": 44.0,
    "PH-350": 60.0,
    "KIT-SEAL-20": 12.0,
    "KIT-SVC-40": 20.0,
}
DOWNTIME_ODDS = 0.4  # per line and working day
REASONS = (
    ("changeover", 40),
    ("breakdown", 15),
    ("material_shortage", 15),
    ("no_operator", 10),
    ("quality_hold", 10),
    ("planned_maintenance", 10),
)
NOTES = {
    "changeover": "Changeover between housing sizes",
    "breakdown": "Torque station fault; maintenance reset the controller",
    "material_shortage": "Waiting for castings from the warehouse",
    "no_operator": "Operator called to cover another line",
    "quality_hold": "Held for a first-article check",
    "planned_maintenance": "Planned lubrication of the press",
}


@dataclass(frozen=True)
class OeeSummary:
    cycle_times: int
    downtime_entries: int


def load_oee(
    people: Mapping[str, Context], *, start_at: datetime, end_at: datetime, seed: int
) -> OeeSummary:
    """Set the ideal cycle times and enter the window's downtime on the assembly lines."""
    manager, supervisor = people["ops-manager"], people["supervisor"]
    for product, seconds in IDEAL_CYCLE_SECONDS.items():
        downtime.set_ideal_cycle_time(manager, IdealCycleTimeSet(product=product, seconds=seconds))
    site = plant.find_site_by_code(manager, SITE)
    area = plant.find_area_by_code(manager, SITE, AREA)
    lines = sorted(plant.list_lines(manager, area_id=area.id).items, key=lambda ln: ln.code)
    with manager.read() as session:
        calendar = working_calendar(session, site.id)
        shifts = list(calendar.working_intervals(start_at, end_at))
    entries = 0
    rng = random.Random(f"{seed}/oee")  # noqa: S311 - a simulation, not a secret
    for line in lines:
        # Back-to-back shifts come as one working stretch a day.
        for shift_start, shift_end in shifts:
            if rng.random() >= DOWNTIME_ODDS:
                continue
            minutes = rng.uniform(10, 60)
            room = (shift_end - shift_start).total_seconds() - minutes * 60
            if room <= 0:
                continue
            began = shift_start + timedelta(seconds=rng.uniform(0, room))
            reason = rng.choices([r for r, _ in REASONS], weights=[w for _, w in REASONS])[0]
            downtime.record_downtime(
                supervisor,
                line.id,
                DowntimeCreate(
                    started_at=began.replace(microsecond=0),
                    ended_at=(began + timedelta(minutes=minutes)).replace(microsecond=0),
                    reason_code=reason,
                    note=NOTES[reason],
                ),
            )
            entries += 1
    return OeeSummary(len(IDEAL_CYCLE_SECONDS), entries)
