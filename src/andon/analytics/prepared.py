"""The prepared form of a log: its cases, variants and edges, so a filter touches cases, not events.

:func:`prepare` turns a :class:`~andon.analytics.ordering.CaseOrderedLog` into five tables (six
for an interval log):

- ``cases``: one row per case: its key and id, its variant, first and last time and duration
  (integer microseconds), first and last activity, number of events;
- ``variants``: one row per activity sequence; :func:`prepare` numbers the sequences in
  code-point order, but an answer never relies on it (ties between equally frequent variants
  are broken on the sequence itself, as :func:`~andon.analytics.discovery.discover_variants`
  does), since the plant's form (:mod:`andon.analytics.plant_form`) appends new sequences;
- ``variant_edges``: each variant's directly-follows pairs and how often each occurs in it;
- ``edges``: each case's directly-follows pairs with the wait between them (microseconds),
  for performance figures;
- ``case_attributes``: the distinct (column, value as text, case) triples of the event
  attributes the ordered log carries that have more than :data:`MASK_BITS` values, for
  attribute filters; a filter on ``activity`` (the cases through a stage) reads the
  variants instead. An attribute with fewer values (a line, a product, a priority, most
  resources) is a column of ``cases`` instead: a bit mask of the values its events hold
  (bit *i* for the *i*-th of its values in code-point order, kept in the description
  file), so a filter on it is a test on each case, not a join;
- ``stages`` (interval logs only): each event's case, activity and time in stage
  (completion minus start, microseconds), for the KPIs' time in stage. A log without starts
  needs none: its time in stage is the wait to the next event, which ``edges`` holds.

:func:`select_cases` applies :class:`~andon.analytics.filters.CaseFilters` to the cases and
variants tables only; :func:`dfg_frequency` counts edges as variants times kept cases,
:func:`dfg_performance` reads the kept cases' edges, :func:`variants` groups the kept cases.
Each answer equals the unprepared path's (``apply_filters`` then ``discover_*``) exactly;
:mod:`andon.analytics.prepared_kpis` answers the KPIs the same way.
:func:`write_prepared` keeps the tables as Parquet, sorted by what filters read;
:func:`open_prepared` reads them back.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from andon.analytics.discovery import (
    FREQUENCY,
    SOURCE,
    TARGET,
    Dfg,
    Variant,
    dfg_of_rows,
    exact_micros,
    ordered_counts,
    variants_from,
    wait_statistics,
)
from andon.analytics.filters import (
    CaseFilters,
    check_attribute,
    check_top_variants,
    sequence_literal,
    time_conditions,
)
from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.analytics.ordering import (
    AT_US,
    CASE_KEY,
    END_ACTIVITY,
    EVENTS,
    FIRST_US,
    LAST_US,
    MICROSECONDS,
    NEXT_ACTIVITY,
    POSITION,
    STAGE_SECONDS,
    START_ACTIVITY,
    START_US,
    VARIANT,
    WAIT_SECONDS,
    CaseOrderedLog,
    drop_stored,
    store,
)
from andon.analytics.results import fetch_rows
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

# Columns of the prepared tables, beside those of ordering's cases table.
VARIANT_ID = "variant_id"
DURATION_US = "duration_us"
ACTIVITIES = "activities"  # the variant's activity sequence, array<string>
CASES = "cases"
WAIT_US = "wait_us"
STAGE_US = "stage_us"
ATTRIBUTE = "attribute"
VALUE = "value"
# The cases table's bit-mask columns: this prefix and the attribute's place in
# PreparedLog.attributes (attribute names are the log's own, any text).
MASK_PREFIX = "values_mask_"
# The most values an attribute may have to be kept as a bit mask: the bits of a signed
# 64-bit integer below its sign. An attribute with more is kept as case_attributes rows.
MASK_BITS = 63

# Columns of an ordered events table that are derived, not the log's own.
_DERIVED = frozenset(
    {CASE_KEY, AT_US, START_US, POSITION, NEXT_ACTIVITY, WAIT_SECONDS, STAGE_SECONDS}
)
# 2: the stages table of interval logs, for the KPIs. 3: few-valued attributes as bit masks
# on the cases. A form of another version is prepared again from the stored log
# (dataset_analyses) rather than read.
FORMAT_VERSION = 3
META_FILE = "prepared.json"

# Each table's file and the columns it is sorted by on disk: what filters and joins read
# first, so DuckDB skips row groups whose ranges cannot match.
_LAYOUT: dict[str, tuple[str, ...]] = {
    "cases": (FIRST_US, CASE_KEY),
    "variants": (VARIANT_ID,),
    "variant_edges": (VARIANT_ID, SOURCE, TARGET),
    # By case alone: the kept cases' pairs are what is read; ordering each case's pairs too
    # cost half the edges' write time and made the file no smaller.
    "edges": (CASE_KEY,),
    # Not by attribute first: DuckDB sorts a column of a few long runs of equal text three
    # times slower than one of many values, and the values seldom repeat across attributes.
    # Not by case within a value either: a filter reads one value's rows whatever their
    # order, and that second key cost a fifth of their writing time (the file is 2 MB
    # larger at 1M events, its cases no longer in runs).
    "case_attributes": (VALUE,),
    "stages": (CASE_KEY,),
}


@dataclass(frozen=True)
class PreparedLog:
    """The prepared tables of one log (see the module's docstring for their columns).

    ``attributes`` are the columns attribute filters may name; ``masks`` the values of
    those kept as bit masks on ``cases`` (:func:`mask_column`), in bit order, by attribute;
    ``case_attributes`` holds the others. ``engine`` is the Ibis backend the tables live
    on. ``stages`` is None for a log without starts (``interval`` false).
    """

    cases: ir.Table
    variants: ir.Table
    variant_edges: ir.Table
    edges: ir.Table
    case_attributes: ir.Table
    stages: ir.Table | None
    attributes: tuple[str, ...]
    source: str
    interval: bool
    engine: str
    masks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def tables(self) -> dict[str, ir.Table]:
        """The tables the form holds, by file name (no ``stages`` for a log without starts)."""
        found = {name: getattr(self, name) for name in _LAYOUT}
        return {name: table for name, table in found.items() if table is not None}


def filterable_columns(log: EventLog) -> tuple[str, ...]:
    """The columns of ``log`` worth preparing for attribute filters: the resource, the
    lifecycle and every other attribute of text, integer or boolean type (a timestamp or a
    measurement is not filtered by its exact text, and would make the case-level sets as
    large as the events)."""
    kept: list[str] = []
    for name, dtype in log.table.schema().items():
        if name in (CASE, ACTIVITY, TIMESTAMP, START, ORDER):
            continue
        if dtype.is_string() or dtype.is_integer() or dtype.is_boolean():
            kept.append(name)
    return tuple(kept)


def prepare(
    ordered: CaseOrderedLog, *, log: EventLog | None = None, masks: int = MASK_BITS
) -> PreparedLog:
    """The prepared form of an (unfiltered) ordered log, stored on its backend.

    Every column its events carry beyond the ordering's own becomes filterable, and so does
    ``activity`` (a case "through a stage"). Null attribute values are left out, as an
    attribute filter never keeps them. ``log``: the log ``ordered`` was ordered from; its
    :func:`filterable_columns` are then the filterable ones, read from its table by case
    (ordering without carrying them, then reading them so, is a fifth cheaper at 1M events
    than carrying them through the ordering). ``masks``: the most values an attribute may
    have to be kept as a bit mask on the cases (at most :data:`MASK_BITS`; 0 keeps every
    attribute as ``case_attributes`` rows, as the plant's form does, whose values grow).
    """
    import ibis

    if not 0 <= masks <= MASK_BITS:
        raise ValueError(f"masks must be between 0 and {MASK_BITS}, not {masks}")
    engine = ordered.engine
    events = ordered.events
    cases = ordered.cases
    distinct = cases.group_by(VARIANT).agg(**{CASES: cases.count()})
    order = _code_point_order(distinct[VARIANT], engine)
    numbered = distinct.mutate(**{VARIANT_ID: ibis.row_number().over(order_by=order).cast("int32")})
    variants = store(
        numbered.select(
            VARIANT_ID,
            CASES,
            **{ACTIVITIES: numbered[VARIANT], EVENTS: numbered[VARIANT].length()},
        ),
        engine,
    )
    if log is None:
        attributes = tuple(name for name in events.columns if name not in _DERIVED)
        values_from = by_case = events
    else:
        carried = [name for name in filterable_columns(log) if name != ACTIVITY]
        attributes = (ACTIVITY, *carried)
        values_from = log.table
        by_case = log.table.join(ordered.case_ids, CASE).select(CASE_KEY, *carried)
    # A case went through an activity when its variant holds it: the activity needs no facts.
    named = tuple(name for name in attributes if name != ACTIVITY)
    masked = _few_values(values_from, named, masks) if masks and named else {}
    ids = variants.select(VARIANT_ID, ACTIVITIES)
    keyed = cases.join(ids, cases[VARIANT] == ids[ACTIVITIES])
    case_rows = keyed.select(
        CASE_KEY,
        CASE,
        VARIANT_ID,
        FIRST_US,
        LAST_US,
        START_ACTIVITY,
        END_ACTIVITY,
        EVENTS,
        **{DURATION_US: keyed[LAST_US] - keyed[FIRST_US]},
    )
    if masked:
        # From the log's own rows by case id where there is one: grouping its text costs
        # less than joining the case keys to a million events first (0.07 vs 0.11 s).
        key = CASE_KEY if log is None else CASE
        case_rows = _with_masks(case_rows, values_from, key, masked, attributes)
    case_table = store(case_rows, engine)
    pairs = events.filter(events[NEXT_ACTIVITY].notnull())
    # Back to the whole microseconds the wait was computed from (seconds = micros / 10^6).
    wait_us = (pairs[WAIT_SECONDS] * MICROSECONDS).round().cast("int64")
    edges = store(
        pairs.select(
            CASE_KEY,
            **{SOURCE: pairs[ACTIVITY], TARGET: pairs[NEXT_ACTIVITY], WAIT_US: wait_us},
        ),
        engine,
    )
    # Every case of a variant has the same pairs: count them on one case of each.
    sample = case_table.group_by(VARIANT_ID).agg(**{CASE_KEY: case_table[CASE_KEY].min()})
    sampled = edges.join(sample, CASE_KEY)
    variant_edges = store(
        sampled.group_by(VARIANT_ID, SOURCE, TARGET).agg(**{FREQUENCY: sampled.count()}),
        engine,
    )
    facts = _case_attributes(by_case, tuple(name for name in named if name not in masked))
    case_attributes = store(facts, engine)
    stages = None
    if ordered.interval:
        # The microseconds ordering's STAGE_SECONDS is computed from.
        stage_us = events[AT_US] - events[START_US]
        stages = store(events.select(CASE_KEY, ACTIVITY, **{STAGE_US: stage_us}), engine)
    return PreparedLog(
        cases=case_table,
        variants=variants,
        variant_edges=variant_edges,
        edges=edges,
        case_attributes=case_attributes,
        stages=stages,
        attributes=attributes,
        source=ordered.source,
        interval=ordered.interval,
        engine=engine,
        masks=masked,
    )


def mask_column(attributes: tuple[str, ...], name: str) -> str:
    """The cases table's bit-mask column of attribute ``name`` among ``attributes``."""
    return f"{MASK_PREFIX}{attributes.index(name)}"


def _few_values(table: ir.Table, names: tuple[str, ...], limit: int) -> dict[str, tuple[str, ...]]:
    """The values as text, in code-point order, of each attribute of ``names`` that has at
    most ``limit`` of them in ``table``, by attribute (one query for all of them)."""
    import ibis

    def values(name: str) -> ir.Table:
        text = table.select(**{VALUE: table[name].cast("string")})
        found = text.filter(text[VALUE].notnull()).distinct().limit(limit + 1)
        label = ibis.literal(name, type="string")
        return found.select(**{ATTRIBUTE: label, VALUE: found[VALUE]})

    seen: dict[str, list[str]] = {name: [] for name in names}
    for row in fetch_rows(ibis.union(*(values(name) for name in names), distinct=False)):
        seen[row[ATTRIBUTE]].append(row[VALUE])
    return {name: tuple(sorted(found)) for name, found in seen.items() if len(found) <= limit}


def _with_masks(
    case_rows: ir.Table,
    events: ir.Table,
    key: str,
    masked: dict[str, tuple[str, ...]],
    attributes: tuple[str, ...],
) -> ir.Table:
    """``case_rows`` with each attribute of ``masked`` as a bit mask of the values its
    events hold (bit *i* for its *i*-th value), from ``events`` (one row per event, with
    the column ``key`` that both tables identify the case by): one pass over the events
    for all of them."""
    import ibis

    zero = ibis.literal(0, type="int64")
    columns: dict[str, ir.Value] = {}
    for name, values in masked.items():
        if not values:  # never a value: no case is kept by a filter on it
            continue
        text = events[name].cast("string")
        bits = [
            (text == value, ibis.literal(1 << i, type="int64")) for i, value in enumerate(values)
        ]
        bit = ibis.cases(*bits, else_=zero)
        columns[mask_column(attributes, name)] = bit.bit_or()
    kept = {name: case_rows[name] for name in case_rows.columns}
    joined = case_rows
    if columns:
        masks = events.group_by(key).agg(**columns)
        joined = case_rows.left_join(masks, case_rows[key] == masks[key])
    for name in masked:
        column = mask_column(attributes, name)
        kept[column] = joined[column].coalesce(zero) if column in columns else zero
    return joined.select(**kept)


# Joins a sequence's activities into one text that sorts as the sequence does: below any
# character an activity name holds (PostgreSQL text cannot hold the one character below it).
_SEQUENCE_SEPARATOR = "\x01"


def _code_point_order(sequences: ir.ArrayColumn, engine: str) -> ir.Value:
    """What sorts activity sequences element by element in code-point order, as Python's
    tuples sort (so variant ids break ties as discover_variants does).

    DuckDB and Spark compare arrays that way; PostgreSQL compares their text by the
    database's collation (``en_US`` puts ``a`` before ``B``), so there the sequence is
    compared as UTF-8 bytes, whose order is the code points'.
    """
    if engine != "postgres":
        return sequences
    import ibis
    import ibis.expr.datatypes as dt

    @ibis.udf.scalar.builtin(name="convert_to", signature=((dt.string, dt.string), dt.binary))
    def convert_to(text, encoding):  # type: ignore[no-untyped-def]
        """PostgreSQL's convert_to: the text's bytes in an encoding."""

    joined: ir.Value = convert_to(sequences.join(_SEQUENCE_SEPARATOR), "UTF8")
    return joined


def release_prepared(prepared: PreparedLog) -> None:
    """Drop the tables :func:`prepare` stored; ``prepared`` must not be used afterwards.
    (A form read by :func:`open_prepared` holds no stored tables: closing its backend is all.)
    """
    for table in prepared.tables().values():
        drop_stored(table, prepared.engine)


def _case_attributes(events: ir.Table, attributes: tuple[str, ...]) -> ir.Table:
    import ibis

    def facts(name: str) -> ir.Table:
        # Distinct per attribute on (case, value), then labelled: deduplicating the union of
        # all of them instead hashes the label too (a third slower at 1M events). The case
        # keys are joined to the events before, not after: deduplicating on the case id's
        # text instead cost a quarter more.
        part = events.select(**{CASE_KEY: events[CASE_KEY], VALUE: events[name].cast("string")})
        kept = part.filter(part[VALUE].notnull()).distinct()
        label = ibis.literal(name, type="string")
        return kept.select(**{ATTRIBUTE: label, VALUE: kept[VALUE], CASE_KEY: kept[CASE_KEY]})

    if not attributes:  # every attribute masked, or none: no rows, the same columns
        none = ibis.literal(None, type="string")
        empty = events.select(**{ATTRIBUTE: none, VALUE: none, CASE_KEY: events[CASE_KEY]})
        return empty.limit(0)
    return ibis.union(*(facts(name) for name in attributes), distinct=False)


def write_prepared(prepared: PreparedLog, directory: Path) -> None:
    """Write the prepared tables as Parquet files in ``directory`` (made if missing), each
    sorted by the columns filters read; strings are dictionary-encoded where that pays,
    which is nearly always (activities, resources, attribute names), and sorted integers
    delta-encoded (Parquet's version 2 encodings, which DuckDB, Arrow and Spark read).

    The description file is written last: a directory without it is not a prepared form.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META_FILE).unlink(missing_ok=True)
    for name, expr in prepared.tables().items():
        _write_parquet(expr.order_by(list(_LAYOUT[name])), directory / f"{name}.parquet")
    meta = {
        "format": FORMAT_VERSION,
        "source": prepared.source,
        "interval": prepared.interval,
        "attributes": list(prepared.attributes),
        "masks": {name: list(values) for name, values in prepared.masks.items()},
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")


def _write_parquet(expr: ir.Table, path: Path) -> None:
    backend: Any = expr._find_backend(use_default=True)
    if backend.name != "duckdb":
        _write_batches(expr, path)
        return
    target = str(path).replace("'", "''")
    # DuckDB keeps the query's order in the file (insertion order is preserved by default).
    backend.con.execute(
        f"COPY ({backend.compile(expr)}) TO '{target}' "
        "(FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 122880)"
    )


def _write_batches(expr: ir.Table, path: Path) -> None:
    """One Parquet file from the result's batches, in the query's order, as DuckDB writes it
    (Spark's own writer makes a directory of parts, which the other engines do not read)."""
    import pyarrow.parquet as pq

    batches = expr.to_pyarrow_batches()
    with pq.ParquetWriter(
        path, batches.schema, compression="zstd", data_page_version="2.0"
    ) as writer:
        for batch in batches:
            writer.write_batch(batch)


def prepared_format(directory: Path) -> int | None:
    """The format version of the prepared form in ``directory``; None when it holds no
    complete one. A form of a version other than :data:`FORMAT_VERSION` must be prepared
    again: :func:`open_prepared` refuses it."""
    try:
        meta = json.loads((Path(directory) / META_FILE).read_text("utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):  # none, or not one we wrote
        return None
    version = meta.get("format") if isinstance(meta, dict) else None
    return version if isinstance(version, int) else None


def read_meta(directory: Path) -> dict[str, Any]:
    """The description of the prepared form in ``directory``.

    InvalidInput when the directory holds no complete prepared form, or one of another
    format version.
    """
    directory = Path(directory)
    try:
        meta: dict[str, Any] = json.loads((directory / META_FILE).read_text("utf-8"))
    except FileNotFoundError:
        raise InvalidInput.for_field(
            "prepared", f"{directory} holds no prepared log (no {META_FILE})"
        ) from None
    if meta.get("format") != FORMAT_VERSION:
        raise InvalidInput.for_field(
            "prepared",
            f"{directory} was prepared in format {meta.get('format')!r}; "
            f"this Andon reads {FORMAT_VERSION}: prepare the log again",
        )
    return meta


def table_files(directory: Path, meta: dict[str, Any]) -> dict[str, Path]:
    """Each table's Parquet file in ``directory`` holding the form ``meta``
    (:func:`read_meta`) describes, by table name."""
    names = [name for name in _LAYOUT if name != "stages" or meta["interval"]]
    return {name: Path(directory) / f"{name}.parquet" for name in names}


def prepared_from(tables: dict[str, ir.Table], meta: dict[str, Any], engine: str) -> PreparedLog:
    """The PreparedLog of ``tables`` (one per name of :func:`table_files`) described by
    ``meta`` (:func:`read_meta`)."""
    return PreparedLog(
        cases=tables["cases"],
        variants=tables["variants"],
        variant_edges=tables["variant_edges"],
        edges=tables["edges"],
        case_attributes=tables["case_attributes"],
        stages=tables.get("stages"),
        attributes=tuple(meta["attributes"]),
        source=str(meta["source"]),
        interval=bool(meta["interval"]),
        engine=engine,
        masks={str(name): tuple(values) for name, values in meta["masks"].items()},
    )


def open_prepared(directory: Path, backend: Any = None) -> PreparedLog:
    """The prepared form :func:`write_prepared` wrote in ``directory``, read (not copied)
    from its files on ``backend`` (a new in-memory DuckDB connection when None).

    InvalidInput as :func:`read_meta`.
    """
    from andon.analytics.engines import connect

    meta = read_meta(directory)
    backend = backend if backend is not None else connect("duckdb")
    files = table_files(directory, meta)
    tables = {name: _read_parquet(backend, path) for name, path in files.items()}
    return prepared_from(tables, meta, str(backend.name))


def _read_parquet(backend: Any, path: Path) -> ir.Table:
    """A view of the file; on DuckDB without Ibis' read_parquet, which reads the schema
    through Arrow (tens of milliseconds for five files, on every open). PostgreSQL reads no
    Parquet: the rows are copied into a temporary table, dropped with the connection."""
    if backend.name == "postgres":
        return _copy_parquet(backend, path)
    if backend.name != "duckdb":
        table: ir.Table = backend.read_parquet(str(path))
        return table
    from andon.analytics.engines import bind_table

    name = f"andon_prepared_{uuid.uuid4().hex}"
    source = str(path).replace("'", "''")
    backend.con.execute(f"CREATE TEMPORARY VIEW \"{name}\" AS FROM read_parquet('{source}')")
    return bind_table(backend, name, database=("temp", "main"))


def _copy_parquet(backend: Any, path: Path) -> ir.Table:
    import ibis
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = f"andon_prepared_{uuid.uuid4().hex}"
    file = pq.ParquetFile(path)
    # An empty schema-only table first, then the rows a batch at a time: memory stays flat.
    backend.create_table(name, schema=ibis.Schema.from_pyarrow(file.schema_arrow), temp=True)
    for batch in file.iter_batches(batch_size=100_000):
        backend.insert(name, ibis.memtable(pa.Table.from_batches([batch])))
    table: ir.Table = backend.table(name)
    return table


def select_cases(prepared: PreparedLog, filters: CaseFilters) -> ir.Table:
    """The rows of ``prepared.cases`` that ``filters`` keep, as an unexecuted expression.

    The same cases :func:`~andon.analytics.filters.apply_filters` keeps, refused the same
    way: the top-k variants are counted among the cases the other filters kept.
    """
    import ibis

    kept = prepared.cases
    if filters.time_from is not None or filters.time_to is not None:
        kept = kept.filter(
            time_conditions(kept, filters.time_from, filters.time_to, mode=filters.time_mode)
        )
    facts = prepared.case_attributes
    for column, values in filters.attributes.items():
        check_attribute(column, values, prepared.attributes)
        if column == ACTIVITY:
            kept = kept.semi_join(_variants_through(prepared, values), VARIANT_ID)
            continue
        if column in prepared.masks:
            kept = kept.filter(_holds_any(prepared, kept, column, values))
            continue
        matching = facts.filter(facts[ATTRIBUTE] == column, facts[VALUE].isin(list(values)))
        kept = kept.semi_join(matching.select(CASE_KEY), CASE_KEY)
    if filters.start_activities:
        kept = kept.filter(kept[START_ACTIVITY].isin(list(filters.start_activities)))
    if filters.end_activities:
        kept = kept.filter(kept[END_ACTIVITY].isin(list(filters.end_activities)))
    if filters.variants:
        kept = kept.semi_join(_variant_ids(prepared, filters.variants), VARIANT_ID)
    if filters.exclude_variants:
        kept = kept.anti_join(_variant_ids(prepared, filters.exclude_variants), VARIANT_ID)
    if filters.top_variants is not None:
        check_top_variants(filters.top_variants)
        counts = kept.group_by(VARIANT_ID).agg(**{CASES: kept.count()})
        named = counts.join(prepared.variants.select(VARIANT_ID, ACTIVITIES), VARIANT_ID)
        # Ties go to the smaller activity sequence in code-point order, as in
        # discover_variants (element-wise, a prefix first, as Python's tuples compare). Not
        # by variant_id: the plant's form appends new sequences with higher ids.
        sequence = _code_point_order(named[ACTIVITIES], prepared.engine)
        top = named.order_by([ibis.desc(CASES), sequence]).limit(filters.top_variants)
        kept = kept.semi_join(top.select(VARIANT_ID), VARIANT_ID)
    return kept


def _holds_any(
    prepared: PreparedLog, kept: ir.Table, column: str, values: tuple[str, ...]
) -> ir.Value:
    """Whether a case's events hold any of ``values`` of the masked attribute ``column``."""
    import ibis

    known = prepared.masks[column]
    bits = sum(1 << i for i, value in enumerate(known) if value in values)
    if not bits:
        return ibis.literal(False)
    mask = kept[mask_column(prepared.attributes, column)]
    return (mask & ibis.literal(bits, type="int64")) != 0


def _variants_through(prepared: PreparedLog, activities: tuple[str, ...]) -> ir.Table:
    import ibis

    table = prepared.variants
    holds = [table[ACTIVITIES].contains(activity) for activity in activities]
    return table.filter(ibis.or_(*holds)).select(VARIANT_ID)


def _variant_ids(prepared: PreparedLog, sequences: tuple[tuple[str, ...], ...]) -> ir.Table:
    import ibis

    table = prepared.variants
    matches = [table[ACTIVITIES] == sequence_literal(seq, prepared.engine) for seq in sequences]
    return table.filter(ibis.or_(*matches)).select(VARIANT_ID)


def dfg_frequency(
    prepared: PreparedLog, kept: ir.Table, *, found: list[Variant] | None = None
) -> Dfg:
    """The directly-follows graph of the kept cases (:func:`select_cases`), without
    performance: each variant's pair counts times its kept cases. ``found``: what
    :func:`variants` gave for the same kept cases, when the caller has it."""
    per_variant = kept.group_by(VARIANT_ID).agg(**{CASES: kept.count()})
    counted = prepared.variant_edges.join(per_variant, VARIANT_ID)
    edges = counted.group_by(SOURCE, TARGET).agg(
        **{FREQUENCY: (counted[FREQUENCY] * counted[CASES]).sum()}
    )
    return dfg_of_rows(fetch_rows(edges), *_ends(prepared, kept, found))


def dfg_performance(
    prepared: PreparedLog,
    kept: ir.Table,
    *,
    rows: list[dict[str, Any]] | None = None,
    found: list[Variant] | None = None,
) -> Dfg:
    """The directly-follows graph of the kept cases with the waits' statistics, from the
    kept cases' edges (``andon mine dfg --performance``). ``rows``: what
    :func:`performance_edges` gave for the same kept cases, and ``found`` what
    :func:`variants` gave, when the caller has them."""
    if rows is None:
        rows = performance_edges(prepared, kept)
    return dfg_of_rows(rows, *_ends(prepared, kept, found), performance=True)


def performance_edges(prepared: PreparedLog, kept: ir.Table) -> list[dict[str, Any]]:
    """Per directly-follows pair of the kept cases: its frequency and the exact integer
    statistics of its waits (:func:`~andon.analytics.discovery.wait_statistics`), which the
    KPIs' time in stage of a log without starts is also summed from."""
    pairs = of_kept(prepared.edges, kept)
    # The seconds exactly as ordering computes them, so medians and extremes are equal.
    seconds = pairs[WAIT_US] / MICROSECONDS
    edges = pairs.group_by(SOURCE, TARGET).agg(
        **{FREQUENCY: pairs.count()}, **wait_statistics(seconds, pairs[WAIT_US])
    )
    return fetch_rows(edges)


def of_kept(table: ir.Table, kept: ir.Table) -> ir.Table:
    """The rows of ``table`` (edges or stages, by ``CASE_KEY``) of the kept cases.

    An inner join where a semi-join would say the same: the kept cases are one row each,
    so the rows are the same, and DuckDB probes the inner join faster (1.1–1.5× at 1M
    events, the most where nearly every case is kept).
    """
    return table.join(kept.select(CASE_KEY), CASE_KEY)


def _ends(
    prepared: PreparedLog, kept: ir.Table, found: list[Variant] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """The kept cases' start and end activities with their cases, from one count per
    variant: a variant's first and last activity are its cases'. ``found``: the kept cases'
    variants (:func:`variants`), already counted, when the caller has them. (The kept cases
    hold no activities: copying DuckDB's ENUM columns into the kept table costs it as much as
    all its other columns.)"""
    if found is not None:
        return _counted_ends((v.activities[0], v.activities[-1], v.cases) for v in found)
    per_variant = kept.group_by(VARIANT_ID).agg(**{CASES: kept.count()})
    sequence = prepared.variants[ACTIVITIES]
    firsts = prepared.variants.select(
        VARIANT_ID,
        # Not sequence[-1]: Ibis renders that as index 0 on Spark.
        first=sequence[0].cast("string"),
        last=sequence[sequence.length() - 1].cast("string"),
    )
    rows = fetch_rows(per_variant.join(firsts, VARIANT_ID))
    return _counted_ends((row["first"], row["last"], int(row[CASES])) for row in rows)


def _counted_ends(
    variants: Iterable[tuple[str, str, int]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Start and end activities with their cases, from (first, last, cases) per variant."""
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    for first, last, cases in variants:
        starts[first] += cases
        ends[last] += cases
    return ordered_counts(starts.items()), ordered_counts(ends.items())


def variants(prepared: PreparedLog, kept: ir.Table, *, limit: int | None = None) -> list[Variant]:
    """The variants of the kept cases, as :func:`~andon.analytics.discovery.discover_variants`
    gives them for the filtered log."""
    per_variant = kept.group_by(VARIANT_ID).agg(
        **{CASES: kept.count(), DURATION_US: exact_micros(kept[DURATION_US]).sum()}
    )
    named = per_variant.join(prepared.variants.select(VARIANT_ID, ACTIVITIES), VARIANT_ID)
    return variants_from(
        named.select(
            **{VARIANT: named[ACTIVITIES], CASES: named[CASES]}, duration_us=named[DURATION_US]
        ),
        limit=limit,
    )


@contextmanager
def kept_cases(prepared: PreparedLog, filters: CaseFilters) -> Iterator[ir.Table]:
    """:func:`select_cases` run once into a temporary table, for several answers on the same
    filters; the table is dropped on leaving."""
    kept = store(
        select_cases(prepared, filters).select(
            CASE_KEY,
            VARIANT_ID,
            FIRST_US,
            LAST_US,
            EVENTS,
            DURATION_US,
        ),
        prepared.engine,
    )
    try:
        yield kept
    finally:
        drop_stored(kept, prepared.engine)


def documents(
    prepared: PreparedLog,
    filters: CaseFilters | None = None,
    analyses: tuple[str, ...] = ("dfg", "variants", "kpi"),
) -> dict[str, dict[str, Any]]:
    """The ``dfg`` (``andon mine dfg --performance --json``), ``variants`` (``andon mine
    variants --json``) and ``kpi`` (``andon kpi --json``) documents of the log after
    ``filters``, as :func:`andon.analytics.dataset_analyses.mine` returns them; only the
    ``analyses`` asked for, the KPIs reusing the other two. ``dfg_frequency`` is the map
    without waits (``andon mine dfg --json``), counted on the variants alone."""
    from andon.analytics.prepared_kpis import prepared_kpis
    from andon.analytics.report import variants_json

    wanted = set(analyses)
    with kept_cases(prepared, filters or CaseFilters()) as kept:
        dfg = kpis = None
        found = variants(prepared, kept) if wanted & {"variants", "kpi"} else None
        frequency = None
        if "dfg_frequency" in wanted and not wanted & {"dfg", "kpi"}:
            frequency = dfg_frequency(prepared, kept, found=found)
        if wanted & {"dfg", "kpi"}:
            # The pairs' statistics serve the map and, summed by source, the time in stage.
            rows = performance_edges(prepared, kept)
            dfg = dfg_performance(prepared, kept, rows=rows, found=found)
            if "kpi" in wanted:
                kpis = prepared_kpis(prepared, kept, dfg=dfg, variants=found, edge_rows=rows)
    out: dict[str, dict[str, Any]] = {}
    if dfg is not None and "dfg" in wanted:
        out["dfg"] = dfg.as_json()
    graph = dfg if dfg is not None else frequency
    if graph is not None and "dfg_frequency" in wanted:
        out["dfg_frequency"] = frequency_only(graph.as_json())
    if found is not None and "variants" in wanted:
        out["variants"] = variants_json(found)
    if kpis is not None:
        out["kpi"] = kpis.as_json()
    return out


def frequency_only(dfg: dict[str, Any]) -> dict[str, Any]:
    """A map document without its waits (``andon mine dfg --json`` of ``--performance``'s)."""
    edges = [{k: v for k, v in edge.items() if k != "performance"} for edge in dfg["edges"]]
    return {**dfg, "edges": edges}


@dataclass(frozen=True)
class PreparedSummary:
    """How much a prepared form holds: ``andon log prepare`` prints it."""

    cases: int
    variants: int
    events: int


def summarise(prepared: PreparedLog) -> PreparedSummary:
    """The numbers of cases, variants and events of ``prepared``, from its variants table."""
    table = prepared.variants
    totals = table.aggregate(
        cases=table[CASES].sum(),
        variants=table.count(),
        events=(table[CASES] * table[EVENTS]).sum(),
    )
    row = totals.to_pyarrow().to_pylist()[0]
    return PreparedSummary(
        cases=int(row["cases"] or 0), variants=int(row["variants"]), events=int(row["events"] or 0)
    )
