"""Parquet: DuckDB's vectorised reader, with the row's position in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from andon.analytics.readers import ROW, StagedLog
from andon.core.errors import InvalidInput


def stage_parquet(path: Path, con: Any, table: str) -> StagedLog:
    """Create view ``table`` over ``path``: the file's own column types, plus ``__row``.

    ``__row`` is DuckDB's ``file_row_number``: the 0-based position in the file. A view,
    not a copy: the normaliser reads the file once into the judged table, so a large log
    is never held twice (the file must stay in place until the import returns). Raises
    InvalidInput when the file is not Parquet or holds no rows.
    """
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        con.execute(
            f'CREATE VIEW "{table}" AS SELECT file_row_number AS "{ROW}", '  # noqa: S608
            f"* EXCLUDE (file_row_number) "
            f"FROM read_parquet({literal}, file_row_number = true)"
        )
        # The footer holds the row count, so this reads no data; a non-Parquet file fails here.
        count = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
    except Exception as exc:  # duckdb raises several error classes for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput.for_field(
            "log", f"{path.name}: not readable as Parquet: {first}"
        ) from None
    if count == 0:
        raise InvalidInput.for_field("log", f"{path.name}: the log has no rows")
    return StagedLog(table=table, format="parquet")
