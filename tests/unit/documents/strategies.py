"""Hypothesis strategies for documents in the canonical Markdown form."""

from __future__ import annotations

from hypothesis import strategies as st

from andon.documents.content import (
    CRITICAL_KINDS,
    DOCUMENT_TYPES,
    Change,
    Content,
    DocumentFile,
    Header,
    Image,
    Role,
    Step,
)

# Words that start with a letter cannot open a Markdown block (list, heading, quote, fence),
# and none holds a character that Markdown would read as emphasis, code or a link.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzÄÖÜäöüßé"
words = st.builds(
    str.__add__,
    st.sampled_from(LETTERS),
    st.text(alphabet=LETTERS + "0123456789.,;%/'()+=-", max_size=11),
)
lines = st.lists(words, min_size=1, max_size=8).map(" ".join)
paragraphs = st.lists(lines, min_size=1, max_size=3).map("\n".join)
prose = st.lists(paragraphs, min_size=1, max_size=3).map("\n\n".join)
numbers = st.from_regex(r"[A-Z]{2,4}-[A-Z]{2,4}-[0-9]{4}", fullmatch=True)
# A role's name ends at the first colon, so it holds none.
role_names = st.lists(
    st.text(alphabet=LETTERS, min_size=1, max_size=12), min_size=1, max_size=3
).map(" ".join)
images = st.builds(
    Image,
    alt=st.lists(words, max_size=4).map(" ".join),
    src=st.from_regex(r"images/[a-z0-9-]{1,12}\.(png|jpg)", fullmatch=True),
)
steps = st.builds(
    Step,
    text=lines,
    key_point=st.none() | lines,
    critical=st.none() | st.sampled_from(CRITICAL_KINDS),
    accept=st.lists(lines, max_size=3).map(tuple),
    images=st.lists(images, max_size=2).map(tuple),
)
contents = st.builds(
    Content,
    steps=st.lists(steps, min_size=1, max_size=12).map(tuple),
    purpose=st.just("") | prose,
    scope=st.just("") | prose,
    roles=st.lists(st.builds(Role, role=role_names, responsibility=lines), max_size=3).map(tuple),
    hazards=st.lists(lines, max_size=3).map(tuple),
    ppe=st.lists(lines, max_size=3).map(tuple),
    references=st.lists(numbers, max_size=3).map(tuple),
)
# Front-matter text is anything YAML can carry on one line, trimmed (parsing trims it).
yaml_text = (
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
headers = st.builds(
    Header,
    type=st.sampled_from(DOCUMENT_TYPES),
    title=yaml_text,
    owner=st.from_regex(r"[a-z][a-z0-9._-]{0,15}", fullmatch=True),
    number=st.none() | numbers,
    area=st.none() | st.from_regex(r"[A-Z0-9]{2,5}", fullmatch=True),
    review_interval_months=st.none() | st.integers(1, 120),
)
changes = st.builds(
    Change,
    reason=st.none() | yaml_text,
    safety_impact=st.none() | st.just(False),
    training=st.none() | st.booleans(),
    risk=st.none() | yaml_text,
) | st.builds(
    Change, reason=yaml_text, safety_impact=st.just(True), training=st.booleans(), risk=yaml_text
)
documents = st.builds(DocumentFile, header=headers, content=contents, change=changes)
