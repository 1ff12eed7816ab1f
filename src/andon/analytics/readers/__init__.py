"""Format readers: each stages one file as a raw table on a DuckDB connection.

A reader only gets the rows in, in source order, with a ``__row`` column (the 0-based
position of the row in the source). Mapping columns to the standard names, parsing
timestamps and judging rows is :mod:`andon.analytics.sources`' work, the same for every
format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from andon.core.errors import InvalidInput

ROW = "__row"

Format = Literal["csv", "xes", "parquet", "ocel-json", "ocel-xml"]

# Event logs have short lines; anything longer is a broken or hostile file. DuckDB's own
# CSV limit is the same 2 MiB.
MAX_LINE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class StagedLog:
    """A raw table on the staging connection, and what the reader knows about its columns.

    ``defaults`` maps a role (``case``, ``activity``, ...) to the column that holds it when
    the user names none; ``date_columns`` are text columns holding instants (XES ``date``
    attributes) that the normaliser parses like the timestamp.
    """

    table: str
    format: Format
    defaults: dict[str, str] = field(default_factory=dict)
    date_columns: tuple[str, ...] = ()


def detect_format(path: Path) -> Format:
    """The format from the file name's suffix; InvalidInput for anything else."""
    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return "xes"
    if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonocel", ".json")):
        return "ocel-json"
    if name.endswith(".xmlocel"):
        return "ocel-xml"
    raise InvalidInput.for_field(
        "log",
        f"{path.name}: unknown format; expected .csv, .tsv, .xes, .xes.gz, .parquet, "
        ".jsonocel (or .json) or .xmlocel",
    )


def require_file(path: Path) -> None:
    """InvalidInput unless ``path`` is a readable, non-empty file."""
    if not path.exists():
        raise InvalidInput.for_field("log", f"{path}: no such file")
    if not path.is_file():
        raise InvalidInput.for_field("log", f"{path}: not a file")
    if path.stat().st_size == 0:
        raise InvalidInput.for_field("log", f"{path}: the file is empty")
