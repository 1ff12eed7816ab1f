"""Full-text search over effective revisions: the indexed text and the queries.

One row of ``document_search`` per document holds the text of its effective revision; SQLite
reads it through FTS5 (``document_fts``, kept by triggers), PostgreSQL through a GIN index on
its tsvector (migration 0008).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from andon.documents.content import Content, content_from_dict
from andon.documents.models import Document, DocumentRevision, DocumentSearch


def searchable_text(content: Content) -> str:
    """Every word a reader might look for: prose, roles, safety notes, steps, references."""
    parts: list[str] = [content.purpose, content.scope]
    parts += [f"{r.role}: {r.responsibility}" for r in content.roles]
    parts += content.hazards
    parts += content.ppe
    for step in content.steps:
        parts.append(step.text)
        if step.key_point:
            parts.append(step.key_point)
        parts += step.accept
    parts += content.references
    return "\n".join(p for p in parts if p)


def index_revision(session: Session, document: Document, revision: DocumentRevision) -> None:
    """Make ``revision`` the searchable text of ``document`` (replacing the one before)."""
    unindex(session, document.id)
    session.add(
        DocumentSearch(
            document_id=document.id,
            revision_id=revision.id,
            number=document.number,
            title=revision.title,
            body=searchable_text(content_from_dict(revision.content)),
        )
    )


def unindex(session: Session, document_id: int) -> None:
    session.execute(delete(DocumentSearch).where(DocumentSearch.document_id == document_id))
