"""Blameless wording prompts: phrases in a postmortem's narrative that point at a person
rather than at the system, each with a system-focused way to say it. Pure, no I/O.

Prompts, not a gate: the page and the API show them; nothing is refused because of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# (pattern, why it blames, what to write instead). Whole words, case-insensitive.
PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"operator error",
        "Say what in the set-up let the error happen: which step, check or signal was "
        "missing or unclear.",
    ),
    (
        r"human error",
        "Name the condition that made the mistake likely (workload, layout, similar parts, "
        "unclear instruction) instead.",
    ),
    (
        r"should(?:n't| not)? have",
        "Describe what the process expected and why it did not happen: what information did "
        "the person have at that moment?",
    ),
    (
        r"careless(?:ly|ness)?",
        "Describe the conditions (time pressure, interruptions, fatigue) rather than a trait.",
    ),
    (
        r"fail(?:ed|s)? to",
        'Say what the process did not make easy or visible: "the checklist did not prompt '
        'for X" rather than "X failed to check".',
    ),
    (
        r"(?:at )?fault of|(?:was|were|is) (?:at )?fault|(?:his|her|their) fault",
        "Faults belong to designs and processes; describe the gap in the standard.",
    ),
    (
        r"neglig(?:ent|ence)",
        "Describe which safeguard was absent or easy to bypass.",
    ),
    (
        r"(?:did not|didn't) follow (?:the )?(?:procedure|sop|instructions?)",
        "Ask why the procedure was not followed as written: was it available, current, "
        "workable at that station?",
    ),
    (
        r"blame[ds]?|to blame",
        "A postmortem looks for causes in the system, not for someone to blame.",
    ),
    (
        r"lack of attention|not paying attention|inattentive",
        "Describe what competed for attention and what signal could have helped.",
    ),
)
_COMPILED = tuple(
    (re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE), advice)
    for pattern, advice in PHRASES
)
NAME_ADVICE = (
    'Name the role or the station instead of the person ("the operator at station 3"): '
    "a postmortem describes the system anyone could have been in."
)


@dataclass(frozen=True)
class Prompt:
    """A phrase found in ``field`` at ``start`` (a character offset) and what to consider."""

    field: str
    phrase: str
    start: int
    suggestion: str

    def to_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "phrase": self.phrase,
            "start": self.start,
            "suggestion": self.suggestion,
        }


def blameless_prompts(texts: Mapping[str, str], names: Iterable[str] = ()) -> list[Prompt]:
    """The blaming phrases in each text of ``texts`` (field name → text), in field order
    then by position: the phrases above, and any of ``names`` (people's usernames and
    display names; names shorter than 3 characters are ignored, so "Al" does not flag
    "also"). Matching is whole-word and case-insensitive; each place is flagged once."""
    people = sorted({n.strip() for n in names if len(n.strip()) >= 3}, key=len, reverse=True)
    people_pattern = (
        re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(n) for n in people) + r")(?!\w)", re.IGNORECASE
        )
        if people
        else None
    )
    found: list[Prompt] = []
    for field, text in texts.items():
        if not text:
            continue
        here: dict[int, Prompt] = {}
        for pattern, advice in _COMPILED:
            for match in pattern.finditer(text):
                here.setdefault(match.start(), Prompt(field, match.group(0), match.start(), advice))
        if people_pattern is not None:
            for match in people_pattern.finditer(text):
                here.setdefault(
                    match.start(), Prompt(field, match.group(0), match.start(), NAME_ADVICE)
                )
        found += [here[start] for start in sorted(here)]
    return found
