import pytest

from andon.core.errors import InvalidInput
from andon.metrics.definition_yaml import dump_definition_yaml, load_definition_yaml

EXAMPLE = """\
key: rework_inspect
name: Rework rate at Inspect
description: Share of items sent back from Inspect.
unit: "%"
direction: lower_is_better
kind: lagging
owner: quality
source: {kpi: rework_rate, stage: inspect, line: L2}
computation: reworked items / items inspected, per week
edge_cases: An item reworked twice counts once.
target: 0.03
period: week
chart: p
rules: [western-electric, N5]
baseline: {from: 2026-01-05, to: 2026-03-29}
thresholds:
  - level: warning
    above: 0.05
    decision: The quality engineer reviews the week's rework tags
  - level: critical
    above: 0.08
    min_points: 2
    decision: Hold material lots from the new supplier
    action: {title: Contain the rework, due_in_days: 2}
no_data_after: 2w
review: weekly
"""


def refusal(text: str) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(InvalidInput) as caught:
        load_definition_yaml(text)
    return [(e.loc, e.msg) for e in caught.value.errors]


def test_the_documented_example_loads():
    defn = load_definition_yaml(EXAMPLE)
    assert defn.key == "rework_inspect"
    assert defn.thresholds[1].action is not None
    assert defn.thresholds[1].action.title == "Contain the rework"


def test_a_dump_loads_back_to_an_equal_definition():
    defn = load_definition_yaml(EXAMPLE)
    assert load_definition_yaml(dump_definition_yaml(defn)) == defn


def test_a_dump_is_stable():
    first = dump_definition_yaml(load_definition_yaml(EXAMPLE))
    assert dump_definition_yaml(load_definition_yaml(first)) == first


def test_the_minimal_contract_loads_with_defaults():
    text = (
        "key: near_misses\nname: Near misses\nowner: safety\nunit: count\n"
        "direction: lower_is_better\nkind: leading\nsource: manual\nperiod: week\n"
        "chart: c\nrules: [WE1]\nbaseline: {points: 8}\nthresholds: []\n"
    )
    defn = load_definition_yaml(text)
    assert (defn.source, defn.chart, defn.rule_ids()) == ("manual", "c", ["WE1"])


def test_an_unknown_kpi_names_its_field_and_line():
    errors = refusal(EXAMPLE.replace("kpi: rework_rate", "kpi: rework"))
    assert errors[0][0] == ("source", "kpi")
    assert errors[0][1].startswith("line 8: ")


def test_thresholds_out_of_order_name_the_band_and_its_line():
    errors = refusal(EXAMPLE.replace("above: 0.08", "above: 0.04"))
    assert errors == [
        (
            ("thresholds", 1, "above"),
            "line 21: the critical band's above (0.04) must be at or over the warning band's "
            "(0.05, thresholds 0)",
        )
    ]


def test_an_unknown_rule_names_the_rules_line():
    errors = refusal(EXAMPLE.replace("N5]", "N9]"))
    assert errors[0][0] == ("rules", 1)
    assert errors[0][1].startswith("line 14: unknown rule 'N9'")


def test_an_unknown_rule_in_a_block_list_names_its_own_line():
    errors = refusal(EXAMPLE.replace("rules: [western-electric, N5]", "rules:\n  - WE1\n  - WE7"))
    assert errors[0][1].startswith("line 16: unknown rule 'WE7'")


def test_a_short_baseline_names_the_baseline_line():
    errors = refusal(EXAMPLE.replace("to: 2026-03-29", "to: 2026-01-06"))
    assert errors[0][0] == ("baseline",)
    assert errors[0][1].startswith("line 15: ")


def test_a_missing_decision_points_at_its_band():
    errors = refusal(
        EXAMPLE.replace("    decision: The quality engineer reviews the week's rework tags\n", "")
    )
    assert errors == [(("thresholds", 0, "decision"), "line 17: Field required")]


def test_errors_come_in_the_order_of_their_lines():
    errors = refusal(
        EXAMPLE.replace("period: week", "period: fortnight").replace("kind: lagging", "kind: both")
    )
    assert [loc for loc, _ in errors] == [("kind",), ("period",)]
    assert errors[0][1].startswith("line 6: ")


def test_a_duplicate_key_is_refused_with_both_lines():
    errors = refusal(EXAMPLE + "key: other\n")
    assert errors == [(("yaml",), "line 27: duplicate key 'key' (first on line 1)")]


def test_a_syntax_error_gives_its_line():
    errors = refusal("key: a\nname: [unclosed\n")
    assert errors[0][0] == ("yaml",)
    assert errors[0][1].startswith("line 3")


def test_a_document_that_is_not_a_mapping_is_refused():
    assert refusal("- just\n- a list\n")[0][0] == ()


def test_an_oversized_document_is_refused_before_parsing():
    assert refusal("# " + "x" * 1_000_001)[0][0] == ("yaml",)
