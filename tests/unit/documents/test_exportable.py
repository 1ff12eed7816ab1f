"""Content written other than from Markdown is refused where its export would not read back."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

from andon.core.errors import InvalidInput
from andon.documents.content import Change, Content, DocumentFile, Header, Role, Step
from andon.documents.markdown_io import check_exportable
from tests.unit.documents.strategies import documents

BASE = DocumentFile(
    Header("checklist", "5S audit of cell ASM-1", "lkim"),
    Content(
        steps=(Step("Sort: red-tag items not needed."), Step("Set in order: shadow boards full.")),
        purpose="Keep the cell clean.",
        roles=(Role("Auditor", "walks the cell"),),
        hazards=("Forklift traffic",),
    ),
    Change(),
)


def refused_locs(doc: DocumentFile) -> list[tuple[str | int, ...]]:
    with pytest.raises(InvalidInput) as caught:
        check_exportable(doc)
    return [e.loc for e in caught.value.errors]


def with_content(**changes: object) -> DocumentFile:
    return dataclasses.replace(BASE, content=dataclasses.replace(BASE.content, **changes))


def test_well_formed_document_passes() -> None:
    check_exportable(BASE)


def test_step_text_with_a_line_break_is_refused_naming_the_step() -> None:
    steps = (BASE.content.steps[0], Step("Set in order:\nshadow boards full."))

    assert refused_locs(with_content(steps=steps)) == [("steps", 2)]


def test_prose_holding_a_section_heading_is_refused() -> None:
    locs = refused_locs(with_content(purpose="Keep the cell clean.\n\n## Tools\n\n- Broom"))

    assert locs == [("sections", "Tools")]


def test_hazard_with_surrounding_spaces_is_refused_naming_the_hazard() -> None:
    assert refused_locs(with_content(hazards=("Forklift traffic", " Wet floor"))) == [
        ("hazards", 2)
    ]


def test_title_with_a_line_break_is_refused() -> None:
    doc = dataclasses.replace(BASE, header=dataclasses.replace(BASE.header, title="5S\naudit"))

    assert refused_locs(doc) == [("front_matter", "title")]


def test_role_name_with_a_colon_is_refused() -> None:
    roles = (Role("Auditor: lead", "walks the cell"),)

    assert refused_locs(with_content(roles=roles)) == [("roles", 1)]


@settings(max_examples=40, deadline=None)
@given(documents)
def test_every_canonical_document_passes(doc: DocumentFile) -> None:
    check_exportable(doc)
