"""The unsigned part of a change record: impact beyond safety, where it applies, how it is rolled
out, what must be done before the change closes, and the comprehension questions.

Stored as JSON on the revision (``DocumentRevision.plan``); checked here before it is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from andon.core.errors import FieldError, InvalidInput

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RolloutStep(BaseModel):
    """One line's turn in the rollout sequence."""

    model_config = ConfigDict(extra="forbid")
    line_id: int = Field(ge=1)
    on: date


class DoneItem(BaseModel):
    """An item of the definition of done: the change closes when every item is done."""

    model_config = ConfigDict(extra="forbid")
    text: Short
    owner: Short = Field(description="Username of the person who does it.")
    done_at: datetime | None = None
    done_by: str | None = None


class Question(BaseModel):
    """A comprehension question: ``answer`` is the index of the right option."""

    model_config = ConfigDict(extra="forbid")
    question: Short
    options: list[Short] = Field(min_length=2, max_length=6)
    answer: int = Field(ge=0)

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> Question:
        if self.answer >= len(self.options):
            raise ValueError(f"answer {self.answer} is not one of the {len(self.options)} options")
        return self


class ChangePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quality_impact: bool | None = Field(
        default=None,
        description="Whether the change affects product quality (unset: not assessed).",
    )
    processes: list[Short] = Field(default_factory=list, description="Affected process keys.")
    lines: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="Affected line ids; training goes to their people."
    )
    communication: Text = ""
    rollout: list[RolloutStep] = Field(default_factory=list)
    done: list[DoneItem] = Field(default_factory=list, max_length=50)
    questions: list[Question] = Field(default_factory=list, max_length=20)
    pass_mark: int = Field(default=100, ge=1, le=100)


def checked_plan(data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` validated as a ChangePlan and returned as stored (JSON values); InvalidInput
    names each field at fault under ``plan``."""
    extra = {k: v for k, v in (data or {}).items() if k == "front_matter"}
    body = {k: v for k, v in (data or {}).items() if k != "front_matter"}
    try:
        plan = ChangePlan.model_validate(body)
    except ValidationError as exc:
        errors = [
            FieldError(("plan", *(p for p in e["loc"] if isinstance(p, str | int))), e["msg"])
            for e in exc.errors()
        ]
        raise InvalidInput(
            "plan: " + "; ".join(".".join(map(str, e.loc[1:])) + ": " + e.msg for e in errors),
            errors,
        ) from None
    return {**plan.model_dump(mode="json", exclude_defaults=True), **extra}
