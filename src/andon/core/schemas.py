"""Pydantic bases shared by every domain's request and response models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# Keys are 32-bit on PostgreSQL; anything larger cannot name a row, so it is invalid input.
MAX_ID = 2_147_483_647

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$"
    ),
]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "value_error", "is outside the range of dates this server can hold"
        ) from None


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
"""An instant with its UTC offset, e.g. 2026-11-23T13:00:00Z; handed on in UTC."""


class Input(BaseModel):
    """A request body: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL; refuse it for every store, not only that one.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class VersionedUpdate(Input):
    """An update names the version it was based on; a stale one is refused with 409."""

    version: int = Field(ge=1, description="Version of the record this change is based on.")
    reason: Reason | None = Field(default=None, description="Why; kept in the audit trail.")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")
