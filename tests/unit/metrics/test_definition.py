from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from andon.core.errors import InvalidInput
from andon.core.permissions import Role
from andon.metrics.definition import (
    KPI_NAMES,
    MetricDefinition,
    definition_document,
    parse_definition,
)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": "fpy_line_1",
        "name": "First-pass yield, line 1",
        "unit": "%",
        "direction": "higher_is_better",
        "kind": "lagging",
        "owner": "quality",
        "source": {"kpi": "first_pass_yield", "line": "L1"},
        "period": "week",
        "baseline": {"points": 12},
        "thresholds": [
            {"level": "warning", "below": 0.95, "decision": "Review the week's first-fail causes"},
            {
                "level": "critical",
                "below": 0.9,
                "min_points": 3,
                "decision": "Hold the line's release until the cause is known",
                "action": {"title": "Find the cause of the yield drop", "due_in_days": 3},
            },
        ],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refusal(**changes: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_definition(document(**changes))
    return [(e.loc, e.msg) for e in caught.value.errors]


def test_a_complete_definition_is_read():
    defn = parse_definition(document(no_data_after="3d", target=0.97))
    assert defn.owner.role is Role.QUALITY
    assert defn.thresholds[1].action is not None
    assert defn.thresholds[1].action.due_in_days == 3
    assert defn.thresholds[0].min_points == 1
    assert defn.no_data_after == timedelta(days=3)
    assert defn.review == "weekly"


def test_an_owner_that_is_not_a_role_is_a_username():
    defn = parse_definition(document(owner="Dana.Kim"))
    assert (defn.owner.role, defn.owner.user) == (None, "dana.kim")


def test_an_owner_must_be_a_role_or_a_user_not_both():
    errors = refusal(owner={"role": "quality", "user": "dana"})
    assert errors[0][0] == ("owner",)


@pytest.mark.parametrize(
    ("kpi", "chart"), [("rework_rate", "p"), ("exception_count", "c"), ("cycle_time", "xmr")]
)
def test_the_chart_defaults_from_the_kpi(kpi, chart):
    assert parse_definition(document(source={"kpi": kpi}, thresholds=[])).chart == chart


def test_a_manual_metric_defaults_to_an_xmr_chart():
    assert parse_definition(document(source="manual")).chart == "xmr"


def test_every_listed_kpi_is_accepted():
    for kpi in KPI_NAMES:
        source = {"kpi": kpi, "stage": "assemble"} if kpi != "oee" else {"kpi": kpi}
        assert parse_definition(document(source=source, chart="xmr")).source.kpi == kpi  # type: ignore[union-attr]


def test_an_unknown_kpi_is_refused_at_source_kpi():
    errors = refusal(source={"kpi": "happiness"})
    assert [loc for loc, _ in errors] == [("source", "kpi")]


def test_a_source_that_is_neither_manual_nor_a_kpi_is_refused():
    assert refusal(source="spreadsheet")[0][0] == ("source",)


def test_time_in_stage_needs_a_stage():
    errors = refusal(source={"kpi": "time_in_stage"}, thresholds=[])
    assert errors == [(("source",), "time_in_stage needs a stage: the time spent in which stage")]


def test_a_p_chart_over_a_duration_is_refused_at_chart():
    errors = refusal(source={"kpi": "cycle_time"}, chart="p", thresholds=[])
    assert errors[0][0] == ("chart",)
    assert "proportion" in errors[0][1]


def test_a_u_chart_needs_a_rate():
    assert refusal(source={"kpi": "throughput"}, chart="u", thresholds=[])[0][0] == ("chart",)


def test_a_manual_source_may_use_any_chart():
    assert parse_definition(document(source="manual", chart="u")).chart == "u"


@pytest.mark.parametrize("rule", ["WE5", "N9", "nelson-1", "we1"])
def test_an_unknown_rule_is_refused_at_rules(rule):
    errors = refusal(rules=["WE1", rule])
    assert errors[0][0] == ("rules", 1)
    assert repr(rule) in errors[0][1]


def test_a_rule_listed_twice_is_refused():
    assert refusal(rules=["WE1", "N2", "WE1"])[0][0] == ("rules",)


def test_rule_set_names_expand_to_their_ids():
    defn = parse_definition(document(rules=["N5", "western-electric"]))
    assert defn.rule_ids() == ["WE1", "WE2", "WE3", "WE4", "N5"]


def test_a_baseline_of_one_point_is_too_short():
    assert refusal(baseline={"points": 1})[0][0] == ("baseline", "points")


def test_a_dated_baseline_within_one_period_is_too_short():
    errors = refusal(baseline={"from": "2026-03-02", "to": "2026-03-06"})
    assert errors[0][0] == ("baseline",)
    assert "1 week period" in errors[0][1]


def test_a_baseline_that_ends_before_it_starts_is_refused():
    assert refusal(baseline={"from": "2026-03-02", "to": "2026-01-06"})[0][0] == ("baseline",)


def test_a_dated_baseline_over_several_periods_is_kept():
    defn = parse_definition(document(baseline={"from": "2026-01-05", "to": "2026-03-29"}))
    assert (defn.baseline.from_, defn.baseline.to) == (date(2026, 1, 5), date(2026, 3, 29))


def test_a_critical_floor_above_the_warning_floor_is_refused_at_its_below():
    bands = document()["thresholds"]
    bands[1] = {**bands[1], "below": 0.97}
    errors = refusal(thresholds=bands)
    assert errors[0][0] == ("thresholds", 1, "below")
    assert "0.95" in errors[0][1]


def test_a_critical_ceiling_under_the_warning_ceiling_is_refused_at_its_above():
    bands = [
        {"level": "warning", "above": 0.05, "decision": "Look at the rework tags"},
        {"level": "critical", "above": 0.04, "decision": "Stop and contain"},
    ]
    errors = refusal(direction="lower_is_better", source={"kpi": "rework_rate"}, thresholds=bands)
    assert errors[0][0] == ("thresholds", 1, "above")


def test_a_band_needs_above_or_below():
    bands = [{"level": "warning", "decision": "Look"}]
    assert refusal(thresholds=bands)[0][0] == ("thresholds", 0)


def test_a_band_needs_a_decision():
    bands = [{"level": "warning", "below": 0.9}]
    assert refusal(thresholds=bands)[0][0] == ("thresholds", 0, "decision")


def test_bands_per_line_are_ordered_within_their_line():
    bands = [
        {"level": "warning", "below": 0.95, "decision": "a", "line": "L1"},
        {"level": "critical", "below": 0.9, "decision": "b", "line": "L1"},
        {"level": "warning", "below": 0.85, "decision": "c", "line": "L2"},
    ]
    defn = parse_definition(
        document(source={"kpi": "first_pass_yield"}, by_line=True, thresholds=bands)
    )
    assert [b.line for b in defn.thresholds] == ["L1", "L1", "L2"]


def test_a_band_for_one_line_needs_a_metric_split_by_line():
    bands = [{"level": "warning", "below": 0.95, "decision": "a", "line": "L1"}]
    problems = refusal(source={"kpi": "first_pass_yield"}, thresholds=bands)
    assert problems[0][0] == ("thresholds", 0, "line")
    assert "by_line" in problems[0][1]


@pytest.mark.parametrize(
    "source", ["manual", {"kpi": "first_pass_yield", "line": "L1"}], ids=["manual", "one-line"]
)
def test_only_a_kpi_over_several_lines_can_be_split_by_line(source):
    assert refusal(source=source, chart="xmr", by_line=True)[0][0] == ("by_line",)


def test_the_board_place_of_a_metric_reads_back():
    defn = parse_definition(document(sqdc="safety", area="ASM"))
    assert (defn.sqdc, defn.area, defn.by_line) == ("safety", "ASM", False)
    assert definition_document(defn)["sqdc"] == "safety"


def test_a_band_for_a_line_the_source_excludes_is_refused():
    bands = [{"level": "warning", "below": 0.95, "decision": "a", "line": "L2"}]
    assert refusal(thresholds=bands)[0][0] == ("thresholds", 0, "line")


def test_two_warning_bands_for_the_same_line_are_refused():
    bands = [
        {"level": "warning", "below": 0.95, "decision": "a"},
        {"level": "warning", "below": 0.93, "decision": "b"},
    ]
    assert refusal(thresholds=bands)[0][0] == ("thresholds", 1, "level")


@pytest.mark.parametrize("gap", ["3", "0d", "3 days", "2m"])
def test_a_no_data_gap_must_be_hours_days_or_weeks(gap):
    assert refusal(no_data_after=gap)[0][0] == ("no_data_after",)


def test_every_problem_is_listed_at_once():
    locs = [loc for loc, _ in refusal(period="fortnight", unit="", kind="both")]
    assert sorted(map(str, locs)) == ["('kind',)", "('period',)", "('unit',)"]


def test_an_unknown_field_is_refused_by_name():
    assert refusal(owners="quality")[0][0] == ("owners",)


def test_building_the_model_directly_runs_the_same_cross_checks():
    with pytest.raises(ValidationError, match="chart: a p-chart needs a proportion"):
        MetricDefinition.model_validate(document(source={"kpi": "wip"}, chart="p", thresholds=[]))


def test_the_document_reads_back_to_an_equal_definition():
    defn = parse_definition(document(no_data_after="36h", owner="dana", target=0.97))
    assert parse_definition(definition_document(defn)) == defn


def test_a_user_named_like_a_role_stays_a_user_in_the_document():
    defn = parse_definition(document(owner={"user": "quality"}))
    assert definition_document(defn)["owner"] == {"user": "quality"}
    assert parse_definition(definition_document(defn)).owner.user == "quality"
