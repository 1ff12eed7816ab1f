"""Rows ↔ values: a revision row and its signatures as the lifecycle rules see them, and back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.errors import NotFound
from andon.core.permissions import Role
from andon.documents import lifecycle
from andon.documents.content import Change, DocumentFile, Header, content_from_dict
from andon.documents.lifecycle import Meaning, Signature, Status
from andon.documents.models import Document, DocumentRevision, DocumentSignature
from andon.plant.models import Line, Site

EDITORS = "editors"
"""Key in ``DocumentRevision.plan``: ids of the people besides the author who edited the draft."""
HEADER_FIELDS = ("number", "site", "area", "line", "review_interval_months")


def kept_in_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The bookkeeping Andon keeps in a revision's plan (front matter stated, editors), which a
    new plan from the author replaces nothing of."""
    return {k: plan[k] for k in ("front_matter", EDITORS) if k in plan}


"""Optional front-matter fields; a revision remembers which its file stated, so the file it
exports is the file it was given."""


def load_document(session: Session, number: str, *, lock: bool = False) -> Document:
    """The document numbered ``number``; with ``lock``, its row is locked on PostgreSQL until
    the unit of work ends (SQLite's writers are serialised already)."""
    query = select(Document).where(Document.number == number)
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    document = session.scalar(query)
    if document is None:
        raise NotFound(f"no document numbered {number}")
    return document


def load_revisions(session: Session, document: Document) -> list[DocumentRevision]:
    return list(
        session.scalars(
            select(DocumentRevision)
            .where(DocumentRevision.document_id == document.id)
            .order_by(DocumentRevision.number)
        )
    )


def load_signatures(
    session: Session, revision_ids: Iterable[int]
) -> dict[int, list[DocumentSignature]]:
    ids = list(revision_ids)
    out: dict[int, list[DocumentSignature]] = defaultdict(list)
    if not ids:
        return out
    rows = session.scalars(
        select(DocumentSignature)
        .where(DocumentSignature.revision_id.in_(ids))
        .order_by(DocumentSignature.id)
    )
    for row in rows:
        out[row.revision_id].append(row)
    return out


def pick_revision(revisions: Sequence[DocumentRevision], number: int | None) -> DocumentRevision:
    """Revision ``number``, or the one that speaks for the document: the effective one, else
    the newest."""
    if number is not None:
        for row in revisions:
            if row.number == number:
                return row
        raise NotFound(f"no revision {number}")
    effective = [r for r in revisions if r.status == Status.EFFECTIVE]
    if effective:
        return effective[0]
    if not revisions:
        raise NotFound("the document has no revisions")
    return revisions[-1]


def change_of(row: DocumentRevision) -> Change:
    return Change(**{k: row.change.get(k) for k in ("reason", "safety_impact", "training", "risk")})


def signature_value(row: DocumentSignature) -> Signature:
    return Signature(
        user_id=row.user_id,
        username=row.username,
        name=row.name,
        meaning=Meaning(row.meaning),
        signed_at=row.signed_at,
        content_sha256=row.content_sha256,
        role=Role(row.role) if row.role else None,
        review_round=row.review_round,
        comment=row.comment,
    )


def revision_value(
    row: DocumentRevision, signatures: Sequence[DocumentSignature] = ()
) -> lifecycle.Revision:
    return lifecycle.Revision(
        number=row.number,
        status=Status(row.status),
        author_id=row.author_id,
        content_sha256=row.content_sha256,
        change=change_of(row),
        effective_on=row.effective_on,
        review_round=row.review_round,
        signatures=tuple(signature_value(s) for s in signatures),
        editor_ids=frozenset(row.plan.get(EDITORS, ())),
    )


def apply_revision(
    session: Session,
    row: DocumentRevision,
    before: lifecycle.Revision,
    after: lifecycle.Revision,
    at: datetime,
) -> list[DocumentSignature]:
    """Store what a lifecycle function changed: status, round, date, and the new signatures
    (signatures are only ever added)."""
    row.status = after.status.value
    row.review_round = after.review_round
    row.effective_on = after.effective_on
    row.content_sha256 = after.content_sha256
    row.updated_at = at
    added = []
    for signature in after.signatures[len(before.signatures) :]:
        sig = DocumentSignature(
            revision_id=row.id,
            user_id=signature.user_id,
            username=signature.username,
            name=signature.name,
            meaning=signature.meaning.value,
            role=signature.role.value if signature.role else None,
            signed_at=signature.signed_at,
            content_sha256=signature.content_sha256,
            review_round=signature.review_round,
            comment=signature.comment,
        )
        session.add(sig)
        added.append(sig)
    session.flush()
    return added


def document_file(session: Session, document: Document, row: DocumentRevision) -> DocumentFile:
    """The revision as the Markdown file it exports to."""
    stated = set(row.plan.get("front_matter", HEADER_FIELDS))
    owner = session.get(User, document.owner_id)
    site = session.get(Site, document.site_id) if document.site_id is not None else None
    line = session.get(Line, document.line_id) if document.line_id is not None else None
    assert owner is not None
    header = Header(
        type=document.type,
        title=row.title,
        owner=owner.username,
        number=document.number if "number" in stated else None,
        area=document.area_code if "area" in stated else None,
        review_interval_months=(
            document.review_interval_months if "review_interval_months" in stated else None
        ),
        site=site.code if site is not None and "site" in stated else None,
        line=line.code if line is not None and "line" in stated else None,
    )
    return DocumentFile(
        header=header, content=content_from_dict(row.content), change=change_of(row)
    )


def signature_json(row: DocumentSignature) -> dict[str, Any]:
    return {
        "username": row.username,
        "name": row.name,
        "meaning": row.meaning,
        "role": row.role,
        "signed_at": row.signed_at.isoformat(),
        "content_sha256": row.content_sha256,
        "comment": row.comment,
    }
