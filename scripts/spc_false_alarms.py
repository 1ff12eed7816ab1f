"""False-alarm rates of the SPC rule sets on in-control data, by simulation (docs/metrics.md).

Draws independent normal values with known mean 0 and σ 1, plots them against the true limits
(centre 0, MR-bar = 1.128 so σ = 1) and counts, per rule set, the share of points flagged and
the average number of points until the first signal (ARL0). Run:
``.venv/bin/python scripts/spc_false_alarms.py``.
"""

from __future__ import annotations

import random

from andon.metrics.spc import Limits, Observation, apply_limits, parse_rules

SETS = {"WE1": ["WE1"], "western-electric": ["western-electric"], "nelson": ["nelson"]}


def simulate(rules: list[str], series: int = 200, length: int = 3000, seed: int = 1) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    limits = Limits("xmr", 0.0, 0, mr_bar=1.128)
    flagged = counted = 0
    first: list[int] = []
    for _ in range(series):
        values = [Observation(str(i), rng.gauss(0, 1)) for i in range(length)]
        points = apply_limits(limits, values, parse_rules(rules)).points
        # Skip the first 15 points: the longest pattern cannot complete before them.
        flagged += sum(bool(p.signals) for p in points[15:])
        counted += len(points) - 15
        first.append(next((i + 1 for i, p in enumerate(points) if p.signals), length))
    rate = flagged / counted
    print(
        f"{'+'.join(rules):18} flagged {rate:7.3%} of points; mean run to first signal ",
        f"{sum(first) / len(first):6.1f} points (capped at {length})",
    )


if __name__ == "__main__":
    for rules in SETS.values():
        simulate(rules)
