"""Who and what a training view covers: people by role, line and reach; documents by line.

Shared by the matrix and the task lists so both answer "which people, which documents" the
same way. Queries return subqueries and plain columns, never ORM objects per row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from andon.accounts.models import RoleGrant, User
from andon.core.errors import InvalidInput, NotFound
from andon.core.permissions import Reach, Role
from andon.documents.models import Document, DocumentRevision
from andon.plant.models import Area, Line


@dataclass(frozen=True)
class LinePlace:
    """A line with the area and site it belongs to, as filters need them."""

    id: int
    area_id: int
    area_code: str
    site_id: int


def line_place(session: Session, line_id: int) -> LinePlace:
    row = session.execute(
        select(Line.id, Area.id, Area.code, Area.site_id)
        .join(Area, Area.id == Line.area_id)
        .where(Line.id == line_id)
    ).first()
    if row is None:
        raise NotFound(f"no line {line_id}")
    return LinePlace(row[0], row[1], row[2], row[3])


def roles_of(role: str | None, default: Collection[Role]) -> list[str]:
    """The role filter as grant values: one named role, else the plant's training roles."""
    if role is None:
        return sorted(r.value for r in default)
    try:
        return [Role(role).value]
    except ValueError:
        raise InvalidInput.for_field(
            "role", f"{role!r} is not a role; roles: " + ", ".join(r.value for r in Role)
        ) from None


def people_query(
    roles: list[str], line: LinePlace | None, reach: Reach | None
) -> Select[int, str, str]:
    """Active users holding one of ``roles`` with a grant that covers ``line`` (any line when
    None), within ``reach`` (everywhere when None), ordered by username."""
    grant = select(RoleGrant.user_id).where(RoleGrant.role.in_(roles))
    if line is not None:
        grant = grant.where(
            or_(
                and_(RoleGrant.site_id.is_(None), RoleGrant.area_id.is_(None)),
                and_(RoleGrant.site_id == line.site_id, RoleGrant.area_id.is_(None)),
                RoleGrant.area_id == line.area_id,
            )
        )
    query = select(User.id, User.username, User.display_name).where(
        User.active.is_(True), User.id.in_(grant)
    )
    if reach is not None:
        reach_areas = select(Area.id).where(Area.site_id.in_(sorted(reach.site_ids)))
        inside = select(RoleGrant.user_id).where(
            or_(
                RoleGrant.site_id.in_(sorted(reach.site_ids)),
                RoleGrant.area_id.in_(sorted(reach.area_ids)),
                RoleGrant.area_id.in_(reach_areas),
            )
        )
        query = query.where(User.id.in_(inside))
    return query.order_by(User.username)


@dataclass(frozen=True)
class EffectiveDocument:
    """A document with its effective revision, in the columns a training view shows."""

    id: int
    number: str
    title: str
    type: str
    area_code: str | None
    revision: int
    revision_id: int


def effective_documents(
    session: Session,
    *,
    type: str | None = None,
    area: str | None = None,
    line: LinePlace | None = None,
    number: str | None = None,
) -> list[EffectiveDocument]:
    """Documents with an effective revision, by number; ``line`` keeps those that apply there."""
    query = (
        select(
            Document.id,
            Document.number,
            Document.title,
            Document.type,
            Document.area_code,
            Document.site_id,
            Document.line_id,
            DocumentRevision.number,
            DocumentRevision.id,
            DocumentRevision.plan,
        )
        .join(
            DocumentRevision,
            and_(
                DocumentRevision.document_id == Document.id,
                DocumentRevision.number == Document.effective_revision,
            ),
        )
        .where(Document.effective_revision.is_not(None), Document.status == "effective")
        .order_by(Document.number)
    )
    if type is not None:
        query = query.where(Document.type == type)
    if area is not None:
        query = query.where(Document.area_code == area.upper())
    if number is not None:
        query = query.where(Document.number == number)
    found = []
    for doc_id, num, title, kind, area_code, site_id, line_id, rev, rev_id, plan in session.execute(
        query
    ):
        if line is not None and not applies_to(line, plan or {}, site_id, area_code, line_id):
            continue
        found.append(EffectiveDocument(doc_id, num, title, kind, area_code, rev, rev_id))
    return found


def applies_to(
    line: LinePlace,
    plan: dict[str, Any],
    site_id: int | None,
    area_code: str | None,
    line_id: int | None,
) -> bool:
    """Whether a revision applies on ``line``: the same precedence as the training audience
    (the change's lines, else the document's line, else its area code, else its site)."""
    lines = [int(i) for i in plan.get("lines", [])]
    if lines:
        return line.id in lines
    if line_id is not None:
        return line_id == line.id
    if site_id is not None and site_id != line.site_id:
        return False
    return area_code is None or area_code == line.area_code
