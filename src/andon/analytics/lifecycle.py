"""Lifecycle logs made interval logs: each ``start`` paired with its ``complete``.

Machine and operator data often record an activity twice, ``lifecycle:transition`` =
``start`` when it begins and ``complete`` when it ends. :func:`pair_lifecycle` turns such a
log into an interval log, as pm4py's ``interval_lifecycle.to_interval`` does:

- Within a case, events of one activity (and one ``concept:instance``, when the log has
  that column) are taken in case order (timestamp, then source order). Each ``start``
  joins a queue; each ``complete`` takes the oldest waiting start as its own start time,
  or, with none waiting, starts when it completes (a zero-length interval).
- A start that no complete takes is dropped; so is every other transition (``schedule``,
  ``suspend``, ...). An event without a transition counts as a ``complete``; transitions
  match case-insensitively.

The queue is computed with window functions, not a loop: with ``+1`` for a start and
``-1`` for a complete, and ``P`` the running sum, the queue before a complete holds
``P_before - min(0, lowest P so far)`` starts (a counter that cannot go below zero); a
complete is matched when that is positive, and the ``n``-th matched complete takes the
``n``-th start, because the queue is first in, first out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from andon.analytics.log import ACTIVITY, CASE, LIFECYCLE, ORDER, START, TIMESTAMP, EventLog
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

# XES's concept extension: which instance of an activity an event belongs to.
INSTANCE = "concept:instance"

_STEP, _RUN, _LOW, _LOW_BEFORE = "_lc_step", "_lc_run", "_lc_low", "_lc_low_before"
_IS_START, _MATCHED, _NTH, _INSTANCE = "_lc_is_start", "_lc_matched", "_lc_nth", "_lc_instance"
_NTH_MATCHED, _PAIRED_START, _START_KEY = "_lc_nth_matched", "_lc_paired_start", "_lc_s"


def pair_lifecycle(log: EventLog) -> EventLog:
    """``log`` with every ``complete`` carrying its paired start, starts removed.

    A log that already has start times is returned as it is (pm4py does the same). One
    without a single ``start`` event is refused: pairing would only turn every event into
    a zero-length interval, which is never what was meant.
    """
    import ibis

    from andon.analytics.results import fetch_scalar

    table = log.table
    if log.interval:
        return log
    transition = table[LIFECYCLE].lower().fill_null("complete") if LIFECYCLE in table else None
    if transition is None or not fetch_scalar((transition == "start").any()):
        raise InvalidInput.for_field(
            "lifecycle",
            "the log has no start events (XES lifecycle:transition = start) to pair",
        )
    keys = [CASE, ACTIVITY, _INSTANCE]
    instance = (
        table[INSTANCE].cast("string").fill_null("")
        if INSTANCE in table.columns
        else ibis.literal("")
    )
    steps = table.filter(transition.isin(["start", "complete"])).mutate(
        **{_IS_START: transition == "start", _INSTANCE: instance}
    )
    steps = steps.mutate(**{_STEP: steps[_IS_START].ifelse(1, -1)})
    order = [steps[TIMESTAMP], steps[ORDER]]
    so_far = ibis.cumulative_window(group_by=keys, order_by=order)
    steps = steps.mutate(**{_RUN: steps[_STEP].sum().over(so_far)})
    steps = steps.mutate(**{_LOW: steps[_RUN].min().over(so_far)})
    in_order = ibis.window(group_by=keys, order_by=order)
    steps = steps.mutate(**{_LOW_BEFORE: steps[_LOW].lag().over(in_order)})
    # Before a complete the running sum was one higher; the lowest sum before it counts
    # the empty queue at the start of the case as 0.
    waiting = (steps[_RUN] + 1) - ibis.least(0, steps[_LOW_BEFORE].fill_null(0))
    steps = steps.mutate(**{_MATCHED: ~steps[_IS_START] & (waiting > 0)})
    # The n-th start and the n-th matched complete pair up; unmatched completes get none.
    steps = steps.mutate(
        **{
            _NTH: steps[_IS_START].ifelse(1, 0).sum().over(so_far),
            _NTH_MATCHED: steps[_MATCHED].ifelse(1, 0).sum().over(so_far),
        }
    )
    join_keys = [*keys, _NTH]
    starts = steps.filter(steps[_IS_START]).select(
        **{_START_KEY + k: steps[k] for k in join_keys}, **{_PAIRED_START: steps[TIMESTAMP]}
    )
    completes = steps.filter(~steps[_IS_START])
    completes = completes.mutate(
        **{_NTH: completes[_MATCHED].ifelse(completes[_NTH_MATCHED], ibis.null("int64"))}
    )
    paired = completes.left_join(
        starts,
        [completes[k] == starts[_START_KEY + k] for k in join_keys],
    )
    began = paired[_PAIRED_START].fill_null(paired[TIMESTAMP])
    result: ir.Table = paired.select(
        *(began.name(START) if name == START else paired[name] for name in table.columns)
    )
    return replace(log, table=result, interval=True)
