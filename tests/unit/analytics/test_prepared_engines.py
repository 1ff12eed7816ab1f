"""The prepared form answers on PostgreSQL and Spark as the unprepared path does.

PostgreSQL prepares the log it holds; Spark reads the Parquet files the DuckDB path wrote
(what ``andon mine dfg DIR --engine spark`` does). Both compare with the unprepared answer
on the same engine where that is cheap, and with DuckDB's, which the parity suite ties to
pm4py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from andon.analytics.filters import CaseFilters
from andon.analytics.log import EventLog
from andon.analytics.ordering import order_and_store
from andon.analytics.prepared import (
    PreparedLog,
    filterable_columns,
    open_prepared,
    prepare,
    write_prepared,
)
from tests.unit.analytics.conftest import PG_DSN, connect_postgres
from tests.unit.analytics.mining_logs import at, event_log
from tests.unit.analytics.test_prepared import (
    FILTERS,
    _log,
    _prepare,
    _prepared_answer,
    _today,
)

# One of each filter kind, and combinations of them.
ENGINE_FILTERS = {
    name: FILTERS[name]
    for name in (
        "nothing",
        "time contained",
        "attribute",
        "integer attribute",
        "through a stage",
        "start activity",
        "variants",
        "excluded variants",
        "top variants with a tie",
        "time, attribute and top variants",
        "ends, two attributes, excluded variant",
        "nothing kept",
    )
}


def _on(backend: Any, log: EventLog) -> EventLog:
    """``log``'s rows in a temporary table of ``backend`` (PostgreSQL)."""
    name = f"prepared_{uuid.uuid4().hex}"
    backend.create_table(name, log.table.to_pyarrow(), temp=True)
    return EventLog(backend.table(name), source=name, interval=log.interval)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    backend = connect_postgres()
    yield backend
    backend.disconnect()  # its temporary tables go with it


@pytest.fixture(scope="module")
def on_postgres(postgres: Any) -> tuple[EventLog, EventLog, PreparedLog]:
    """The DuckDB log, the same rows on PostgreSQL, and their prepared form there."""
    log = _log()
    moved = _on(postgres, log)
    return log, moved, prepare(order_and_store(moved, attributes=filterable_columns(moved)))


@pytest.mark.postgresql
@pytest.mark.parametrize("name", ENGINE_FILTERS)
def test_prepared_answer_on_postgres_equals_the_unprepared_ones(
    name: str, on_postgres: tuple[EventLog, EventLog, PreparedLog]
) -> None:
    log, moved, prepared = on_postgres
    filters = ENGINE_FILTERS[name]
    answer = _prepared_answer(prepared, filters)
    assert prepared.engine == "postgres"
    assert answer == _today(moved, filters)
    assert answer == _today(log, filters)


@pytest.mark.postgresql
def test_variant_filters_compare_sequences_on_postgres(
    on_postgres: tuple[EventLog, EventLog, PreparedLog],
) -> None:
    # PostgreSQL has no = between the varchar[] variants and a text[] literal.
    _, moved, _ = on_postgres
    answer = _today(moved, CaseFilters(variants=(("a", "c"),), top_variants=1))
    assert [v["activities"] for v in answer["variants"]["variants"]] == [["a", "c"]]


# Overlapping stages (negative waits), as test_prepared's interval log.
INTERVAL_ROWS = [
    ("i1", "a", 0, 2), ("i1", "b", 1, 3), ("i1", "c", 3, 5),
    ("i2", "a", 0, 1), ("i2", "c", 2, 4),
    ("i3", "b", 5, 5), ("i3", "c", 4, 9),
]  # fmt: skip
INTERVAL_FILTERS = (CaseFilters(), CaseFilters(time_from=at(3)), CaseFilters(top_variants=1))


@pytest.mark.postgresql
def test_prepared_interval_log_on_postgres_answers_as_the_unprepared_one(postgres: Any) -> None:
    log = event_log(INTERVAL_ROWS)
    moved = _on(postgres, log)
    prepared = prepare(order_and_store(moved, attributes=filterable_columns(moved)))
    for filters in INTERVAL_FILTERS:
        answer = _prepared_answer(prepared, filters)
        assert answer == _today(moved, filters)
        assert answer == _today(log, filters)


@pytest.fixture
def natural_language_postgres(postgres: Any) -> Iterator[Any]:
    """A backend on a fresh database whose collation is ICU's root locale, not the code
    points of the test database's C.UTF-8."""
    import ibis
    import psycopg

    name = f"andon_icu_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(
        f"CREATE DATABASE {name} LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8' "
        "TEMPLATE template0"
    )
    backend = ibis.connect(PG_DSN.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield backend
    finally:
        backend.disconnect()
        admin.execute(f"DROP DATABASE {name}")
        admin.close()


@pytest.mark.postgresql
def test_variant_ties_go_by_code_point_whatever_the_collation(
    natural_language_postgres: Any,
) -> None:
    # The root collation puts "a" and "b" before "B"; code points put "B" first, as
    # discover_variants does. One case each: the top variant is the tie's first.
    log = event_log([("c1", "a", 0), ("c2", "B", 1), ("c3", "b", 2)])
    moved = _on(natural_language_postgres, log)
    prepared = prepare(order_and_store(moved, attributes=filterable_columns(moved)))
    filters = CaseFilters(top_variants=1)
    answer = _prepared_answer(prepared, filters)
    assert [v["activities"] for v in answer["variants"]["variants"]] == [["B"]]
    assert answer == _today(log, filters)


# Spark starts a JVM and runs each query in seconds: a few filters, one log.
SPARK_FILTERS = {
    name: FILTERS[name]
    for name in (
        "time intersecting",
        "through a stage",
        "variants",
        "time, attribute and top variants",
        "ends, two attributes, excluded variant",
    )
}


@pytest.fixture(scope="module")
def on_spark(
    spark_backend: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[EventLog, PreparedLog]:
    """The DuckDB log, and its prepared form written by DuckDB and read by Spark."""
    log = _log()
    directory: Path = tmp_path_factory.mktemp("prepared")
    write_prepared(_prepare(log), directory)
    return log, open_prepared(directory, backend=spark_backend)


@pytest.mark.spark
def test_prepared_answers_on_spark_equal_the_unprepared_ones(
    on_spark: tuple[EventLog, PreparedLog],
) -> None:
    log, prepared = on_spark
    assert prepared.engine == "pyspark"
    for name, filters in SPARK_FILTERS.items():
        assert _prepared_answer(prepared, filters) == _today(log, filters), name


@pytest.mark.spark
def test_prepared_interval_log_on_spark_answers_as_the_unprepared_one(
    spark_backend: Any, tmp_path: Path
) -> None:
    log = event_log(INTERVAL_ROWS)
    write_prepared(_prepare(log), tmp_path)
    prepared = open_prepared(tmp_path, backend=spark_backend)
    filters = INTERVAL_FILTERS[1]
    assert _prepared_answer(prepared, filters) == _today(log, filters)
