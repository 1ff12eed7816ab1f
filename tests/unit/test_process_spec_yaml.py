"""Process definitions as YAML: errors carry line numbers, limits hold, writing reads back."""

from __future__ import annotations

import itertools
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.core.errors import FieldError, InvalidInput
from andon.processes.spec import parse_spec
from andon.processes.spec_yaml import (
    MAX_ALIASES,
    MAX_DOCUMENT_BYTES,
    dump_spec_yaml,
    load_spec_yaml,
)

DEMO = files("andon.demo").joinpath("assembly.yaml").read_text()

MINIMAL = """\
key: repair
name: Repair
start: triage
end: [done]
stages:
  - key: triage
    name: Triage
    owner_role: supervisor
  - key: done
    name: Done
    owner_role: operator
transitions:
  - from: triage
    to: done
"""


def errors_of(text: str) -> list[FieldError]:
    with pytest.raises(InvalidInput) as caught:
        load_spec_yaml(text)
    return caught.value.errors


def line_of(text: str, fragment: str) -> int:
    """1-based number of the only line containing ``fragment``."""
    (number,) = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return number


def test_demo_file_loads_to_the_same_spec_as_plain_parsing() -> None:
    assert load_spec_yaml(DEMO) == parse_spec(yaml.safe_load(DEMO))


def test_unknown_stage_error_carries_the_line_of_the_bad_to() -> None:
    text = DEMO.replace("{from: pack, to: ship}", "{from: pack, to: shipp}")
    line = line_of(text, "to: shipp")

    assert errors_of(text) == [
        FieldError(("transitions", 7, "to"), f"line {line}: unknown stage 'shipp'", "unknown_stage")
    ]
    assert line == 35


def test_error_in_block_style_points_at_the_key_not_the_item() -> None:
    text = MINIMAL.replace("    to: done", "    to: finished")
    line = line_of(text, "to: finished")

    assert errors_of(text) == [
        FieldError(
            ("transitions", 0, "to"), f"line {line}: unknown stage 'finished'", "unknown_stage"
        )
    ]
    assert line == line_of(text, "- from: triage") + 1


def test_missing_field_points_at_the_enclosing_item() -> None:
    text = MINIMAL.replace("    name: Done\n", "")

    assert errors_of(text) == [
        FieldError(("stages", 1, "name"), "line 9: Field required", "missing")
    ]


def test_unknown_field_points_at_its_own_line() -> None:
    text = MINIMAL.replace("    name: Triage\n", "    name: Triage\n    colour: red\n")

    (error,) = errors_of(text)

    assert error.loc == ("stages", 0, "colour")
    assert error.msg == "line 8: Extra inputs are not permitted"


def test_every_error_gets_its_own_line_and_the_summary_the_first() -> None:
    text = DEMO.replace("sla: 8h", "sla: eight hours").replace("sla: 40h", "sla: -1h")

    with pytest.raises(InvalidInput) as caught:
        load_spec_yaml(text)

    lines = {e.loc: e.msg.split(":")[0] for e in caught.value.errors}
    assert lines == {
        ("stages", 3, "sla"): f"line {line_of(text, 'eight hours')}",
        ("sla",): f"line {line_of(text, 'sla: -1h')}",
    }
    assert caught.value.detail.startswith("invalid process definition: ")
    assert "(and 1 more)" in caught.value.detail


def test_missing_top_level_field_points_at_the_document_start() -> None:
    text = MINIMAL.replace("start: triage\n", "")

    assert errors_of(text) == [FieldError(("start",), "line 1: Field required", "missing")]


def test_error_through_a_merge_key_points_at_the_merged_mapping() -> None:
    text = "x-defaults: &op {owner_role: welder}\n" + MINIMAL.replace(
        "    owner_role: operator\n", "    <<: *op\n"
    )

    (error,) = [e for e in errors_of(text) if e.loc == ("stages", 1, "owner_role")]

    assert error.msg.startswith("line 1: Input should be ")


def test_syntax_error_gives_line_and_column() -> None:
    text = "key: repair\nname: [Repair, Shop\nstart: triage\n"

    assert errors_of(text) == [
        FieldError(
            ("yaml",),
            "line 3 column 6: while parsing a flow sequence, expected ',' or ']', but got ':'",
            "yaml_syntax",
        )
    ]


def test_tab_indentation_is_a_syntax_error_on_its_line() -> None:
    (error,) = errors_of("key: repair\n\tname: Repair\n")

    assert error.type == "yaml_syntax"
    assert error.msg.startswith("line 2 column 1: ")


def test_duplicate_key_is_refused_naming_key_and_both_lines() -> None:
    text = MINIMAL.replace("    name: Triage\n", "    name: Triage\n    name: Sorting\n")

    assert errors_of(text) == [
        FieldError(
            ("yaml",), "line 8: duplicate key 'name' (first on line 7)", "yaml_duplicate_key"
        )
    ]


def test_key_repeated_in_different_mappings_is_not_a_duplicate() -> None:
    assert load_spec_yaml(MINIMAL).stage("done").name == "Done"


def test_second_document_in_the_stream_is_refused() -> None:
    (error,) = errors_of(MINIMAL + "---\nkey: other\n")

    assert error.type == "yaml_syntax"
    assert error.msg.startswith(f"line {len(MINIMAL.splitlines()) + 1} column 1: ")


def test_empty_document_asks_for_a_mapping() -> None:
    assert errors_of("# nothing yet\n") == [FieldError((), "line 1: expected a mapping")]


def test_oversized_document_is_refused_before_parsing() -> None:
    text = MINIMAL + "#" * (MAX_DOCUMENT_BYTES - len(MINIMAL) + 1)

    assert errors_of(text) == [
        FieldError(
            ("yaml",),
            f"the document is larger than {MAX_DOCUMENT_BYTES} bytes",
            "yaml_too_large",
        )
    ]


def test_size_limit_counts_bytes_not_characters() -> None:
    text = MINIMAL.replace("Repair", "Réparation ✓") + "# " + "é" * (MAX_DOCUMENT_BYTES // 2)

    assert [e.type for e in errors_of(text)] == ["yaml_too_large"]


def test_alias_bomb_is_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 7):
        levels.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    text = MINIMAL + "\n".join(levels) + "\n"

    (error,) = errors_of(text)

    assert error.type == "yaml_too_large"
    assert "once aliases are expanded" in error.msg


def test_too_many_aliases_are_refused() -> None:
    text = MINIMAL + "x-name: &n Done\nx-list: [" + ", ".join(["*n"] * (MAX_ALIASES + 1)) + "]\n"

    (error,) = errors_of(text)

    assert error.type == "yaml_too_many_aliases"


def test_a_few_aliases_are_fine() -> None:
    text = MINIMAL.replace("owner_role: supervisor", "owner_role: &who supervisor").replace(
        "owner_role: operator", "owner_role: *who"
    )

    assert load_spec_yaml(text).stage("done").owner_role == "supervisor"


def test_alias_inside_its_own_anchor_is_refused() -> None:
    (error,) = errors_of("key: &loop [repair, *loop]\n")

    assert error.type == "yaml_alias"


def test_deep_nesting_is_refused() -> None:
    (error,) = errors_of("key: " + "[" * 200 + "]" * 200 + "\n")

    assert error.type == "yaml_too_deep"


def test_python_tags_are_refused_not_run() -> None:
    (error,) = errors_of("key: !!python/object/apply:os.system ['touch /tmp/andon-pwned']\n")

    assert error.type == "yaml_syntax"
    assert "could not determine a constructor" in error.msg


def test_value_its_tag_cannot_read_gives_its_line() -> None:
    (error,) = errors_of("key: repair\nname: !!int many\n")

    assert error.type == "yaml_syntax"
    assert error.msg.startswith("line 2 column 7: cannot read 'many'")


def test_control_character_is_refused_with_its_line() -> None:
    assert errors_of("key: repair\nname: Re\x00pair\n") == [
        FieldError(("yaml",), "line 2: character #x0000 is not allowed", "yaml_syntax")
    ]


def test_yes_and_no_stay_words() -> None:
    text = MINIMAL + (
        "intake:\n  - {key: warranty, label: Under warranty, type: choice, choices: [yes, no]}\n"
    )

    assert load_spec_yaml(text).intake[0].choices == ("yes", "no")


def test_dates_stay_text() -> None:
    text = MINIMAL.replace("name: Triage", "name: 2024-05-01")

    assert load_spec_yaml(text).stage("triage").name == "2024-05-01"


def test_demo_round_trips_through_dump() -> None:
    spec = load_spec_yaml(DEMO)

    assert load_spec_yaml(dump_spec_yaml(spec)) == spec


def test_dump_keeps_the_model_field_order_and_readable_lines() -> None:
    text = dump_spec_yaml(load_spec_yaml(DEMO))

    top_level = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert top_level[:6] == ["key", "name", "description", "stages", "start", "end"]
    assert "- {key: intake, name: Intake, owner_role: supervisor, sla: 2h}" in text
    assert "- {from: inspect, to: rework, rework: true}" in text
    assert "    at: 75%" in text
    assert "end: [ship]" in text


_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30
).filter(lambda s: s.strip() != "")
_durations = st.none() | st.integers(min_value=1, max_value=10**6)
_floats = st.floats(allow_nan=False, width=64)
_SEVERITIES = ["low", "medium", "high", "critical"]


@st.composite
def _definitions(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=6))
    keys = [f"s{i}" for i in range(count)]
    stages = []
    for key in keys:
        entry: dict[str, Any] = {
            "key": key,
            "name": draw(_names),
            "owner_role": draw(st.sampled_from(["operator", "quality", "ops_manager"])),
        }
        if (sla := draw(_durations)) is not None:
            entry["sla"] = sla
        if draw(st.booleans()):
            entry["sop"] = draw(_names)[:40]
        if draw(st.booleans()):
            low, high = sorted(draw(st.lists(_floats, min_size=2, max_size=2)))
            measured = {"unit": draw(_names)[:20], "min": low, "max": high}
            entry["checklist"] = [{"key": "check", "text": draw(_names), "measured": measured}]
        stages.append(entry)
    transitions: list[dict[str, Any]] = [{"from": a, "to": b} for a, b in itertools.pairwise(keys)]
    for i in range(1, count - 1):
        if draw(st.booleans()):
            transitions.append({"from": keys[i], "to": keys[i - 1], "rework": True})
    return {
        "key": "generated",
        "name": draw(_names),
        "description": draw(st.text(max_size=200)),
        "stages": stages,
        "start": keys[0],
        "end": [keys[-1]],
        "transitions": transitions,
        "sla": draw(st.integers(min_value=1, max_value=10**6)),  # shares need one
        "intake": [
            {
                "key": "ref",
                "label": draw(_names),
                "pattern": draw(st.sampled_from(["^A-\\d+$", "x: y #"])),
            }
        ],
        "routing": [{"when": {"product": draw(_names)}, "stage": keys[0]}],
        "exception_categories": [
            {"key": "quality", "name": draw(_names), "severity": draw(st.sampled_from(_SEVERITIES))}
        ],
        "escalation": {
            "urgent": draw(st.lists(st.sampled_from(_SEVERITIES), max_size=2, unique=True)),
            "tiers": [
                {
                    "name": draw(_names),
                    "at": draw(st.integers(1, 500).map("{}%".format) | _durations.filter(bool)),
                    "notify": {"emails": ["lead@plant.example"], "roles": ["supervisor"]},
                    "ack_within": draw(_durations),
                }
            ],
        },
    }


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(_definitions())
def test_any_definition_reads_back_from_its_dump(data: dict[str, Any]) -> None:
    spec = parse_spec(data)

    assert load_spec_yaml(dump_spec_yaml(spec)) == spec


def test_every_problem_is_listed_in_the_order_of_the_text() -> None:
    text = (
        MINIMAL.replace("owner_role: operator", "owner_role: wizard")
        .replace("to: done", "to: dne")
        .replace("name: Repair", "name: Repair\nsla: 9000h")
    )

    errors = errors_of(text)

    assert [e.msg for e in errors] == [
        f"line {line_of(text, 'sla: 9000h')}: 9000h is too long: a duration is at most 8760h "
        "(365 days of business time)",
        f"line {line_of(text, 'wizard')}: Input should be 'admin', 'ops_manager', 'quality', "
        "'safety', 'supervisor', 'operator' or 'viewer'",
        f"line {line_of(text, 'to: dne')}: unknown stage 'dne'",
    ]
