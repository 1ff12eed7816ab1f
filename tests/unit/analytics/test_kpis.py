"""KPIs on hand-made logs: durations, rework, yield, throughput, WIP, stages, exceptions."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from andon.analytics.discovery import discover_stage_times, discover_variants
from andon.analytics.kpis import (
    case_duration_summary,
    compute_kpis,
    exception_pareto,
    first_pass_yield,
    rework_cases,
    rework_in_variants,
    throughput,
    throughput_of_spans,
    wip_of_spans,
    wip_per_day,
)
from andon.core.errors import InvalidInput
from tests.unit.analytics.mining_logs import ordered_log

HOUR = 3600.0
DAY = 24.0  # hours


def test_mean_case_durations_are_exact_whatever_order_the_cases_come_in() -> None:
    # Durations (µs, up to ~11 days) whose float mean depends on the order of the additions.
    micros = [103980964142, 32160099459, 918664801511, 474120618638, 840127549047, 3294916954]
    micros.append(492614851161)
    rows = [
        row
        for i, us in enumerate(micros)
        for row in ((str(i), "a", 0), (str(i), "z", us / 1e6 / HOUR))
    ]
    exact = float(Fraction(sum(micros), len(micros) * 10**6))
    for order in (rows, rows[::-1]):
        ordered = ordered_log(order)
        assert case_duration_summary(ordered.cases).mean == exact
        assert discover_variants(ordered)[0].mean_duration == exact


def test_case_duration_summary_interpolates_p90_like_numpy() -> None:
    spans = [1, 2, 3, 4, 10]  # hours
    rows = [row for i, s in enumerate(spans) for row in ((str(i), "a", 0), (str(i), "z", s))]
    summary = case_duration_summary(ordered_log(rows).cases)
    seconds = np.array(spans) * HOUR
    assert summary.p90 == pytest.approx(float(np.percentile(seconds, 90)))
    assert summary.median == 3 * HOUR
    assert (summary.min, summary.max) == (HOUR, 10 * HOUR)
    assert summary.mean == pytest.approx(4 * HOUR)


def test_rework_counts_cases_per_repeated_activity_and_yield_the_rest() -> None:
    ordered = ordered_log(
        [
            ("1", "a", 0), ("1", "b", 1), ("1", "a", 2), ("1", "a", 3),
            ("2", "b", 0), ("2", "b", 1),
            ("3", "a", 0), ("3", "b", 1),
            ("4", "c", 0),
        ]
    )  # fmt: skip
    assert rework_cases(ordered) == {"a": 1, "b": 1}
    figures = compute_kpis(ordered)
    assert figures.rework_rate == 0.5
    assert figures.first_pass_yield == 0.5
    assert (figures.cases, figures.events) == (4, 9)
    # Counted on the variants, as `andon mine report` does, the figures are the same.
    from_variants = compute_kpis(ordered, variants=discover_variants(ordered))
    assert from_variants.as_json() == figures.as_json()
    assert rework_in_variants(discover_variants(ordered)) == (2, {"a": 1, "b": 1})


def test_exception_events_fail_first_pass_and_make_the_pareto() -> None:
    rows = [("1", "a", 0), ("1", "b", 1), ("2", "a", 0), ("2", "b", 1), ("3", "a", 0)]
    flags = ["", "scrap", None, "scrap", "jam"]
    ordered = ordered_log(rows, extra={"exception": flags}, attributes=("exception",))
    assert first_pass_yield(ordered) == 1.0
    assert first_pass_yield(ordered, exception_attribute="exception") == 0.0
    pareto = exception_pareto(ordered, "exception")
    assert [(k.kind, k.events, k.cases) for k in pareto] == [("scrap", 2, 2), ("jam", 1, 1)]
    assert [k.cumulative_share for k in pareto] == pytest.approx([2 / 3, 1.0])


def test_values_saying_no_are_not_exceptions() -> None:
    rows = [("1", "a", 0), ("2", "a", 0), ("3", "a", 0)]
    ordered = ordered_log(
        rows, extra={"exception": ["false", "0", "No"]}, attributes=("exception",)
    )
    assert exception_pareto(ordered, "exception") == []


def test_throughput_counts_cases_by_the_day_and_iso_week_of_their_last_event() -> None:
    # T0 is Monday 2024-01-01 08:00 UTC.
    ordered = ordered_log(
        [
            ("1", "a", 0), ("1", "b", 2),
            ("2", "a", 0), ("2", "b", 3),
            ("3", "a", 0), ("3", "b", 7 * DAY),
        ]
    )  # fmt: skip
    assert throughput(ordered.cases) == [
        {"date": "2024-01-01", "cases": 2},
        {"date": "2024-01-08", "cases": 1},
    ]
    assert throughput(ordered.cases, period="week") == [
        {"week": "2024-01-01", "cases": 2},
        {"week": "2024-01-08", "cases": 1},
    ]
    with pytest.raises(InvalidInput):
        throughput(ordered.cases, period="month")


def test_throughput_and_wip_come_from_one_count_of_case_spans_even_before_1970() -> None:
    # (opening day, day after closing, cases), days since 1970-01-01 (a Thursday).
    spans = [(-10, -3, 2), (-5, 1, 1), (0, 5, 3)]
    assert throughput_of_spans(spans) == [
        {"date": "1969-12-28", "cases": 2},  # a Sunday: its ISO week began on 12-22
        {"date": "1970-01-01", "cases": 1},
        {"date": "1970-01-05", "cases": 3},
    ]
    assert throughput_of_spans(spans, period="week") == [
        {"week": "1969-12-22", "cases": 2},
        {"week": "1969-12-29", "cases": 1},
        {"week": "1970-01-05", "cases": 3},
    ]
    series = wip_of_spans(spans)
    assert series[0] == {"date": "1969-12-22", "open_cases": 2}
    assert series[-1] == {"date": "1970-01-05", "open_cases": 3}
    assert len(series) == 15
    assert wip_of_spans([]) == []


def test_wip_counts_open_cases_on_every_day_including_quiet_ones() -> None:
    ordered = ordered_log(
        [("1", "a", 0), ("1", "b", 3 * DAY), ("2", "a", DAY), ("2", "b", DAY + 1)]
    )
    assert wip_per_day(ordered.cases) == [
        {"date": "2024-01-01", "open_cases": 1},
        {"date": "2024-01-02", "open_cases": 2},
        {"date": "2024-01-03", "open_cases": 1},
        {"date": "2024-01-04", "open_cases": 1},
    ]


def test_time_in_stage_is_the_wait_to_the_next_event_or_the_interval() -> None:
    plain = discover_stage_times(ordered_log([("1", "a", 0), ("1", "b", 2)]))
    assert plain["a"][1].sum == 2 * HOUR
    assert "b" not in plain  # the last event has no next one
    interval = discover_stage_times(ordered_log([("1", "a", 0, 1), ("1", "b", 2, 5)]))
    assert (interval["a"][1].sum, interval["b"][1].sum) == (HOUR, 3 * HOUR)


def test_extensions_add_figures_and_may_not_redefine_one() -> None:
    ordered = ordered_log([("1", "a", 0), ("1", "b", 1)])
    figures = compute_kpis(ordered, extensions=[lambda log: {"sla_attainment": 0.75}])
    document = figures.as_json()
    assert document["sla_attainment"] == 0.75
    assert document["cases"] == 1
    with pytest.raises(InvalidInput, match="cases"):
        compute_kpis(ordered, extensions=[lambda log: {"cases": 0}])
