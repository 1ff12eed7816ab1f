"""A small plant for the weekly review tests: three manual metrics with hand-made values.

- ``near_misses`` (safety, week, XmR, target 2, lower is better): baseline W40-W44 is
  2, 3, 2, 3, 2 (mean 2.4, mean moving range 1, so UCL = 2.4 + 2.66 = 5.06); W46 is 3 and
  W47 is 9, beyond the UCL (a WE1 signal) and above the warning band at 5 (a crossing).
- ``scrap_cost`` (cost, day, XmR, target 100, lower is better): baseline 9-13 November
  100, 110, 90, 100, 105; in W47 (16-22 November) 80 and 120, mean 100, on target.
- ``defect_share`` (quality, day, p-chart, target 0.2, lower is better): baseline five days
  of 2/20; in W47 1 of 10 and 9 of 30, whose pooled rate is 10/40 = 0.25 (the mean of the
  two rates would be 0.2): off target.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import service as metrics
from andon.metrics.definition import parse_definition
from tests.factories import make_user

ZONE = ZoneInfo("UTC")
WEEK = "2026-W47"
LAST_WEEK = "2026-W46"


def define(system: Context, **doc: Any) -> None:
    base: dict[str, Any] = {
        "unit": "count",
        "direction": "lower_is_better",
        "kind": "leading",
        "owner": "quality",
        "source": "manual",
        "chart": "xmr",
        "rules": ["WE1"],
        "baseline": {"points": 5},
    }
    base.update(doc)
    metrics.define_metric(system, parse_definition(base), reason="test")


def review_plant(system: Context) -> None:
    make_user(system, "sue", Role.SUPERVISOR)
    make_user(system, "qe", Role.QUALITY)
    make_user(system, "otto", Role.OPERATOR)
    define(
        system,
        key="near_misses",
        name="Near misses",
        period="week",
        sqdc="safety",
        owner="safety",
        target=2,
        thresholds=[{"level": "warning", "above": 5, "decision": "Walk the area with safety"}],
    )
    define(
        system,
        key="scrap_cost",
        name="Scrap cost",
        unit="EUR",
        period="day",
        sqdc="cost",
        target=100,
    )
    define(
        system,
        key="defect_share",
        name="Defect share",
        unit="share",
        period="day",
        chart="p",
        sqdc="quality",
        target=0.2,
    )
    metrics.import_values(
        system,
        "near_misses",
        "period,value\n2026-W40,2\n2026-W41,3\n2026-W42,2\n2026-W43,3\n2026-W44,2\n"
        "2026-W46,3\n2026-W47,9\n",
        zone=ZONE,
    )
    metrics.import_values(
        system,
        "scrap_cost",
        "period,value\n2026-11-09,100\n2026-11-10,110\n2026-11-11,90\n2026-11-12,100\n"
        "2026-11-13,105\n2026-11-16,80\n2026-11-17,120\n",
        zone=ZONE,
    )
    metrics.import_values(
        system,
        "defect_share",
        "period,count,n\n2026-11-09,2,20\n2026-11-10,2,20\n2026-11-11,2,20\n"
        "2026-11-12,2,20\n2026-11-13,2,20\n2026-11-16,1,10\n2026-11-17,9,30\n",
        zone=ZONE,
    )
