"""The demo's metrics: defined, entered and computed at load, and finding the signal the
simulated history really holds (the material change on line 2), not one painted on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from andon.core.uow import Context
from andon.demo.plant import load_demo
from andon.demo.work import HistoryOptions
from andon.metrics import service as metrics

# Friday 27 Nov 2026, noon in Chicago: the material change is 14 days before.
END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
# Enough items per line and day for a p-chart to tell a shift from noise.
HISTORY = HistoryOptions(items=1800, days=30, seed=2026, end_at=END)


def _signals_after(system: Context, key: str, line: str | None, day: str) -> list[str]:
    drawn = metrics.chart(system, key, line=line)
    return [p.period for p in drawn.points if p.signals and p.period >= day]


# SQLite only, by exception: this checks the demo's content, and loading 1,800 items is most of
# a minute per database. The simulated history is the same event for event on both databases
# (test_demo_work.py::test_same_seed_and_end_give_the_same_event_log), and the metric
# computation itself runs on both in test_metrics_service.py and test_kpi_values_andon.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_metrics_find_the_material_change_on_line_2(system: Context) -> None:
    # One load for every check: the history is the slow part.
    summary = load_demo(system, HISTORY)
    assert summary.metrics is not None
    assert summary.metrics.errors == {}
    assert (summary.metrics.defined, summary.metrics.computed) == (11, 9)
    # The change is on 13 Nov; from about a week later, line 2's rework is a signal day
    # after day, while the other lines show at most the odd false alarm of a p-chart.
    changed = _signals_after(system, "rework_inspect", "L2", "2026-11-16")
    others = [_signals_after(system, "rework_inspect", ln, "2026-11-16") for ln in ("L1", "L3")]
    assert len(changed) >= 4, changed
    assert all(len(found) <= 1 for found in others), others
    # Half a year of hand-entered weeks; scrap cost rises in the weeks of the change.
    assert metrics.show_metric(system, "near_misses").metric.source == "manual"
    scrap = metrics.chart(system, "scrap_cost")
    assert len(scrap.points) == 26
    assert scrap.points[-1].value > scrap.center
