"""The hash signatures sign changes with every signed value and not with Markdown layout."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from andon.documents.content import (
    Change,
    Content,
    DocumentFile,
    Header,
    Image,
    Role,
    Step,
    canonical_json,
    content_from_dict,
    content_sha256,
    signed_dict,
)
from andon.documents.markdown_io import parse_markdown, render_markdown
from tests.unit.documents.strategies import contents, documents

SAMPLE = Path(__file__).parent / "samples" / "torque-verification.md"

BASE = DocumentFile(
    header=Header("SOP", "Leak test of pump housings", "apatel", number="SOP-QA-0009", area="QA"),
    content=Content(
        steps=(
            Step(
                "Clamp the housing.",
                key_point="Seals dry.",
                critical="quality",
                accept=("No leak.",),
                images=(Image("Clamp", "images/clamp.png"),),
            ),
            Step("Apply 16 bar for 30 s."),
        ),
        purpose="Find leaks before shipping.",
        scope="All PH housings.",
        roles=(Role("Tester", "runs the test"),),
        hazards=("Pressurised air",),
        ppe=("Safety glasses",),
        references=("WI-ASM-0007",),
    ),
    change=Change(reason="New tester", safety_impact=False, training=True),
)


def replace_content(**changes: object) -> DocumentFile:
    return dataclasses.replace(BASE, content=dataclasses.replace(BASE.content, **changes))


def replace_step(**changes: object) -> DocumentFile:
    first = dataclasses.replace(BASE.content.steps[0], **changes)
    return replace_content(steps=(first, *BASE.content.steps[1:]))


CHANGED = {
    "title": dataclasses.replace(BASE, header=dataclasses.replace(BASE.header, title="Leak test")),
    "type": dataclasses.replace(BASE, header=dataclasses.replace(BASE.header, type="WI")),
    "reason": dataclasses.replace(BASE, change=dataclasses.replace(BASE.change, reason="Other")),
    "safety_impact": dataclasses.replace(
        BASE, change=Change(reason="New tester", safety_impact=True, training=True, risk="Burst")
    ),
    "training stated false": dataclasses.replace(
        BASE, change=dataclasses.replace(BASE.change, training=False)
    ),
    "training not stated": dataclasses.replace(
        BASE, change=dataclasses.replace(BASE.change, training=None)
    ),
    "purpose": replace_content(purpose="Find leaks before shipping!"),
    "scope": replace_content(scope=""),
    "role": replace_content(roles=(Role("Tester", "runs the tests"),)),
    "hazard": replace_content(hazards=("Pressurised air", "Noise")),
    "hazard moved to PPE": replace_content(hazards=(), ppe=("Pressurised air", "Safety glasses")),
    "reference": replace_content(references=("WI-ASM-0008",)),
    "step order": replace_content(steps=tuple(reversed(BASE.content.steps))),
    "step text": replace_step(text="Clamp the housing"),
    "key point": replace_step(key_point=None),
    "critical": replace_step(critical="safety"),
    "accept": replace_step(accept=("No leak.", "No noise.")),
    "image": replace_step(images=(Image("Clamp", "images/clamp2.png"),)),
}


@pytest.mark.parametrize("what", list(CHANGED))
def test_hash_changes_with_any_signed_value(what: str) -> None:
    assert content_sha256(CHANGED[what]) != content_sha256(BASE)


@pytest.mark.parametrize(
    "header",
    [
        dataclasses.replace(BASE.header, number=None),
        dataclasses.replace(BASE.header, owner="jchen"),
        dataclasses.replace(BASE.header, area=None),
        dataclasses.replace(BASE.header, review_interval_months=36),
    ],
    ids=["number", "owner", "area", "review_interval_months"],
)
def test_hash_ignores_fields_that_describe_the_document_not_the_revision(header: Header) -> None:
    assert content_sha256(dataclasses.replace(BASE, header=header)) == content_sha256(BASE)


def test_hash_is_sha256_of_the_documented_canonical_json() -> None:
    expected_json = json.dumps(signed_dict(BASE), sort_keys=True, separators=(",", ":"))

    assert expected_json.startswith('{"change":{"reason":"New tester","safety_impact":false,')
    assert content_sha256(BASE) == hashlib.sha256(expected_json.encode()).hexdigest()


def test_canonical_json_has_sorted_keys_no_spaces_and_leaves_out_empty_fields() -> None:
    content = Content(steps=(Step("Prüfe die Dichtung."),), purpose="Ölfrei.")

    assert (
        canonical_json(content) == '{"purpose":"Ölfrei.","steps":[{"text":"Prüfe die Dichtung."}]}'
    )


@settings(max_examples=60, deadline=None)
@given(contents)
def test_canonical_json_reads_back_to_the_same_content(content: Content) -> None:
    assert content_from_dict(json.loads(canonical_json(content))) == content


@settings(max_examples=40, deadline=None)
@given(documents, st.sampled_from(["*", "+"]), st.booleans())
def test_layout_differences_leave_the_hash_unchanged(
    doc: DocumentFile, bullet: str, crlf: bool
) -> None:
    """Bullet markers, loose lists, trailing spaces and CRLF are normalised by parsing."""
    text = render_markdown(doc)
    relaid = "\n".join(
        line.replace("- ", f"{bullet} ", 1) + "  " if line.lstrip().startswith("- ") else line
        for line in text.split("\n")
    )
    if crlf:
        relaid = relaid.replace("\n", "\r\n")

    assume(relaid != text)
    assert content_sha256(parse_markdown(relaid)) == content_sha256(doc)


def test_rewrapped_lines_and_front_matter_order_leave_the_hash_unchanged() -> None:
    text = SAMPLE.read_text()
    front, body = text.split("\n---\n", 1)
    fields = front.split("\n")[1:]
    reordered = "---\n" + "\n".join(reversed(fields)) + "\n---\n" + body
    rewrapped = reordered.replace(
        "1. Check the calibration label on the DC nutrunner and the audit wrench.",
        "5. Check the calibration label\n   on the DC nutrunner and the audit wrench.",
    )

    assert rewrapped != text
    assert content_sha256(parse_markdown(rewrapped)) == content_sha256(parse_markdown(text))


def test_rewrapped_prose_changes_the_hash() -> None:
    """Prose is kept as written, line breaks included: re-wrapping it is a change."""
    text = SAMPLE.read_text()
    rewrapped = text.replace(
        "cover bolt on a PH-200 pump housing holds the specified torque, so that\n",
        "cover bolt on a PH-200 pump housing holds the specified torque, so\nthat ",
    )

    assert rewrapped != text
    assert content_sha256(parse_markdown(rewrapped)) != content_sha256(parse_markdown(text))


def test_hash_of_the_example_in_the_docs_never_changes() -> None:
    """Stored signatures carry this hash: a change to what is hashed breaks every one."""
    doc = DocumentFile(
        Header("WI", "Seal kit check", "lkim"),
        Content(
            steps=(Step("Count the O-rings.", critical="quality", accept=("Four O-rings.",)),),
            purpose="Complete kits.",
        ),
        Change(reason="New kit", safety_impact=False, training=True),
    )

    assert content_sha256(doc) == "626dc5e38ce70bbb1da1fe1b207f74a6bda13b246790c7dd82346258d247acfd"
