"""Request and response bodies of the documents API (Pydantic), and their mapping to the
content values the services take."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from andon.core.permissions import Role
from andon.core.schemas import MAX_ID, Input, Output
from andon.documents.content import (
    Change,
    Content,
    DocumentFile,
    Header,
    Image,
    Step,
    risk_reference,
)
from andon.documents.content import Role as DocumentRole
from andon.documents.plan import ChangePlan
from andon.documents.store import HEADER_FIELDS

Line = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Prose = Annotated[str, StringConstraints(max_length=20000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Number = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
]
# The password as typed: never stripped or trimmed, whatever the other fields get.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=256)]
Status = Literal["draft", "in_review", "approved", "effective", "superseded", "obsolete"]


class ImageIn(Input):
    alt: Annotated[str, StringConstraints(max_length=500)] = ""
    src: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="A relative path or an http(s) address."
    )


class StepIn(Input):
    text: Line = Field(description="Inline Markdown, one line.")
    key_point: Line | None = None
    critical: Literal["quality", "safety"] | None = Field(
        default=None, description="Critical to quality or to safety."
    )
    accept: list[Line] = Field(default_factory=list, max_length=50, description="Acceptance.")
    images: list[ImageIn] = Field(default_factory=list, max_length=20)


class RoleIn(Input):
    role: Line
    responsibility: Line


class ContentIn(Input):
    """What a revision says: prose sections, safety notes, numbered steps, references."""

    purpose: Prose = ""
    scope: Prose = ""
    roles: list[RoleIn] = Field(default_factory=list, max_length=50)
    hazards: list[Line] = Field(default_factory=list, max_length=100)
    ppe: list[Line] = Field(default_factory=list, max_length=100)
    steps: list[StepIn] = Field(min_length=1, max_length=500)
    references: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=100, description="Other documents' numbers."
    )

    def to_content(self) -> Content:
        return Content(
            steps=tuple(
                Step(
                    text=s.text,
                    key_point=s.key_point,
                    critical=s.critical,
                    accept=tuple(s.accept),
                    images=tuple(Image(i.alt, i.src) for i in s.images),
                )
                for s in self.steps
            ),
            purpose=self.purpose,
            scope=self.scope,
            roles=tuple(DocumentRole(r.role, r.responsibility) for r in self.roles),
            hazards=tuple(self.hazards),
            ppe=tuple(self.ppe),
            references=tuple(self.references),
        )


class ChangeIn(Input):
    """The change record (signed with the content). A first revision may leave it empty."""

    reason: Text | None = None
    safety_impact: bool | None = None
    training: bool | None = Field(default=None, description="Readers must acknowledge it.")
    risk_id: int | None = Field(
        default=None,
        ge=1,
        description="The risk register entry the change addresses; required when "
        "safety_impact is true. The record signs its reference (RSK-12).",
    )

    def to_change(self) -> Change:
        risk = risk_reference(self.risk_id) if self.risk_id is not None else None
        return Change(self.reason, self.safety_impact, self.training, risk)


class PlanIn(ChangePlan):
    """The change plan (not signed): impact beyond safety, affected processes and lines, how it
    is rolled out, its definition of done, and questions for the readers."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)


PlaceCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")]


class DocumentIn(Input):
    """A document as structured data: the header, the content, the change record, the plan.

    ``number``, ``area`` and ``review_interval_months`` are optional (a number is given when
    left out); naming an existing number writes that document's next draft."""

    number: Number | None = None
    type: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,19}$"),
        Field(description="SOP, WI, checklist, form, policy, or a type the plant added."),
    ]
    title: Text
    owner: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    area: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | (
        None
    ) = None
    site: PlaceCode | None = Field(default=None, description="Site code: applies there only.")
    line: PlaceCode | None = Field(default=None, description="Line code within `area`.")
    review_interval_months: int | None = Field(default=None, ge=1, le=120)
    content: ContentIn
    change: ChangeIn = Field(default_factory=ChangeIn)
    plan: PlanIn | None = None

    def to_file(self) -> DocumentFile:
        header = Header(
            type=self.type,
            title=self.title,
            owner=self.owner,
            number=self.number,
            area=self.area,
            review_interval_months=self.review_interval_months,
            site=self.site,
            line=self.line,
        )
        return DocumentFile(header, self.content.to_content(), self.change.to_change())

    def stated(self) -> list[str]:
        """The optional header fields given, as an imported file's front matter states them."""
        return [f for f in HEADER_FIELDS if getattr(self, f) is not None]


class DraftIn(DocumentIn):
    version: int = Field(
        ge=1, le=MAX_ID, description="The draft's version you started from (409 if changed)."
    )


class MarkdownIn(Input):
    markdown: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)]


class SubmitIn(Input):
    effective_on: date | None = Field(default=None, description="Default: on final approval.")
    password: Password | None = Field(
        default=None, description="With it, the author also signs the revision as authored."
    )


class ApproveIn(Input):
    password: Password
    role: Role | None = Field(
        default=None, description="The role you sign for; default: one you hold still missing."
    )
    effective_on: date | None = None


class RejectIn(Input):
    password: Password
    comment: Text
    role: Role | None = None


class AcknowledgeIn(Input):
    password: Password
    answers: list[Annotated[int, Field(ge=0, le=9)]] | None = Field(
        default=None, max_length=20, description="One option index per question, in order."
    )


class ReviewIn(Input):
    password: Password
    outcome: Literal["confirm", "change"]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class ReviseIn(Input):
    reason: Text
    safety_impact: bool | None = None
    training: bool | None = None
    risk_id: int | None = Field(
        default=None, ge=1, description="The risk register entry; required with safety impact."
    )
    plan: PlanIn | None = None


class ObsoleteIn(Input):
    reason: Text


class OutcomeOut(Output):
    number: str
    revision: int
    status: Status
    effective_on: date | None = None
    waiting: str | None = Field(
        default=None,
        description="Why an approved revision due today did not take effect: the unfinished "
        "mitigations of its risk (a change with safety impact).",
    )


class DocumentRowOut(Output):
    number: str
    type: str
    title: str
    status: Status
    owner: str
    area: str | None
    effective_revision: int | None
    latest_revision: int
    latest_status: Status
    next_review_on: date | None


class SignatureOut(Output):
    username: str
    name: str
    meaning: Literal["authored", "reviewed", "approved", "acknowledged"]
    role: str | None
    signed_at: datetime
    content_sha256: str
    comment: str | None
    valid: bool = Field(description="Signed this content in the current review round.")


class RevisionRef(Output):
    revision: int
    status: Status
    title: str


class LinkedRiskOut(Output):
    id: int
    reference: str
    title: str
    status: str


class RevisionOut(Output):
    """One revision with its document, change record, plan and signatures."""

    number: str
    type: str
    title: str
    owner: str
    area: str | None
    site_id: int | None
    line_id: int | None
    review_interval_months: int
    next_review_on: date | None
    revision: int
    status: Status
    author: str
    effective_on: date | None
    effective_at: datetime | None
    ended_at: datetime | None
    content_sha256: str
    change: dict[str, Any]
    plan: dict[str, Any]
    review_round: int
    missing_approvals: dict[str, int] = Field(description="Role → approvals still needed.")
    risk: LinkedRiskOut | None = Field(
        default=None, description="The risk register entry the change links."
    )
    waiting_for: list[str] = Field(
        default_factory=list,
        description="A change with safety impact in flight: its risk's unfinished "
        "mitigations, which hold it from taking effect.",
    )
    signatures: list[SignatureOut]
    revisions: list[RevisionRef]
    content: dict[str, Any]
    version: int = Field(description="Send it back with an edit of the draft.")


class SearchHitOut(Output):
    number: str
    title: str
    type: str
    area: str | None
    revision: int
    snippet: str = Field(description="Text around the matches; matched words in [brackets].")
    rank: float


class SegmentOut(Output):
    kind: Literal["equal", "insert", "delete"]
    text: str


class SectionChangeOut(Output):
    name: str
    kind: str
    text: list[SegmentOut]


class NoteChangeOut(Output):
    kind: str
    text: list[SegmentOut]


class StepChangeOut(Output):
    key: str | None
    kind: Literal["added", "removed", "moved", "changed", "unchanged"]
    old_number: int | None
    new_number: int | None
    moved: bool
    text_changed: bool
    text: list[SegmentOut]


class RedlineOut(Output):
    changed: bool
    sections: list[SectionChangeOut]
    safety_notes: list[NoteChangeOut]
    steps: list[StepChangeOut]


class AttachmentOut(Output):
    id: int
    document_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str
