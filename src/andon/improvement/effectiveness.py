"""The effectiveness check of a CAPA: did the metric move the better way once the change took
effect? A statistical test of the window after against the window before, plus the control
chart's rules on the after window against the limits frozen before.

Pure: no I/O. The service picks the metric's finished periods and its frozen limits; this
module splits them into the two windows, tests, and returns a verdict with its numbers.

- A p chart (a proportion of a counted sample) is tested with the two-proportion z-test on
  the pooled counts: z = (p_after − p_before) / √(p̄(1 − p̄)(1/n_before + 1/n_after)), p̄ the
  proportion of both windows together; one-sided in the better direction.
- A u, c or XmR chart is tested with the Mann–Whitney U test on the per-period values (no
  assumption of normality), one-sided in the better direction.

Assumptions (see docs/improvement.md): the periods are independent of one another, the process was
stable before the change, and nothing else changed in the two windows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from scipy import stats

from andon.core.errors import InvalidInput
from andon.metrics.series import PeriodValue
from andon.metrics.spc import (
    Chart,
    ChartKind,
    Limits,
    Observation,
    apply_limits,
    compute_limits,
    parse_rules,
    period_start,
)

Direction = Literal["lower_is_better", "higher_is_better"]
Verdict = Literal["effective", "not_effective", "not_enough_data"]
VERDICTS: tuple[Verdict, ...] = ("effective", "not_effective", "not_enough_data")

ALPHA = 0.05
MIN_PERIODS = 5
MIN_SAMPLE = 30
WINDOW_DAYS = 28

# Rules whose pattern has no side of the centre line: a signal that is neither better nor worse.
_UNSIDED = frozenset({"N4", "N7", "N8"})


@dataclass(frozen=True)
class Window:
    """One window's summary: ``n`` periods with data and their ``value`` (the mean, or for a
    p or u chart the pooled rate Σcount / Σn; ``None`` without data). ``count`` and ``sample``
    are Σcount and Σn (p and u only)."""

    n: int
    value: float | None
    count: float | None = None
    sample: float | None = None


@dataclass(frozen=True)
class Signal:
    """A control-chart rule fired on an after-window point. ``better``: the point lies on the
    better side of the before-limits' centre (``None`` for a rule without a side)."""

    period: str
    rule: str
    reason: str
    better: bool | None

    def as_json(self) -> dict[str, Any]:
        side = "better" if self.better else "worse" if self.better is False else "neither"
        return {
            "period": self.period,
            "rule": self.rule,
            "reason": self.reason,
            "better": self.better,
            "direction": side,
        }


@dataclass(frozen=True)
class Check:
    """The outcome of an effectiveness check."""

    verdict: Verdict
    method: str
    before: Window
    after: Window
    p_value: float | None
    signals: tuple[Signal, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The fixed shape of ``andon capa check --json`` (plus ``details``)."""
        return {
            "verdict": self.verdict,
            "method": self.method,
            "before": {"n": self.before.n, "value": self.before.value},
            "after": {"n": self.after.n, "value": self.after.value},
            "p_value": self.p_value,
            "signals": [s.as_json() for s in self.signals],
            "details": self.details,
        }


def combine_lines(kind: ChartKind, values: Sequence[PeriodValue]) -> list[PeriodValue]:
    """One whole-plant series from the per-line values of a metric split by line, in period
    order: per period, the pooled rate for p and u (Σcount / Σn), the total for c (events
    add up across lines), the mean of the lines' values for XmR (a measurement per line,
    each line one reading). Lines with no data that period are left out of it."""
    periods: dict[str, list[PeriodValue]] = {}
    for v in values:
        if v.value is not None:
            periods.setdefault(v.period, []).append(v)
    combined = []
    for period in sorted(periods, key=period_start):
        found = periods[period]
        if kind in ("p", "u"):
            count = sum(v.count or 0.0 for v in found)
            n = sum(v.n or 0.0 for v in found)
            combined.append(PeriodValue(period, None, count / n if n else None, count, n))
        elif kind == "c":
            total = sum(v.value or 0.0 for v in found)
            combined.append(PeriodValue(period, None, total, total))
        else:
            mean = sum(v.value or 0.0 for v in found) / len(found)
            combined.append(PeriodValue(period, None, mean))
    return combined


def split_windows(
    values: Sequence[PeriodValue], effective_on: date, window_days: int = WINDOW_DAYS
) -> tuple[list[PeriodValue], list[PeriodValue]]:
    """The values whose period starts in [effective_on − window_days, effective_on) (before)
    and in [effective_on, effective_on + window_days) (after), in the order given."""
    if window_days < 1:
        raise InvalidInput.for_field("window_days", "must be at least 1")
    start, end = (
        effective_on - timedelta(days=window_days),
        effective_on + timedelta(days=window_days),
    )
    before, after = [], []
    for v in values:
        first = period_start(v.period)
        if start <= first < effective_on:
            before.append(v)
        elif effective_on <= first < end:
            after.append(v)
    return before, after


def check_effectiveness(
    kind: ChartKind,
    direction: Direction,
    before: Sequence[PeriodValue],
    after: Sequence[PeriodValue],
    *,
    rules: Sequence[str] = ("western-electric",),
    limits: Limits | None = None,
    alpha: float = ALPHA,
    min_periods: int = MIN_PERIODS,
    min_sample: float = MIN_SAMPLE,
) -> Check:
    """Test the ``after`` window against the ``before`` window of a metric charted as
    ``kind``, "better" read from ``direction``.

    Only periods with data count (a value; for p and u a count and a sample above 0).
    ``limits``: the limits frozen before the change; ``None`` computes them from the before
    window (no signals when that window has too few points or no variation). The verdict is
    ``not_enough_data`` when a window has fewer than ``min_periods`` periods or, for p and u,
    a total sample under ``min_sample``; ``effective`` when the one-sided p-value is below
    ``alpha`` and the after value is better than the before value; else ``not_effective``.
    """
    if not 0 < alpha < 1:
        raise InvalidInput.for_field("alpha", "must be between 0 and 1")
    rule_ids = parse_rules(rules)
    lower = direction == "lower_is_better"
    b, a = _with_data(kind, before), _with_data(kind, after)
    wb, wa = _summary(kind, b), _summary(kind, a)
    limits_from = "frozen before the change" if limits is not None else "the before window"
    method = _method(kind, lower, alpha, min_periods, min_sample, rule_ids, limits_from)
    signals, limits_used = _signals(kind, lower, b, a, rule_ids, limits)
    details: dict[str, Any] = {
        "chart": kind,
        "direction": direction,
        "alpha": alpha,
        "min_periods": min_periods,
        "min_sample": min_sample if kind in ("p", "u") else None,
        "rules": list(rule_ids),
        "limits_from": limits_from if limits_used is not None else None,
        "center": None if limits_used is None else limits_used.center,
        "before_periods": [v.period for v in b],
        "after_periods": [v.period for v in a],
    }
    if kind in ("p", "u"):
        details.update(before_count=wb.count, before_sample=wb.sample)
        details.update(after_count=wa.count, after_sample=wa.sample)
    short = wb.n < min_periods or wa.n < min_periods
    if kind in ("p", "u"):
        short = short or (wb.sample or 0) < min_sample or (wa.sample or 0) < min_sample
    if short:
        return Check("not_enough_data", method, wb, wa, None, signals, details)
    if kind == "p":
        p_value, statistic = _two_proportion(wb, wa, lower)
        details["z"] = statistic
    else:
        p_value, statistic = _mann_whitney(kind, b, a, lower)
        details["u"] = statistic
    assert wb.value is not None
    assert wa.value is not None
    better = wa.value < wb.value if lower else wa.value > wb.value
    verdict: Verdict = (
        "effective" if p_value is not None and p_value < alpha and better else "not_effective"
    )
    return Check(verdict, method, wb, wa, p_value, signals, details)


def window_chart(
    kind: ChartKind,
    before: Sequence[PeriodValue],
    after: Sequence[PeriodValue],
    *,
    rules: Sequence[str] = ("western-electric",),
    limits: Limits | None = None,
) -> Chart | None:
    """Both windows on one control chart, against the limits the check uses (frozen before
    the change, else from the before window); ``None`` when no limits can be had."""
    b, a = _with_data(kind, before), _with_data(kind, after)
    if limits is None or limits.kind != kind:
        try:
            limits = compute_limits(kind, _observations(kind, b))
        except InvalidInput:
            return None
    return apply_limits(limits, _observations(kind, [*b, *a]), parse_rules(rules))


def _with_data(kind: ChartKind, values: Sequence[PeriodValue]) -> list[PeriodValue]:
    if kind in ("p", "u"):
        return [
            v
            for v in values
            if v.value is not None and v.count is not None and v.n is not None and v.n > 0
        ]
    return [v for v in values if v.value is not None]


def _plotted(kind: ChartKind, v: PeriodValue) -> float:
    """The per-period value the test ranks: the rate for p and u, the count for c."""
    if kind in ("p", "u"):
        assert v.count is not None
        assert v.n
        return v.count / v.n
    if kind == "c" and v.count is not None:
        return v.count
    assert v.value is not None
    return v.value


def _summary(kind: ChartKind, values: Sequence[PeriodValue]) -> Window:
    if not values:
        return Window(0, None, 0.0, 0.0) if kind in ("p", "u") else Window(0, None)
    if kind in ("p", "u"):
        count = sum(v.count or 0.0 for v in values)
        sample = sum(v.n or 0.0 for v in values)
        return Window(len(values), count / sample, count, sample)
    return Window(len(values), sum(_plotted(kind, v) for v in values) / len(values))


def _two_proportion(before: Window, after: Window, lower: bool) -> tuple[float | None, float]:
    assert before.count is not None
    assert before.sample
    assert after.count is not None
    assert after.sample
    p1, p2 = before.count / before.sample, after.count / after.sample
    pooled = (before.count + after.count) / (before.sample + after.sample)
    se = math.sqrt(pooled * (1 - pooled) * (1 / before.sample + 1 / after.sample))
    if se == 0:
        # Both windows all defective or all good: no difference to test.
        return None, 0.0
    z = (p2 - p1) / se
    p_value = stats.norm.cdf(z) if lower else stats.norm.sf(z)
    return float(p_value), z


def _mann_whitney(
    kind: ChartKind, before: Sequence[PeriodValue], after: Sequence[PeriodValue], lower: bool
) -> tuple[float | None, float]:
    xs = [_plotted(kind, v) for v in after]
    ys = [_plotted(kind, v) for v in before]
    result = stats.mannwhitneyu(xs, ys, alternative="less" if lower else "greater")
    p_value = float(result.pvalue)
    # All values equal in both windows: no ranks to compare.
    return (p_value if math.isfinite(p_value) else None), float(result.statistic)


def _observations(kind: ChartKind, values: Sequence[PeriodValue]) -> list[Observation]:
    if kind == "xmr":
        return [Observation(v.period, _plotted(kind, v)) for v in values]
    if kind == "c":
        return [Observation(v.period, _plotted(kind, v)) for v in values]
    return [Observation(v.period, v.count or 0.0, v.n) for v in values]


def _signals(
    kind: ChartKind,
    lower: bool,
    before: Sequence[PeriodValue],
    after: Sequence[PeriodValue],
    rules: tuple[str, ...],
    limits: Limits | None,
) -> tuple[tuple[Signal, ...], Limits | None]:
    if limits is None or limits.kind != kind:
        try:
            limits = compute_limits(kind, _observations(kind, before))
        except InvalidInput:
            return (), None
    chart = apply_limits(limits, _observations(kind, after), rules)
    found = []
    for point in chart.points:
        for rule, reason in zip(point.signals, point.reasons, strict=True):
            if rule in _UNSIDED:
                better: bool | None = None
            elif rule == "N3":
                better = ("decreasing" in reason) == lower
            else:
                better = (point.value < limits.center) == lower
            found.append(Signal(point.period, rule, reason, better))
    return tuple(found), limits


_TESTS = {
    "p": "two-proportion z-test on the pooled counts of each window",
    "u": "Mann–Whitney U test on the per-period rates",
    "c": "Mann–Whitney U test on the per-period counts",
    "xmr": "Mann–Whitney U test on the per-period values",
}


def _method(
    kind: ChartKind,
    lower: bool,
    alpha: float,
    min_periods: int,
    min_sample: float,
    rules: tuple[str, ...],
    limits_from: str,
) -> str:
    side = "lower" if lower else "higher"
    sample = f" and a total sample of at least {min_sample:g}" if kind in ("p", "u") else ""
    chart_rules = ", ".join(rules) if rules else "no rules"
    return (
        f"{_TESTS[kind][0].upper()}{_TESTS[kind][1:]}, one-sided (is the after window "
        f"{side}, the better way?), alpha {alpha:g}; each window needs at least "
        f"{min_periods} periods with data{sample}. Control chart ({kind}): {chart_rules} on "
        f"the after-window points against the limits from {limits_from}."
    )
