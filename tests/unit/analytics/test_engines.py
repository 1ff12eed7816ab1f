"""Opening DuckDB: its memory limit, and tables bound without Arrow."""

from __future__ import annotations

import os

import pytest

from andon.analytics.engines import bind_table, connect, duckdb_memory_limit
from andon.core.errors import InvalidInput


def _setting(name: str) -> str:
    return str(connect().con.execute(f"SELECT current_setting('{name}')").fetchone()[0])


def test_duckdb_takes_a_quarter_of_ram_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDON_DUCKDB_MEMORY_LIMIT", raising=False)
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20

    assert duckdb_memory_limit() == f"{total_mb // 4}MB"
    monkeypatch.setenv("ANDON_DUCKDB_MEMORY_LIMIT", "1GB")
    # DuckDB reports it in its own units: 1GB is 953.6 MiB.
    assert _setting("memory_limit") == "953.6 MiB"


def test_a_memory_limit_duckdb_cannot_read_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANDON_DUCKDB_MEMORY_LIMIT", "lots")

    with pytest.raises(InvalidInput) as raised:
        connect()

    assert raised.value.errors[0].loc[-1] == "ANDON_DUCKDB_MEMORY_LIMIT"
    assert "'lots'" in str(raised.value)


def test_a_bound_table_has_the_schema_ibis_reads() -> None:
    backend = connect()
    backend.con.execute(
        "CREATE TABLE t (c VARCHAR NOT NULL, n BIGINT, ts TIMESTAMPTZ, d DECIMAL(9,3), l TEXT[])"
    )

    bound = bind_table(backend, "t")

    assert bound.schema() == backend.table("t").schema()
    assert bound.count().execute() == 0
