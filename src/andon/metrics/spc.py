"""Control charts (XmR, p, u, c) with frozen limits and the Western Electric and Nelson rules.

Pure: no I/O. The flow is ``compute_limits(kind, baseline)`` once, then
``apply_limits(limits, observations, rules)`` as often as new points arrive; limits change only
when a caller computes them again from a new baseline, never as a side effect of new data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any, Literal

from andon.core.errors import FieldError, InvalidInput

ChartKind = Literal["xmr", "p", "u", "c"]
CHART_KINDS: tuple[ChartKind, ...] = ("xmr", "p", "u", "c")

# Shewhart constants for moving ranges of two: d2 = 1.128, 3/d2 ≈ 2.66, D4 = 3.267.
D2 = 1.128
XMR_FACTOR = 2.66
MR_FACTOR = 3.267

WESTERN_ELECTRIC = ("WE1", "WE2", "WE3", "WE4")
NELSON = ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8")
RULE_IDS = WESTERN_ELECTRIC + NELSON
RULE_SETS = {"western-electric": WESTERN_ELECTRIC, "nelson": NELSON}

# The fewest baseline points that give limits at all: a moving range needs two values.
MIN_BASELINE: dict[ChartKind, int] = {"xmr": 2, "p": 1, "u": 1, "c": 1}


@dataclass(frozen=True)
class Observation:
    """One period's data. ``value`` is the measurement for XmR and the count (defectives,
    defects or events) for p, u and c; ``n`` is the sample size, required for p and u."""

    period: str
    value: float
    n: float | None = None


@dataclass(frozen=True)
class Limits:
    """Limits frozen from a baseline. ``center`` is the mean (XmR), p̄, ū or c̄; ``mr_bar`` is
    the mean moving range of the baseline (XmR only)."""

    kind: ChartKind
    center: float
    baseline_points: int
    mr_bar: float | None = None

    @property
    def mr_ucl(self) -> float | None:
        """Upper limit of the moving-range chart (XmR only): 3.267 · MR-bar."""
        return None if self.mr_bar is None else MR_FACTOR * self.mr_bar

    def at(self, n: float | None = None) -> tuple[float, float, float]:
        """``(lcl, ucl, sigma)`` for a point with sample size ``n`` (ignored by XmR and c).
        Lower limits below 0 are 0 for p, u and c, and p's upper limit is at most 1; ``sigma``
        is never clamped, so the 1σ and 2σ zones keep their width."""
        if self.kind == "xmr":
            assert self.mr_bar is not None
            half = XMR_FACTOR * self.mr_bar
            return self.center - half, self.center + half, self.mr_bar / D2
        if self.kind == "c":
            sigma = math.sqrt(self.center)
        else:
            if n is None or n <= 0:
                raise ValueError(f"a {self.kind}-chart point needs a sample size above 0")
            if self.kind == "p":
                sigma = math.sqrt(self.center * (1 - self.center) / n)
            else:
                sigma = math.sqrt(self.center / n)
        lcl = max(0.0, self.center - 3 * sigma)
        ucl = self.center + 3 * sigma
        if self.kind == "p":
            ucl = min(1.0, ucl)
        return lcl, ucl, sigma


@dataclass(frozen=True)
class Point:
    """One plotted point: ``value`` is the plotted statistic (the proportion for p, the rate
    for u), ``signals`` the rule ids it completes and ``reasons`` one sentence per signal, in
    the same order. A point with no signals is noise."""

    period: str
    value: float
    ucl: float
    lcl: float
    signals: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    moving_range: float | None = None

    @property
    def is_noise(self) -> bool:
        return not self.signals


@dataclass(frozen=True)
class Chart:
    """A control chart. ``ucl``/``lcl`` are constant for XmR and c and ``None`` for p and u,
    whose limits vary with each point's sample size (see each ``Point``)."""

    kind: ChartKind
    center: float
    ucl: float | None
    lcl: float | None
    points: tuple[Point, ...]
    rules: tuple[str, ...]
    limits: Limits


# --- baselines ---------------------------------------------------------------------------------


def first_points(observations: Sequence[Observation], count: int) -> tuple[Observation, ...]:
    """The first ``count`` observations as a baseline (``baseline: {points: N}``)."""
    if count < 1:
        raise InvalidInput.for_field("baseline", f"needs a positive number of points, not {count}")
    return tuple(observations[:count])


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def period_start(period: str) -> date:
    """The first day of a period written as ``2026-11-23``, ``2026-W47`` or ``2026-11``.
    A shift period may carry its date first (``2026-11-23 A``)."""
    if m := _WEEK.match(period):
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    if m := _MONTH.match(period):
        return date(int(m[1]), int(m[2]), 1)
    try:
        return date.fromisoformat(period[:10])
    except ValueError:
        raise InvalidInput.for_field("baseline", f"period {period!r} has no date") from None


def points_between(
    observations: Sequence[Observation], start: date, end: date
) -> tuple[Observation, ...]:
    """The observations whose period starts within ``start``..``end`` inclusive
    (``baseline: {from: DATE, to: DATE}``)."""
    if end < start:
        raise InvalidInput.for_field("baseline", f"'to' ({end}) is before 'from' ({start})")
    return tuple(o for o in observations if start <= period_start(o.period) <= end)


# --- limits ------------------------------------------------------------------------------------


def compute_limits(kind: ChartKind, baseline: Sequence[Observation]) -> Limits:
    """Limits from an explicit selection of points. Refuses (``InvalidInput`` on ``baseline``)
    a baseline shorter than the chart needs — 2 points for XmR, 1 for p, u and c — and one
    without variation (limits of zero width would flag every later point). These are the
    minimums arithmetic allows; limits from fewer than about 20 points move a lot when
    recomputed, so use at least 20 where the history has them."""
    if kind not in CHART_KINDS:
        known = ", ".join(CHART_KINDS)
        raise InvalidInput.for_field("chart", f"unknown chart {kind!r}; known: {known}")
    _check_observations(kind, baseline, "baseline")
    need = MIN_BASELINE[kind]
    if len(baseline) < need:
        raise InvalidInput.for_field(
            "baseline",
            f"an {kind} chart needs at least {need} baseline points to compute limits, "
            f"got {len(baseline)} (at least 20 are recommended)",
        )
    if kind == "xmr":
        values = [o.value for o in baseline]
        ranges = [abs(b - a) for a, b in pairwise(values)]
        mr_bar = sum(ranges) / len(ranges)
        if mr_bar == 0:
            raise _flat_baseline()
        return Limits(kind, sum(values) / len(values), len(baseline), mr_bar)
    counts = sum(o.value for o in baseline)
    size = len(baseline) if kind == "c" else sum(o.n or 0 for o in baseline)
    center = counts / size
    if center == 0 or (kind == "p" and center == 1):
        raise _flat_baseline()
    return Limits(kind, center, len(baseline))


def _flat_baseline() -> InvalidInput:
    return InvalidInput.for_field(
        "baseline", "the baseline has no variation, so its limits would have zero width"
    )


def _check_observations(kind: ChartKind, observations: Sequence[Observation], name: str) -> None:
    errors: list[FieldError] = []
    for i, o in enumerate(observations):
        if not math.isfinite(o.value):
            errors.append(FieldError((name, i, "value"), "must be a finite number"))
        elif kind != "xmr" and o.value < 0:
            errors.append(FieldError((name, i, "count"), "must not be negative"))
        if kind in ("p", "u"):
            if o.n is None or not math.isfinite(o.n) or o.n <= 0:
                errors.append(FieldError((name, i, "n"), "a sample size above 0 is required"))
            elif kind == "p" and o.value > o.n:
                errors.append(FieldError((name, i, "count"), "must not exceed the sample size n"))
    if errors:
        raise InvalidInput(f"{name}: {len(errors)} invalid point(s)", errors)


# --- charts ------------------------------------------------------------------------------------


def apply_limits(
    limits: Limits, observations: Sequence[Observation], rules: Iterable[str] = ()
) -> Chart:
    """Plot every observation against frozen ``limits`` and flag the ``rules`` (ids from
    :func:`parse_rules`). A signal is reported on the point that completes a rule's pattern,
    and on every later point that completes it again (a run of 11 flags points 9–11 for N2).
    Every rule looks only backwards, so adding points never changes earlier flags."""
    _check_observations(limits.kind, observations, "points")
    rule_ids = parse_rules(rules)
    zones: list[_Zone] = []
    for o in observations:
        lcl, ucl, sigma = limits.at(o.n)
        value = o.value if limits.kind in ("xmr", "c") else o.value / (o.n or 1)
        zones.append(_Zone(value, limits.center, sigma, lcl, ucl))
    points = []
    for i, (o, z) in enumerate(zip(observations, zones, strict=True)):
        fired = [(rule, reason) for rule in rule_ids if (reason := _RULES[rule](zones, i))]
        mr = abs(o.value - observations[i - 1].value) if limits.kind == "xmr" and i else None
        points.append(
            Point(
                o.period,
                z.value,
                z.ucl,
                z.lcl,
                tuple(r for r, _ in fired),
                tuple(s for _, s in fired),
                mr,
            )
        )
    if limits.kind in ("xmr", "c"):
        lcl, ucl, _ = limits.at()
        return Chart(limits.kind, limits.center, ucl, lcl, tuple(points), rule_ids, limits)
    return Chart(limits.kind, limits.center, None, None, tuple(points), rule_ids, limits)


def chart_json(chart: Chart) -> dict[str, Any]:
    """The fixed shape of ``andon metric chart KEY --json``: ``chart``, ``center``, ``ucl``,
    ``lcl`` (``null`` for p and u, whose limits are per point) and ``points`` with ``period``,
    ``value``, ``ucl``, ``lcl``, ``signals``; plus ``reasons`` per point, ``rules``,
    ``baseline_points`` and, for XmR, ``mr_bar``, ``mr_ucl`` and each point's ``moving_range``."""
    out: dict[str, Any] = {
        "chart": chart.kind,
        "center": chart.center,
        "ucl": chart.ucl,
        "lcl": chart.lcl,
        "points": [],
        "rules": list(chart.rules),
        "baseline_points": chart.limits.baseline_points,
    }
    if chart.kind == "xmr":
        out["mr_bar"] = chart.limits.mr_bar
        out["mr_ucl"] = chart.limits.mr_ucl
    for p in chart.points:
        row: dict[str, Any] = {
            "period": p.period,
            "value": p.value,
            "ucl": p.ucl,
            "lcl": p.lcl,
            "signals": list(p.signals),
            "reasons": list(p.reasons),
        }
        if chart.kind == "xmr":
            row["moving_range"] = p.moving_range
        out["points"].append(row)
    return out


def parse_rules(spec: Iterable[str]) -> tuple[str, ...]:
    """Rule ids from ids (``WE1``..``WE4``, ``N1``..``N8``, any case) and the set names
    ``western-electric`` and ``nelson``; duplicates dropped, in the order of :data:`RULE_IDS`.
    An unknown name is refused on ``rules`` with the known ones listed."""
    chosen: set[str] = set()
    for item in spec:
        key = item.strip()
        if key.lower() in RULE_SETS:
            chosen.update(RULE_SETS[key.lower()])
        elif key.upper() in RULE_IDS:
            chosen.add(key.upper())
        else:
            known = ", ".join((*RULE_IDS, *RULE_SETS))
            raise InvalidInput.for_field("rules", f"unknown rule {item!r}; known: {known}")
    return tuple(r for r in RULE_IDS if r in chosen)


# --- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Zone:
    value: float
    center: float
    sigma: float
    lcl: float
    ucl: float

    @property
    def side(self) -> int:
        """+1 above the centre line, -1 below, 0 on it (a point on the line breaks a run)."""
        return (self.value > self.center) - (self.value < self.center)

    def beyond(self, k: float) -> int:
        """+1 more than ``k`` σ above the centre, -1 more than ``k`` σ below, else 0."""
        if self.value - self.center > k * self.sigma:
            return 1
        if self.center - self.value > k * self.sigma:
            return -1
        return 0


def _compare(a: float, b: float) -> tuple[str, str]:
    """Both numbers with enough digits that they read as different."""
    for digits in (4, 6, 8, 12):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb:
            return sa, sb
    return repr(a), repr(b)


def _span(i: int, length: int) -> str:
    return f"points {i - length + 2}–{i + 1}"


_SIDE = {1: "above", -1: "below"}


def _beyond_limits(z: Sequence[_Zone], i: int) -> str | None:
    p = z[i]
    if p.value > p.ucl:
        v, u = _compare(p.value, p.ucl)
        return f"Point {i + 1} is above the upper control limit ({v} > {u})"
    if p.value < p.lcl:
        v, lo = _compare(p.value, p.lcl)
        return f"Point {i + 1} is below the lower control limit ({v} < {lo})"
    return None


def _run(length: int) -> Callable[[Sequence[_Zone], int], str | None]:
    def rule(z: Sequence[_Zone], i: int) -> str | None:
        if i + 1 < length:
            return None
        side = z[i].side
        if side and all(z[j].side == side for j in range(i - length + 1, i)):
            return f"{length} points in a row {_SIDE[side]} the centre line ({_span(i, length)})"
        return None

    return rule


def _k_of_m(k: int, m: int, sigmas: int) -> Callable[[Sequence[_Zone], int], str | None]:
    # At the start of a chart fewer than m points exist; k of them beyond the zone is already
    # the pattern, so the window is whatever is there (2 of the first 2 fires WE2/N5).
    def rule(z: Sequence[_Zone], i: int) -> str | None:
        side = z[i].beyond(sigmas)
        if not side:
            return None
        window = range(max(0, i - m + 1), i + 1)
        if sum(z[j].beyond(sigmas) == side for j in window) < k:
            return None
        return (
            f"{k} of {len(window)} points in a row more than {sigmas}σ {_SIDE[side]} "
            f"the centre line ({_span(i, len(window))})"
        )

    return rule


def _trend(z: Sequence[_Zone], i: int, length: int = 6) -> str | None:
    if i + 1 < length:
        return None
    steps = [z[j].value - z[j - 1].value for j in range(i - length + 2, i + 1)]
    if all(s > 0 for s in steps):
        return f"{length} points in a row steadily increasing ({_span(i, length)})"
    if all(s < 0 for s in steps):
        return f"{length} points in a row steadily decreasing ({_span(i, length)})"
    return None


def _alternating(z: Sequence[_Zone], i: int, length: int = 14) -> str | None:
    if i + 1 < length:
        return None
    steps = [z[j].value - z[j - 1].value for j in range(i - length + 2, i + 1)]
    if all(a * b < 0 for a, b in pairwise(steps)):
        return f"{length} points in a row alternating up and down ({_span(i, length)})"
    return None


def _within_one_sigma(z: Sequence[_Zone], i: int, length: int = 15) -> str | None:
    if i + 1 < length or any(z[j].beyond(1) for j in range(i - length + 1, i + 1)):
        return None
    return f"{length} points in a row within 1σ of the centre line ({_span(i, length)})"


def _outside_one_sigma(z: Sequence[_Zone], i: int, length: int = 8) -> str | None:
    if i + 1 < length or not all(z[j].beyond(1) for j in range(i - length + 1, i + 1)):
        return None
    return (
        f"{length} points in a row more than 1σ from the centre line, none within 1σ "
        f"({_span(i, length)})"
    )


_RULES: dict[str, Callable[[Sequence[_Zone], int], str | None]] = {
    "WE1": _beyond_limits,
    "WE2": _k_of_m(2, 3, 2),
    "WE3": _k_of_m(4, 5, 1),
    "WE4": _run(8),
    "N1": _beyond_limits,
    "N2": _run(9),
    "N3": _trend,
    "N4": _alternating,
    "N5": _k_of_m(2, 3, 2),
    "N6": _k_of_m(4, 5, 1),
    "N7": _within_one_sigma,
    "N8": _outside_one_sigma,
}
