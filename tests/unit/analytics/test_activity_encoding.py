"""On DuckDB a log's activities are held as an ENUM of its own names: same results as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from andon.analytics import sources
from andon.analytics.discovery import discover_dfg, discover_variants
from andon.analytics.report import prepare
from andon.analytics.sources import read_log

NAMES = ["cut 'A'", 'weld "B"', "prüfen", "pack"]


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for case in range(6):
        trace = NAMES if case % 2 else [NAMES[0], NAMES[2], NAMES[2], NAMES[3]]
        for i, name in enumerate(trace):
            rows.append((f"c{case}", name, f"2026-01-05T08:{case:02d}:{i:02d}Z"))
    return rows


def _write(tmp_path: Path, fmt: str) -> Path:
    rows = _rows()
    if fmt == "parquet":
        path = tmp_path / "log.parquet"
        columns = list(zip(*rows, strict=True))
        table = pa.table({"case_id": columns[0], "activity": columns[1], "timestamp": columns[2]})
        table = table.set_column(
            2, "timestamp", pa.array(columns[2]).cast(pa.timestamp("us", tz="UTC"))
        )
        pq.write_table(table, path)
        return path
    path = tmp_path / "log.csv"
    path.write_text(
        "case_id,activity,timestamp\n"
        + "".join(f'{c},"{a.replace(chr(34), chr(34) * 2)}",{t}\n' for c, a, t in rows),
        encoding="utf-8",
    )
    return path


def _activity_type(log: Any) -> str:
    backend = log.table._find_backend()
    name = log.table.get_name()
    return str(backend.con.execute(f'DESCRIBE "{name}"').fetchall()[1][1])


def _results(path: Path) -> tuple[Any, ...]:
    loaded = read_log(path)
    ordered = prepare(loaded.log)
    graph = discover_dfg(ordered, performance=True)
    variants = discover_variants(ordered)
    edges = sorted((e.source, e.target, e.frequency) for e in graph.edges)
    return _activity_type(loaded.log), edges, [(v.activities, v.cases) for v in variants]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_names_with_quotes_and_accents_survive_the_enum(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, fmt)

    kind, edges, variants = _results(path)
    monkeypatch.setattr(sources, "ENUM_ACTIVITIES", 3)  # four names: kept as text
    plain_kind, plain_edges, plain_variants = _results(path)

    assert kind.startswith("ENUM(")
    assert plain_kind == "VARCHAR"
    assert edges == plain_edges
    assert variants == plain_variants
    assert {a for e in edges for a in e[:2]} == set(NAMES)
    assert (tuple(NAMES), 3) in variants
