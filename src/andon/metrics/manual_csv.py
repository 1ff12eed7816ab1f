"""Manual metric values from CSV text, checked row by row before anything is kept.

Shapes (header required exactly): ``period,value`` for XmR, ``period,count,n`` for p and u
charts (defectives or defects in a sample of n), ``period,count`` for c charts.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from andon.core.errors import FieldError, InvalidInput
from andon.metrics.definition import ChartKind
from andon.metrics.periods import Period, PeriodKind, parse_period

MAX_CSV_BYTES = 5_000_000
MAX_ROWS = 100_000
HEADERS: dict[ChartKind, tuple[str, ...]] = {
    "xmr": ("period", "value"),
    "p": ("period", "count", "n"),
    "u": ("period", "count", "n"),
    "c": ("period", "count"),
}


@dataclass(frozen=True)
class Row:
    """One period's value: ``value`` for XmR; ``count`` (and ``n`` for p and u) otherwise."""

    line: int
    period: Period
    value: float | None = None
    count: int | None = None
    n: float | None = None


def read_manual_csv(text: str, chart: ChartKind, period_kind: PeriodKind) -> list[Row]:
    """Every row of ``text``, in file order; InvalidInput listing every bad row otherwise.

    Each error's path is the column at fault (``("period",)``, ``("count",)``...) and its
    message starts with the line, e.g. "line 4: count 12 exceeds n 10". One bad row means
    nothing is returned, so a half-imported series never exists.
    """
    expected = HEADERS[chart]
    if len(text.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        raise _refuse([FieldError(("csv",), f"the file is larger than {MAX_CSV_BYTES} bytes")])
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    # reader.line_num is the line a record ends on, so a stray quoted newline cannot shift
    # the numbers reported for the rows after it.
    lines = [(reader.line_num, cells) for cells in reader]
    header = [cell.strip() for cell in lines[0][1]] if lines else []
    if tuple(header) != expected:
        got = ",".join(header) if header else "nothing"
        msg = f"line 1: the header must be {','.join(expected)} for a {chart} chart, not {got}"
        raise _refuse([FieldError(("header",), msg, "csv_header")])
    if len(lines) - 1 > MAX_ROWS:
        raise _refuse([FieldError(("csv",), f"more than {MAX_ROWS} rows")])
    rows: list[Row] = []
    errors: list[FieldError] = []
    first_line: dict[Period, int] = {}
    for number, cells in lines[1:]:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, e.g. the trailing one a spreadsheet writes
        row_errors = _row_errors(number, cells, expected)
        if row_errors:
            errors += row_errors
            continue
        row = _row(number, cells, chart, period_kind, errors)
        if row is None:
            continue
        if row.period in first_line:
            errors.append(
                _error(
                    number,
                    "period",
                    f"{row.period.key} is already on line {first_line[row.period]}",
                    "csv_duplicate",
                )
            )
            continue
        first_line[row.period] = number
        rows.append(row)
    if errors:
        raise _refuse(errors)
    if not rows:
        raise _refuse([FieldError(("csv",), "line 2: no values after the header", "csv_empty")])
    return rows


def _row_errors(number: int, cells: list[str], expected: tuple[str, ...]) -> list[FieldError]:
    if len(cells) != len(expected):
        msg = f"{len(cells)} columns where {','.join(expected)} has {len(expected)}"
        return [_error(number, "row", msg, "csv_columns")]
    return []


def _row(
    number: int,
    cells: list[str],
    chart: ChartKind,
    period_kind: PeriodKind,
    errors: list[FieldError],
) -> Row | None:
    before = len(errors)
    period: Period | None = None
    try:
        period = parse_period(period_kind, cells[0])
    except InvalidInput as exc:
        errors.append(_error(number, "period", exc.errors[0].msg, "invalid_period"))
    if chart == "xmr":
        value = _number(number, "value", cells[1], errors)
        return Row(number, period, value=value) if period and len(errors) == before else None
    count = _number(number, "count", cells[1], errors, whole=True, minimum=0)
    n = None
    if chart in ("p", "u"):
        n = _number(number, "n", cells[2], errors, whole=chart == "p")
        if n is not None and n <= 0:
            errors.append(_error(number, "n", f"n must be more than 0, not {cells[2].strip()}"))
        elif chart == "p" and count is not None and n is not None and count > n:
            msg = f"count {count:g} exceeds n {n:g}: a proportion cannot pass 1"
            errors.append(_error(number, "count", msg))
    if period is None or len(errors) != before or count is None:
        return None
    return Row(number, period, count=int(count), n=n)


def _number(
    number: int,
    column: str,
    cell: str,
    errors: list[FieldError],
    *,
    whole: bool = False,
    minimum: float | None = None,
) -> float | None:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not text:
        errors.append(_error(number, column, f"{text!r} is not a number"))
        return None
    if whole and not value.is_integer():
        errors.append(_error(number, column, f"{column} must be a whole number, not {text}"))
        return None
    if minimum is not None and value < minimum:
        errors.append(_error(number, column, f"{column} must be at least {minimum:g}, not {text}"))
        return None
    return value


def _error(number: int, column: str, msg: str, kind: str = "value_error") -> FieldError:
    return FieldError((column,), f"line {number}: {msg}", kind)


def _refuse(errors: list[FieldError]) -> InvalidInput:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(f"invalid CSV: {errors[0].msg}{more}", errors)
