from datetime import UTC, datetime, timedelta
from typing import Any

from andon.metrics.definition import parse_definition
from andon.metrics.series import PeriodValue
from andon.metrics.thresholds import bands_for, crossings, judge


def definition(**changes: Any):
    base: dict[str, Any] = {
        "key": "rework",
        "name": "Rework",
        "unit": "%",
        "direction": "lower_is_better",
        "kind": "lagging",
        "owner": "quality",
        "source": {"kpi": "rework_rate", "stage": "inspect"},
        "by_line": True,
        "period": "day",
        "thresholds": [
            {"level": "warning", "above": 0.15, "decision": "Review the tags"},
            {"level": "critical", "above": 0.20, "min_points": 3, "decision": "Hold the lot"},
        ],
    }
    base.update(changes)
    return parse_definition(base)


def series(*values: float | None, line: str | None = "L2") -> list[PeriodValue]:
    return [PeriodValue(f"2026-11-{d:02d}", line, v) for d, v in enumerate(values, start=1)]


def test_the_most_severe_band_crossed_counts():
    found = crossings(definition(), series(0.10, 0.16, 0.25, 0.30))
    assert [(c.period, c.level) for c in found] == [
        ("2026-11-02", "warning"),
        ("2026-11-03", "critical"),
        ("2026-11-04", "critical"),
    ]


def test_a_band_waits_for_its_minimum_number_of_values():
    # The critical band needs 3 values: the second value (0.25) is only a warning.
    found = crossings(definition(), series(0.10, 0.25, None, 0.25))
    assert [(c.period, c.level) for c in found] == [
        ("2026-11-02", "warning"),
        ("2026-11-04", "critical"),
    ]


def test_a_value_on_the_band_edge_does_not_cross_it():
    # 0.15 is on the warning edge (no crossing); 0.20 crosses warning but sits on critical.
    found = crossings(definition(), series(0.15, 0.20, 0.20))
    assert [(c.period, c.level) for c in found] == [
        ("2026-11-02", "warning"),
        ("2026-11-03", "warning"),
    ]


def test_no_data_is_never_a_crossing():
    assert crossings(definition(), series(None, None)) == []
    standing = judge(definition(), series(None, None))
    assert (standing.status, standing.latest, standing.crossing) == ("no_data", None, None)


def test_a_line_band_replaces_the_general_band_of_its_level_only():
    defn = definition(
        thresholds=[
            {"level": "warning", "above": 0.15, "decision": "a"},
            {"level": "critical", "above": 0.20, "decision": "b"},
            {"level": "warning", "above": 0.05, "decision": "c", "line": "L3"},
        ]
    )
    assert [i for i, _ in bands_for(defn, "L3")] == [1, 2]
    assert [i for i, _ in bands_for(defn, "L1")] == [0, 1]
    assert [i for i, _ in bands_for(defn, None)] == [0, 1]
    assert judge(defn, series(0.06, line="L3")).status == "warning"
    assert judge(defn, series(0.06, line="L1")).status == "ok"


def test_below_bands_for_a_higher_is_better_metric():
    defn = definition(
        direction="higher_is_better",
        thresholds=[
            {"level": "warning", "below": 0.9, "decision": "a"},
            {"level": "critical", "below": 0.8, "decision": "b"},
        ],
    )
    assert judge(defn, series(0.95, 0.85)).status == "warning"
    assert judge(defn, series(0.95, 0.75)).status == "critical"
    assert judge(defn, series(0.75, 0.95)).status == "ok"


def test_the_standing_is_judged_on_the_latest_value_skipping_empty_periods():
    standing = judge(definition(), series(0.10, 0.30, 0.30, None))
    assert standing.status == "critical"
    assert standing.latest.period == "2026-11-03"
    assert standing.crossing.band_index == 1


def test_a_value_older_than_the_gap_stands_at_no_data_not_at_its_band():
    defn = definition(no_data_after="2d")
    ended = datetime(2026, 11, 4, 6, tzinfo=UTC)
    fresh = judge(defn, series(0.3, 0.3, 0.3), latest_end_at=ended, now=ended + timedelta(days=1))
    stale = judge(defn, series(0.3, 0.3, 0.3), latest_end_at=ended, now=ended + timedelta(days=3))
    assert (fresh.status, fresh.stale) == ("critical", False)
    assert (stale.status, stale.stale, stale.crossing) == ("no_data", True, None)
    assert stale.latest.value == 0.3


def test_without_a_gap_a_series_is_never_stale():
    ended = datetime(2026, 11, 4, 6, tzinfo=UTC)
    standing = judge(
        definition(), series(0.1), latest_end_at=ended, now=ended + timedelta(days=400)
    )
    assert standing.status == "ok"


def test_a_series_that_never_had_a_value_turns_stale_after_the_gap():
    defn = definition(no_data_after="2d")
    defined = datetime(2026, 11, 1, tzinfo=UTC)
    young = judge(defn, series(None, None), latest_end_at=defined, now=defined + timedelta(days=1))
    old = judge(defn, [], latest_end_at=defined, now=defined + timedelta(days=3), line="L3")
    assert (young.status, young.stale, young.latest) == ("no_data", False, None)
    assert (old.status, old.stale, old.line, old.crossing) == ("no_data", True, "L3", None)


def test_an_action_is_due_in_the_templates_days_or_by_level():
    defn = definition(
        thresholds=[
            {"level": "warning", "above": 0.15, "decision": "Review"},
            {"level": "critical", "above": 0.2, "decision": "Hold", "action": {"title": "Hold"}},
        ]
    )
    templated = definition(
        thresholds=[
            {
                "level": "critical",
                "above": 0.2,
                "decision": "Hold",
                "action": {"title": "Hold", "due_in_days": 5},
            }
        ]
    )
    assert [b.due_in_days for b in defn.thresholds] == [7, 2]
    assert templated.thresholds[0].due_in_days == 5
