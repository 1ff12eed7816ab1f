from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import InvalidInput
from andon.improvement import risk_matrix as m

DAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("likelihood", "severity", "band"),
    [
        (1, 1, "low"),
        (2, 2, "low"),
        (1, 5, "medium"),
        (3, 3, "medium"),
        (2, 5, "high"),
        (4, 4, "high"),
        (4, 5, "extreme"),
        (5, 5, "extreme"),
    ],
)
def test_band_of_a_score(likelihood: int, severity: int, band: str) -> None:
    assert m.band_of(likelihood, severity) == band


@given(st.integers(1, 5), st.integers(1, 5))
def test_every_cell_has_exactly_the_band_of_its_score(likelihood: int, severity: int) -> None:
    product = likelihood * severity
    floors = [f for f in m.BAND_FLOORS.values() if f <= product]
    assert m.BAND_FLOORS[m.band(product)] == max(floors)
    assert m.score(likelihood, severity) == product


def test_unassessed_risk_has_no_band() -> None:
    assert m.band_of(None, 3) is None


@pytest.mark.parametrize("value", [0, 6, -1])
def test_a_score_off_the_scale_is_refused_naming_the_field(value: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        m.check_assessment(3, value, None, None)
    assert [e.loc for e in refused.value.errors] == [("inherent_severity",)]


def test_residual_worse_than_inherent_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        m.check_assessment(2, 4, 3, 4)
    assert [e.loc for e in refused.value.errors] == [("residual_likelihood",)]


def test_half_a_pair_and_residual_without_inherent_are_refused() -> None:
    with pytest.raises(InvalidInput) as half:
        m.check_assessment(2, None, None, None)
    assert half.value.errors[0].loc == ("inherent_severity",)
    with pytest.raises(InvalidInput) as alone:
        m.check_assessment(None, None, 1, 1)
    assert alone.value.errors[0].loc == ("inherent_likelihood",)
    m.check_assessment(4, 5, 2, 5)  # a lower residual likelihood is what mitigation does


def test_heat_map_counts_cells_with_likelihood_5_on_top() -> None:
    grid = m.heat_map([(5, 1), (5, 1), (1, 5)])
    assert len(grid) == 5
    assert all(len(row) == 5 for row in grid)
    assert (grid[0][0].likelihood, grid[0][0].severity, grid[0][0].count) == (5, 1, 2)
    assert (grid[4][4].likelihood, grid[4][4].severity, grid[4][4].count) == (1, 5, 1)
    assert grid[0][4].band == "extreme"
    assert grid[4][0].band == "low"
    assert sum(c.count for row in grid for c in row) == 3


def test_threshold_comparisons() -> None:
    assert m.threshold_met(2.0, "le", 2.0)
    assert not m.threshold_met(2.0, "lt", 2.0)
    assert m.threshold_met(3.0, "gt", 2.0)
    assert not m.threshold_met(1.0, "ge", 2.0)


def test_verification_state() -> None:
    assert m.verification_state(None, None, None, DAY) == "none"
    assert m.verification_state("check", None, None, DAY) == "due"
    assert m.verification_state("check", "met", date(2026, 12, 6), DAY) == "overdue"
    assert m.verification_state("check", "met", DAY, DAY) == "due"
    assert m.verification_state("check", "met", date(2026, 12, 30), DAY) == "met"
    assert m.verification_state("metric", "not_met", None, DAY) == "not_met"
    assert m.verification_state("metric", None, None, DAY) == "due"
