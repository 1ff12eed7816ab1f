"""Full-text search over effective revisions: the indexed text and the queries.

One row of ``document_search`` per document holds the text of its effective revision; SQLite
reads it through FTS5 (``document_fts``, kept by triggers), PostgreSQL through a GIN index on
its tsvector (migration 0008).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from andon.core.errors import InvalidInput
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
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


_WORD = re.compile(r"\w+", re.UNICODE)
_OPEN, _CLOSE = "\x02", "\x03"
MAX_QUERY = 200


@dataclass(frozen=True)
class SearchHit:
    """A document whose effective revision matches; ``snippet`` is (text, matched) pieces, so
    a page escapes the text and marks the matches without trusting any markup."""

    number: str
    title: str
    type: str
    area: str | None
    revision: int
    snippet: tuple[tuple[str, bool], ...]
    rank: float

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "type": self.type,
            "area": self.area,
            "revision": self.revision,
            "snippet": "".join(f"[{t}]" if hit else t for t, hit in self.snippet),
            "rank": self.rank,
        }


def search_documents(
    ctx: Context,
    query: str,
    *,
    type: str | None = None,
    area: str | None = None,
    line_id: int | None = None,
    owner: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Effective revisions matching every word of ``query`` (prefixes count: "torq" finds
    "torque"), best first, with a snippet around the matches."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    words = _WORD.findall(query)[:20]
    if not words or len(query) > MAX_QUERY:
        raise InvalidInput.for_field(
            "q", f"give one or more words to search for (at most {MAX_QUERY} characters)"
        )
    where, params = _filters(type, area, line_id, owner)
    params["limit"] = max(1, min(limit, 200))
    with ctx.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            rows = _postgres(session, words, where, params)
        else:
            rows = _sqlite(session, words, where, params)
    return [
        SearchHit(r.number, r.title, r.type, r.area_code, r.revision, _pieces(r.snippet), r.rank)
        for r in rows
    ]


def _filters(
    type: str | None, area: str | None, line_id: int | None, owner: str | None
) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if type:
        clauses.append("d.type = :type")
        params["type"] = type
    if area:
        clauses.append("d.area_code = :area")
        params["area"] = area
    if line_id is not None:
        clauses.append("d.line_id = :line_id")
        params["line_id"] = line_id
    if owner:
        clauses.append("d.owner_id = (SELECT id FROM users WHERE username = :owner)")
        params["owner"] = owner
    return "".join(f" AND {c}" for c in clauses), params


# Only fixed text and the filters' own clauses (with bound placeholders) go into {where}.
# The best ``limit`` matches are chosen first, by rank alone; the snippets, which re-read the
# text, are cut for those few rows only, not for every match of a common word.
_SQLITE_SEARCH = (
    "WITH best AS ("
    " SELECT f.rowid AS document_id, bm25(document_fts, 10.0, 5.0, 1.0) AS rank"
    " FROM document_fts f JOIN documents d ON d.id = f.rowid"
    " WHERE document_fts MATCH :q{where} ORDER BY rank LIMIT :limit"
    ") "
    "SELECT d.number, s.title, d.type, d.area_code, r.number AS revision, "
    "snippet(document_fts, 2, '\x02', '\x03', '…', 16) AS snippet, best.rank "
    "FROM document_fts JOIN best ON best.document_id = document_fts.rowid "
    "JOIN document_search s ON s.document_id = best.document_id "
    "JOIN documents d ON d.id = s.document_id "
    "JOIN document_revisions r ON r.id = s.revision_id "
    "WHERE document_fts MATCH :q ORDER BY best.rank, d.number"
)
# ``search_vector`` is a stored generated column with a GIN index, PostgreSQL only (0008).
_POSTGRES_SEARCH = (
    "WITH best AS MATERIALIZED ("
    " SELECT s.document_id, -ts_rank(s.search_vector, to_tsquery('english', :q)) AS rank"
    " FROM document_search s JOIN documents d ON d.id = s.document_id"
    " WHERE s.search_vector @@ to_tsquery('english', :q){where} ORDER BY rank LIMIT :limit"
    ") "
    "SELECT d.number, s.title, d.type, d.area_code, r.number AS revision, "
    "ts_headline('english', s.body, to_tsquery('english', :q), "
    "'StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=10') AS snippet, best.rank "
    "FROM best JOIN document_search s ON s.document_id = best.document_id "
    "JOIN documents d ON d.id = s.document_id "
    "JOIN document_revisions r ON r.id = s.revision_id "
    "ORDER BY best.rank, d.number"
)


def _sqlite(session: Session, words: list[str], where: str, params: dict[str, Any]) -> Any:
    # Each word quoted (no FTS5 operators from user input) and matched as a prefix.
    params["q"] = " ".join('"' + w.replace('"', "") + '"*' for w in words)
    return session.execute(text(_SQLITE_SEARCH.replace("{where}", where)), params).all()


def _postgres(session: Session, words: list[str], where: str, params: dict[str, Any]) -> Any:
    # Words only (\w+), each a prefix, all required: no tsquery syntax from user input.
    params["q"] = " & ".join(w + ":*" for w in words)
    return session.execute(text(_POSTGRES_SEARCH.replace("{where}", where)), params).all()


def _pieces(snippet: str) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{_OPEN}{_CLOSE}]", snippet or "")):
        if part:
            out.append((part, i % 2 == 1))
    return tuple(out)
