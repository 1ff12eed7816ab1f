"""The 5×5 risk matrix: scores, bands, the rules a risk's scores obey, and where its
verification stands. Pure: values in, values or a named error out.

Likelihood and severity are each 1 (rare / negligible) to 5 (almost certain / catastrophic);
the score is their product. Bands, by score:

=========  ========  ==========================================================
band       score     what it asks for
=========  ========  ==========================================================
low        1–4       accept and keep under review
medium     5–9       reduce where reasonable; an owner watches it
high       10–16     reduce before the change or the work goes on
extreme    20–25     stop; not tolerated
=========  ========  ==========================================================

(No product of two numbers 1–5 falls between 16 and 20, so the bands cover every cell.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from andon.core.errors import FieldError, InvalidInput

Band = Literal["low", "medium", "high", "extreme"]
BANDS: tuple[Band, ...] = ("low", "medium", "high", "extreme")
BAND_FLOORS: dict[Band, int] = {"low": 1, "medium": 5, "high": 10, "extreme": 20}
"""The lowest score of each band; a band runs up to the next band's floor."""
SCALE = range(1, 6)
"""Likelihood and severity run 1..5."""

Comparison = Literal["lt", "le", "gt", "ge"]
COMPARISONS: dict[str, str] = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
VerificationState = Literal["met", "not_met", "due", "overdue", "none"]


def score(likelihood: int, severity: int) -> int:
    """Likelihood × severity; refuses a value outside 1..5 naming which."""
    check_scores({"likelihood": likelihood, "severity": severity})
    return likelihood * severity


def band(value: int) -> Band:
    """The band of a score (1..25)."""
    if not 1 <= value <= 25:
        raise InvalidInput.for_field("score", f"a score is 1 to 25, not {value}")
    found: Band = "low"
    for name in BANDS:
        if value >= BAND_FLOORS[name]:
            found = name
    return found


def band_of(likelihood: int | None, severity: int | None) -> Band | None:
    """The band of a pair of scores, or None while either is unknown (not yet assessed)."""
    if likelihood is None or severity is None:
        return None
    return band(score(likelihood, severity))


def check_scores(values: dict[str, int | None]) -> None:
    """Refuses every given (non-None) value outside 1..5, naming each field at fault."""
    errors = [
        FieldError((name,), f"must be a whole number from 1 to 5, not {value}")
        for name, value in values.items()
        if value is not None and (isinstance(value, bool) or value not in SCALE)
    ]
    if errors:
        raise InvalidInput("; ".join(f"{e.loc[0]}: {e.msg}" for e in errors), errors)


def check_assessment(
    inherent_likelihood: int | None,
    inherent_severity: int | None,
    residual_likelihood: int | None,
    residual_severity: int | None,
) -> None:
    """The rules a risk's four scores obey together.

    Each is 1..5 or unknown. Likelihood and severity are given in pairs (one without the
    other is no score). A residual pair needs the inherent pair, and neither residual value
    may be worse than its inherent one: a mitigation does not make a risk likelier or its
    harm greater; a risk that grew is re-assessed (a new inherent score).
    """
    check_scores(
        {
            "inherent_likelihood": inherent_likelihood,
            "inherent_severity": inherent_severity,
            "residual_likelihood": residual_likelihood,
            "residual_severity": residual_severity,
        }
    )
    for kind, pair in (
        ("inherent", (inherent_likelihood, inherent_severity)),
        ("residual", (residual_likelihood, residual_severity)),
    ):
        if (pair[0] is None) != (pair[1] is None):
            missing = f"{kind}_likelihood" if pair[0] is None else f"{kind}_severity"
            raise InvalidInput.for_field(
                missing, f"{kind} likelihood and severity are scored together"
            )
    if residual_likelihood is None:
        return
    if inherent_likelihood is None or inherent_severity is None:
        raise InvalidInput.for_field(
            "inherent_likelihood", "score the inherent risk before the residual risk"
        )
    assert residual_severity is not None
    for name, residual, inherent in (
        ("residual_likelihood", residual_likelihood, inherent_likelihood),
        ("residual_severity", residual_severity, inherent_severity),
    ):
        if residual > inherent:
            raise InvalidInput.for_field(
                name,
                f"{residual} is worse than the inherent {inherent}: the residual risk is what "
                "is left after mitigation; re-assess the inherent risk if it grew",
            )


@dataclass(frozen=True)
class Cell:
    """One cell of the heat map: likelihood, severity, its band and how many risks sit in it."""

    likelihood: int
    severity: int
    band: Band
    count: int


def heat_map(pairs: list[tuple[int, int]]) -> list[list[Cell]]:
    """The 5×5 grid as rows from likelihood 5 (top) down to 1, severity 1..5 left to right,
    counting the (likelihood, severity) pairs given; pairs outside the scale are refused."""
    counts: dict[tuple[int, int], int] = {}
    for likelihood, severity in pairs:
        check_scores({"likelihood": likelihood, "severity": severity})
        counts[(likelihood, severity)] = counts.get((likelihood, severity), 0) + 1
    return [
        [
            Cell(
                likelihood,
                severity,
                band(likelihood * severity),
                counts.get((likelihood, severity), 0),
            )
            for severity in SCALE
        ]
        for likelihood in reversed(SCALE)
    ]


def threshold_met(value: float, comparison: Comparison, threshold: float) -> bool:
    """Whether a metric's value meets ``value <comparison> threshold``."""
    if comparison == "lt":
        return value < threshold
    if comparison == "le":
        return value <= threshold
    if comparison == "gt":
        return value > threshold
    if comparison == "ge":
        return value >= threshold
    raise InvalidInput.for_field("comparison", f"one of {', '.join(COMPARISONS)}")


def verification_state(
    method: str | None,
    result: str | None,
    next_due_on: date | None,
    today: date,
) -> VerificationState:
    """Where a risk's verification stands today.

    No method: ``none``. A recurring check: ``overdue`` after its next due date, ``due`` on
    it (or never done), else the last result. A metric: the last evaluation's result
    (``met``/``not_met``), ``due`` before the first one.
    """
    if method is None:
        return "none"
    if method == "check":
        if next_due_on is not None and today > next_due_on:
            return "overdue"
        if result is None or (next_due_on is not None and today == next_due_on):
            return "due"
    if result in ("met", "not_met"):
        return "met" if result == "met" else "not_met"
    return "due"
