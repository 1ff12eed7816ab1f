"""Directly-follows graph, start/end activities, variants and bottlenecks on hand-made logs."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest

from andon.analytics.discovery import (
    discover_dfg,
    discover_stage_times,
    discover_variants,
    rank_bottlenecks,
)
from tests.unit.analytics.mining_logs import ordered_log

HOUR = 3600.0


def test_edges_count_directly_follows_pairs_within_cases() -> None:
    ordered = ordered_log(
        [("1", "a", 0), ("1", "b", 1), ("1", "c", 2), ("2", "a", 0), ("2", "c", 5)]
    )
    graph = discover_dfg(ordered)
    assert {(e.source, e.target): e.frequency for e in graph.edges} == {
        ("a", "b"): 1,
        ("b", "c"): 1,
        ("a", "c"): 1,
    }
    assert all(e.performance is None for e in graph.edges)


def test_rows_out_of_order_are_ordered_by_timestamp() -> None:
    ordered = ordered_log([("1", "late", 5), ("1", "early", 1)])
    graph = discover_dfg(ordered)
    assert [(e.source, e.target) for e in graph.edges] == [("early", "late")]
    assert graph.start_activities == {"early": 1}


def test_equal_timestamps_follow_source_order() -> None:
    ordered = ordered_log([("1", "x", 1), ("1", "b", 2), ("1", "a", 2)])
    graph = discover_dfg(ordered)
    assert {(e.source, e.target) for e in graph.edges} == {("x", "b"), ("b", "a")}
    assert graph.end_activities == {"a": 1}


def test_single_event_case_counts_as_start_and_end_without_edges() -> None:
    ordered = ordered_log([("solo", "a", 0), ("pair", "a", 0), ("pair", "b", 1)])
    graph = discover_dfg(ordered)
    assert graph.start_activities == {"a": 2}
    assert graph.end_activities == {"a": 1, "b": 1}
    assert [(e.source, e.target, e.frequency) for e in graph.edges] == [("a", "b", 1)]


def test_performance_median_is_mean_of_middle_values_and_stdev_is_sample() -> None:
    waits = [1, 2, 4, 10]  # hours
    rows = [row for i, w in enumerate(waits) for row in ((str(i), "a", 0), (str(i), "b", w))]
    perf = discover_dfg(ordered_log(rows), performance=True).edges[0].performance
    assert perf is not None
    seconds = [w * HOUR for w in waits]
    assert perf.median == pytest.approx(3 * HOUR)
    assert perf.mean == pytest.approx(statistics.mean(seconds))
    assert perf.stdev == pytest.approx(statistics.stdev(seconds))
    assert (perf.min, perf.max, perf.sum) == (HOUR, 10 * HOUR, 17 * HOUR)


def test_sum_mean_and_stdev_are_exact_whatever_order_the_rows_come_in() -> None:
    # Sub-second waits whose float sum depends on the order of the additions
    # (0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1): the figures come from whole microseconds.
    micros = [100_000, 200_000, 300_000, 1_234_567, 7]
    rows = [
        row
        for i, us in enumerate(micros)
        for row in ((str(i), "a", 0), (str(i), "b", us / 1e6 / HOUR))
    ]
    forward = discover_dfg(ordered_log(rows), performance=True).edges[0].performance
    backward = discover_dfg(ordered_log(rows[::-1]), performance=True).edges[0].performance
    assert forward == backward
    assert forward is not None
    n, total = len(micros), sum(micros)
    assert forward.sum == float(Fraction(total, 10**6))
    assert forward.mean == float(Fraction(total, n * 10**6))
    variance = Fraction(n * sum(us * us for us in micros) - total * total, n * (n - 1))
    assert forward.stdev == math.sqrt(variance) / 1e6
    assert forward.stdev == pytest.approx(statistics.stdev(us / 1e6 for us in micros))


def test_stdev_of_a_single_observation_is_none() -> None:
    perf = discover_dfg(ordered_log([("1", "a", 0), ("1", "b", 1)]), performance=True)
    assert perf.edges[0].performance is not None
    assert perf.edges[0].performance.stdev is None
    assert perf.as_json()["edges"][0]["performance"]["stdev"] is None


def test_interval_edge_waits_from_source_completion_to_target_start() -> None:
    # b starts before a completes: the wait is negative, as in pm4py.
    ordered = ordered_log([("1", "a", 0, 2), ("1", "b", 1, 3), ("1", "c", 5, 6)])
    perf = {
        (e.source, e.target): e.performance for e in discover_dfg(ordered, performance=True).edges
    }
    assert perf[("a", "b")] is not None
    assert perf[("a", "b")].mean == -HOUR
    assert perf[("b", "c")] is not None
    assert perf[("b", "c")].mean == 2 * HOUR


def test_interval_log_orders_by_start_then_completion() -> None:
    ordered = ordered_log([("1", "long", 0, 9), ("1", "short", 1, 2)])
    assert discover_dfg(ordered).start_activities == {"long": 1}
    assert discover_variants(ordered)[0].activities == ("long", "short")
    assert discover_variants(ordered)[0].mean_duration == 9 * HOUR


def test_variants_sorted_by_cases_then_sequence_with_share_and_mean_duration() -> None:
    ordered = ordered_log(
        [
            ("1", "a", 0), ("1", "b", 2),
            ("2", "a", 0), ("2", "b", 4),
            ("3", "b", 0), ("3", "a", 1),
            ("4", "a", 0),
        ]
    )  # fmt: skip
    found = discover_variants(ordered)
    assert [(v.activities, v.cases) for v in found] == [
        (("a", "b"), 2),
        (("a",), 1),
        (("b", "a"), 1),
    ]
    assert found[0].share == 0.5
    assert found[0].mean_duration == 3 * HOUR
    assert found[1].mean_duration == 0.0
    assert discover_variants(ordered, limit=1) == found[:1]


def test_bottlenecks_rank_edges_by_total_and_by_median_wait() -> None:
    ordered = ordered_log(
        [
            ("1", "a", 0), ("1", "b", 1), ("1", "c", 11),
            ("2", "a", 0), ("2", "b", 1), ("2", "c", 2),
            ("3", "a", 0), ("3", "b", 1), ("3", "c", 2),
        ]
    )  # fmt: skip
    graph = discover_dfg(ordered, performance=True)
    ranking = rank_bottlenecks(graph, discover_stage_times(ordered))
    by_total = ranking["edges_by_total_wait"]
    assert [(b.source, b.target, b.total_seconds) for b in by_total] == [
        ("b", "c", 12 * HOUR),
        ("a", "b", 3 * HOUR),
    ]
    # Equal medians (one hour each): the tie goes by name.
    assert [(b.source, b.median_seconds) for b in ranking["edges_by_median_wait"]] == [
        ("a", HOUR),
        ("b", HOUR),
    ]
    assert ranking["stages_by_total_time"][0].source == "b"
