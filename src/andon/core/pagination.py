"""Opaque cursors for keyset pagination over ascending integer keys."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

from andon.core.errors import FieldError, InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500


def encode_cursor(last_key: int) -> str:
    return base64.urlsafe_b64encode(f"k:{last_key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The key after which the next page starts; a tampered cursor is an input error."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, key = raw.split(":", 1)
        if prefix != "k":
            raise ValueError(prefix)
        return int(key)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "cursor: not a cursor this server issued",
            [FieldError(("cursor",), "not a cursor this server issued")],
        ) from None


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
