"""The risk register as an XLSX workbook: a register sheet and a sheet of the 5×5 bands.

Every text goes through ``write_string`` (and the workbook turns no string into a formula,
number or link): a title or cause starting with = + - @ stays text, never a formula a
spreadsheet would run. Scores are written as numbers so the sheet sorts and filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO

import xlsxwriter  # type: ignore[import-untyped]

from andon.improvement import risk_matrix
from andon.improvement.risk_schemas import RiskOut

SHEET = "Risk register"
BANDS_SHEET = "Bands"
COLOURS = {"low": "#C6EFCE", "medium": "#FFEB9C", "high": "#F8CBAD", "extreme": "#FFC7CE"}
COLUMNS = (
    ("Reference", 10),
    ("Title", 40),
    ("Area", 10),
    ("Status", 12),
    ("Owner", 14),
    ("Cause", 40),
    ("Consequence", 40),
    ("Inherent likelihood", 10),
    ("Inherent severity", 10),
    ("Inherent score", 10),
    ("Inherent band", 10),
    ("Residual likelihood", 10),
    ("Residual severity", 10),
    ("Residual score", 10),
    ("Residual band", 10),
    ("Open mitigations", 10),
    ("Verification", 30),
    ("Verification status", 12),
    ("Last verified", 20),
    ("Next review", 12),
)
MEANINGS = {
    "low": "Accept and keep under review.",
    "medium": "Reduce where reasonable; an owner watches it.",
    "high": "Reduce before the change or the work goes on.",
    "extreme": "Stop; not tolerated.",
}


def verification_text(risk: RiskOut) -> str:
    """How the risk is verified, in words: ``rework_rate ≤ 2`` or ``check every 30 days``."""
    if risk.verification_method == "metric":
        sign = risk_matrix.COMPARISONS.get(risk.metric_comparison or "", "?")
        return f"{risk.metric_key} {sign} {risk.metric_threshold:g}"
    if risk.verification_method == "check":
        return f"check every {risk.check_interval_days} days"
    return ""


def risks_xlsx_bytes(risks: Sequence[RiskOut], today: date) -> bytes:
    """The register (one row per risk, in the order given) as an XLSX file's bytes."""
    buffer = BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        bands = {name: workbook.add_format({"bg_color": c}) for name, c in COLOURS.items()}
        sheet = workbook.add_worksheet(SHEET)
        sheet.freeze_panes(1, 2)
        for j, (name, width) in enumerate(COLUMNS):
            sheet.set_column(j, j, width)
            sheet.write_string(0, j, name, bold)
        for i, r in enumerate(risks, start=1):
            texts = (
                r.reference,
                r.title,
                r.area or "",
                r.status.replace("_", " "),
                r.owner,
                r.cause,
                r.consequence,
            )
            for j, value in enumerate(texts):
                sheet.write_string(i, j, value)
            for start, values, band in (
                (
                    7,
                    (r.inherent_likelihood, r.inherent_severity, r.inherent_score),
                    r.inherent_band,
                ),
                (
                    11,
                    (r.residual_likelihood, r.residual_severity, r.residual_score),
                    r.residual_band,
                ),
            ):
                for k, number in enumerate(values):
                    if number is not None:
                        sheet.write_number(i, start + k, number)
                if band is not None:
                    sheet.write_string(i, start + 3, band, bands[band])
            sheet.write_number(i, 15, r.open_mitigations)
            sheet.write_string(i, 16, verification_text(r))
            sheet.write_string(i, 17, r.verification_state.replace("_", " "))
            sheet.write_string(
                i,
                18,
                f"{r.verified_at:%Y-%m-%d %H:%M} UTC by {r.verified_by}" if r.verified_at else "",
            )
            sheet.write_string(i, 19, r.review_on.isoformat() if r.review_on else "")
        legend = workbook.add_worksheet(BANDS_SHEET)
        legend.set_column(0, 1, 12)
        legend.set_column(2, 2, 60)
        for j, name in enumerate(("Band", "Score", "Meaning")):
            legend.write_string(0, j, name, bold)
        products = {a * b for a in risk_matrix.SCALE for b in risk_matrix.SCALE}
        for i, name in enumerate(risk_matrix.BANDS, start=1):
            scores = sorted(p for p in products if risk_matrix.band(p) == name)
            legend.write_string(i, 0, name, bands[name])
            legend.write_string(i, 1, f"{scores[0]}–{scores[-1]}")
            legend.write_string(i, 2, MEANINGS[name])
        legend.write_string(len(risk_matrix.BANDS) + 2, 0, "As of")
        legend.write_string(len(risk_matrix.BANDS) + 2, 1, today.isoformat())
    finally:
        workbook.close()
    return buffer.getvalue()
