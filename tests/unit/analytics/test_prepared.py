"""The prepared form answers every filter exactly as the unprepared path does: the DFG, the
variants and the KPIs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from andon.analytics.discovery import discover_dfg, discover_variants
from andon.analytics.filters import CaseFilters
from andon.analytics.kpis import compute_kpis
from andon.analytics.log import EventLog
from andon.analytics.ordering import order_and_store, release
from andon.analytics.prepared import (
    FORMAT_VERSION,
    MASK_BITS,
    PreparedLog,
    dfg_frequency,
    documents,
    filterable_columns,
    kept_cases,
    open_prepared,
    prepare,
    prepared_format,
    release_prepared,
    select_cases,
    write_prepared,
)
from andon.analytics.prepared_kpis import prepared_kpis
from andon.analytics.report import prepare as order_and_filter
from andon.analytics.report import variants_json
from andon.analytics.sources import read_log
from andon.core.errors import InvalidInput
from tests.unit.analytics.conftest import data_file
from tests.unit.analytics.mining_logs import at, event_log

# Tricky on purpose: equal timestamps inside a case (source order decides) and across
# cases, one-event cases, repeated activities, a case whose events arrive out of order,
# and a resource that is sometimes missing.
ROWS = [
    ("c1", "a", 0), ("c1", "b", 1), ("c1", "c", 2),
    ("c2", "a", 0), ("c2", "c", 1),
    ("c3", "b", 3), ("c3", "b", 3), ("c3", "c", 4),
    ("c4", "a", 5),
    ("c5", "a", 6), ("c5", "b", 6), ("c5", "b", 6.5), ("c5", "c", 8),
    ("c6", "c", 9),
    ("c7", "a", 7), ("c7", "b", 8), ("c7", "c", 9),
    ("c8", "b", 11), ("c8", "a", 10), ("c8", "c", 12),
    ("c9", "a", 1), ("c9", "c", 2),
]  # fmt: skip
RESOURCES = [
    "r1", "r2", None, "r1", "r3", "r2", "r2", None, "r4", "r1", None, "r2", "r3",
    "r4", "r1", "r2", "r3", "r2", "r1", None, "r3", "r3",
]  # fmt: skip
SHIFTS = [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 1, 2, 2, 2, 3, 3, 3, 1, 1]

# An interval log (start and completion times) whose overlapping stages give negative waits.
INTERVAL_ROWS = [
    ("i1", "a", 0, 2), ("i1", "b", 1, 3), ("i1", "c", 3, 5),
    ("i2", "a", 0, 1), ("i2", "c", 2, 4),
    ("i3", "b", 5, 5), ("i3", "c", 4, 9),
]  # fmt: skip

FILTERS = {
    "nothing": CaseFilters(),
    "time intersecting": CaseFilters(time_from=at(2), time_to=at(6)),
    "time contained": CaseFilters(time_from=at(0), time_to=at(8), time_mode="contained"),
    "time from only": CaseFilters(time_from=at(9)),
    "time to only, contained": CaseFilters(time_to=at(4), time_mode="contained"),
    "attribute": CaseFilters(attributes={"resource": ("r2", "r4")}),
    "integer attribute": CaseFilters(attributes={"shift": ("3",)}),
    "through a stage": CaseFilters(attributes={"activity": ("b",)}),
    "start activity": CaseFilters(start_activities=("a", "c")),
    "end activity": CaseFilters(end_activities=("c",)),
    "variants": CaseFilters(variants=(("a", "c"), ("b", "b", "c"), ("x",))),
    "excluded variants": CaseFilters(exclude_variants=(("a", "b", "c"),)),
    "top variant": CaseFilters(top_variants=1),
    "top variants with a tie": CaseFilters(top_variants=3),
    "more top variants than there are": CaseFilters(top_variants=50),
    "time, attribute and top variants": CaseFilters(
        time_from=at(1), time_to=at(9), attributes={"resource": ("r1",)}, top_variants=2
    ),
    "ends, two attributes, excluded variant": CaseFilters(
        start_activities=("a",),
        end_activities=("c",),
        attributes={"resource": ("r1", "r3"), "shift": ("2", "3")},
        exclude_variants=(("a", "c"),),
    ),
    "nothing kept": CaseFilters(start_activities=("zzz",)),
    "a value no event holds": CaseFilters(attributes={"resource": ("r9",), "shift": ("1",)}),
}

# How the forms under test keep the attributes: every one as a bit mask on the cases, every
# one as (attribute, value, case) rows, and mixed (``shift``'s three values as a mask,
# ``resource``'s four as rows).
ALL_MASKED, AS_ROWS, MIXED = MASK_BITS, 0, 3
FORMS = {"masks": ALL_MASKED, "rows": AS_ROWS, "mixed": MIXED}


def _log() -> EventLog:
    return event_log(ROWS, extra={"resource": RESOURCES, "shift": SHIFTS})


def _today(log: EventLog, filters: CaseFilters) -> dict[str, Any]:
    """What the unprepared path answers: order, filter, discover, as the dataset pages did
    (the performance graph reused for the KPIs' bottlenecks)."""
    ordered = order_and_filter(log, filters=filters)
    try:
        dfg = discover_dfg(ordered, performance=True)
        return {
            "dfg": dfg.as_json(),
            "variants": variants_json(discover_variants(ordered)),
            "kpi": compute_kpis(ordered, dfg=dfg).as_json(),
            "frequency": discover_dfg(ordered).as_json(),
        }
    finally:
        release(ordered)


def _prepared_answer(prepared: PreparedLog, filters: CaseFilters) -> dict[str, Any]:
    answer = documents(prepared, filters)
    answer["frequency"] = dfg_frequency(prepared, select_cases(prepared, filters)).as_json()
    # Its start and end activities counted from the variants asked with it, not again.
    with_variants = documents(prepared, filters, ("dfg_frequency", "variants"))
    assert with_variants["dfg_frequency"] == answer["frequency"]
    return answer


def _prepare(log: EventLog, masks: int = MIXED) -> PreparedLog:
    return prepare(order_and_store(log, attributes=filterable_columns(log)), masks=masks)


@pytest.fixture(scope="module", params=list(FORMS), ids=list(FORMS))
def generated(request: pytest.FixtureRequest) -> tuple[EventLog, PreparedLog]:
    log = _log()
    return log, _prepare(log, FORMS[request.param])


# The unprepared answers, by filter name: the same for each form.
_unprepared: dict[str, dict[str, Any]] = {}


def _today_of_generated(log: EventLog, name: str) -> dict[str, Any]:
    if name not in _unprepared:
        _unprepared[name] = _today(log, FILTERS[name])
    return _unprepared[name]


@pytest.mark.parametrize("name", FILTERS)
def test_prepared_answer_equals_the_unprepared_one(
    name: str, generated: tuple[EventLog, PreparedLog]
) -> None:
    log, prepared = generated
    assert _prepared_answer(prepared, FILTERS[name]) == _today_of_generated(log, name)


def test_few_valued_attributes_are_bit_masks_on_the_cases() -> None:
    log = _log()
    masked, mixed, rows = (_prepare(log, masks) for masks in (ALL_MASKED, MIXED, AS_ROWS))
    assert masked.masks == {"resource": ("r1", "r2", "r3", "r4"), "shift": ("1", "2", "3")}
    assert masked.case_attributes.count().execute() == 0
    assert mixed.masks == {"shift": ("1", "2", "3")}
    assert set(mixed.case_attributes.attribute.execute()) == {"resource"}
    assert rows.masks == {}
    # c1's events hold r1 and r2 (and one without a resource), all on shift 1.
    c1 = masked.cases.filter(masked.cases.case_id == "c1").to_pyarrow().to_pylist()[0]
    resource, shift = masked.attributes.index("resource"), masked.attributes.index("shift")
    assert c1[f"values_mask_{resource}"] == 0b0011
    assert c1[f"values_mask_{shift}"] == 0b001
    with pytest.raises(ValueError, match="between 0 and 63"):
        prepare(order_and_store(log), masks=64)


def test_answers_read_back_from_parquet_are_the_same(
    generated: tuple[EventLog, PreparedLog], tmp_path: Path
) -> None:
    log, prepared = generated
    write_prepared(prepared, tmp_path)
    reopened = open_prepared(tmp_path)
    assert reopened.attributes == ("activity", "resource", "shift")
    assert reopened.masks == prepared.masks
    for name, filters in FILTERS.items():
        assert _prepared_answer(reopened, filters) == _today_of_generated(log, name)


def test_parquet_files_are_sorted_for_filters_and_dictionary_encode_strings(
    tmp_path: Path,
) -> None:
    write_prepared(_prepare(_log(), AS_ROWS), tmp_path)
    cases = pq.read_table(tmp_path / "cases.parquet")
    starts = cases.column("first_us").to_pylist()
    assert starts == sorted(starts)
    values = pq.read_table(tmp_path / "case_attributes.parquet").column("value").to_pylist()
    assert values == sorted(values)  # a filter reads one value's rows, together
    column = pq.ParquetFile(tmp_path / "edges.parquet").metadata.row_group(0).column(1)
    assert column.path_in_schema == "source"
    assert any("DICTIONARY" in encoding for encoding in column.encodings)


def test_variant_ids_follow_the_activity_sequences(
    generated: tuple[EventLog, PreparedLog],
) -> None:
    rows = generated[1].variants.order_by("variant_id").to_pyarrow().to_pylist()
    sequences = [tuple(row["activities"]) for row in rows]
    assert sequences == sorted(sequences)
    assert sum(row["cases"] for row in rows) == 9


def test_a_column_that_was_not_prepared_is_refused(
    generated: tuple[EventLog, PreparedLog],
) -> None:
    with pytest.raises(InvalidInput, match="no column 'line'"):
        select_cases(generated[1], CaseFilters(attributes={"line": ("L1",)}))


def test_refusals_are_those_of_the_unprepared_filters(
    generated: tuple[EventLog, PreparedLog],
) -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        select_cases(generated[1], CaseFilters(top_variants=0))
    with pytest.raises(InvalidInput, match="ends before it starts"):
        select_cases(generated[1], CaseFilters(time_from=at(5), time_to=at(1)))
    with pytest.raises(InvalidInput, match="no values"):
        select_cases(generated[1], CaseFilters(attributes={"resource": ()}))


def test_interval_log_waits_and_variants_are_those_of_the_unprepared_path() -> None:
    # Overlapping stages give negative waits, as in pm4py.
    log = event_log(INTERVAL_ROWS)
    prepared = _prepare(log)
    for filters in (CaseFilters(), CaseFilters(time_from=at(3)), CaseFilters(top_variants=1)):
        assert _prepared_answer(prepared, filters) == _today(log, filters)


def test_an_interval_form_keeps_each_events_stage_time_and_reads_it_back(
    tmp_path: Path,
) -> None:
    log = event_log(INTERVAL_ROWS)
    prepared = _prepare(log)
    assert prepared.stages is not None
    assert prepared.stages.count().to_pyarrow().as_py() == len(INTERVAL_ROWS)
    write_prepared(prepared, tmp_path)
    reopened = open_prepared(tmp_path)
    for filters in (CaseFilters(), CaseFilters(end_activities=("c",)), CaseFilters(top_variants=1)):
        assert _prepared_answer(reopened, filters) == _today(log, filters)


def test_a_form_without_starts_keeps_no_stage_table(
    generated: tuple[EventLog, PreparedLog], tmp_path: Path
) -> None:
    # Its time in stage is the wait to the next event: the edges hold it already.
    write_prepared(generated[1], tmp_path)
    assert generated[1].stages is None
    assert not (tmp_path / "stages.parquet").exists()
    assert open_prepared(tmp_path).stages is None


def test_prepared_kpis_of_the_kept_cases_is_the_filtered_logs_kpi_document(
    generated: tuple[EventLog, PreparedLog],
) -> None:
    log, prepared = generated
    filters = FILTERS["time, attribute and top variants"]
    with kept_cases(prepared, filters) as kept:
        kpis = prepared_kpis(prepared, kept)
    ordered = order_and_filter(log, filters=filters)
    assert kpis.cases == 3  # the two most frequent variants of the cases kept by time and resource
    assert kpis.as_json() == compute_kpis(ordered).as_json()


def test_a_form_of_another_format_is_told_apart_and_refused(
    generated: tuple[EventLog, PreparedLog], tmp_path: Path
) -> None:
    assert prepared_format(tmp_path) is None
    write_prepared(generated[1], tmp_path)
    assert prepared_format(tmp_path) == FORMAT_VERSION
    meta = tmp_path / "prepared.json"
    meta.write_text(meta.read_text("utf-8").replace(f'"format": {FORMAT_VERSION}', '"format": 1'))
    assert prepared_format(tmp_path) == 1
    with pytest.raises(InvalidInput, match="prepare the log again"):
        open_prepared(tmp_path)
    for foreign in ("not json", "[1, 2]", '{"format": "2"}'):
        meta.write_text(foreign, "utf-8")  # a file of that name Andon did not write
        assert prepared_format(tmp_path) is None


REAL_FILTERS = {
    "time window": CaseFilters(
        time_from=at(0).replace(year=2011, month=3, day=1),
        time_to=at(0).replace(year=2012, month=1, day=1),
    ),
    "resource": CaseFilters(attributes={"resource": ("Resource10", "Resource21")}),
    "start and end activity": CaseFilters(
        start_activities=("Confirmation of receipt",),
        end_activities=("T10 Determine necessity to stop indication",),
    ),
    "top variants": CaseFilters(top_variants=7),
    "time, resource and top variants": CaseFilters(
        time_from=at(0).replace(year=2011, month=6, day=1),
        time_mode="contained",
        attributes={"resource": ("Resource10",)},
        top_variants=4,
    ),
    # A case attribute (the same on each event of a case), masked; task instances (one per
    # event, thousands of values), kept as rows.
    "groups": CaseFilters(attributes={"case:group": ("Group 5", "Group 2")}),
    "tasks": CaseFilters(attributes={"concept:instance": ("task-43679", "task-44377")}),
}


@pytest.fixture(scope="module")
def receipt() -> tuple[EventLog, PreparedLog]:
    from andon.analytics.engines import connect

    log = read_log(data_file("receipt.parquet"), backend=connect("duckdb")).log
    # Its 48 resources and groups as masks, its dates as rows.
    return log, _prepare(log, ALL_MASKED)


@pytest.mark.parametrize("name", REAL_FILTERS)
def test_prepared_answer_on_a_real_log_equals_the_unprepared_one(
    name: str, receipt: tuple[EventLog, PreparedLog]
) -> None:
    log, prepared = receipt
    answer = _prepared_answer(prepared, REAL_FILTERS[name])
    assert answer["variants"]["variants"]  # each filter keeps some cases
    assert answer == _today(log, REAL_FILTERS[name])


INTERVAL_FILTERS = {
    "time window, contained": CaseFilters(
        time_from=datetime(2015, 3, 1, tzinfo=UTC),
        time_to=datetime(2015, 6, 1, tzinfo=UTC),
        time_mode="contained",
    ),
    "through a stage and top variants": CaseFilters(
        attributes={"activity": ("send reminder",)}, top_variants=3
    ),
}


@pytest.mark.parametrize("name", INTERVAL_FILTERS)
def test_prepared_answer_on_a_real_interval_log_equals_the_unprepared_one(name: str) -> None:
    from andon.analytics.engines import connect

    log = read_log(data_file("interval_event_log.xes"), backend=connect("duckdb")).log
    answer = _prepared_answer(_prepare(log), INTERVAL_FILTERS[name])
    assert answer["variants"]["variants"]
    assert answer == _today(log, INTERVAL_FILTERS[name])


def test_answering_leaves_no_table_behind_and_release_drops_the_prepared_ones() -> None:
    from andon.analytics.engines import connect

    backend = connect("duckdb")

    def tables() -> set[str]:
        return {row[2] for row in backend.con.execute("SHOW ALL TABLES").fetchall()}

    log = read_log(data_file("running-example.xes"), backend=backend).log
    ordered = order_and_store(log, attributes=filterable_columns(log))
    before = tables()
    prepared = prepare(ordered)
    assert len(tables() - before) == 5
    documents(prepared, CaseFilters(top_variants=2))
    assert len(tables() - before) == 5
    release_prepared(prepared)
    assert tables() == before


@st.composite
def small_logs(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[str | None]]:
    """Rows for ``event_log``: point events, or (half the time) events with a start."""
    cases = draw(st.integers(1, 6))
    interval = draw(st.booleans())
    rows: list[tuple[Any, ...]] = []
    for case in range(cases):
        for _ in range(draw(st.integers(1, 4))):
            activity, end = draw(st.sampled_from("abc")), draw(st.integers(0, 6))
            if interval:
                rows.append((f"k{case}", activity, end - draw(st.integers(0, 3)), end))
            else:
                rows.append((f"k{case}", activity, end))
    resources = [draw(st.sampled_from(["r1", "r2", None])) for _ in rows]
    return rows, resources


filter_parts = st.fixed_dictionaries(
    {},
    optional={
        "time_from": st.integers(0, 6).map(at),
        "time_to": st.integers(3, 9).map(at),
        "time_mode": st.sampled_from(["contained", "intersecting"]),
        "attributes": st.sampled_from([{"resource": ("r1",)}, {"activity": ("b", "c")}]),
        "start_activities": st.sampled_from([("a",), ("b", "c")]),
        "end_activities": st.sampled_from([("c",), ("a", "b")]),
        "exclude_variants": st.sampled_from([(("a",),), (("a", "b"), ("c",))]),
        "top_variants": st.integers(1, 3),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=small_logs(), parts=filter_parts, data=st.data())
def test_random_filters_on_random_logs_answer_alike(
    log: tuple[list[tuple[Any, ...]], list[str | None]], parts: dict[str, Any], data: st.DataObject
) -> None:
    rows, resources = log
    masks = data.draw(st.sampled_from(list(FORMS.values())), label="masks")
    filters = CaseFilters(**parts)
    if filters.time_from and filters.time_to and filters.time_from > filters.time_to:
        filters = CaseFilters(**(parts | {"time_to": filters.time_from}))
    # Typed as a real log's resource column is, even when every drawn value is missing
    # (an all-null column has no type, and is not prepared for filters).
    source = event_log(rows, extra={"resource": pa.array(resources, pa.string())})
    prepared = _prepare(source, masks)
    assert _prepared_answer(prepared, filters) == _today(source, filters)


# Equally frequent variants whose code-point order is not their order of arrival: a prefix
# ("Z") before its extension ("Z", "a"), upper case before lower, "é" after both.
TIES = [
    ("t1", "é", 0), ("t2", "Z", 1), ("t2", "a", 2), ("t3", "a", 3), ("t4", "Z", 4),
    ("t5", "Ä", 5),
]  # fmt: skip


def _renumbered(prepared: PreparedLog) -> PreparedLog:
    """The same form with its variant ids reversed, as when variants arrive in any order."""
    from dataclasses import replace

    def flipped(table: Any) -> Any:
        return table.mutate(variant_id=(1000 - table.variant_id).cast("int32"))

    return replace(
        prepared,
        cases=flipped(prepared.cases),
        variants=flipped(prepared.variants),
        variant_edges=flipped(prepared.variant_edges),
    )


@pytest.mark.parametrize("top", [1, 2, 3, 4])
def test_top_variant_ties_go_to_the_smaller_sequence_whatever_the_variant_ids(top: int) -> None:
    log = event_log(TIES)
    filters = CaseFilters(top_variants=top)
    prepared = _prepare(log)
    try:
        assert _prepared_answer(_renumbered(prepared), filters) == _today(log, filters)
        assert _prepared_answer(prepared, filters) == _today(log, filters)
    finally:
        release_prepared(prepared)


@pytest.mark.parametrize("masks", list(FORMS.values()), ids=list(FORMS))
def test_attributes_read_from_the_log_by_case_make_the_same_form(masks: int) -> None:
    log = _log()
    carried = _prepare(log, masks)
    ordered = order_and_store(log)  # nothing carried: the attributes come from the log
    read = prepare(ordered, log=log, masks=masks)
    assert read.attributes == carried.attributes
    assert read.masks == carried.masks
    facts = read.case_attributes.order_by(["attribute", "value", "case_key"])
    expected = carried.case_attributes.order_by(["attribute", "value", "case_key"])
    assert facts.to_pyarrow().to_pylist() == expected.to_pyarrow().to_pylist()
    by_case = read.cases.order_by("case_key").to_pyarrow().to_pylist()
    assert by_case == carried.cases.order_by("case_key").to_pyarrow().to_pylist()
    for name, filters in FILTERS.items():
        assert _prepared_answer(read, filters) == _prepared_answer(carried, filters), name
