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
from typing import TYPE_CHECKING

from andon.analytics.discovery import (
    SOURCE,
    Dfg,
    Performance,
    Variant,
    stage_times_from,
    wait_statistics,
)
from andon.analytics.kpis import Kpis, kpis_of_cases, rework_in_variants
from andon.analytics.log import ACTIVITY
from andon.analytics.ordering import CASE_KEY, MICROSECONDS
from andon.analytics.prepared import STAGE_US, WAIT_US, PreparedLog, dfg_performance
from andon.analytics.prepared import variants as kept_variants

if TYPE_CHECKING:
    import ibis.expr.types as ir


def prepared_kpis(
    prepared: PreparedLog,
    kept: ir.Table,
    *,
    dfg: Dfg | None = None,
    variants: Sequence[Variant] | None = None,
) -> Kpis:
    """The KPI document of the kept cases (the table :func:`~andon.analytics.prepared.kept_cases`
    yields), equal to ``compute_kpis`` on the log filtered the same way.

    ``dfg`` (:func:`~andon.analytics.prepared.dfg_performance`) and ``variants`` (every
    variant, :func:`~andon.analytics.prepared.variants`) of the same kept cases are reused
    when the caller has them.
    """
    if dfg is None:
        dfg = dfg_performance(prepared, kept)
    if variants is None:
        variants = kept_variants(prepared, kept)
    return kpis_of_cases(
        kept,
        rework=rework_in_variants(variants),
        stages=stage_times(prepared, kept),
        dfg=dfg,
    )


def stage_times(prepared: PreparedLog, kept: ir.Table) -> dict[str, tuple[int, Performance]]:
    """Per activity, the kept cases' time in stage (see ``ordering``): completion minus
    start per event for an interval log, else the wait to the case's next event, which is
    the edges' wait grouped by their source."""
    if prepared.stages is None:
        timed, activity, micros = prepared.edges, SOURCE, WAIT_US
    else:
        timed, activity, micros = prepared.stages, ACTIVITY, STAGE_US
    timed = timed.semi_join(kept.select(CASE_KEY), CASE_KEY)
    # The seconds exactly as ordering computes them, so medians and extremes are equal.
    seconds = timed[micros] / MICROSECONDS
    return stage_times_from(
        timed.group_by(**{ACTIVITY: timed[activity]}).agg(
            occurrences=timed.count(), **wait_statistics(seconds, timed[micros])
        )
    )
