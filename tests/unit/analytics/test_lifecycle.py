"""Pairing lifecycle starts with completes, on every engine: pm4py's queue, case by case."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from andon.analytics.lifecycle import pair_lifecycle
from andon.analytics.log import START, TIMESTAMP
from andon.analytics.sources import read_log
from andon.core.errors import InvalidInput

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# (case, activity, lifecycle, minute, instance)
ROWS = [
    # A complete before any start starts when it completes; the start after it waits for
    # the next complete.
    ("c1", "weld", "complete", 0, ""),
    ("c1", "weld", "start", 1, ""),
    ("c1", "weld", "complete", 5, ""),
    # Two starts queue: the first complete takes the older one.
    ("c2", "weld", "start", 0, ""),
    ("c2", "weld", "START", 2, ""),
    ("c2", "weld", "complete", 3, ""),
    ("c2", "weld", "Complete", 7, ""),
    # A start nobody completes is dropped; so is a transition other than start/complete;
    # no transition at all counts as complete.
    ("c3", "paint", "start", 0, ""),
    ("c3", "paint", "suspend", 1, ""),
    ("c3", "pack", "", 4, ""),
    # Instances pair separately: instance b's complete comes first.
    ("c4", "test", "start", 0, "a"),
    ("c4", "test", "start", 1, "b"),
    ("c4", "test", "complete", 2, "b"),
    ("c4", "test", "complete", 6, "a"),
]
EXPECTED = {  # (case, activity, completed minute) -> started minute
    ("c1", "weld", 0): 0,
    ("c1", "weld", 5): 1,
    ("c2", "weld", 3): 0,
    ("c2", "weld", 7): 2,
    ("c3", "pack", 4): 4,
    ("c4", "test", 2): 1,
    ("c4", "test", 6): 0,
}


def _xes(path: Path) -> Path:
    events: dict[str, list[str]] = {}
    for case, activity, transition, minute, instance in ROWS:
        at = (T0 + timedelta(minutes=minute)).isoformat()
        parts = [
            f'<string key="concept:name" value="{activity}"/>',
            f'<date key="time:timestamp" value="{at}"/>',
        ]
        if transition:
            parts.append(f'<string key="lifecycle:transition" value="{transition}"/>')
        if instance:
            parts.append(f'<string key="concept:instance" value="{instance}"/>')
        events.setdefault(case, []).append(f"<event>{''.join(parts)}</event>")
    traces = "".join(
        f'<trace><string key="concept:name" value="{case}"/>{"".join(body)}</trace>'
        for case, body in events.items()
    )
    path.write_text(f'<?xml version="1.0"?><log xes.version="1.0">{traces}</log>')
    return path


def _pairs(table: Any) -> dict[tuple[str, str, int], int]:
    def minute(at: datetime) -> int:
        # Spark hands back naive datetimes in its session zone, UTC.
        return int(((at if at.tzinfo else at.replace(tzinfo=UTC)) - T0).total_seconds() // 60)

    rows = table.select("case_id", "activity", TIMESTAMP, START).to_pyarrow().to_pylist()
    return {(r["case_id"], r["activity"], minute(r[TIMESTAMP])): minute(r[START]) for r in rows}


@pytest.mark.parametrize(
    "engine",
    [
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgresql),
        pytest.param("spark", marks=pytest.mark.spark),
    ],
)
def test_each_complete_takes_the_oldest_waiting_start(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = None if engine == "duckdb" else request.getfixturevalue(f"{engine}_backend")
    log = read_log(_xes(tmp_path / "machines.xes"), backend=backend).log

    paired = pair_lifecycle(log)

    assert paired.interval
    assert _pairs(paired.table) == EXPECTED


@pytest.mark.parametrize("drop", [False, True])
def test_a_log_without_start_events_is_refused(tmp_path: Path, drop: bool) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("case_id,activity,timestamp\nA,cut,2026-01-01T08:00:00Z\n")
    log = read_log(path).log
    if drop:
        log = replace(log, table=log.table.drop("lifecycle"))

    with pytest.raises(InvalidInput) as raised:
        pair_lifecycle(log)

    assert raised.value.errors[0].loc[-1] == "lifecycle"
    assert "no start events" in str(raised.value)
