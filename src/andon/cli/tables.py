"""Rendering for people (aligned plain-text tables) and for scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer

EMPTY_CELL = "-"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 event"``, ``"3 events"``, ``"0 events"``: a count with its noun in the right number."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"


def cell(value: object) -> str:
    """One value as table text: instants in UTC to the second, booleans as yes/no."""
    if value is None or value == "":
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return instant(value)
    return str(value)


def instant(moment: datetime | None) -> str:
    if moment is None:
        return EMPTY_CELL
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = []
    for row in [list(headers), *text_rows]:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def echo_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str = "(none)"
) -> None:
    materialised = list(rows)
    if not materialised:
        typer.echo(empty)
        return
    typer.echo(render_table(headers, materialised))


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
