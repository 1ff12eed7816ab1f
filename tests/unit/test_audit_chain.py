from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from andon.core.audit import (
    GENESIS_HASH,
    AuditEntry,
    canonical_body,
    canonical_json,
    chain_hash,
    csv_rows,
    csv_safe,
    diff,
    with_seq,
)


def entry(seq: int = 1, reason: str | None = None) -> AuditEntry:
    e = AuditEntry(
        seq=seq,
        occurred_at=datetime(2026, 3, 8, 8, 0, tzinfo=UTC),
        actor_id=1,
        actor_name="alice",
        entity_type="site",
        entity_id="1",
        action="update",
        changes={"before": {"name": "A"}, "after": {"name": "B"}},
        reason=reason,
        request_id="r1",
        prev_hash=GENESIS_HASH,
    )
    e.hash = chain_hash(GENESIS_HASH, e.canonical())
    return e


def test_canonical_json_is_independent_of_key_order() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})


def test_any_field_edit_changes_the_hash() -> None:
    original = entry()
    edited = entry(reason="cover-up")
    assert chain_hash(GENESIS_HASH, edited.canonical()) != original.hash


def test_hash_depends_on_the_previous_link() -> None:
    e = entry()
    assert chain_hash("f" * 64, e.canonical()) != chain_hash(GENESIS_HASH, e.canonical())


def test_diff_keeps_only_changed_fields() -> None:
    changes = diff({"name": "A", "code": "X"}, {"name": "B", "code": "X"})
    assert changes == {"before": {"name": "A"}, "after": {"name": "B"}}


def test_diff_of_create_keeps_whole_snapshot() -> None:
    assert diff(None, {"name": "A"}) == {"before": None, "after": {"name": "A"}}


@given(st.sampled_from("=+-@\t\r"), st.text(max_size=20))
def test_csv_cells_that_look_like_formulas_are_neutralised(first: str, rest: str) -> None:
    assert csv_safe(first + rest).startswith("'")


@given(st.text(max_size=20).filter(lambda s: not s.startswith(("=", "+", "-", "@", "\t", "\r"))))
def test_csv_cells_that_are_plain_text_are_kept(value: str) -> None:
    assert csv_safe(value) == value


def test_csv_export_neutralises_a_hostile_reason() -> None:
    text = "".join(csv_rows([entry(reason='=HYPERLINK("http://x","y")')]))
    assert "'=HYPERLINK" in text
    assert text.splitlines()[0].startswith("seq,occurred_at")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@given(
    seq=st.integers(min_value=1, max_value=2**31 - 1),
    reason=st.none() | st.text(max_size=30),
    changes=st.dictionaries(st.text(max_size=10), _json_values, max_size=4),
)
def test_the_body_the_database_completes_gives_the_entrys_canonical_text(
    seq: int, reason: str | None, changes: dict[str, object]
) -> None:
    # PostgreSQL hashes the body with ',"seq":<n>' put before its last brace; verification
    # recomputes canonical() from the stored fields. The two must never differ.
    fields = {
        "occurred_at": datetime(2026, 3, 8, 8, 0, 0, 123456, tzinfo=UTC),
        "actor_id": None,
        "actor_name": "älice",
        "entity_type": "work_item",
        "entity_id": "7",
        "action": "move",
        "changes": changes,
        "reason": reason,
        "request_id": "r1",
    }
    stored = AuditEntry(seq=seq, prev_hash=GENESIS_HASH, **fields)
    assert with_seq(canonical_body(fields), seq) == stored.canonical()
