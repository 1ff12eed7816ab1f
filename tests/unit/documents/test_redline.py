"""The redline between two revisions: worked examples computed by hand, and its properties."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from andon.documents.content import Content, Step
from andon.documents.markdown_io import parse_markdown
from andon.documents.redline import (
    RevisionText,
    Segment,
    StepText,
    TextDiff,
    apply_segments,
    diff_words,
    mark_words,
    redline,
    render_unified,
    revision_text,
    side_by_side,
    step_text,
    tokenize,
)

STEPS = [
    "Isolate the line at the main disconnect.",
    "Torque the M8 bolts to 25 Nm.",
    "Inspect the joint for gaps.",
    "Sign the torque sheet.",
]


def test_word_changes_in_one_step_are_marked_word_by_word() -> None:
    new_steps = [*STEPS]
    new_steps[1] = "Torque the M10 bolts to 40 Nm."
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=new_steps))
    kinds = [(s.kind, s.old_number, s.new_number) for s in result.steps]
    assert kinds == [
        ("unchanged", 1, 1),
        ("changed", 2, 2),
        ("unchanged", 3, 3),
        ("unchanged", 4, 4),
    ]
    assert result.steps[1].text.segments == (
        Segment("equal", "Torque the "),
        Segment("delete", "M8"),
        Segment("insert", "M10"),
        Segment("equal", " bolts to "),
        Segment("delete", "25"),
        Segment("insert", "40"),
        Segment("equal", " Nm."),
    )


def test_a_moved_step_is_moved_and_the_others_keep_their_place() -> None:
    new_steps = [STEPS[0], STEPS[2], STEPS[3], STEPS[1]]
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=new_steps))
    assert [(s.kind, s.old_number, s.new_number) for s in result.steps] == [
        ("unchanged", 1, 1),
        ("unchanged", 3, 2),
        ("unchanged", 4, 3),
        ("moved", 2, 4),
    ]
    assert not result.steps[3].text.changed


def test_an_inserted_step_is_added_without_moving_the_ones_after_it() -> None:
    new_steps = [STEPS[0], "Verify zero energy with the tester.", *STEPS[1:]]
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=new_steps))
    assert [(s.kind, s.old_number, s.new_number) for s in result.steps] == [
        ("unchanged", 1, 1),
        ("added", None, 2),
        ("unchanged", 2, 3),
        ("unchanged", 3, 4),
        ("unchanged", 4, 5),
    ]
    assert result.steps[1].text.segments == (
        Segment("insert", "Verify zero energy with the tester."),
    )


def test_a_removed_step_is_listed_where_it_stood() -> None:
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=[STEPS[0], *STEPS[2:]]))
    assert [(s.kind, s.old_number, s.new_number) for s in result.steps] == [
        ("unchanged", 1, 1),
        ("removed", 2, None),
        ("unchanged", 3, 2),
        ("unchanged", 4, 3),
    ]


def test_steps_with_keys_match_by_key_even_when_rewritten() -> None:
    old = RevisionText.of(steps=[("lock", "Lock the disconnect."), ("test", "Test for voltage.")])
    new = RevisionText.of(
        steps=[("test", "Try to start the press."), ("lock", "Apply your own padlock.")]
    )
    result = redline(old, new)
    assert [(s.key, s.kind, s.old_number, s.new_number) for s in result.steps] == [
        ("test", "moved", 2, 1),
        ("lock", "changed", 1, 2),
    ]
    # Matched by key although the texts share nothing: the lock step's text changed.
    assert result.steps[1].text.changed
    assert result.steps[1].text.new == "Apply your own padlock."


def test_a_safety_note_changed_added_and_removed() -> None:
    old = RevisionText.of(safety_notes=["Wear safety glasses.", "Wear gloves.", "Ear defenders."])
    new = RevisionText.of(
        safety_notes=["Wear safety glasses.", "Wear cut-resistant gloves.", "Steel toe boots."]
    )
    notes = redline(old, new).safety_notes
    assert [(n.kind, n.text.old, n.text.new) for n in notes] == [
        ("unchanged", "Wear safety glasses.", "Wear safety glasses."),
        ("changed", "Wear gloves.", "Wear cut-resistant gloves."),
        ("added", "", "Steel toe boots."),
        ("removed", "Ear defenders.", ""),
    ]
    assert mark_words(notes[1].text) == "Wear {+cut-resistant +}gloves."


def test_sections_added_removed_and_changed() -> None:
    old = RevisionText.of(sections={"Purpose": "Keep bolts tight.", "Notes": "None."})
    new = RevisionText.of(sections={"Purpose": "Keep all bolts tight.", "Scope": "Line 2."})
    result = redline(old, new)
    assert [(s.name, s.kind) for s in result.sections] == [
        ("Purpose", "changed"),
        ("Scope", "added"),
        ("Notes", "removed"),
    ]


def test_unified_rendering_marks_words_and_numbers() -> None:
    old = RevisionText.of(
        sections={"Purpose": "Keep bolts tight."},
        safety_notes=["Wear gloves."],
        steps=STEPS,
    )
    new = RevisionText.of(
        sections={"Purpose": "Keep bolts tight."},
        safety_notes=["Wear cut-resistant gloves."],
        steps=[STEPS[0], STEPS[2], "Torque the M8 bolts to 30 Nm.", STEPS[3]],
    )
    assert render_unified(redline(old, new), "SOP-ASM-0007 rev 3", "SOP-ASM-0007 rev 4") == (
        "--- SOP-ASM-0007 rev 3\n"
        "+++ SOP-ASM-0007 rev 4\n"
        "## Safety notes\n"
        "~ Wear {+cut-resistant +}gloves.\n"
        "## Steps\n"
        "> 3→2. Inspect the joint for gaps.\n"
        "~ 2→3. Torque the M8 bolts to [-25-]{+30+} Nm.\n"
    )


def test_unified_rendering_of_identical_revisions_says_so() -> None:
    same = RevisionText.of(steps=STEPS)
    assert render_unified(redline(same, same)) == "--- old\n+++ new\n(no differences)\n"
    assert not redline(same, same).changed


def test_json_is_plain_and_round_trips_through_json() -> None:
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=STEPS[1:]))
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["steps"][0] == {
        "key": None,
        "kind": "removed",
        "old_number": 1,
        "new_number": None,
        "moved": False,
        "text_changed": True,
        "text": [{"kind": "delete", "text": STEPS[0]}],
    }


def test_side_by_side_rows_hold_old_and_new_segments() -> None:
    old = RevisionText.of(steps=[StepText(None, "Torque to 25 Nm.")])
    new = RevisionText.of(steps=[StepText(None, "Torque to 30 Nm.")])
    [row] = side_by_side(redline(old, new))
    assert row.label == "Step 1"
    assert row.kind == "changed"
    assert row.old == (
        Segment("equal", "Torque to "),
        Segment("delete", "25"),
        Segment("equal", " Nm."),
    )
    assert row.new == (
        Segment("equal", "Torque to "),
        Segment("insert", "30"),
        Segment("equal", " Nm."),
    )


def test_tokens_join_back_to_the_text() -> None:
    assert tokenize("Torque: 25 Nm.\n") == ["Torque", ":", " ", "25", " ", "Nm", ".", "\n"]


words = st.sampled_from(["bolt", "torque", "25", "Nm", "gloves", "line", "é", "PPE", "-", "."])
texts = st.lists(
    st.one_of(words, st.sampled_from([" ", "  ", "\n"]), st.text(max_size=4)), max_size=30
).map("".join)


@given(texts, texts)
def test_applying_the_diff_to_the_old_text_gives_the_new_text(old: str, new: str) -> None:
    diff = diff_words(old, new)
    assert apply_segments(old, diff.segments) == new
    assert (diff.old, diff.new) == (old, new)


@given(texts, texts)
def test_segments_alternate_and_are_never_empty(old: str, new: str) -> None:
    segments = diff_words(old, new).segments
    assert all(s.text for s in segments)
    assert all(a.kind != b.kind for a, b in itertools.pairwise(segments))


@given(texts)
def test_a_text_compared_with_itself_is_one_equal_segment(text: str) -> None:
    assert diff_words(text, text) == TextDiff((Segment("equal", text),) if text else ())


step_texts = st.lists(st.sampled_from([*STEPS, "Clean the area.", "Call the lead."]), max_size=6)


@given(step_texts, step_texts)
def test_every_step_of_both_revisions_appears_once(old: list[str], new: list[str]) -> None:
    result = redline(RevisionText.of(steps=old), RevisionText.of(steps=new))
    assert sorted(s.old_number for s in result.steps if s.old_number) == list(
        range(1, len(old) + 1)
    )
    assert [s.new_number for s in result.steps if s.new_number] == list(range(1, len(new) + 1))
    for s in result.steps:
        assert s.text.old == (old[s.old_number - 1] if s.old_number else "")
        assert s.text.new == (new[s.new_number - 1] if s.new_number else "")


def test_the_step_carried_furthest_is_the_one_called_moved() -> None:
    # Torque goes from 2 to 4 while Inspect keeps number 3 (a step was inserted above it):
    # either could be "the moved one"; the one that shifted most is.
    new_steps = [STEPS[0], "Verify zero energy.", STEPS[2], STEPS[1], STEPS[3]]
    result = redline(RevisionText.of(steps=STEPS), RevisionText.of(steps=new_steps))
    assert [(s.kind, s.old_number, s.new_number) for s in result.steps] == [
        ("unchanged", 1, 1),
        ("added", None, 2),
        ("unchanged", 3, 3),
        ("moved", 2, 4),
        ("unchanged", 4, 5),
    ]


keyed_steps = st.lists(
    st.tuples(st.sampled_from(["lock", "test", "torque", None]), st.sampled_from(STEPS)),
    max_size=5,
    unique_by=lambda step: step[0] or object(),
)


@given(keyed_steps, keyed_steps)
def test_keyed_steps_pair_up_by_key_and_each_appears_once(
    old: list[tuple[str | None, str]], new: list[tuple[str | None, str]]
) -> None:
    result = redline(RevisionText.of(steps=old), RevisionText.of(steps=new))
    assert sorted(s.old_number for s in result.steps if s.old_number) == list(
        range(1, len(old) + 1)
    )
    assert [s.new_number for s in result.steps if s.new_number] == list(range(1, len(new) + 1))
    old_keys, new_keys = {k for k, _ in old if k}, {k for k, _ in new if k}
    for s in result.steps:
        old_key = old[s.old_number - 1][0] if s.old_number else None
        new_key = new[s.new_number - 1][0] if s.new_number else None
        # A key both revisions hold always pairs its two steps; a key only one side holds
        # leaves the step to be matched by its text.
        if old_key in new_keys or new_key in old_keys:
            assert old_key == new_key


SAMPLE = Path(__file__).parent / "samples" / "torque-verification.md"


def test_a_changed_acceptance_criterion_shows_on_its_step() -> None:
    old = parse_markdown(SAMPLE.read_text())
    step = old.content.steps[2]
    assert step.accept  # the sample's third step has acceptance criteria to change
    changed = replace(step, accept=("Torque within 24-26 Nm on every bolt", *step.accept[1:]))
    steps = (*old.content.steps[:2], changed, *old.content.steps[3:])
    new = replace(old.content, steps=steps)

    result = redline(revision_text(old.content), revision_text(new))

    assert [(s.kind, s.old_number) for s in result.steps if s.kind != "unchanged"] == [
        ("changed", 3)
    ]
    assert "Torque within 24-26 Nm on every bolt" in result.steps[2].text.new
    assert result.sections  # the sample's sections, every one unchanged
    assert {c.kind for c in (*result.sections, *result.safety_notes)} == {"unchanged"}


def test_ppe_and_hazards_are_the_safety_notes_and_a_critical_flag_is_part_of_its_step() -> None:
    content = Content(
        steps=(Step("Lock the press out.", critical="safety"),),
        hazards=("Stored hydraulic pressure.",),
        ppe=("Safety glasses",),
    )
    text = revision_text(content)
    assert text.safety_notes == ("Stored hydraulic pressure.", "PPE: Safety glasses")
    assert text.steps == (StepText(None, "Lock the press out.\nCritical: safety"),)
    assert text.sections == {}
    assert step_text(Step("Torque.", key_point="Cross pattern", accept=("25 Nm",))) == (
        "Torque.\nKey point: Cross pattern\nAccept: 25 Nm"
    )
