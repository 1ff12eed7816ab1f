"""The KPIs of a prepared log's kept cases: ``andon kpi --json`` of the filtered log, from
the cases, variants, edges and stages of its prepared form rather than its events.

Each figure is computed from the same integers as :func:`~andon.analytics.kpis.compute_kpis`
computes it on the ordered events (durations and waits in whole microseconds, seconds
derived from them the same way), so the documents are equal to the last digit; the test
suite checks it for every kind of filter. The prepared form has no exception attribute and
no extension figures: its document has neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from andon.analytics.discovery import (
    FREQUENCY,
    SOURCE,
    Dfg,
    Performance,
    Variant,
    stage_times_from,
    stage_times_of_rows,
    wait_statistics,
)
from andon.analytics.kpis import Kpis, kpis_of_cases, rework_in_variants
from andon.analytics.log import ACTIVITY
from andon.analytics.ordering import MICROSECONDS
from andon.analytics.prepared import (
    STAGE_US,
    WAIT_US,
    PreparedLog,
    dfg_performance,
    of_kept,
    performance_edges,
)
from andon.analytics.prepared import variants as kept_variants
from andon.analytics.results import fetch_rows

if TYPE_CHECKING:
    import ibis.expr.types as ir


def prepared_kpis(
    prepared: PreparedLog,
    kept: ir.Table,
    *,
    dfg: Dfg | None = None,
    variants: Sequence[Variant] | None = None,
    edge_rows: list[dict[str, Any]] | None = None,
) -> Kpis:
    """The KPI document of the kept cases (the table :func:`~andon.analytics.prepared.kept_cases`
    yields), equal to ``compute_kpis`` on the log filtered the same way.

    ``dfg`` (:func:`~andon.analytics.prepared.dfg_performance`), ``variants`` (every
    variant, :func:`~andon.analytics.prepared.variants`) and ``edge_rows``
    (:func:`~andon.analytics.prepared.performance_edges`) of the same kept cases are reused
    when the caller has them.
    """
    if edge_rows is None and (dfg is None or prepared.stages is None):
        edge_rows = performance_edges(prepared, kept)
    if dfg is None:
        dfg = dfg_performance(prepared, kept, rows=edge_rows)
    if variants is None:
        variants = kept_variants(prepared, kept)
    return kpis_of_cases(
        kept,
        rework=rework_in_variants(variants),
        stages=stage_times(prepared, kept, edge_rows=edge_rows),
        dfg=dfg,
    )


def stage_times(
    prepared: PreparedLog, kept: ir.Table, *, edge_rows: list[dict[str, Any]] | None = None
) -> dict[str, tuple[int, Performance]]:
    """Per activity, the kept cases' time in stage (see ``ordering``): completion minus
    start per event for an interval log, else the wait to the case's next event, which is
    the edges' wait grouped by their source.

    For a log without starts, ``edge_rows`` (:func:`~andon.analytics.prepared.performance_edges`
    of the same kept cases) give every figure but the median, summed over each source's
    pairs (counts, exact sums, extremes add up; a median does not): only the medians are
    then read from the edges.
    """
    if prepared.stages is None:
        timed, activity, micros = prepared.edges, SOURCE, WAIT_US
    else:
        timed, activity, micros = prepared.stages, ACTIVITY, STAGE_US
    timed = of_kept(timed, kept)
    if prepared.stages is None and edge_rows is not None:
        # The integer median, as wait_statistics takes it.
        medians = timed.group_by(**{ACTIVITY: timed[activity]}).agg(
            median_us=timed[micros].median()
        )
        return stage_times_of_rows(_by_source(edge_rows, fetch_rows(medians)))
    # The seconds exactly as ordering computes them, so medians and extremes are equal.
    seconds = timed[micros] / MICROSECONDS
    return stage_times_from(
        timed.group_by(**{ACTIVITY: timed[activity]}).agg(
            occurrences=timed.count(), **wait_statistics(seconds, timed[micros])
        )
    )


def _by_source(
    edge_rows: list[dict[str, Any]], medians: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows ``stage_times_expr`` gives, from the pairs' rows grouped by their source."""
    totals: dict[str, dict[str, Any]] = {
        row[ACTIVITY]: {
            ACTIVITY: row[ACTIVITY],
            "median_us": row["median_us"],
            "occurrences": 0,
            "timed": 0,
            "sum_us": 0,
            "sum_squares_us": 0,
            "min_us": None,
            "max_us": None,
        }
        for row in medians
    }
    for row in edge_rows:
        total = totals[row[SOURCE]]
        total["occurrences"] += int(row[FREQUENCY])
        total["timed"] += int(row["timed"])
        total["sum_us"] += int(row["sum_us"])
        total["sum_squares_us"] += int(row["sum_squares_us"])
        low, high = int(row["min_us"]), int(row["max_us"])
        total["min_us"] = low if total["min_us"] is None else min(total["min_us"], low)
        total["max_us"] = high if total["max_us"] is None else max(total["max_us"], high)
    return list(totals.values())
