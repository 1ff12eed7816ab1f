"""The process definition schema and its graph checks, on plain data (no YAML, no database)."""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from andon.core.errors import FieldError, InvalidInput
from andon.processes.spec import (
    STORED,
    ProcessSpec,
    Route,
    RouteWhen,
    format_duration,
    parse_duration,
    parse_spec,
    spec_document,
)

DEMO: dict[str, Any] = yaml.safe_load(files("andon.demo").joinpath("assembly.yaml").read_text())


def demo() -> dict[str, Any]:
    return copy.deepcopy(DEMO)


def errors_of(data: Any) -> list[FieldError]:
    with pytest.raises(InvalidInput) as caught:
        parse_spec(data)
    return caught.value.errors


def stage(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, "name": key.title(), "owner_role": "operator", **fields}


def test_demo_definition_parses() -> None:
    spec = parse_spec(demo())

    assert spec.key == "assembly"
    assert [s.key for s in spec.stages][:3] == ["intake", "plan", "kit"]
    assert spec.stage("assemble").sla == 8 * 3600
    assert spec.sla == 40 * 3600
    assert spec.escalation.tiers[0].at.share == 0.75
    rework = spec.transition("inspect", "rework")
    assert rework is not None
    assert rework.rework
    torque = spec.stage("inspect").checklist[1].measured
    assert torque is not None
    assert (torque.unit, torque.min, torque.max) == ("Nm", 10.5, 12.5)


def test_unknown_stage_in_a_transition_names_its_path() -> None:
    data = demo()
    data["transitions"][2]["to"] = "paint"

    assert errors_of(data) == [
        FieldError(("transitions", 2, "to"), "unknown stage 'paint'", "unknown_stage")
    ]


def test_unknown_start_and_end_stages_are_reported() -> None:
    data = demo()
    data["start"] = "welcome"
    data["end"] = ["ship", "gone"]

    locs = {e.loc for e in errors_of(data)}

    assert locs == {("start",), ("end", 1)}


def test_stage_no_transition_reaches_is_unreachable() -> None:
    data = demo()
    data["stages"].append(stage("paint"))
    data["transitions"].append({"from": "paint", "to": "ship"})

    assert errors_of(data) == [
        FieldError(
            ("stages", 8, "key"),
            "stage 'paint' cannot be reached from 'intake'",
            "unreachable_stage",
        )
    ]


def test_stage_entered_by_routing_counts_as_reachable() -> None:
    data = demo()
    data["stages"].append(stage("express"))
    data["transitions"].append({"from": "express", "to": "pack"})
    data["routing"].append({"when": {"priority": "high"}, "stage": "express"})

    route = parse_spec(data).route(line=None, product=None, priority="high")

    assert route is not None
    assert route.stage == "express"


def test_stage_after_a_routing_entry_counts_as_reachable() -> None:
    data = demo()
    data["stages"] += [stage("express"), stage("express_check")]
    data["transitions"] += [
        {"from": "express", "to": "express_check"},
        {"from": "express_check", "to": "pack"},
    ]
    data["routing"].append({"when": {"priority": "high"}, "stage": "express"})

    assert parse_spec(data).stage("express_check").name == "Express_Check"


def test_stage_with_no_way_out_that_is_not_an_end_is_a_dead_end() -> None:
    data = demo()
    data["stages"].append(stage("quarantine"))
    data["transitions"].append({"from": "inspect", "to": "quarantine"})

    assert errors_of(data) == [
        FieldError(
            ("stages", 8, "key"),
            "stage 'quarantine' is not an end stage and has no way out",
            "dead_end",
        )
    ]


def test_transition_out_of_an_end_stage_is_refused() -> None:
    data = demo()
    data["transitions"].append({"from": "ship", "to": "pack"})

    assert errors_of(data) == [FieldError(("transitions", 8, "from"), "'ship' is an end stage")]


@pytest.mark.parametrize("sla", ["-4h", "0", 0, -60, "0h", "soon", "4 hours", "4H", True, 1.5, ""])
def test_sla_that_is_not_a_positive_duration_names_the_stage(sla: object) -> None:
    data = demo()
    data["stages"][1]["sla"] = sla

    assert [e.loc for e in errors_of(data)] == [("stages", 1, "sla")]


def test_duplicate_stage_key_names_the_second_one() -> None:
    data = demo()
    data["stages"].append(stage("kit"))

    assert errors_of(data) == [FieldError(("stages", 8, "key"), "duplicate key 'kit'")]


def test_duplicate_checklist_item_names_that_item() -> None:
    data = demo()
    data["stages"][4]["checklist"].append({"key": "torque", "text": "Torque again"})

    assert errors_of(data) == [
        FieldError(("stages", 4, "checklist", 3, "key"), "duplicate key 'torque'")
    ]


def test_share_trigger_without_any_sla_is_refused() -> None:
    data = demo()
    del data["sla"]
    for s in data["stages"]:
        s.pop("sla", None)

    errors = errors_of(data)

    assert [e.loc for e in errors] == [("escalation", "tiers", i, "at") for i in range(3)]
    assert {e.msg for e in errors} == {"a share needs an SLA to share"}


def test_share_trigger_with_only_the_end_to_end_sla_is_accepted() -> None:
    data = demo()
    for s in data["stages"]:
        s.pop("sla", None)

    assert parse_spec(data).escalation.tiers[2].at.share == 1.5


def test_zero_share_trigger_is_refused() -> None:
    data = demo()
    data["escalation"]["tiers"][0]["at"] = "0%"

    assert errors_of(data) == [
        FieldError(("escalation", "tiers", 0, "at"), "a share of the SLA must be positive")
    ]


def test_on_fail_without_a_matching_transition_is_refused() -> None:
    data = demo()
    data["stages"][6]["on_fail"] = "kit"  # pack → kit is not a transition

    assert errors_of(data) == [
        FieldError(("stages", 6, "on_fail"), "no transition pack → kit for a failed checklist")
    ]


def test_on_fail_naming_an_unknown_stage_is_refused() -> None:
    data = demo()
    data["stages"][4]["on_fail"] = "scrap"

    assert errors_of(data) == [
        FieldError(("stages", 4, "on_fail"), "unknown stage 'scrap'", "unknown_stage")
    ]


def test_choice_field_without_choices_is_refused() -> None:
    data = demo()
    data["intake"][0]["type"] = "choice"

    assert errors_of(data) == [FieldError(("intake", 0), "a choice field needs choices")]


def test_choice_field_with_choices_is_accepted() -> None:
    data = demo()
    data["intake"][0] |= {"type": "choice", "choices": ["ACME", "Globex"]}

    assert parse_spec(data).intake[0].choices == ("ACME", "Globex")


def test_invalid_regular_expression_is_refused() -> None:
    data = demo()
    data["intake"][1]["pattern"] = "^SO-[0-9"

    (error,) = errors_of(data)

    assert error.loc == ("intake", 1)
    assert error.msg.startswith("pattern is not a valid regular expression")


def test_unknown_field_is_refused_with_its_path() -> None:
    data = demo()
    data["stages"][0]["colour"] = "red"

    assert errors_of(data) == [
        FieldError(("stages", 0, "colour"), "Extra inputs are not permitted", "extra_forbidden")
    ]


def test_missing_field_names_its_path() -> None:
    data = demo()
    del data["stages"][3]["owner_role"]

    assert errors_of(data) == [FieldError(("stages", 3, "owner_role"), "Field required", "missing")]


def test_definition_that_is_not_a_mapping_is_refused() -> None:
    assert errors_of(["key", "assembly"]) == [FieldError((), "expected a mapping")]


def test_summary_names_the_first_error_and_counts_the_rest() -> None:
    data = demo()
    data["transitions"][0]["to"] = "paint"
    data["transitions"][1]["to"] = "glue"

    with pytest.raises(InvalidInput) as caught:
        parse_spec(data)

    assert caught.value.detail == (
        "invalid process definition: transitions.0.to: unknown stage 'paint' (and 1 more)"
    )


def test_spec_document_reads_back_to_the_same_spec() -> None:
    spec = parse_spec(demo())

    document = spec_document(spec)

    assert document["stages"][0] == {
        "key": "intake",
        "name": "Intake",
        "owner_role": "supervisor",
        "sla": "2h",
    }
    assert document["escalation"]["tiers"][0]["at"] == "75%"
    assert parse_spec(document) == spec


def test_route_matches_product_by_glob_and_line_ignoring_case() -> None:
    route = Route(when=RouteWhen(line="L1", product="KIT-*"), stage="kit")

    assert route.matches(line="l1", product="KIT-204", priority="normal")
    assert not route.matches(line="L1", product="ASM-204", priority="normal")
    assert not route.matches(line="L1", product="kit-204", priority="normal")  # glob is exact
    assert not route.matches(line="L2", product="KIT-204", priority="normal")
    assert not route.matches(line="L1", product=None, priority="normal")


def test_route_with_a_priority_matches_only_that_priority() -> None:
    route = Route.model_validate({"when": {"priority": "urgent"}, "stage": "plan"})

    assert route.matches(line=None, product=None, priority="urgent")
    assert not route.matches(line=None, product=None, priority="high")


def test_first_matching_route_wins() -> None:
    spec: ProcessSpec = parse_spec(demo())

    urgent_kit = spec.route(line=None, product="KIT-1", priority="urgent")
    normal_kit = spec.route(line=None, product="KIT-1", priority="normal")

    assert urgent_kit is not None
    assert urgent_kit.stage == "plan"
    assert normal_kit is not None
    assert normal_kit.stage == "kit"
    assert spec.route(line=None, product="ASM-1", priority="normal") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("2h30m", 9000), ("2h 30m", 9000), ("90m", 5400), ("45s", 45), (3600, 3600)],
)
def test_parse_duration_reads_hours_minutes_seconds(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@given(st.integers(min_value=1, max_value=10**8))
def test_format_then_parse_duration_gives_the_same_seconds(seconds: int) -> None:
    assert parse_duration(format_duration(seconds), longest=None) == seconds


@given(
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_parse_then_format_duration_drops_zero_parts(hours: int, minutes: int, secs: int) -> None:
    assume(hours or minutes or secs)
    expected = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)

    assert format_duration(parse_duration(f"{hours}h{minutes}m{secs}s")) == expected


def test_zero_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        parse_duration("0h0m0s")


def test_loop_that_never_reaches_an_end_is_refused() -> None:
    data = demo()
    data["stages"] += [stage("trap_a"), stage("trap_b")]
    data["transitions"] += [
        {"from": "pack", "to": "trap_a"},
        {"from": "trap_a", "to": "trap_b"},
        {"from": "trap_b", "to": "trap_a"},
    ]

    found = errors_of(data)

    assert {(e.loc, e.type) for e in found} == {
        (("stages", 8, "key"), "dead_end"),
        (("stages", 9, "key"), "dead_end"),
    }


def test_sla_longer_than_a_year_of_business_time_is_refused_naming_each_field() -> None:
    data = demo()
    data["sla"] = "50000h"
    data["stages"][1]["sla"] = "8761h"

    found = {e.loc: e.msg for e in errors_of(data)}

    assert found == {
        ("sla",): "50000h is too long: a duration is at most 8760h (365 days of business time)",
        ("stages", 1, "sla"): (
            "8761h is too long: a duration is at most 8760h (365 days of business time)"
        ),
    }


def test_sla_of_exactly_a_year_of_business_time_is_accepted() -> None:
    assert parse_spec({**demo(), "sla": "8760h"}).sla == 8760 * 3600


def test_stored_version_with_an_sla_beyond_the_cap_still_loads() -> None:
    spec = ProcessSpec.model_validate({**demo(), "sla": "50000h"}, context={STORED: True})

    assert spec.sla == 50_000 * 3600


def test_unknown_stages_are_reported_along_with_schema_errors() -> None:
    data = demo()
    data["stages"][0]["owner_role"] = "wizard"
    data["transitions"][0]["to"] = "plam"
    data["start"] = "intak"

    found = {e.loc: e.msg for e in errors_of(data)}

    assert found[("stages", 0, "owner_role")].startswith("Input should be")
    assert found[("transitions", 0, "to")] == "unknown stage 'plam'"
    assert found[("start",)] == "unknown stage 'intak'"
