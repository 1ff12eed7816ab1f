"""Action thresholds: which band a value is in, the crossings of a series, and "no data".

Pure rules over a metric's definition and its values (one series: the whole metric, or one
line of a metric split by line), with no I/O; the service turns a standing crossing into an
action and a stale series into a notice to the owner.

- A band applies to a series when it names the series' line, or names no line and no band
  of the same level names that line: a line's own band replaces the general one.
- A value crosses a band when it lies strictly beyond ``above`` or ``below``. When it crosses
  both levels, the critical band is the one that counts.
- A band fires only once the series holds at least ``min_points`` values (up to and including
  the one judged): a band cannot fire on the first thin days of a new metric.
- A period with no value is "no data": never a crossing, never zero. The series' standing is
  judged on its latest value; when that value is older than the definition's
  ``no_data_after`` gap (measured from the end of its period), the series stands at "no data"
  instead — too old to judge — and the owner is told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from andon.metrics.definition import MetricDefinition, Threshold
from andon.metrics.series import PeriodValue

Status = Literal["ok", "warning", "critical", "no_data"]
SEVERITY = {"warning": 1, "critical": 2}


@dataclass(frozen=True)
class Crossing:
    """A value beyond a band: the band's position in the definition, its level and decision."""

    period: str
    line: str | None
    value: float
    band_index: int
    band: Threshold

    @property
    def level(self) -> str:
        return self.band.level


@dataclass(frozen=True)
class Standing:
    """Where a series stands now: its status and the value and band that decide it.

    ``latest`` is the latest value (``None`` when the series has none); ``crossing`` the
    crossing of that value, if any; ``stale`` that the latest value is older than the
    definition's ``no_data_after`` gap (the owner is to be told).
    """

    line: str | None
    status: Status
    latest: PeriodValue | None
    crossing: Crossing | None
    stale: bool = False


def bands_for(defn: MetricDefinition, line: str | None) -> list[tuple[int, Threshold]]:
    """The bands that apply to the series of ``line`` (``None``: the whole metric), with their
    index in the definition."""
    own_levels = {b.level for b in defn.thresholds if line is not None and b.line == line}
    return [
        (i, band)
        for i, band in enumerate(defn.thresholds)
        if band.line == line or (band.line is None and band.level not in own_levels)
    ]


def is_beyond(band: Threshold, value: float) -> bool:
    """True when ``value`` lies strictly beyond the band's ``above`` or ``below``."""
    return (band.above is not None and value > band.above) or (
        band.below is not None and value < band.below
    )


def crossings(defn: MetricDefinition, series: Sequence[PeriodValue]) -> list[Crossing]:
    """Every value of ``series`` (one line, in period order) that crosses a band, judged as
    :func:`judge` judges it: the most severe band crossed, once ``min_points`` values exist."""
    line = series[0].line if series else None
    bands = bands_for(defn, line)
    out: list[Crossing] = []
    seen = 0
    for value in series:
        if value.value is None:
            continue
        seen += 1
        crossing = _crossing(bands, value, seen)
        if crossing is not None:
            out.append(crossing)
    return out


def judge(
    defn: MetricDefinition,
    series: Sequence[PeriodValue],
    *,
    latest_end_at: datetime | None = None,
    now: datetime | None = None,
    line: str | None = None,
) -> Standing:
    """The standing of one series: judged on its latest value.

    ``latest_end_at`` is when the latest value's period ended (for a series without any
    value: since when it could have had one) and ``now`` the time of the judgement; both are
    needed to tell a stale series (older than ``no_data_after``); left out, a series is
    never stale. A stale series, or one without values, never stands at a band.
    """
    measured = [v for v in series if v.value is not None]
    line = series[0].line if series else line
    gap = defn.no_data_after
    stale = (
        gap is not None
        and latest_end_at is not None
        and now is not None
        and now - latest_end_at > gap
    )
    if not measured:
        # ``latest_end_at`` is then when the series could first have had a value (the
        # metric's definition): a series that never had one is stale after the gap too.
        return Standing(line, "no_data", None, None, stale=stale)
    latest = measured[-1]
    if stale:
        return Standing(line, "no_data", latest, None, stale=True)
    crossing = _crossing(bands_for(defn, line), latest, len(measured))
    status: Status = (
        "ok" if crossing is None else "critical" if crossing.level == "critical" else "warning"
    )
    return Standing(line, status, latest, crossing)


def stale_since(defn: MetricDefinition, latest_end_at: datetime) -> datetime | None:
    """When a series whose latest period ended at ``latest_end_at`` turns stale (None: never)."""
    gap: timedelta | None = defn.no_data_after
    return None if gap is None else latest_end_at + gap


def _crossing(
    bands: Sequence[tuple[int, Threshold]], value: PeriodValue, seen: int
) -> Crossing | None:
    assert value.value is not None
    fired = [
        (i, band) for i, band in bands if seen >= band.min_points and is_beyond(band, value.value)
    ]
    if not fired:
        return None
    i, band = max(fired, key=lambda f: SEVERITY[f[1].level])
    return Crossing(value.period, value.line, value.value, i, band)
