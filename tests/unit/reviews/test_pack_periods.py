"""Which periods of a metric an ISO week covers, and the week's value from them."""

from __future__ import annotations

from typing import Any

import pytest

from andon.core.errors import InvalidInput
from andon.metrics.definition import MetricDefinition, parse_definition
from andon.metrics.series import PeriodValue
from andon.reviews.service import _week_value, parse_week, recent_weeks, review_ref, week_periods


def defn(period: str, chart: str = "xmr") -> MetricDefinition:
    doc: dict[str, Any] = {
        "key": "m",
        "name": "M",
        "unit": "count",
        "direction": "lower_is_better",
        "kind": "lagging",
        "owner": "quality",
        "source": "manual",
        "period": period,
        "chart": chart,
    }
    return parse_definition(doc)


def test_a_day_metric_takes_the_seven_days_of_the_week() -> None:
    days = week_periods(defn("day"), parse_week("2026-W01"))
    assert days == [
        "2025-12-29",
        "2025-12-30",
        "2025-12-31",
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
    ]


def test_a_week_metric_takes_the_week() -> None:
    assert week_periods(defn("week"), parse_week("2026-W47")) == ["2026-W47"]


@pytest.mark.parametrize(
    ("week", "month"),
    [
        # Monday 29 December 2025, Thursday 1 January 2026: the week is January's.
        ("2026-W01", "2026-01"),
        # Monday 27 April, Thursday 30 April: April's, though it ends on 3 May.
        ("2026-W18", "2026-04"),
        # Monday 30 November 2026 falls in November, its Thursday 3 December in December.
        ("2026-W49", "2026-12"),
    ],
)
def test_a_month_metric_takes_the_month_of_the_weeks_thursday(week: str, month: str) -> None:
    assert week_periods(defn("month"), parse_week(week)) == [month]


def test_week_value_of_xmr_is_the_mean_of_days_with_data() -> None:
    values = [
        PeriodValue("a", None, 4.0),
        PeriodValue("b", None, None),
        PeriodValue("c", None, 8.0),
    ]
    assert _week_value("xmr", values) == 6.0


def test_week_value_of_a_p_chart_is_the_pooled_rate() -> None:
    values = [PeriodValue("a", None, 0.1, 1, 10), PeriodValue("b", None, 0.3, 9, 30)]
    assert _week_value("p", values) == pytest.approx(0.25)


def test_a_week_with_no_data_has_no_value() -> None:
    assert _week_value("xmr", [PeriodValue("a", None, None)]) is None
    assert _week_value("p", []) is None


def test_recent_weeks_count_back_across_the_year() -> None:
    from datetime import date

    assert recent_weeks(date(2026, 1, 7), 3) == ["2026-W02", "2026-W01", "2025-W52"]


def test_review_links_name_the_week_and_the_area() -> None:
    assert review_ref("2026-W47", None) == "2026-W47"
    assert review_ref("2026-W47", "ASM") == "2026-W47/ASM"


def test_a_week_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_week("2025-W53")  # 2025 has 52 ISO weeks
    assert refused.value.errors[0].loc == ("week",)


@pytest.mark.parametrize("week", ["0001-W01", "1969-W52", "9999-W01"])
def test_weeks_outside_the_supported_years_are_refused(week: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_week(week)
    assert refused.value.errors[0].loc == ("week",)
