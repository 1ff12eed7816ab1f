"""Markdown import and export round-trip byte for byte in the canonical form."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from andon.documents.content import Change, Content, DocumentFile, Header, Image, Role, Step
from andon.documents.markdown_io import parse_markdown, render_markdown
from tests.unit.documents.strategies import documents

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.md"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_sop_exports_byte_identical_to_its_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    assert render_markdown(parse_markdown(text)) == text


def test_there_are_three_sample_sops() -> None:
    assert [p.name for p in SAMPLES] == [
        "first-article-inspection.md",
        "lockout-tagout.md",
        "torque-verification.md",
    ]


def test_lockout_sample_reads_into_its_structure() -> None:
    doc = parse_markdown((Path(__file__).parent / "samples" / "lockout-tagout.md").read_text())

    assert doc.header == Header(
        type="SOP",
        title="Lockout/tagout of the housing press cell",
        owner="mgarcia",
        number="SOP-SAF-0001",
        area="SAF",
        review_interval_months=12,
    )
    assert doc.change.safety_impact is True
    assert doc.change.training is True
    assert doc.change.risk is not None
    assert doc.change.risk.startswith("Stored hydraulic pressure")
    assert doc.content.purpose.startswith("Protect everyone")
    assert "\n\nThis procedure applies" in doc.content.purpose
    assert doc.content.roles[1] == Role(
        "Team leader", "keeps the lock register and confirms the cell is clear before restart"
    )
    assert doc.content.ppe == (
        "Safety glasses with side shields",
        "Cut-resistant gloves, level C",
        "Safety shoes with metatarsal guard",
    )
    assert len(doc.content.hazards) == 3
    assert len(doc.content.steps) == 7
    assert doc.content.steps[3] == Step(
        text="Close the accumulator isolation valve HV-3 and open the bleed valve HV-4.",
        key_point="Bleed slowly, over at least 30 seconds, to avoid a pressure spike in the "
        "return line.",
        critical="safety",
        accept=("Gauge PG-3 reads 0 bar.",),
        images=(Image("Accumulator valves HV-3 and HV-4", "images/accumulator-valves.jpg"),),
    )
    assert doc.content.references == ("SOP-SAF-0004", "WI-ASM-0012")


@settings(max_examples=60, deadline=None)
@given(documents)
def test_rendered_document_parses_back_to_the_same_structure(doc: DocumentFile) -> None:
    assert parse_markdown(render_markdown(doc)) == doc


@settings(max_examples=60, deadline=None)
@given(documents)
def test_export_of_an_imported_canonical_file_is_byte_identical(doc: DocumentFile) -> None:
    text = render_markdown(doc)

    assert render_markdown(parse_markdown(text)) == text


LOOSE = """\r
---\r
title:   "Kitting of seal kits"\r
type: checklist\r
owner: lkim\r
---\r
\r
## steps\r
\r
3) Pick the O-rings\r
   from bin K-4.\r
\r
   * Accept: Four O-rings.\r
   * Critical: Quality\r
   * Key point: Count them\r
     twice.\r
\r
7) Seal the bag.\r
\r
## purpose  \r
\r
Kits   \r
\r
\r
\r
for the PH-200 line.\r
"""

CANONICAL = """---
type: checklist
title: Kitting of seal kits
owner: lkim
---

## Purpose

Kits

for the PH-200 line.

## Steps

1. Pick the O-rings from bin K-4.
   - Key point: Count them twice.
   - Critical: quality
   - Accept: Four O-rings.
2. Seal the bag.
"""


def test_loose_markdown_is_normalised_to_the_canonical_form() -> None:
    # The leading CR-only line is not part of the format: strip it to start at '---'.
    loose = LOOSE.lstrip("\r\n")

    assert render_markdown(parse_markdown(loose)) == CANONICAL
    assert parse_markdown(loose) == parse_markdown(CANONICAL)


def test_step_numbers_above_nine_indent_details_under_the_text() -> None:
    steps = tuple(Step(f"Step {n}.", accept=(f"Done {n}.",)) for n in range(1, 12))
    doc = DocumentFile(Header("WI", "Many steps", "lkim"), Content(steps=steps), Change())

    text = render_markdown(doc)

    assert "10. Step 10.\n    - Accept: Done 10.\n" in text
    assert "9. Step 9.\n   - Accept: Done 9.\n" in text
    assert parse_markdown(text) == doc


def test_front_matter_values_yaml_would_misread_are_quoted() -> None:
    doc = DocumentFile(
        Header("form", "yes", "lkim", number="0007", area="NO"),
        Content(steps=(Step("Fill in the form."),)),
        Change(reason="true: a colon", risk="#1 risk"),
    )

    text = render_markdown(doc)

    assert "title: 'yes'\n" in text
    assert "number: '0007'\n" in text
    assert parse_markdown(text) == doc
