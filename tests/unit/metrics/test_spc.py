"""SPC charts and rules against worked examples computed by hand in each test."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import InvalidInput
from andon.metrics.spc import (
    NELSON,
    RULE_IDS,
    Limits,
    Observation,
    apply_limits,
    chart_json,
    compute_limits,
    first_points,
    parse_rules,
    points_between,
)


def obs(*values: float) -> list[Observation]:
    return [Observation(f"2026-01-{i + 1:02d}", v) for i, v in enumerate(values)]


def counts(*pairs: tuple[float, float]) -> list[Observation]:
    return [Observation(f"2026-01-{i + 1:02d}", c, n) for i, (c, n) in enumerate(pairs)]


# A baseline of -0.564 and 0.564: mean 0, one moving range of 1.128, so MR-bar = 1.128,
# σ = 1.128 / 1.128 = 1 and the limits are ±2.66 × 1.128 = ±3.00048. Rule examples below are
# then written directly in σ units.
UNIT = compute_limits("xmr", obs(-0.564, 0.564))


def fired(values: list[float], rule: str) -> list[int]:
    """1-based numbers of the points where ``rule`` fires on the unit chart."""
    chart = apply_limits(UNIT, obs(*values), [rule])
    return [i + 1 for i, p in enumerate(chart.points) if rule in p.signals]


def test_unit_chart_is_what_the_rule_examples_assume() -> None:
    chart = apply_limits(UNIT, obs(0))
    assert chart.center == pytest.approx(0)
    assert chart.ucl == pytest.approx(2.66 * 1.128)
    assert chart.lcl == pytest.approx(-2.66 * 1.128)
    assert UNIT.at()[2] == pytest.approx(1.0)


# --- charts ------------------------------------------------------------------------------------


def test_xmr_limits_from_the_baseline() -> None:
    # mean = (10+12+11+13+9)/5 = 11; moving ranges 2, 1, 2, 4 → MR-bar = 9/4 = 2.25
    limits = compute_limits("xmr", obs(10, 12, 11, 13, 9))
    chart = apply_limits(limits, obs(10, 12, 11, 13, 9))
    assert chart.center == pytest.approx(11)
    assert limits.mr_bar == pytest.approx(2.25)
    assert chart.ucl == pytest.approx(11 + 2.66 * 2.25)  # 16.985
    assert chart.lcl == pytest.approx(11 - 2.66 * 2.25)  # 5.015
    assert limits.mr_ucl == pytest.approx(3.267 * 2.25)  # 7.35075
    assert [p.moving_range for p in chart.points] == [None, 2, 1, 2, 4]


def test_xmr_limits_stay_frozen_for_later_points() -> None:
    values = obs(10, 12, 11, 13, 9, 17, 11)
    limits = compute_limits("xmr", first_points(values, 5))
    chart = apply_limits(limits, values, ["N1"])
    # Recomputed from all seven points the mean would be 83/7; frozen, it stays 11.
    assert chart.center == pytest.approx(11)
    assert [p.ucl for p in chart.points] == [pytest.approx(16.985)] * 7
    assert [p.signals for p in chart.points][5] == ("N1",)  # 17 > 16.985
    reason = chart.points[5].reasons[0]
    assert reason.startswith("Point 6 is above the upper control limit (17 > 16.9")
    assert all(p.is_noise for i, p in enumerate(chart.points) if i != 5)


def test_recomputing_limits_needs_a_new_baseline() -> None:
    values = obs(10, 12, 11, 13, 9, 17, 11)
    rebased = compute_limits("xmr", values[2:7])
    # mean = (11+13+9+17+11)/5 = 12.2; ranges 2, 4, 8, 6 → MR-bar = 5
    assert rebased.center == pytest.approx(12.2)
    assert rebased.mr_bar == pytest.approx(5)


def test_p_chart_limits_vary_with_each_sample_size() -> None:
    # p̄ = (80+80)/(400+400) = 0.2; n=400: σ = √(0.2·0.8/400) = 0.02; n=100: σ = 0.04
    limits = compute_limits("p", counts((80, 400), (80, 400)))
    chart = apply_limits(limits, counts((50, 400), (10, 100), (35, 100)), ["N1"])
    assert chart.center == pytest.approx(0.2)
    assert chart.ucl is None
    assert chart.lcl is None
    first, second, third = chart.points
    assert (first.lcl, first.ucl) == pytest.approx((0.2 - 0.06, 0.2 + 0.06))
    assert (second.lcl, second.ucl) == pytest.approx((0.2 - 0.12, 0.2 + 0.12))
    assert first.value == pytest.approx(50 / 400)  # 0.125 < 0.14
    assert first.signals == ("N1",)
    assert "below the lower control limit" in first.reasons[0]
    assert second.value == pytest.approx(0.1)
    assert second.is_noise
    assert third.value == pytest.approx(0.35)
    assert third.signals == ("N1",)


def test_p_chart_lower_limit_is_zero_and_upper_at_most_one() -> None:
    # p̄ = 10/200 = 0.05; n=50: 0.05 − 3·√(0.05·0.95/50) = 0.05 − 0.0925 < 0 → 0
    limits = compute_limits("p", counts((2, 50), (3, 100), (5, 50)))
    point = apply_limits(limits, counts((10, 50))).points[0]
    assert point.lcl == 0
    assert point.ucl == pytest.approx(0.05 + 3 * math.sqrt(0.05 * 0.95 / 50))
    # p̄ = 2/4 = 0.5; n=1: 0.5 + 3·√(0.25) = 2 → capped at 1
    wide = compute_limits("p", counts((1, 2), (1, 2)))
    assert apply_limits(wide, counts((1, 1))).points[0].ucl == 1


def test_u_chart_limits_per_point() -> None:
    # ū = (4+8)/(2+2) = 3; n=12: σ = √(3/12) = 0.5 → 1.5..4.5; n=2: 3 − 3·√1.5 < 0 → 0
    limits = compute_limits("u", counts((4, 2), (8, 2)))
    chart = apply_limits(limits, counts((60, 12), (12, 12), (36, 12), (9, 2)), ["N1"])
    assert chart.center == pytest.approx(3)
    rates = [p.value for p in chart.points]
    assert rates == [pytest.approx(5), pytest.approx(1), pytest.approx(3), pytest.approx(4.5)]
    assert (chart.points[0].lcl, chart.points[0].ucl) == pytest.approx((1.5, 4.5))
    assert chart.points[3].lcl == 0
    assert chart.points[3].ucl == pytest.approx(3 + 3 * math.sqrt(3 / 2))
    assert [p.signals for p in chart.points] == [("N1",), ("N1",), (), ()]


def test_c_chart_limits_and_zero_clamp() -> None:
    # c̄ = (3+5+4+4)/4 = 4; σ = √4 = 2; UCL = 4 + 6 = 10; LCL = 4 − 6 < 0 → 0
    limits = compute_limits("c", obs(3, 5, 4, 4))
    chart = apply_limits(limits, obs(3, 5, 4, 4, 10, 11, 0), ["N1"])
    assert (chart.center, chart.ucl, chart.lcl) == (4, 10, 0)
    assert [i + 1 for i, p in enumerate(chart.points) if p.signals] == [6]  # 10 is on the limit


def test_c_chart_positive_lower_limit() -> None:
    # c̄ = 16; σ = 4; limits 16 ± 12 = 4..28
    chart = apply_limits(compute_limits("c", obs(16, 16)), obs(3, 4, 29), ["WE1"])
    assert (chart.lcl, chart.ucl) == (4, 28)
    assert [p.signals for p in chart.points] == [("WE1",), (), ("WE1",)]


def test_p_chart_zones_scale_with_each_points_limits() -> None:
    # p̄ = 0.2; n=100: σ = 0.04, 2σ line at 0.28. 0.29 twice is beyond it; 0.27 twice is not.
    limits = compute_limits("p", counts((80, 400), (80, 400)))
    beyond = apply_limits(limits, counts((29, 100), (29, 100)), ["WE2"])
    inside = apply_limits(limits, counts((27, 100), (27, 100)), ["WE2"])
    assert [p.signals for p in beyond.points] == [(), ("WE2",)]
    assert all(p.is_noise for p in inside.points)
    # At n=400 (σ = 0.02) the same 0.27 is beyond 2σ (0.24).
    big = apply_limits(limits, counts((108, 400), (108, 400)), ["WE2"])
    assert [p.signals for p in big.points] == [(), ("WE2",)]


# --- rules: one example that fires at a known point, one near miss ------------------------------


@pytest.mark.parametrize("rule", ["WE1", "N1"])
def test_beyond_three_sigma(rule: str) -> None:
    assert fired([0, 1, 3.1, 0, -3.1], rule) == [3, 5]
    assert fired([0, 3.0, -3.0], rule) == []  # 3.0 < 3.00048


def test_beyond_limit_reason_reads_as_a_sentence() -> None:
    chart = apply_limits(UNIT, obs(0, 1, 3.1), ["N1"])
    assert chart.points[2].reasons == ("Point 3 is above the upper control limit (3.1 > 3)",)


@pytest.mark.parametrize("rule", ["WE2", "N5"])
def test_two_of_three_beyond_two_sigma(rule: str) -> None:
    assert fired([0, 2.5, 0.5, 2.5], rule) == [4]  # points 2 and 4; point 4 completes it
    assert fired([2.5, 0.5, 0.5, 2.5], rule) == []  # 1 of the last 3
    assert fired([0, 2.5, -2.5], rule) == []  # opposite sides


def test_two_beyond_two_sigma_at_the_start_fire_without_a_third_point() -> None:
    assert fired([-2.5, -2.5], "WE2") == [2]


@pytest.mark.parametrize("rule", ["WE3", "N6"])
def test_four_of_five_beyond_one_sigma(rule: str) -> None:
    assert fired([0, 1.5, 1.5, 0.5, 1.5, 1.5], rule) == [6]
    assert fired([1.5, 1.5, 0.5, 0.5, 1.5, 1.5], rule) == []  # 3 of every 5


def test_completing_point_must_itself_be_in_the_zone() -> None:
    # Points 2–5 make 4 of points 1–5, completed by point 5; point 6 (0.5) keeps 4 of the last
    # 5 but is not beyond 1σ itself, so it completes nothing new.
    assert fired([0, 1.5, 1.5, 1.5, 1.5, 0.5], "WE3") == [5]


def test_eight_on_one_side_we4() -> None:
    assert fired([-0.5] + [0.5] * 8, "WE4") == [9]
    assert fired([-0.5] + [0.5] * 7 + [-0.5], "WE4") == []


def test_a_point_on_the_centre_line_breaks_a_run() -> None:
    assert fired([0.5] * 4 + [0.0] + [0.5] * 4, "WE4") == []


def test_nine_on_one_side_n2_with_reason() -> None:
    chart = apply_limits(UNIT, obs(0.5, *([-0.2] * 9)), ["N2"])
    flagged = [i + 1 for i, p in enumerate(chart.points) if p.signals]
    assert flagged == [10]
    assert chart.points[9].reasons == ("9 points in a row below the centre line (points 2–10)",)
    assert fired([0.5] + [-0.2] * 8, "N2") == []


def test_every_point_extending_a_run_completes_it_again() -> None:
    assert fired([0.5] * 11, "N2") == [9, 10, 11]


def test_six_in_a_row_trending_n3() -> None:
    assert fired([0, 0.1, 0.2, 0.3, 0.4, 0.5], "N3") == [6]
    assert fired([2, 1.5, 1, 0.5, 0, -0.5, -0.4], "N3") == [6]
    assert fired([0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5], "N3") == []  # a tie breaks the trend


def test_fourteen_alternating_n4() -> None:
    assert fired([0.5, -0.5] * 7, "N4") == [14]
    assert fired([0.5, -0.5] * 6 + [0.5, 0.6], "N4") == []  # last two steps both up


def test_fifteen_within_one_sigma_n7() -> None:
    assert fired([0.5, -0.5] * 7 + [0.5], "N7") == [15]
    assert fired([0.5, -0.5] * 7 + [1.5], "N7") == []


def test_eight_beyond_one_sigma_either_side_n8() -> None:
    assert fired([1.5, -1.5] * 4, "N8") == [8]
    assert fired([1.5, -1.5] * 3 + [0.5, 1.5], "N8") == []


def test_points_without_signals_are_noise() -> None:
    chart = apply_limits(UNIT, obs(0.5, -0.5, 3.5), parse_rules(["nelson"]))
    assert [p.is_noise for p in chart.points] == [True, True, False]


# --- baselines and rule names ------------------------------------------------------------------


def test_too_short_xmr_baseline_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        compute_limits("xmr", obs(10))
    assert caught.value.errors[0].loc == ("baseline",)
    assert "at least 2" in caught.value.detail
    assert "got 1" in caught.value.detail


def test_empty_count_baseline_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        compute_limits("c", [])
    assert caught.value.errors[0].loc == ("baseline",)


def test_baseline_without_variation_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no variation"):
        compute_limits("xmr", obs(5, 5, 5))


def test_baseline_from_a_date_range() -> None:
    weeks = [Observation(f"2026-W{w:02d}", v) for w, v in [(1, 4), (2, 6), (3, 8), (4, 20)]]
    chosen = points_between(weeks, date(2025, 12, 29), date(2026, 1, 12))  # W01..W03 Mondays
    assert [o.period for o in chosen] == ["2026-W01", "2026-W02", "2026-W03"]
    assert compute_limits("xmr", chosen).center == pytest.approx(6)  # (4+6+8)/3


def test_invalid_p_point_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidInput) as caught:
        compute_limits("p", counts((5, 4)))
    assert caught.value.errors[0].loc == ("baseline", 0, "count")


def test_rule_names_expand_and_ids_deduplicate() -> None:
    assert parse_rules(["nelson", "N1", "we2"]) == ("WE2", *NELSON)
    assert parse_rules(["western-electric"]) == ("WE1", "WE2", "WE3", "WE4")


def test_unknown_rule_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rules(["N9"])
    assert caught.value.errors[0].loc == ("rules",)
    assert "N9" in caught.value.detail
    assert "WE4" in caught.value.detail
    assert "nelson" in caught.value.detail


def test_chart_json_has_the_fixed_shape() -> None:
    limits = compute_limits("p", counts((80, 400), (80, 400)))
    out = chart_json(apply_limits(limits, counts((50, 400)), ["N1"]))
    assert {"chart", "center", "ucl", "lcl", "points"} <= out.keys()
    assert (out["chart"], out["ucl"], out["lcl"]) == ("p", None, None)
    point = out["points"][0]
    assert {"period", "value", "ucl", "lcl", "signals"} <= point.keys()
    assert point["signals"] == ["N1"]
    assert point["value"] == pytest.approx(0.125)


# --- properties --------------------------------------------------------------------------------

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=2, max_size=30), st.integers(1, 40))
def test_a_constant_series_at_the_centre_never_fires_n1(baseline: list[float], k: int) -> None:
    try:
        limits = compute_limits("xmr", obs(*baseline))
    except InvalidInput:
        return  # a flat baseline has no limits
    chart = apply_limits(limits, obs(*([limits.center] * k)), ["N1"])
    assert all(p.is_noise for p in chart.points)


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=40), st.data())
def test_adding_points_never_changes_earlier_flags(
    values: list[float], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(values)))
    full = apply_limits(UNIT, obs(*values), RULE_IDS)
    prefix = apply_limits(UNIT, obs(*values[:cut]), RULE_IDS)
    assert prefix.points == full.points[:cut]


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=20))
def test_n1_fires_exactly_outside_the_limits(values: list[float]) -> None:
    chart = apply_limits(UNIT, obs(*values), ["N1"])
    limit = 2.66 * 1.128
    assert [bool(p.signals) for p in chart.points] == [abs(v) > limit for v in values]


def test_limits_dataclass_is_frozen() -> None:
    with pytest.raises(AttributeError):
        UNIT.center = 1.0  # type: ignore[misc]
    assert isinstance(UNIT, Limits)
