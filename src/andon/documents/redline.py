"""The redline between two revisions: word changes, steps added/removed/moved, safety notes.

Pure: it takes each revision's texts as plain values (sections by name, safety notes, steps
with an optional stable key) and returns a structured result, a unified text rendering for
the CLI and old/new segment pairs a page shows side by side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from andon.documents.content import Content, Step

SegmentKind = Literal["equal", "insert", "delete"]
ItemKind = Literal["added", "removed", "moved", "changed", "unchanged"]

# Words, runs of whitespace and runs of punctuation are the tokens: joining them gives the
# text back exactly, and "25 Nm." → "30 Nm." marks only the number.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]+")
_LEADING_SPACE = re.compile(r"\s+")

SIMILAR = 0.5
"""Two unkeyed steps (or safety notes) at least this similar (difflib ratio over words) are the
same item, changed; below it they are one removed and one added."""


@dataclass(frozen=True)
class StepText:
    """A step as the redline reads it: an optional stable key and its text."""

    key: str | None
    text: str


@dataclass(frozen=True)
class RevisionText:
    """The parts of a revision the redline compares, in the order they appear."""

    sections: Mapping[str, str] = field(default_factory=dict)
    safety_notes: Sequence[str] = ()
    steps: Sequence[StepText] = ()

    @classmethod
    def of(
        cls,
        sections: Mapping[str, str] | None = None,
        safety_notes: Iterable[str] = (),
        steps: Iterable[str | StepText | tuple[str | int | None, str]] = (),
    ) -> RevisionText:
        """From plain values: a step is its text, or a ``(key, text)`` pair; an ``int`` key is a
        position, not an identity, so it is matched by text like a step without a key."""
        parsed = []
        for step in steps:
            if isinstance(step, StepText):
                parsed.append(step)
            elif isinstance(step, str):
                parsed.append(StepText(None, step))
            else:
                key, text = step
                parsed.append(StepText(key if isinstance(key, str) else None, text))
        return cls(dict(sections or {}), tuple(safety_notes), tuple(parsed))


def revision_text(content: Content) -> RevisionText:
    """What the redline compares of a revision's content.

    Purpose, scope, roles and references are sections; hazards and PPE are the safety notes
    (PPE marked as such); a step is compared as its text with its details on lines of their
    own, so a changed key point, acceptance criterion, critical flag or image shows on that
    step rather than passing unseen.
    """
    sections = {
        "Purpose": content.purpose,
        "Scope": content.scope,
        "Roles and responsibilities": "\n".join(
            f"{r.role}: {r.responsibility}" for r in content.roles
        ),
        "References": "\n".join(content.references),
    }
    notes = [*content.hazards, *(f"PPE: {item}" for item in content.ppe)]
    return RevisionText(
        {name: text for name, text in sections.items() if text},
        tuple(notes),
        tuple(StepText(None, step_text(step)) for step in content.steps),
    )


def step_text(step: Step) -> str:
    """A step and its details as one text, each detail on a line of its own."""
    lines = [step.text]
    if step.key_point is not None:
        lines.append(f"Key point: {step.key_point}")
    if step.critical is not None:
        lines.append(f"Critical: {step.critical}")
    lines.extend(f"Accept: {criterion}" for criterion in step.accept)
    lines.extend(f"Image: {image.alt} ({image.src})" for image in step.images)
    return "\n".join(lines)


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class TextDiff:
    """Word-level differences from an old text to a new one as a run of segments: ``equal`` and
    ``delete`` segments spell the old text, ``equal`` and ``insert`` the new."""

    segments: tuple[Segment, ...]

    @property
    def old(self) -> str:
        return "".join(s.text for s in self.segments if s.kind != "insert")

    @property
    def new(self) -> str:
        return "".join(s.text for s in self.segments if s.kind != "delete")

    @property
    def changed(self) -> bool:
        return any(s.kind != "equal" for s in self.segments)

    def old_side(self) -> tuple[Segment, ...]:
        """The left column of a side-by-side view: the old text, deletions marked."""
        return tuple(s for s in self.segments if s.kind != "insert")

    def new_side(self) -> tuple[Segment, ...]:
        """The right column: the new text, insertions marked."""
        return tuple(s for s in self.segments if s.kind != "delete")

    def to_json(self) -> list[dict[str, str]]:
        return [s.to_json() for s in self.segments]


def tokenize(text: str) -> list[str]:
    """Words, whitespace runs and punctuation runs; ``"".join(tokenize(t)) == t``."""
    return _TOKEN.findall(text)


def diff_words(old: str, new: str) -> TextDiff:
    """Word-level differences (difflib over tokens); a replaced run is a delete then an insert,
    and neighbouring segments of one kind are merged."""
    a, b = tokenize(old), tokenize(new)
    segments: list[Segment] = []

    def add(kind: SegmentKind, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].kind == kind:
            segments[-1] = Segment(kind, segments[-1].text + text)
        else:
            segments.append(Segment(kind, text))

    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return TextDiff(_start_changes_at_words(segments))


def _start_changes_at_words(segments: list[Segment]) -> tuple[Segment, ...]:
    """Slide a lone insertion or deletion that starts with the whitespace its next equal run
    also starts with one space to the right: difflib gives "Wear{+ cut-resistant+} gloves",
    readers expect "Wear {+cut-resistant +}gloves". Both spell the same old and new texts."""
    todo = list(segments)
    out: list[Segment] = []
    for i, change in enumerate(todo):
        after = todo[i + 1] if i + 1 < len(todo) else None
        before = out[-1] if out else None
        lead = _LEADING_SPACE.match(change.text)
        if (
            change.kind != "equal"
            and lead is not None
            and lead.end() < len(change.text)
            and after is not None
            and after.kind == "equal"
            and len(after.text) > lead.end()
            and after.text.startswith(lead.group())
            and (before is None or before.kind == "equal")
        ):
            space = lead.group()
            if before is None:
                out.append(Segment("equal", space))
            else:
                out[-1] = Segment("equal", before.text + space)
            out.append(Segment(change.kind, change.text[len(space) :] + space))
            todo[i + 1] = Segment("equal", after.text[len(space) :])
        else:
            out.append(change)
    return tuple(s for s in out if s.text)


def apply_segments(old: str, segments: Iterable[Segment]) -> str:
    """Apply a diff's operations to ``old``: keep equal runs, drop deleted ones, add inserted
    ones. Raises ``ValueError`` when the segments do not fit ``old``."""
    out: list[str] = []
    pos = 0
    for s in segments:
        if s.kind == "insert":
            out.append(s.text)
            continue
        if old[pos : pos + len(s.text)] != s.text:
            raise ValueError(f"segment {s.text!r} does not match the old text at {pos}")
        pos += len(s.text)
        if s.kind == "equal":
            out.append(s.text)
    if pos != len(old):
        raise ValueError("the segments end before the old text does")
    return "".join(out)


def similarity(old: str, new: str, at_least: float = 0.0) -> float:
    """difflib's ratio over word tokens: 1.0 for equal texts, 0.0 for nothing in common. Below
    ``at_least`` it may answer 0.0 early, from difflib's cheap upper bounds."""
    matcher = SequenceMatcher(None, tokenize(old), tokenize(new), autojunk=False)
    if at_least and (matcher.real_quick_ratio() < at_least or matcher.quick_ratio() < at_least):
        return 0.0
    return matcher.ratio()


@dataclass(frozen=True)
class SectionChange:
    name: str
    kind: ItemKind
    text: TextDiff

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "text": self.text.to_json()}


@dataclass(frozen=True)
class NoteChange:
    """A safety note added, removed, changed or kept (order among notes does not count)."""

    kind: ItemKind
    text: TextDiff

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text.to_json()}


@dataclass(frozen=True)
class StepChange:
    """One step across the two revisions. ``old_number``/``new_number`` are 1-based positions
    (None where the step does not exist); ``moved`` says it changed place relative to the steps
    kept; ``kind`` is the most telling of added, removed, moved, changed, unchanged (a moved
    step may also have changed text: see ``text.changed``)."""

    key: str | None
    old_number: int | None
    new_number: int | None
    moved: bool
    text: TextDiff

    @property
    def kind(self) -> ItemKind:
        if self.old_number is None:
            return "added"
        if self.new_number is None:
            return "removed"
        if self.moved:
            return "moved"
        return "changed" if self.text.changed else "unchanged"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "old_number": self.old_number,
            "new_number": self.new_number,
            "moved": self.moved,
            "text_changed": self.text.changed,
            "text": self.text.to_json(),
        }


@dataclass(frozen=True)
class Redline:
    """Everything that differs from one revision to another, item by item, in reading order."""

    sections: tuple[SectionChange, ...]
    safety_notes: tuple[NoteChange, ...]
    steps: tuple[StepChange, ...]

    @property
    def changed(self) -> bool:
        items: list[SectionChange | NoteChange | StepChange] = [
            *self.sections,
            *self.safety_notes,
            *self.steps,
        ]
        return any(item.kind != "unchanged" for item in items)

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "sections": [s.to_json() for s in self.sections],
            "safety_notes": [n.to_json() for n in self.safety_notes],
            "steps": [s.to_json() for s in self.steps],
        }


def _text_kind(diff: TextDiff) -> ItemKind:
    return "changed" if diff.changed else "unchanged"


def diff_sections(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[SectionChange, ...]:
    """Sections by name, in the new revision's order, then the ones it dropped."""
    out = []
    for name, text in new.items():
        if name in old:
            diff = diff_words(old[name], text)
            out.append(SectionChange(name, _text_kind(diff), diff))
        else:
            out.append(SectionChange(name, "added", diff_words("", text)))
    out.extend(
        SectionChange(name, "removed", diff_words(text, ""))
        for name, text in old.items()
        if name not in new
    )
    return tuple(out)


def _match_by_text(
    old: Sequence[str], new: Sequence[str], old_free: list[int], new_free: list[int]
) -> list[tuple[int, int]]:
    """Pairs (old index, new index) among the free items: equal texts first, then the most
    similar pairs at or above ``SIMILAR``, each item used once."""
    pairs: list[tuple[int, int]] = []
    for i in list(old_free):
        j = next((j for j in new_free if new[j] == old[i]), None)
        if j is not None:
            pairs.append((i, j))
            old_free.remove(i)
            new_free.remove(j)
    scores = ((similarity(old[i], new[j], SIMILAR), i, j) for i in old_free for j in new_free)
    scored = sorted((-score, abs(i - j), i, j) for score, i, j in scores if score >= SIMILAR)
    for _, _, i, j in scored:
        if i in old_free and j in new_free:
            pairs.append((i, j))
            old_free.remove(i)
            new_free.remove(j)
    return pairs


def _steps_in_order(pairs: Sequence[tuple[int, int]]) -> set[int]:
    """Positions in ``pairs`` (sorted by old index) of the largest set whose new indices keep
    their order: the steps that stayed while the others moved. Among equally large sets it
    keeps the steps that shifted least, so the step carried furthest is the one called moved."""
    if not pairs:
        return set()
    best: list[tuple[int, int]] = []  # per position: (steps kept, -total shift) ending there
    before = [-1] * len(pairs)
    for i, (old_i, new_i) in enumerate(pairs):
        best.append((1, -abs(old_i - new_i)))
        for j in range(i):
            if pairs[j][1] < new_i:
                candidate = (best[j][0] + 1, best[j][1] - abs(old_i - new_i))
                if candidate > best[i]:
                    best[i], before[i] = candidate, j
    i = max(range(len(pairs)), key=lambda k: best[k])
    kept = set()
    while i != -1:
        kept.add(i)
        i = before[i]
    return kept


def diff_steps(old: Sequence[StepText], new: Sequence[StepText]) -> tuple[StepChange, ...]:
    """Steps matched by key where both have one, else by text; a matched step is moved when it
    is not among the largest set of matched steps that keep their order (so a step inserted
    above others does not make them "moved")."""
    pairs: list[tuple[int, int]] = []
    new_by_key = {s.key: j for j, s in enumerate(new) if s.key is not None}
    old_free, new_free = [], list(range(len(new)))
    for i, step in enumerate(old):
        j = new_by_key.get(step.key) if step.key is not None else None
        if j is not None and j in new_free:
            pairs.append((i, j))
            new_free.remove(j)
        else:
            old_free.append(i)
    # A key both revisions use belongs to its own steps: a step left over with such a key (a
    # duplicate) is not paired by text; a key only one side uses leaves the step to its text.
    old_keys = {s.key for s in old if s.key is not None}
    new_text_free = [j for j in new_free if new[j].key not in old_keys]
    old_text_free = [i for i in old_free if old[i].key not in new_by_key]
    pairs += _match_by_text(
        [s.text for s in old], [s.text for s in new], old_text_free, new_text_free
    )
    pairs.sort()
    in_order = _steps_in_order(pairs)
    matched_new = {j: (i, n in in_order) for n, (i, j) in enumerate(pairs)}
    matched_old = {i for i, _ in pairs}

    out: list[StepChange] = []
    removed = [i for i in range(len(old)) if i not in matched_old]
    # Reading order: the new revision's steps, each removed step placed after the step that
    # preceded it in the old revision.
    pending = sorted(removed)

    def flush_removed(up_to_old: int) -> None:
        while pending and pending[0] < up_to_old:
            i = pending.pop(0)
            out.append(StepChange(old[i].key, i + 1, None, False, diff_words(old[i].text, "")))

    for j, step in enumerate(new):
        if j in matched_new:
            i, kept = matched_new[j]
            if kept:
                flush_removed(i)
            key = step.key if step.key is not None else old[i].key
            out.append(StepChange(key, i + 1, j + 1, not kept, diff_words(old[i].text, step.text)))
        else:
            out.append(StepChange(step.key, None, j + 1, False, diff_words("", step.text)))
    flush_removed(len(old))
    return tuple(out)


def diff_safety_notes(old: Sequence[str], new: Sequence[str]) -> tuple[NoteChange, ...]:
    """Notes matched by equal then similar text, listed in the new order, then the removed."""
    old_free, new_free = list(range(len(old))), list(range(len(new)))
    partner = {j: i for i, j in _match_by_text(old, new, old_free, new_free)}
    out = []
    for j, text in enumerate(new):
        if j in partner:
            diff = diff_words(old[partner[j]], text)
            out.append(NoteChange(_text_kind(diff), diff))
        else:
            out.append(NoteChange("added", diff_words("", text)))
    out.extend(NoteChange("removed", diff_words(old[i], "")) for i in old_free)
    return tuple(out)


def redline(old: RevisionText, new: RevisionText) -> Redline:
    """The differences from ``old`` to ``new``."""
    return Redline(
        diff_sections(old.sections, new.sections),
        diff_safety_notes(old.safety_notes, new.safety_notes),
        diff_steps(old.steps, new.steps),
    )


def mark_words(diff: TextDiff) -> str:
    """One line of text with ``[-deleted-]`` and ``{+inserted+}`` marks (as ``git diff
    --word-diff=plain`` writes them)."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return "".join(marks[s.kind].format(s.text) for s in diff.segments)


_SIGN: Mapping[ItemKind, str] = {
    "added": "+",
    "removed": "-",
    "moved": ">",
    "changed": "~",
    "unchanged": " ",
}


def render_unified(
    result: Redline, from_label: str = "old", to_label: str = "new", *, context: bool = False
) -> str:
    """The redline as text for a terminal. Each changed item is one line: a sign (``+`` added,
    ``-`` removed, ``~`` changed, ``>`` moved), the step's numbers (``3→5``) and its text with
    word marks. Unchanged items appear only with ``context``."""

    def show(kind: ItemKind) -> bool:
        return context or kind != "unchanged"

    lines = [f"--- {from_label}", f"+++ {to_label}"]
    sections = [s for s in result.sections if show(s.kind)]
    if sections:
        lines.append("## Sections")
        lines += [f"{_SIGN[s.kind]} {s.name}: {mark_words(s.text)}" for s in sections]
    notes = [n for n in result.safety_notes if show(n.kind)]
    if notes:
        lines.append("## Safety notes")
        lines += [f"{_SIGN[n.kind]} {mark_words(n.text)}" for n in notes]
    steps = [s for s in result.steps if show(s.kind)]
    if steps:
        lines.append("## Steps")
        for s in steps:
            if s.old_number is None:
                number = str(s.new_number)
            elif s.new_number is None or s.old_number == s.new_number:
                number = str(s.old_number)
            else:
                number = f"{s.old_number}→{s.new_number}"
            lines.append(f"{_SIGN[s.kind]} {number}. {mark_words(s.text)}")
    if len(lines) == 2:
        lines.append("(no differences)")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SideBySideRow:
    """One row of a side-by-side page: the item's label, its kind and the two columns."""

    label: str
    kind: ItemKind
    old: tuple[Segment, ...]
    new: tuple[Segment, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "old": [s.to_json() for s in self.old],
            "new": [s.to_json() for s in self.new],
        }


def side_by_side(result: Redline) -> tuple[SideBySideRow, ...]:
    """Rows for a two-column page: sections, then safety notes, then steps, each with its old
    segments (equal and delete) on the left and new ones (equal and insert) on the right."""
    rows = [
        SideBySideRow(s.name, s.kind, s.text.old_side(), s.text.new_side()) for s in result.sections
    ]
    rows += [
        SideBySideRow("Safety note", n.kind, n.text.old_side(), n.text.new_side())
        for n in result.safety_notes
    ]
    for s in result.steps:
        numbers = [str(n) for n in (s.old_number, s.new_number) if n is not None]
        label = "Step " + "→".join(dict.fromkeys(numbers))
        rows.append(SideBySideRow(label, s.kind, s.text.old_side(), s.text.new_side()))
    return tuple(rows)
