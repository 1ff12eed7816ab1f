"""Decisions in and out: what recording, reopening and settling a decision take and return."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from andon.core.schemas import MAX_ID, Input, Output

STATUSES = ("settled", "reopened", "superseded")
LINK_KINDS = ("metric", "document_revision", "process_version", "rca")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=20000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Party = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Parties = Annotated[list[Party], Field(max_length=30)]


class OptionIn(Input):
    """An option that was considered, with what spoke for and against it."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    pros: Short = ""
    cons: Short = ""


class DecisionLinks(Input):
    """What the decision rests on or changed; each must exist. ``document_revisions`` as
    ``NUMBER/REVISION`` (``SOP-ASM-001/3``), ``process_versions`` as ``KEY/VERSION``
    (``assembly/4``), ``metrics`` as keys, ``rcas`` as ids."""

    metrics: Annotated[list[Ref], Field(max_length=20)] = Field(default_factory=list)
    document_revisions: Annotated[list[Ref], Field(max_length=20)] = Field(default_factory=list)
    process_versions: Annotated[list[Ref], Field(max_length=20)] = Field(default_factory=list)
    rcas: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=20)] = Field(
        default_factory=list
    )


class DecisionCreate(DecisionLinks):
    """A settled decision. Decision rights are ``user:NAME`` or ``role:NAME`` (a bare name
    is a role when it is one, else a username); at least one person or role decides."""

    title: Title
    decision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    context: Text = ""
    options: Annotated[list[OptionIn], Field(max_length=20)] = Field(default_factory=list)
    decides: Parties
    consulted: Parties = Field(default_factory=list)
    informed: Parties = Field(default_factory=list)
    decided_on: date
    revisit_on: date | None = None


class DecisionReopen(Input):
    """Reopen a settled decision: a new decision (status ``reopened``) takes its place,
    copying what is not given here; the old one is marked superseded."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    title: Title | None = None
    context: Text | None = None
    version: int | None = Field(default=None, ge=1, description="The old decision's version.")


class DecisionSettle(DecisionLinks):
    """Settle a reopened decision: what was decided now, when, and when to look again.
    Links given replace the ones it has; options and rights given replace theirs."""

    decision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    decided_on: date
    revisit_on: date | None = None
    options: Annotated[list[OptionIn], Field(max_length=20)] | None = None
    decides: Parties | None = None
    consulted: Parties | None = None
    informed: Parties | None = None
    version: int | None = Field(default=None, ge=1)


class OptionOut(Output):
    name: str
    pros: str
    cons: str


class LinkOut(Output):
    kind: str
    ref: str


class DecisionOut(Output):
    id: int
    title: str
    decision: str
    context: str
    options: list[OptionOut]
    decides: list[str]
    consulted: list[str]
    informed: list[str]
    decided_on: date | None
    revisit_on: date | None
    status: str
    supersedes_id: int | None
    superseded_by_id: int | None
    reopen_reason: str | None
    links: list[LinkOut]
    created_by: str
    created_at: datetime
    version: int


class ChainLinkOut(Output):
    id: int
    title: str
    status: str
    decided_on: date | None
    reopen_reason: str | None


class DecisionDetailOut(DecisionOut):
    chain: list[ChainLinkOut] = Field(
        description="Every decision of the chain, oldest first: the ones this reopened, "
        "this one, and the ones that reopened it."
    )
