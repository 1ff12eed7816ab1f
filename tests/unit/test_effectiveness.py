"""The CAPA effectiveness check: verdicts on constructed data, p-values against scipy."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from andon.improvement.effectiveness import check_effectiveness, combine_lines, split_windows
from andon.metrics.series import PeriodValue
from andon.metrics.spc import Limits

START = date(2026, 11, 1)


def _p(counts: list[int], n: int, first: int = 0) -> list[PeriodValue]:
    return [
        PeriodValue((START + timedelta(days=first + i)).isoformat(), None, c / n, c, n)
        for i, c in enumerate(counts)
    ]


def _x(values: list[float], first: int = 0) -> list[PeriodValue]:
    return [
        PeriodValue((START + timedelta(days=first + i)).isoformat(), None, v)
        for i, v in enumerate(values)
    ]


BEFORE_COUNTS = [10, 12, 9, 11, 8, 10, 13, 9, 10, 11]
BEFORE_VALUES = [10.1, 9.8, 10.3, 10.0, 9.7, 10.2, 9.9, 10.4, 10.1, 9.6]


def test_p_metric_with_a_known_drop_is_effective_and_its_p_value_is_the_z_tests():
    after_counts = [3, 4, 2, 3, 5, 3, 2, 4, 3, 3]
    check = check_effectiveness(
        "p", "lower_is_better", _p(BEFORE_COUNTS, 100), _p(after_counts, 100, 10)
    )
    x1, n1, x2, n2 = sum(BEFORE_COUNTS), 1000, sum(after_counts), 1000
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert check.verdict == "effective"
    assert check.p_value == pytest.approx(stats.norm.cdf(z), rel=0, abs=1e-12)
    # The same test as a 2×2 chi-squared without continuity correction, halved (one side).
    chi2 = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert check.p_value == pytest.approx(chi2.pvalue / 2, rel=1e-9)
    assert (check.before.n, check.before.value) == (10, x1 / n1)
    assert (check.after.n, check.after.value) == (10, x2 / n2)
    assert check.signals
    assert all(s.better for s in check.signals)
    assert "Two-proportion z-test" in check.method
    assert "alpha 0.05" in check.method


def test_p_metric_without_a_shift_is_not_effective():
    after_counts = [11, 9, 10, 12, 10, 8, 11, 10, 9, 12]
    check = check_effectiveness(
        "p", "lower_is_better", _p(BEFORE_COUNTS, 100), _p(after_counts, 100, 10)
    )
    x1, x2 = sum(BEFORE_COUNTS), sum(after_counts)
    pooled = (x1 + x2) / 2000
    z = (x2 / 1000 - x1 / 1000) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert check.verdict == "not_effective"
    assert check.p_value == pytest.approx(stats.norm.cdf(z), rel=0, abs=1e-12)
    assert check.p_value > 0.05


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (_p([10, 12, 9, 11], 100), _p([3, 4, 2, 3, 5], 100, 10)),  # 4 periods before
        (_p([1, 2, 1, 2, 1], 5), _p([0, 0, 1, 0, 0], 5, 10)),  # a sample of 25 per window
    ],
)
def test_p_metric_with_too_little_data_gives_no_verdict(before, after):
    check = check_effectiveness("p", "lower_is_better", before, after)
    assert check.verdict == "not_enough_data"
    assert check.p_value is None


def test_xmr_metric_with_a_known_drop_is_effective_by_mann_whitney():
    after = [8.1, 7.9, 8.3, 8.0, 7.8, 8.2, 8.0, 7.7]
    check = check_effectiveness("xmr", "lower_is_better", _x(BEFORE_VALUES), _x(after, 10))
    expected = stats.mannwhitneyu(after, BEFORE_VALUES, alternative="less").pvalue
    assert check.verdict == "effective"
    assert check.p_value == pytest.approx(expected, rel=0, abs=1e-12)
    assert check.before.value == pytest.approx(sum(BEFORE_VALUES) / 10)
    assert check.after.value == pytest.approx(sum(after) / 8)
    assert {s.rule for s in check.signals} >= {"WE1"}
    assert all(s.better for s in check.signals)


def test_xmr_metric_without_a_shift_is_not_effective():
    after = [10.0, 10.2, 9.9, 10.3, 9.8, 10.1]
    check = check_effectiveness("xmr", "lower_is_better", _x(BEFORE_VALUES), _x(after, 10))
    expected = stats.mannwhitneyu(after, BEFORE_VALUES, alternative="less").pvalue
    assert check.verdict == "not_effective"
    assert check.p_value == pytest.approx(expected, rel=0, abs=1e-12)
    assert check.signals == ()


def test_xmr_metric_with_too_few_periods_after_gives_no_verdict():
    check = check_effectiveness("xmr", "lower_is_better", _x(BEFORE_VALUES), _x([8.0] * 4, 10))
    assert check.verdict == "not_enough_data"
    assert (check.after.n, check.p_value) == (4, None)


def test_a_drop_is_not_effective_when_higher_is_better():
    after = [8.1, 7.9, 8.3, 8.0, 7.8, 8.2]
    check = check_effectiveness("xmr", "higher_is_better", _x(BEFORE_VALUES), _x(after, 10))
    assert check.verdict == "not_effective"
    assert check.signals
    assert not any(s.better for s in check.signals)


def test_frozen_limits_are_used_for_the_signals():
    frozen = Limits("xmr", center=5.0, baseline_points=20, mr_bar=0.3)
    check = check_effectiveness(
        "xmr", "lower_is_better", _x(BEFORE_VALUES), _x([8.0] * 6, 10), limits=frozen
    )
    # 8.0 is far above a centre of 5: worse, whatever the before window says.
    assert check.signals
    assert all(s.better is False for s in check.signals)
    assert check.details["center"] == 5.0


def test_windows_split_at_the_effective_date():
    values = _x([float(i) for i in range(30)])
    before, after = split_windows(values, START + timedelta(days=14), 7)
    assert [v.period for v in before] == [
        (START + timedelta(days=d)).isoformat() for d in range(7, 14)
    ]
    assert [v.period for v in after] == [
        (START + timedelta(days=d)).isoformat() for d in range(14, 21)
    ]


values = st.lists(
    st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda f: round(f, 2)),
    min_size=5,
    max_size=15,
)


@settings(max_examples=40, deadline=None)
@given(values, values)
def test_swapping_the_direction_swaps_better_and_worse(before, after):
    lower = check_effectiveness("xmr", "lower_is_better", _x(before), _x(after, 20))
    higher = check_effectiveness("xmr", "higher_is_better", _x(before), _x(after, 20))
    assert not (lower.verdict == "effective" and higher.verdict == "effective")
    flips = [(a.better, b.better) for a, b in zip(lower.signals, higher.signals, strict=True)]
    assert all(b is None if a is None else b is (not a) for a, b in flips)


def test_lines_combine_into_the_plant_series_by_the_charts_rule() -> None:
    per_line = [
        PeriodValue("2026-11-02", "L1", 0.2, 2, 10),
        PeriodValue("2026-11-02", "L2", 0.1, 3, 30),
        PeriodValue("2026-11-03", "L1", None, None, None),
        PeriodValue("2026-11-03", "L2", 0.25, 1, 4),
    ]
    pooled = combine_lines("p", per_line)
    assert [(v.period, v.count, v.n) for v in pooled] == [
        ("2026-11-02", 5, 40),
        ("2026-11-03", 1, 4),
    ]
    assert pooled[0].value == 5 / 40
    counts = [PeriodValue("2026-W45", "L1", 3), PeriodValue("2026-W45", "L2", 4)]
    assert [v.value for v in combine_lines("c", counts)] == [7]
    assert [v.value for v in combine_lines("xmr", counts)] == [3.5]
