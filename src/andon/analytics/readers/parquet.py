"""Parquet: DuckDB's vectorised reader, with the row's position in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from andon.analytics.readers import ROW, StagedLog
from andon.core.errors import InvalidInput


def stage_parquet(path: Path, con: Any, table: str) -> StagedLog:
    """Read ``path`` into table ``table`` with its own column types, plus ``__row``.

    ``__row`` is DuckDB's ``file_row_number``: the 0-based position in the file. Raises
    InvalidInput when the file is not Parquet or holds no rows.
    """
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        con.execute(
            f'CREATE TABLE "{table}" AS SELECT file_row_number AS "{ROW}", '  # noqa: S608
            f"* EXCLUDE (file_row_number) "
            f"FROM read_parquet({literal}, file_row_number = true)"
        )
    except Exception as exc:  # duckdb raises several error classes for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput.for_field(
            "log", f"{path.name}: not readable as Parquet: {first}"
        ) from None
    count = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
    if count == 0:
        raise InvalidInput.for_field("log", f"{path.name}: the log has no rows")
    return StagedLog(table=table, format="parquet")
