"""The training matrix as an XLSX workbook: a matrix sheet and a legend sheet.

Written with XlsxWriter in constant-memory mode (rows are streamed to disk as they are
written), so 1,000 people × 300 documents stays small in memory and takes seconds. Every text
goes through ``write_string``: a title or name starting with = + - @ stays text, never a
formula a spreadsheet would run.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]

from andon.training.matrix import MEANINGS, STATES, Matrix

SHEET = "Training matrix"
LEGEND = "Legend"
COLOURS = {
    "current": "#C6EFCE",
    "due": "#FFEB9C",
    "overdue": "#FFC7CE",
    "not_required": "#FFFFFF",
}


def header(number: str, revision: int, title: str) -> str:
    """A document's column heading: number, revision and title."""
    return f"{number} rev {revision}: {title}"


def write_matrix_xlsx(matrix: Matrix, target: str | Path | BytesIO) -> None:
    """Write ``matrix`` to ``target``: the first row names the documents, then one row per
    person (username, name, then the state of each document as text)."""
    output = str(target) if isinstance(target, Path) else target
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        formats = {
            code: workbook.add_format({"bg_color": COLOURS[name], "border": 1})
            for code, name in STATES.items()
        }
        texts = {code: name.replace("_", " ") for code, name in STATES.items()}
        sheet = workbook.add_worksheet(SHEET)
        sheet.freeze_panes(1, 2)
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 24)
        if matrix.documents:
            sheet.set_column(2, 1 + len(matrix.documents), 14)
        sheet.write_string(0, 0, "Username", bold)
        sheet.write_string(0, 1, "Name", bold)
        for j, document in enumerate(matrix.documents, start=2):
            sheet.write_string(
                0, j, header(document.number, document.revision, document.title), bold
            )
        write = sheet.write_string
        for i, (person, row) in enumerate(zip(matrix.people, matrix.rows, strict=True), start=1):
            write(i, 0, person.username)
            write(i, 1, person.name)
            for j, code in enumerate(row, start=2):
                write(i, j, texts[code], formats[code])
        legend = workbook.add_worksheet(LEGEND)
        legend.set_column(0, 0, 14)
        legend.set_column(1, 1, 80)
        legend.write_string(0, 0, "State", bold)
        legend.write_string(0, 1, "Meaning", bold)
        for i, (code, name) in enumerate(STATES.items(), start=1):
            legend.write_string(i, 0, texts[code], formats[code])
            legend.write_string(i, 1, MEANINGS[name])
        legend.write_string(len(STATES) + 2, 0, "As of")
        legend.write_string(len(STATES) + 2, 1, matrix.today.isoformat())
    finally:
        workbook.close()


def matrix_xlsx_bytes(matrix: Matrix) -> bytes:
    """The workbook as bytes, for a download."""
    buffer = BytesIO()
    write_matrix_xlsx(matrix, buffer)
    return buffer.getvalue()
