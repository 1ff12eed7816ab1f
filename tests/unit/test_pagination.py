import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import InvalidInput
from andon.core.pagination import decode_cursor, encode_cursor


@given(st.integers(min_value=0, max_value=2**62))
def test_cursor_round_trips(key: int) -> None:
    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize("cursor", ["!!", "bm9wZQ", "eDox"])
def test_foreign_cursor_is_an_input_error(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.errors[0].loc == ("cursor",)
