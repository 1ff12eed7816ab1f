"""CSV and TSV: one bounded pass to check encoding and line length, then DuckDB's reader.

The check pass reads fixed-size blocks, so a hostile file (a 50 MB line, bytes that are
not valid text) is refused before anything is loaded. DuckDB then sniffs the delimiter,
quoting and header and reads every cell as text: parsing timestamps is left to the
normaliser, so an unparsable cell becomes a rejected row, not a failed import.
"""

from __future__ import annotations

import codecs
import gzip
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from andon.analytics.readers import MAX_LINE_BYTES, ROW, StagedLog
from andon.core.errors import InvalidInput

BLOCK_BYTES = 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _open(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def detect_encoding(path: Path, declared: str | None) -> str:
    """The declared encoding if valid, else the one a byte-order mark names, else UTF-8."""
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError:
            raise InvalidInput.for_field("encoding", f"unknown encoding {declared!r}") from None
    with _open(path) as stream:
        head = stream.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


@contextmanager
def checked_utf8(path: Path, encoding: str) -> Iterator[Path]:
    """Yield a UTF-8 copy of ``path`` (or ``path`` itself when it already is UTF-8).

    Reads in blocks and raises InvalidInput, naming the line and byte offset, at the first
    byte sequence invalid in ``encoding`` or at a line longer than MAX_LINE_BYTES; on an
    empty file too. Only other encodings (and gzip) are transcoded, to a temporary file.
    """
    copy_needed = encoding not in {"utf-8"} or path.name.lower().endswith(".gz")
    with tempfile.TemporaryDirectory(prefix="andon-csv-") as tmp:
        target = Path(tmp) / "log.csv"
        out = target.open("wb") if copy_needed else None
        try:
            _scan(path, encoding, out)
        finally:
            if out is not None:
                out.close()
        yield target if copy_needed else path


def _scan(path: Path, encoding: str, out: BinaryIO | None) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0  # bytes of the source consumed before the current block
    lines = 1
    since_newline = 0
    seen_text = False
    with _open(path) as stream:
        while True:
            block = stream.read(BLOCK_BYTES)
            final = not block
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                line = lines + block[: exc.start].count(b"\n")
                raise InvalidInput.for_field(
                    "log",
                    f"{path.name}: byte {bad} (line {line}) is not valid {encoding} "
                    f"({exc.reason}); name the file's encoding with --encoding",
                ) from None
            if not seen_text and text.strip():
                seen_text = True
            # Line lengths are measured in decoded text: the newline is one character.
            first = text.find("\n")
            if first == -1:
                since_newline += len(text)
            else:
                if since_newline + first > MAX_LINE_BYTES:
                    _too_long(path, lines)
                since_newline = len(text) - text.rfind("\n") - 1
            if since_newline > MAX_LINE_BYTES:
                _too_long(path, lines + text.count("\n"))
            lines += block.count(b"\n")
            offset += len(block)
            if out is not None and text:
                out.write(text.encode("utf-8"))
            if final:
                break
    if not seen_text:
        raise InvalidInput.for_field("log", f"{path.name}: the file is empty")


def _too_long(path: Path, line: int) -> None:
    raise InvalidInput.for_field(
        "log",
        f"{path.name}: line {line} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB; "
        "this is not an event log",
    )


def stage_csv(
    path: Path, con: Any, table: str, *, encoding: str | None = None, delimiter: str | None = None
) -> StagedLog:
    """Read ``path`` into table ``table``: every column as text, plus ``__row``.

    The delimiter (``,`` ``;`` tab ``|``), quoting and whether the first line is a header
    are detected unless ``delimiter`` is given (``.tsv`` means tab). Without a header the
    columns are ``column0``, ``column1``, ... Raises InvalidInput for an undecodable or
    empty file, an over-long line, or a file DuckDB cannot read as CSV.
    """
    enc = detect_encoding(path, encoding)
    if delimiter is None and path.name.lower().removesuffix(".gz").endswith(".tsv"):
        delimiter = "\t"
    with checked_utf8(path, enc) as utf8:
        options = ["all_varchar = true", f"max_line_size = {MAX_LINE_BYTES + 2}"]
        if delimiter is not None:
            options.append("delim = " + _sql_string(delimiter))
        source = f"read_csv({_sql_string(str(utf8))}, {', '.join(options)})"
        staging = f"{table}__src"
        try:
            con.execute(f'CREATE TABLE "{staging}" AS SELECT * FROM {source}')  # noqa: S608
        except Exception as exc:  # duckdb raises several error classes for a bad CSV
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInput.for_field(
                "log", f"{path.name}: not readable as CSV: {first}"
            ) from None
    # rowid is the insertion position, and DuckDB preserves the file's order on insert.
    con.execute(f'CREATE VIEW "{table}" AS SELECT rowid AS "{ROW}", * FROM "{staging}"')  # noqa: S608
    count = con.execute(f'SELECT count(*) FROM "{staging}"').fetchone()[0]  # noqa: S608
    if count == 0:
        raise InvalidInput.for_field("log", f"{path.name}: the log has no rows")
    return StagedLog(table=table, format="csv")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
