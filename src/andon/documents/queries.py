"""Reading documents: one revision with its signatures, lists with filters, the redline, the
Markdown export. Everything here only reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.errors import InvalidInput
from andon.core.pagination import MAX_LIMIT
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.documents import lifecycle
from andon.documents.content import DOCUMENT_TYPES, DocumentFile
from andon.documents.lifecycle import Status
from andon.documents.markdown_io import render_markdown
from andon.documents.models import Document, DocumentRevision, DocumentSignature
from andon.documents.redline import Redline, redline, revision_text
from andon.documents.risk_link import LinkedRisk, gate_of, linked_risk
from andon.documents.rules import DEFAULT_RULES, DocumentRules
from andon.documents.store import (
    document_file,
    kept_in_plan,
    load_document,
    load_revisions,
    load_signatures,
    pick_revision,
    revision_value,
    signature_json,
)


@dataclass(frozen=True)
class RevisionView:
    """One revision as pages, API and CLI show it, with its document and signatures."""

    document: Document
    revision: DocumentRevision
    revisions: list[DocumentRevision]
    signatures: list[DocumentSignature]
    owner: User
    author: User
    file: DocumentFile
    current: frozenset[int] = field(default_factory=frozenset)
    """Ids of the signatures that still hold (signed this content, in this review round)."""
    missing: dict[str, int] = field(default_factory=dict)
    """Role → approvals still needed, while the revision is in review."""
    risk: LinkedRisk | None = None
    """The risk register entry the change links."""
    waiting_for: tuple[str, ...] = ()
    """A change in flight with safety impact: its risk's unfinished mitigations, which hold
    it from taking effect."""

    def to_json(self) -> dict[str, Any]:
        d, r = self.document, self.revision
        return {
            "number": d.number,
            "type": d.type,
            "title": r.title,
            "owner": self.owner.username,
            "area": d.area_code,
            "site_id": d.site_id,
            "line_id": d.line_id,
            "review_interval_months": d.review_interval_months,
            "next_review_on": d.next_review_on.isoformat() if d.next_review_on else None,
            "revision": r.number,
            "status": r.status,
            "author": self.author.username,
            "effective_on": r.effective_on.isoformat() if r.effective_on else None,
            "effective_at": r.effective_at.isoformat() if r.effective_at else None,
            "ended_at": r.ended_at.isoformat() if r.ended_at else None,
            "content_sha256": r.content_sha256,
            "change": dict(r.change),
            "risk": (
                {
                    "id": self.risk.id,
                    "reference": self.risk.reference,
                    "title": self.risk.title,
                    "status": self.risk.status,
                }
                if self.risk
                else None
            ),
            "waiting_for": list(self.waiting_for),
            "plan": {k: v for k, v in r.plan.items() if k not in kept_in_plan(r.plan)},
            "review_round": r.review_round,
            "missing_approvals": self.missing,
            "signatures": [
                {**signature_json(s), "valid": s.id in self.current} for s in self.signatures
            ],
            "revisions": [
                {"revision": x.number, "status": x.status, "title": x.title} for x in self.revisions
            ],
            "content": r.content,
            "version": r.version,
        }


def show(
    ctx: Context, number: str, revision: int | None = None, *, rules: DocumentRules | None = None
) -> RevisionView:
    """A revision of a document (the effective one, else the newest, unless ``revision``)."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    with ctx.read() as session:
        return _view(session, number, revision, rules)


def _view(
    session: Session, number: str, revision: int | None, rules: DocumentRules | None
) -> RevisionView:
    rules = rules or DEFAULT_RULES
    document = load_document(session, number)
    revisions = load_revisions(session, document)
    row = pick_revision(revisions, revision)
    signatures = load_signatures(session, [row.id])[row.id]
    value = revision_value(row, signatures)
    owner = session.get(User, document.owner_id)
    author = session.get(User, row.author_id)
    assert owner is not None
    assert author is not None
    current = {
        s.id
        for s, v in zip(signatures, value.signatures, strict=True)
        if lifecycle.is_current(v, value)
    }
    missing: dict[str, int] = {}
    if row.status in (Status.IN_REVIEW, Status.DRAFT):
        missing = {
            role.value: n
            for role, n in lifecycle.missing_approvals(value, document.type, rules.policy).items()
        }
    return RevisionView(
        document,
        row,
        revisions,
        signatures,
        owner,
        author,
        document_file(session, document, row),
        frozenset(current),
        missing,
        linked_risk(session, row),
        tuple(gate_of(session, row)) if row.status in lifecycle.OPEN_STATUSES else (),
    )


def export_markdown(ctx: Context, number: str, revision: int | None = None) -> str:
    """The revision as the Markdown file it was written as (byte for byte when it came from
    a file in the canonical layout)."""
    return render_markdown(show(ctx, number, revision).file)


@dataclass(frozen=True)
class DocumentFilter:
    type: str | None = None
    status: str | None = None
    area: str | None = None
    line_id: int | None = None
    owner: str | None = None
    review_due_by: date | None = None

    def check(self, types: tuple[str, ...] = DOCUMENT_TYPES) -> None:
        if self.type is not None and self.type not in types:
            raise InvalidInput.for_field("type", f"one of {', '.join(types)}")
        if self.status is not None and self.status not in {s.value for s in Status}:
            raise InvalidInput.for_field("status", f"one of {', '.join(s.value for s in Status)}")


@dataclass(frozen=True)
class DocumentRow:
    number: str
    type: str
    title: str
    status: str
    owner: str
    area: str | None
    effective_revision: int | None
    latest_revision: int
    latest_status: str
    next_review_on: date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "owner": self.owner,
            "area": self.area,
            "effective_revision": self.effective_revision,
            "latest_revision": self.latest_revision,
            "latest_status": self.latest_status,
            "next_review_on": self.next_review_on.isoformat() if self.next_review_on else None,
        }


def list_documents(
    ctx: Context,
    filters: DocumentFilter | None = None,
    limit: int = MAX_LIMIT,
    *,
    rules: DocumentRules = DEFAULT_RULES,
) -> list[DocumentRow]:
    """Documents by number, with their effective and newest revisions."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    filters = filters or DocumentFilter()
    filters.check(rules.types)
    latest = (
        select(
            DocumentRevision.document_id,
            func.max(DocumentRevision.number).label("latest"),
        )
        .group_by(DocumentRevision.document_id)
        .subquery()
    )
    query = (
        select(Document, User.username, DocumentRevision.number, DocumentRevision.status)
        .join(User, User.id == Document.owner_id)
        .join(latest, latest.c.document_id == Document.id)
        .join(
            DocumentRevision,
            (DocumentRevision.document_id == Document.id)
            & (DocumentRevision.number == latest.c.latest),
        )
        .order_by(Document.number)
        .limit(limit)
    )
    if filters.type:
        query = query.where(Document.type == filters.type)
    if filters.status:
        query = query.where(
            (Document.status == filters.status) | (DocumentRevision.status == filters.status)
        )
    if filters.area:
        query = query.where(Document.area_code == filters.area)
    if filters.line_id is not None:
        query = query.where(Document.line_id == filters.line_id)
    if filters.owner:
        query = query.where(User.username == filters.owner)
    if filters.review_due_by is not None:
        query = query.where(Document.next_review_on <= filters.review_due_by)
    with ctx.read() as session:
        return [
            DocumentRow(
                d.number,
                d.type,
                d.title,
                d.status,
                owner,
                d.area_code,
                d.effective_revision,
                number,
                status,
                d.next_review_on,
            )
            for d, owner, number, status in session.execute(query)
        ]


def diff(ctx: Context, number: str, old: int, new: int) -> Redline:
    """The redline from revision ``old`` to revision ``new`` of a document."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    with ctx.read() as session:
        document = load_document(session, number)
        revisions = load_revisions(session, document)
        a = _pick(revisions, old, "from")
        b = _pick(revisions, new, "to")
    from andon.documents.content import content_from_dict

    return redline(
        revision_text(content_from_dict(a.content)), revision_text(content_from_dict(b.content))
    )


def _pick(revisions: list[DocumentRevision], number: int, field_name: str) -> DocumentRevision:
    for row in revisions:
        if row.number == number:
            return row
    have = ", ".join(str(r.number) for r in revisions)
    raise InvalidInput.for_field(field_name, f"no revision {number}; revisions: {have}")
