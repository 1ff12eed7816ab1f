"""Tables stored on a backend are remembered only while the Ibis table reading them lives."""

from __future__ import annotations

import gc

import ibis

from andon.analytics import ordering
from tests.unit.analytics.mining_logs import event_log


def test_a_collected_table_leaves_no_entry_that_a_later_object_could_match() -> None:
    stored = ordering.store(event_log([("1", "a", 0)]).table, "duckdb")
    key = id(stored)
    assert key in ordering._stored_tables
    del stored
    gc.collect()
    assert key not in ordering._stored_tables


def test_only_the_stored_table_itself_is_forgotten_under_its_name() -> None:
    stored = ordering.store(event_log([("1", "a", 0)]).table, "duckdb")
    other = ibis.memtable({"one": [1]})
    assert ordering._forget_stored(other) is None
    name = ordering._forget_stored(stored)
    assert name is not None
    assert name.startswith("andon_ordered_")
    assert ordering._forget_stored(stored) is None
    assert stored.count().execute() == 1  # forgetting a name drops nothing
