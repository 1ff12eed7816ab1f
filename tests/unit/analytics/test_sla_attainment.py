"""SLA attainment against the demo process's targets, on handmade logs."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from andon.analytics.log import EventLog
from andon.analytics.sla import sla_attainment
from andon.core.errors import InvalidInput
from andon.processes.spec import ProcessSpec
from andon.processes.spec_yaml import load_spec_yaml
from tests.unit.analytics.test_conformance import T0, event_log

DEMO = Path(__file__).resolve().parents[3] / "src" / "andon" / "demo" / "assembly.yaml"
PATH = ["intake", "plan", "kit", "assemble", "inspect", "pack", "ship"]


@pytest.fixture(scope="module")
def spec() -> ProcessSpec:
    return load_spec_yaml(DEMO.read_text())


def stage(report: dict[str, object], key: str) -> dict[str, object]:
    return next(s for s in report["stages"] if s["stage"] == key)  # type: ignore[attr-defined,index]


def timed(minutes: list[int]) -> list[tuple[str, int]]:
    return list(zip(PATH, minutes, strict=True))


def test_stage_visit_within_target_counts_up_to_and_including_the_target(
    spec: ProcessSpec,
) -> None:
    # Intake SLA 2 h: exactly 120 min is within, 121 min is not.
    on_time = timed([0, 120, 130, 140, 150, 160, 170])
    late = timed([0, 121, 131, 141, 151, 161, 171])

    report = sla_attainment(event_log({"a": on_time, "b": late}), spec)

    assert stage(report, "intake") == {
        "stage": "intake",
        "name": "Intake",
        "target_seconds": 7200,
        "visits": 2,
        "within": 1,
        "attainment": 0.5,
    }
    assert report["basis"] == "elapsed"


def test_open_last_visit_is_not_measured(spec: ProcessSpec) -> None:
    report = sla_attainment(event_log({"a": [("intake", 0), ("plan", 600)]}), spec)

    assert stage(report, "intake")["visits"] == 1
    assert stage(report, "plan") == {
        "stage": "plan",
        "name": "Plan",
        "target_seconds": 14400,
        "visits": 0,
        "within": 0,
        "attainment": None,
    }
    assert report["process"] == {
        "target_seconds": 144000,
        "cases": 0,
        "within": 0,
        "attainment": None,
    }


def test_repeated_visits_are_measured_each(spec: ProcessSpec) -> None:
    # Inspect twice (rework between): 60 min, then 180 min against a 2 h target.
    log = event_log(
        {
            "a": [
                ("intake", 0),
                ("plan", 10),
                ("kit", 20),
                ("assemble", 30),
                ("inspect", 40),
                ("rework", 100),
                ("inspect", 110),
                ("pack", 290),
                ("ship", 300),
            ]
        }
    )

    report = sla_attainment(log, spec)

    assert (stage(report, "inspect")["visits"], stage(report, "inspect")["within"]) == (2, 1)
    assert report["stage_visits"] == {"visits": 8, "within": 7, "attainment": 7 / 8}


def test_end_to_end_counts_complete_cases_only(spec: ProcessSpec) -> None:
    fast = timed([0, 10, 20, 30, 40, 50, 60])
    slow = timed([0, 10, 20, 30, 40, 50, 40 * 60 + 1])  # 40 h target, 40 h 1 min
    log = event_log({"fast": fast, "slow": slow, "open": ["intake", "plan"]})

    report = sla_attainment(log, spec)

    assert report["process"] == {
        "target_seconds": 144000,
        "cases": 2,
        "within": 1,
        "attainment": 0.5,
    }


def test_interval_visit_lasts_from_start_to_completion(spec: ProcessSpec) -> None:
    # Intake works 0-150 min (over its 2 h); a long wait before plan does not count.
    spans = [(0, 150), (600, 610), (620, 630), (640, 650), (660, 670), (680, 690), (700, 700)]
    log = event_log(
        {"a": [(s, a, b) for s, (a, b) in zip(PATH, spans, strict=True)]}, interval=True
    )

    report = sla_attainment(log, spec)

    assert (stage(report, "intake")["within"], stage(report, "plan")["within"]) == (0, 1)
    assert stage(report, "pack")["visits"] == 1  # the last of a case is measured too


def test_definition_without_targets_reports_nothing_to_attain(spec: ProcessSpec) -> None:
    stages = tuple(s.model_copy(update={"sla": None}) for s in spec.stages)
    bare = spec.model_copy(update={"sla": None, "stages": stages})

    report = sla_attainment(event_log({"a": PATH}), bare)

    assert (report["stages"], report["process"]) == ([], None)
    assert report["stage_visits"]["attainment"] is None


def test_business_basis_needs_andon_events(spec: ProcessSpec) -> None:
    with pytest.raises(InvalidInput, match="Andon's own events"):
        sla_attainment(event_log({"a": PATH}), spec, basis="business")


def test_business_basis_reads_breach_records(spec: ProcessSpec) -> None:
    # Item 1: entered intake at 0, the sweep recorded an intake breach at 120, moved on at 200.
    # Item 2: within. Item 1 done and breached end to end; item 2 still open.
    rows = [
        ("1", "Intake", 0, "created", "done", True),
        ("1", "intake", 120, "stage_breached", "done", True),
        ("1", "Plan", 200, "moved", "done", True),
        ("1", "Plan", 200, "commented", "done", True),
        ("1", "Kit", 300, "moved", "done", True),
        ("1", "Assemble", 310, "moved", "done", True),
        ("1", "Inspect", 320, "moved", "done", True),
        ("1", "Pack", 330, "moved", "done", True),
        ("1", "Ship", 340, "moved", "done", True),
        ("2", "Intake", 0, "created", "open", False),
        ("2", "Plan", 30, "moved", "open", False),
    ]
    table = ibis.memtable(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [int(T0.timestamp()) + r[2] * 60 for r in rows],
            "event_order": list(range(len(rows))),
            "kind": [r[3] for r in rows],
            "item_status": [r[4] for r in rows],
            "item_breached": [r[5] for r in rows],
        }
    )
    table = table.mutate(
        timestamp=table.timestamp.as_timestamp("s").cast("timestamp('UTC')"),
        start_timestamp=ibis.null("timestamp('UTC')"),
    )

    report = sla_attainment(EventLog(table, "andon"), spec, basis="business")

    assert (stage(report, "intake")["visits"], stage(report, "intake")["within"]) == (2, 1)
    assert stage(report, "plan")["within"] == 1
    assert report["process"] == {
        "target_seconds": 144000,
        "cases": 1,
        "within": 0,
        "attainment": 0.0,
    }
