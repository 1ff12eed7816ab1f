"""The demo's metrics: defined, entered and computed at load, and finding the signals the
simulated history really holds (line 1's torque drift and its fix, the material change on
line 2), not ones painted on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from andon.core.uow import Context
from andon.demo.plant import load_demo
from andon.demo.work import HistoryOptions
from andon.improvement import capa
from andon.metrics import service as metrics

# Friday 27 Nov 2026, noon in Chicago. Line 1's nutrunner drifts from 31 Oct; the torque
# CAPA takes effect on 12 Nov at 06:00; line 2's material changes on 13 Nov.
END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
# Enough items per line and day for a p-chart to tell a shift from noise, and six weeks so
# the ten baseline days lie before the drift.
HISTORY = HistoryOptions(items=2100, days=42, seed=2026, end_at=END)


def _signals_after(system: Context, key: str, line: str | None, day: str) -> list[str]:
    drawn = metrics.chart(system, key, line=line)
    return [p.period for p in drawn.points if p.signals and p.period >= day]


# SQLite only, by exception: this checks the demo's content, and loading 1,800 items is most of
# a minute per database. The simulated history is the same event for event on both databases
# (test_demo_work.py::test_same_seed_and_end_give_the_same_event_log), and the metric
# computation itself runs on both in test_metrics_service.py and test_kpi_values_andon.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_metrics_find_the_torque_drift_its_fix_and_the_new_material(system: Context) -> None:
    # One load for every check: the history is the slow part.
    summary = load_demo(system, HISTORY)
    assert summary.metrics is not None
    assert summary.metrics.errors == {}
    assert (summary.metrics.defined, summary.metrics.computed) == (11, 9)
    # The material change is on 13 Nov; from about a week later, line 2's rework is a signal
    # day after day.
    changed = _signals_after(system, "rework_inspect", "L2", "2026-11-16")
    assert len(changed) >= 4, changed
    # Line 1's drift shows as signals above the centre line before the fix; after it (the
    # QA gate on every line), rework on lines 1 and 3 falls: their signals lie below it.
    drift = metrics.chart(system, "rework_inspect", line="L1")
    spike = [p for p in drift.points if "2026-11-02" <= p.period < "2026-11-12"]
    assert sum(1 for p in spike if p.signals and p.value > drift.center) >= 3, spike
    for line in ("L1", "L3"):
        drawn = metrics.chart(system, "rework_inspect", line=line)
        after = [p for p in drawn.points if p.period >= "2026-11-13" and p.value is not None]
        assert all(p.value < drawn.center for p in after if p.signals), (line, after)
        assert sum(p.value for p in after) / len(after) < drawn.center, (line, after)
    # The torque CAPA's effectiveness check, computed from that history: rework on line 1
    # after the change is really lower, so it is effective and the CAPA closed on it.
    improved = summary.improvement
    assert improved is not None
    assert (improved.rcas, improved.capas, improved.verdict) == (1, 2, "effective")
    corrective = capa.list_capas(system, status="done")
    assert [c.kind for c in corrective] == ["corrective"]
    check = corrective[0].closed_on
    assert check is not None
    assert check.before.value is not None
    assert check.after.value is not None
    assert check.after.value < check.before.value / 2
    assert check.p_value is not None
    assert check.p_value < 0.001
    # Half a year of hand-entered weeks; scrap cost rises in the weeks of the change.
    assert metrics.show_metric(system, "near_misses").metric.source == "manual"
    scrap = metrics.chart(system, "scrap_cost")
    assert len(scrap.points) == 26
    assert scrap.points[-1].value > scrap.center
