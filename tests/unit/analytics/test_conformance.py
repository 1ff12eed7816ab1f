"""Conformance of small handmade logs to the demo assembly process, with exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from andon.analytics.conformance import (
    case_conformance,
    check_conformance,
    mandatory_stages,
    process_model,
)
from andon.analytics.log import EventLog
from andon.core.errors import InvalidInput
from andon.processes.spec import ProcessSpec, parse_spec
from andon.processes.spec_yaml import load_spec_yaml

DEMO = Path(__file__).resolve().parents[3] / "src" / "andon" / "demo" / "assembly.yaml"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
HAPPY = ["intake", "plan", "kit", "assemble", "inspect", "pack", "ship"]


@pytest.fixture(scope="module")
def spec() -> ProcessSpec:
    return load_spec_yaml(DEMO.read_text())


def event_log(cases: dict[str, list[Any]], *, interval: bool = False) -> EventLog:
    """One event an hour per case; an item may be (activity, minutes) or (activity, start, end)."""
    rows: list[dict[str, Any]] = []
    for case_id, activities in cases.items():
        for i, item in enumerate(activities):
            start = None
            if isinstance(item, tuple) and len(item) == 3:
                activity, start_min, end_min = item
                start, stamp = T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min)
            elif isinstance(item, tuple):
                activity, minutes = item
                stamp = T0 + timedelta(minutes=minutes)
            else:
                activity, stamp = item, T0 + timedelta(hours=i)
            rows.append(
                {
                    "case_id": case_id,
                    "activity": activity,
                    "timestamp": stamp,
                    "start_timestamp": start,
                    "resource": "ann",
                    "lifecycle": None,
                    "event_order": len(rows),
                }
            )
    frame = pd.DataFrame(rows).astype(
        {
            "timestamp": "datetime64[us, UTC]",
            "start_timestamp": "datetime64[us, UTC]",
            "lifecycle": "string",
            "resource": "string",
        }
    )
    return EventLog(ibis.memtable(frame), "test", interval=interval)


def per_case(log: EventLog, spec: ProcessSpec, **options: Any) -> dict[str, dict[str, Any]]:
    frame = case_conformance(log, spec, **options).execute()
    return {row["case_id"]: row for row in frame.to_dict("records")}


def kinds(report: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    return {(d["kind"], d["source"], d["target"]) for d in report["deviations"]}


def test_mandatory_stages_are_on_every_path_from_every_way_in(spec: ProcessSpec) -> None:
    # Routing opens urgent items at plan and KIT-* at kit, so neither intake nor plan is
    # mandatory; rework is a detour; ship is an end stage.
    assert mandatory_stages(spec) == ("kit", "assemble", "inspect", "pack")


def test_start_stage_is_mandatory_without_routing(spec: ProcessSpec) -> None:
    plain = spec.model_copy(update={"routing": ()})

    assert mandatory_stages(plain) == ("intake", "plan", "kit", "assemble", "inspect", "pack")


def test_branches_make_neither_branch_mandatory() -> None:
    branching = parse_spec(
        {
            "key": "fork",
            "name": "Fork",
            "start": "a",
            "end": ["d"],
            "stages": [{"key": k, "name": k.upper(), "owner_role": "operator"} for k in "abcd"],
            "transitions": [
                {"from": "a", "to": "b"},
                {"from": "a", "to": "c"},
                {"from": "b", "to": "d"},
                {"from": "c", "to": "d"},
            ],
        }
    )

    assert mandatory_stages(branching) == ("a",)


def test_allowed_path_conforms(spec: ProcessSpec) -> None:
    report = check_conformance(event_log({"c1": HAPPY}), spec)

    assert report == {
        "cases": 1,
        "conforming_cases": 1,
        "incomplete_cases": 0,
        "fitness": 1.0,
        "deviations": [],
    }


def test_allowed_rework_loop_conforms(spec: ProcessSpec) -> None:
    loop = ["intake", "plan", "kit", "assemble", "inspect", "rework", "inspect", "rework"]
    log = event_log({"c1": [*loop, "inspect", "pack", "ship"]})

    row = per_case(log, spec)["c1"]

    assert (row["moves"], row["allowed_moves"], row["fitness"], row["conforming"]) == (
        10,
        10,
        1.0,
        True,
    )


def test_skipped_mandatory_stage_is_an_illegal_move_and_a_missing_stage(
    spec: ProcessSpec,
) -> None:
    log = event_log({"c1": ["intake", "plan", "kit", "assemble", "pack", "ship"]})

    report = check_conformance(log, spec)
    row = per_case(log, spec)["c1"]

    # Checks: 5 moves + start + end + 4 mandatory = 11; failed: assemble→pack, inspect missing.
    assert (row["checks"], row["missing_stages"]) == (11, 1)
    assert row["fitness"] == pytest.approx(9 / 11)
    assert kinds(report) == {
        ("illegal_move", "assemble", "pack"),
        ("missing_stage", None, "inspect"),
    }


def test_illegal_jump_past_an_optional_stage_is_one_illegal_move(spec: ProcessSpec) -> None:
    log = event_log({"c1": ["intake", "kit", "assemble", "inspect", "pack", "ship"]})

    report = check_conformance(log, spec)

    assert report["fitness"] == pytest.approx(10 / 11)
    assert kinds(report) == {("illegal_move", "intake", "kit")}


def test_routed_first_stage_is_an_allowed_start(spec: ProcessSpec) -> None:
    report = check_conformance(event_log({"c1": HAPPY[2:]}), spec)

    assert (report["conforming_cases"], report["fitness"]) == (1, 1.0)


def test_wrong_start_is_a_deviation(spec: ProcessSpec) -> None:
    log = event_log({"c1": ["assemble", "inspect", "pack", "ship"]})

    report = check_conformance(log, spec)

    # 3 moves + start + end + 4 mandatory = 9 checks; start and kit failed.
    assert report["fitness"] == pytest.approx(7 / 9)
    assert kinds(report) == {("wrong_start", None, "assemble"), ("missing_stage", None, "kit")}


def test_unfinished_case_is_incomplete_and_not_checked_for_mandatory_stages(
    spec: ProcessSpec,
) -> None:
    log = event_log({"c1": ["intake", "plan", "kit"]})

    report = check_conformance(log, spec)

    assert report["fitness"] == pytest.approx(3 / 4)  # 2 moves + start + end; end failed
    assert (report["incomplete_cases"], report["conforming_cases"]) == (1, 0)
    assert kinds(report) == {("incomplete", "kit", None)}


def test_excluding_incomplete_cases_leaves_them_out_but_counts_them(spec: ProcessSpec) -> None:
    log = event_log({"done": HAPPY, "open": ["intake", "plan"]})

    report = check_conformance(log, spec, incomplete="exclude")

    assert (report["cases"], report["conforming_cases"], report["incomplete_cases"]) == (1, 1, 1)
    assert (report["fitness"], report["deviations"]) == (1.0, [])


def test_unknown_activity_is_a_deviation_and_its_neighbours_are_checked_directly(
    spec: ProcessSpec,
) -> None:
    log = event_log({"c1": ["intake", "plan", "coffee", *HAPPY[2:]]})

    report = check_conformance(log, spec)

    assert report["fitness"] == pytest.approx(12 / 13)  # 6 moves + 1 unknown + 2 + 4 mandatory
    assert kinds(report) == {("unknown_activity", None, "coffee")}


def test_case_with_no_stage_fails_start_and_end(spec: ProcessSpec) -> None:
    log = event_log({"c1": ["coffee", "tea"]})

    report = check_conformance(log, spec)

    assert report["fitness"] == 0.0  # 2 unknown events + start + end, all failed
    assert kinds(report) == {
        ("unknown_activity", None, "coffee"),
        ("unknown_activity", None, "tea"),
        ("wrong_start", None, None),
        ("incomplete", None, None),
    }


def test_stage_names_and_keys_both_name_a_stage(spec: ProcessSpec) -> None:
    names = ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Pack", "Ship"]
    log = event_log({"names": names, "mixed": ["intake", "Plan", "kit", *names[3:]]})

    assert check_conformance(log, spec)["conforming_cases"] == 2


def test_repeated_events_of_one_stage_are_one_visit(spec: ProcessSpec) -> None:
    doubled = [stage for stage in HAPPY for _ in range(2)]  # e.g. start and complete

    row = per_case(event_log({"c1": doubled}), spec)["c1"]

    assert (row["moves"], row["conforming"]) == (6, True)


def test_timestamp_ties_keep_the_source_order(spec: ProcessSpec) -> None:
    # Every event at the same instant: only the source order says intake came first.
    log = event_log({"c1": [(stage, 0) for stage in HAPPY]})

    assert check_conformance(log, spec)["conforming_cases"] == 1


def test_events_are_ordered_by_time_not_by_source_position(spec: ProcessSpec) -> None:
    minutes = [0, 10, 30, 20, 40, 50, 60]  # kit written before assemble but later in time
    stages = ["intake", "plan", "assemble", "kit", "inspect", "pack", "ship"]
    log = event_log({"c1": list(zip(stages, minutes, strict=True))})

    assert check_conformance(log, spec)["conforming_cases"] == 1


def test_interval_log_orders_by_start_first(spec: ProcessSpec) -> None:
    # assemble completes before kit but starts after it: by start, kit comes first.
    spans = [(0, 5), (10, 15), (20, 60), (30, 50), (70, 80), (90, 95), (100, 100)]
    log = event_log(
        {"c1": [(stage, a, b) for stage, (a, b) in zip(HAPPY, spans, strict=True)]},
        interval=True,
    )

    assert check_conformance(log, spec)["conforming_cases"] == 1


def test_overall_fitness_is_the_mean_over_cases(spec: ProcessSpec) -> None:
    log = event_log({"ok": HAPPY, "open": ["intake", "plan", "kit"]})

    report = check_conformance(log, spec)

    assert report["fitness"] == pytest.approx((1.0 + 0.75) / 2)


def test_deviations_are_grouped_by_edge_with_sorted_examples(spec: ProcessSpec) -> None:
    jump = ["intake", "plan", "kit", "assemble", "pack", "ship"]
    log = event_log({f"c{i}": jump for i in (5, 3, 1, 4, 2)} | {"ok": HAPPY})

    report = check_conformance(log, spec, examples=3)

    first = report["deviations"][0]
    assert report["cases"] == 6
    assert first == {
        "kind": "illegal_move",
        "source": "assemble",
        "target": "pack",
        "cases": 5,
        "examples": ["c1", "c2", "c3"],
    }


def test_examples_can_be_turned_off(spec: ProcessSpec) -> None:
    report = check_conformance(event_log({"c1": ["intake"]}), spec, examples=0)

    assert report["deviations"][0]["examples"] == []


def test_unknown_incomplete_policy_is_refused(spec: ProcessSpec) -> None:
    with pytest.raises(InvalidInput, match="choose one of"):
        check_conformance(event_log({"c1": HAPPY}), spec, incomplete="ignore")  # type: ignore[arg-type]


def test_no_case_left_gives_no_fitness(spec: ProcessSpec) -> None:
    report = check_conformance(event_log({"open": ["intake"]}), spec, incomplete="exclude")

    assert (report["cases"], report["fitness"], report["deviations"]) == (0, None, [])


def test_process_model_names_the_ways_in(spec: ProcessSpec) -> None:
    model = process_model(spec)

    assert model.entries == {"intake", "plan", "kit"}
    assert model.stage_of["Inspect"] == "inspect"
