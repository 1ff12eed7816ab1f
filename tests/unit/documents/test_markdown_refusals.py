"""Markdown that is not a valid document is refused, naming the field and the line at fault."""

from __future__ import annotations

import pytest

from andon.core.errors import FieldError, InvalidInput
from andon.documents.markdown_io import parse_markdown

VALID = """\
---
type: SOP
title: Changeover of line ASM-2
owner: jchen
---

## Purpose

Change line ASM-2 from PH-200 to PH-250 housings in under 20 minutes.

## Steps

1. Empty the line of PH-200 parts.
2. Swap the fixture plates.
   - Accept: Both plates read PH-250.
"""


def refusal(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_markdown(text)
    return caught.value


def only_error(text: str) -> FieldError:
    error = refusal(text)
    assert len(error.errors) == 1, error.errors
    return error.errors[0]


def test_the_valid_base_document_is_accepted() -> None:
    assert parse_markdown(VALID).header.title == "Changeover of line ASM-2"


def test_missing_required_field_is_named() -> None:
    error = refusal(VALID.replace("owner: jchen\n", ""))

    assert [e.loc for e in error.errors] == [("front_matter", "owner")]
    assert error.errors[0].msg.startswith("line 1: ")
    assert "'owner' is missing" in error.detail
    assert "(line 1)" in error.detail


def test_unknown_front_matter_field_is_named_with_its_line() -> None:
    error = only_error(VALID.replace("owner: jchen\n", "owner: jchen\nreviewer: lkim\n"))

    assert error.loc == ("front_matter", "reviewer")
    assert error.msg.startswith("line 5: unknown field 'reviewer'")


def test_unknown_type_is_refused_with_the_allowed_types() -> None:
    error = only_error(VALID.replace("type: SOP", "type: manual"))

    assert error.loc == ("front_matter", "type")
    assert (
        error.msg == "line 2: 'type' must be one of SOP, WI, checklist, form, policy, not 'manual'"
    )


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("review_interval_months: twelve", "review_interval_months", "whole number of months"),
        ("review_interval_months: 0", "review_interval_months", "between 1 and 120"),
        ("safety_impact: maybe", "safety_impact", "must be true or false"),
        ("training: 1", "training", "must be true or false"),
        ("number: 7", "number", "must be text, not 7 (quote it)"),
        ("area: [ASM, QA]", "area", "must be text"),
        ("reason: ''", "reason", "'reason' is empty"),
        ("number: SOP ASM 7", "number", "'number' must be letters, digits"),
    ],
)
def test_wrong_type_of_front_matter_value_is_refused(line: str, field: str, expected: str) -> None:
    error = only_error(VALID.replace("owner: jchen\n", f"owner: jchen\n{line}\n"))

    assert error.loc == ("front_matter", field)
    assert error.msg.startswith("line 5: ")
    assert expected in error.msg


def test_safety_change_without_a_risk_is_refused() -> None:
    error = only_error(VALID.replace("owner: jchen\n", "owner: jchen\nsafety_impact: true\n"))

    assert error.loc == ("front_matter", "risk")
    assert error.msg == "line 5: a change with safety impact must name a risk ('risk: ...')"


def test_field_given_twice_is_refused() -> None:
    error = only_error(VALID.replace("owner: jchen\n", "owner: jchen\ntitle: Other\n"))

    assert error.loc == ("front_matter", "title")
    assert error.msg == "line 5: 'title' is given twice (first on line 3)"


def test_field_given_twice_in_different_case_is_refused() -> None:
    error = only_error(VALID.replace("owner: jchen\n", "owner: jchen\nTitle: Other\n"))

    assert error.loc == ("front_matter", "Title")
    assert error.msg == "line 5: 'Title' is given twice (first on line 3)"


def test_field_names_are_read_in_any_case() -> None:
    doc = parse_markdown(VALID.replace("title:", "Title:").replace("owner:", "OWNER:"))

    assert (doc.header.title, doc.header.owner) == ("Changeover of line ASM-2", "jchen")


def test_invalid_yaml_names_its_line() -> None:
    error = only_error(VALID.replace("owner: jchen\n", "owner: jchen\nreason: [unclosed\n"))

    assert error.loc == ("front_matter",)
    assert error.msg.startswith("line 5: not valid YAML")


def test_file_without_front_matter_is_refused() -> None:
    error = only_error("## Steps\n\n1. Do it.\n")

    assert error.loc == ("front_matter",)
    assert error.msg.startswith("line 1: the file must start with a line '---'")


def test_front_matter_without_closing_line_is_refused() -> None:
    error = only_error("---\ntype: SOP\ntitle: T\nowner: o\n\n## Steps\n\n1. Do it.\n")

    assert error.loc == ("front_matter",)
    assert error.msg == "line 1: the front matter has no closing line '---'"


def test_unknown_section_is_named_with_its_line() -> None:
    error = only_error(VALID.replace("## Steps", "## Tools\n\n- Hex key 6 mm\n\n## Steps"))

    assert error.loc == ("sections", "Tools")
    assert error.msg.startswith("line 11: unknown section 'Tools'")


def test_section_given_twice_is_refused() -> None:
    error = only_error(VALID + "\n## Purpose\n\nAgain.\n")

    assert error.loc == ("sections", "Purpose")
    assert error.msg == "line 17: section 'Purpose' appears twice (first on line 7)"


def test_top_level_heading_is_refused() -> None:
    error = only_error(VALID.replace("## Purpose", "# Changeover\n\n## Purpose"))

    assert error.loc == ("sections", "Changeover")
    assert error.msg.startswith("line 7: no '#' headings")


def test_text_before_the_first_section_is_refused() -> None:
    error = only_error(VALID.replace("## Purpose", "Read this first.\n\n## Purpose"))

    assert error.loc == ("body",)
    assert error.msg.startswith("line 7: text before the first section")


def test_stray_text_before_the_first_section_is_reported_once() -> None:
    error = only_error(VALID.replace("## Purpose", "Read this.\n\n> And this.\n\n## Purpose"))

    assert error.loc == ("body",)
    assert error.msg.startswith("line 7: ")


def test_document_without_steps_section_is_refused() -> None:
    error = only_error(VALID.split("## Steps")[0])

    assert error.loc == ("steps",)
    assert error.msg == "line 6: the document has no '## Steps' section"


def test_empty_steps_section_is_refused() -> None:
    error = only_error(VALID.split("## Steps")[0] + "## Steps\n")

    assert error.loc == ("steps",)
    assert error.msg == "line 11: the document has no steps; list them as '1. ...'"


def test_steps_as_bullets_instead_of_numbers_are_refused() -> None:
    error = only_error(VALID.replace("1. Empty", "- Empty").replace("2. Swap", "- Swap"))

    assert error.loc == ("steps",)
    assert error.msg.startswith("line 13: this section holds one numbered list")


def test_unknown_step_detail_names_the_step_and_line() -> None:
    error = only_error(VALID + "   - Torque: 48 Nm\n")

    assert error.loc == ("steps", 2)
    assert error.msg.startswith("line 16: a step's bullets are 'Key point: ...'")
    assert "step 2 (line 16)" in refusal(VALID + "   - Torque: 48 Nm\n").detail


def test_unknown_critical_kind_is_refused() -> None:
    error = only_error(VALID + "   - Critical: cost\n")

    assert error.loc == ("steps", 2)
    assert error.msg == "line 16: 'Critical:' is quality or safety, not 'cost'"


def test_second_key_point_is_refused() -> None:
    error = only_error(VALID + "   - Key point: One.\n   - Key point: Two.\n")

    assert error.loc == ("steps", 2)
    assert error.msg == "line 17: a step has one key point"


def test_role_without_a_responsibility_is_refused() -> None:
    error = only_error(
        VALID.replace("## Steps", "## Roles and responsibilities\n\n- Operator\n\n## Steps")
    )

    assert error.loc == ("roles", 1)
    assert error.msg == "line 13: write each role as '- Role: what it is responsible for'"


def test_reference_that_is_not_a_number_is_refused() -> None:
    error = only_error(VALID + "\n## References\n\n- the torque work instruction\n")

    assert error.loc == ("references", 1)
    assert error.msg.startswith("line 19: a reference is a document number")


def test_hazards_section_with_prose_is_refused() -> None:
    error = only_error(VALID.replace("## Steps", "## Hazards\n\nBe careful.\n\n## Steps"))

    assert error.loc == ("hazards",)
    assert error.msg.startswith("line 13: this section holds a list of hazards")


def test_every_fault_is_reported_at_once_in_file_order() -> None:
    text = VALID.replace("type: SOP", "type: manual").replace("owner: jchen\n", "color: red\n")
    text += "   - Critical: cost\n"

    error = refusal(text)

    assert [e.loc for e in error.errors] == [
        ("front_matter", "owner"),
        ("front_matter", "type"),
        ("front_matter", "color"),
        ("steps", 2),
    ]


def test_a_code_block_left_open_at_the_end_of_purpose_is_refused() -> None:
    # Read as written (Purpose last), the open fence swallows nothing; rewritten with the
    # sections in their order it would swallow "## Steps". Found by the round-trip fuzz test.
    text = (
        "---\ntype: SOP\ntitle: Packing\nowner: lkim\n---\n\n## Steps\n\n1. First step.\n\n"
        "## Purpose\n\n<div>raw</div>\n```\ncode\n\n\nmore\n```\n"
    )
    with pytest.raises(InvalidInput) as caught:
        parse_markdown(text)
    (error,) = caught.value.errors
    assert error.loc == ("purpose",)
    assert "left open" in error.msg
