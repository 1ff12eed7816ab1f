"""Any text either reads as a document that export and re-import keep, or is refused cleanly."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from andon.core.errors import InvalidInput
from andon.documents.markdown_io import parse_markdown, render_markdown

VALID_FRONT = "type: SOP\ntitle: Packing of PH-200\nowner: lkim"
FRONT = st.lists(
    st.sampled_from(
        [
            "number: WI-PAC-0003",
            "area: PAC",
            "review_interval_months: 6",
            "safety_impact: false",
            "training: true",
            "risk: Dropped crate",
            "reason: New carton",
        ]
    ),
    unique=True,
    max_size=5,
).map("\n".join) | st.lists(
    st.sampled_from(
        [
            "title: 'yes'",
            "number: WI-PAC-0003",
            "area: PAC",
            "review_interval_months: 6",
            "safety_impact: true",
            "safety_impact: false",
            "training: true",
            "risk: Dropped crate",
            "reason: New carton",
            "reason: |\n  Two lines\n  of reason",
            "color: red",
            "title: [a",
            "  - nested",
        ]
    ),
    max_size=10,
).map("\n".join)
# What each section may hold, and some of what it may not (mixed in now and then).
SECTION_LINES = {
    "## Purpose": [
        "Some prose  ",
        "*Emphasis* and [a link](https://example.com)",
        "continued on the next line",
        "",
        "",
        "### Sub",
        "> quote",
        "<div>raw</div>",
        "```\ncode\n\n\nmore\n```",
        "- a list in prose",
    ],
    "## Scope": ["All PH-200 crates.", "", "", "Setext\n===", "---"],
    "## Roles and responsibilities": ["- Operator: packs", "* Lead: checks\n  what was packed"],
    "## hazards": ["- Crates", "* Gloves", "", "- Wet floor\n\n- Noise"],
    "## References": ["- SOP-QA-0001", "+ WI-PAC-0002", ""],
}
STEP_LINES = [
    "1. Fit the cover.",
    "2. Fit the *seal*.",
    "3) A new list: not allowed in Steps",
    "   - Key point: Dry.",
    "   - critical: Safety",
    "   - Accept: 48 Nm.",
    "   - ![Seal](images/seal.png)",
    "     continued",
    "",
]
WRONG_LINES = [
    "# Title",
    "Steps\n-----",
    "- Bad role",
    "- ",
    "Careful.",
    "   - Critical: cost",
    "   - ![Bad](javascript:x)",
    "- bullet step",
    "\t- tabbed",
    "- not a number",
    "## Tools\n\n- Knife",
]


def section(heading: str, lines: list[str]) -> st.SearchStrategy[str]:
    right = st.lists(st.sampled_from(lines), max_size=6)
    wrong = st.lists(st.sampled_from(WRONG_LINES), max_size=1)
    return st.tuples(right, st.just([]) | wrong, st.integers(0, 6)).map(
        lambda parts: (
            heading + "\n\n" + "\n".join(parts[0][: parts[2]] + parts[1] + parts[0][parts[2] :])
        )
    )


OTHER_SECTIONS = st.lists(st.sampled_from(list(SECTION_LINES)), unique=True, max_size=5).flatmap(
    lambda headings: st.tuples(*(section(h, SECTION_LINES[h]) for h in headings))
)
STEPS = section("## Steps", STEP_LINES).map(
    lambda steps: steps.replace("\n\n", "\n\n1. First step.\n", 1) + "\n1. Last step."
)
BODY = st.tuples(OTHER_SECTIONS, STEPS, st.integers(0, 5)).map(
    lambda parts: "\n\n".join([*parts[0][: parts[2]], parts[1], *parts[0][parts[2] :]])
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FRONT, BODY, st.booleans())
def test_any_text_is_read_and_kept_or_refused_with_invalid_input(
    front: str, body: str, crlf: bool
) -> None:
    text = f"---\n{VALID_FRONT}\n{front}\n---\n\n{body}\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    try:
        doc = parse_markdown(text)
    except InvalidInput as error:
        refusal = error
    else:
        exported = render_markdown(doc)
        assert parse_markdown(exported) == doc
        assert render_markdown(parse_markdown(exported)) == exported
        event("read")
        return

    event("refused")
    assert refusal.errors
    assert [e for e in refusal.errors if not e.msg.startswith("line ")] == []
