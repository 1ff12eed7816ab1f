"""Case filters: each keeps or drops whole cases, before discovery and KPIs."""

from __future__ import annotations

from datetime import datetime

import pytest

from andon.analytics.discovery import discover_dfg, discover_variants
from andon.analytics.filters import CaseFilters, apply_filters
from andon.analytics.kpis import compute_kpis
from andon.core.errors import InvalidInput
from tests.unit.analytics.mining_logs import at, ordered_log

ROWS = [
    ("1", "a", 0), ("1", "b", 1), ("1", "c", 2),
    ("2", "a", 10), ("2", "c", 11),
    ("3", "b", 20), ("3", "c", 21),
    ("4", "a", 30), ("4", "b", 31), ("4", "c", 32),
]  # fmt: skip


def _cases(filters: CaseFilters, **kwargs: object) -> set[str]:
    ordered = ordered_log(ROWS, attributes=filters.attribute_columns(), **kwargs)
    ordered = apply_filters(ordered, filters)
    return set(ordered.cases.case_id.to_pyarrow().to_pylist())


def test_time_range_contained_keeps_cases_wholly_inside() -> None:
    filters = CaseFilters(time_from=at(1), time_to=at(21), time_mode="contained")
    assert _cases(filters) == {"2", "3"}


def test_time_range_intersecting_keeps_cases_touching_it() -> None:
    filters = CaseFilters(time_from=at(1), time_to=at(20))
    assert _cases(filters) == {"1", "2", "3"}


def test_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        _cases(CaseFilters(time_from=datetime(2024, 1, 1)))


def test_attribute_keeps_cases_with_any_event_having_a_value() -> None:
    lines = ["L1", "L1", "L2", "L3", "L3", "L2", "L2", "L4", "L4", "L4"]
    filters = CaseFilters(attributes={"line": ("L2", "L4")})
    assert _cases(filters, extra={"line": lines}) == {"1", "3", "4"}


def test_start_and_end_activities() -> None:
    assert _cases(CaseFilters(start_activities=("b",))) == {"3"}
    assert _cases(CaseFilters(end_activities=("c",))) == {"1", "2", "3", "4"}


def test_variants_include_and_exclude_whole_sequences() -> None:
    assert _cases(CaseFilters(variants=(("a", "b", "c"),))) == {"1", "4"}
    assert _cases(CaseFilters(exclude_variants=(("a", "b", "c"), ("b", "c")))) == {"2"}


def test_top_variants_keep_the_most_frequent_and_break_ties_by_sequence() -> None:
    assert _cases(CaseFilters(top_variants=1)) == {"1", "4"}
    # ("a","c") sorts before ("b","c"): it wins the tie for second place.
    assert _cases(CaseFilters(top_variants=2)) == {"1", "2", "4"}


def test_filtered_log_gives_the_graph_of_the_kept_cases_only() -> None:
    ordered = apply_filters(ordered_log(ROWS), CaseFilters(start_activities=("a",)))
    graph = discover_dfg(ordered)
    assert {(e.source, e.target): e.frequency for e in graph.edges} == {
        ("a", "b"): 2,
        ("b", "c"): 2,
        ("a", "c"): 1,
    }
    assert [v.cases for v in discover_variants(ordered)] == [2, 1]


def test_filter_keeping_nothing_gives_empty_results() -> None:
    ordered = apply_filters(ordered_log(ROWS), CaseFilters(start_activities=("zzz",)))
    assert discover_dfg(ordered).edges == []
    figures = compute_kpis(ordered)
    assert (figures.cases, figures.events, figures.rework_rate) == (0, 0, 0.0)
    assert figures.wip_per_day == []


def test_unknown_attribute_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        _cases(CaseFilters(attributes={"nope": ("x",)}))
