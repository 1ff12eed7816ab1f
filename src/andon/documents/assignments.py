"""Read-and-acknowledge tasks: who must read a revision, and what happens to earlier ones.

When a revision takes effect and its change needs training, everyone holding a training role
where the change applies gets a task due in N days; their acknowledgement is an electronic
signature. A revision marked "no training needed" carries acknowledgements of the revision
before it forward, and moves the open tasks onto itself.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from andon.accounts.models import RoleGrant, User
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.documents.rules import DocumentRules
from andon.plant.models import Area, Line

DUE = "due"
DONE = "done"
CARRIED = "carried"
REPLACED = "replaced"
"""An open task of a revision that was superseded by one needing training again."""


def needs_training(revision: DocumentRevision) -> bool:
    """A change says whether it needs training; unstated, it does (the safe default)."""
    return revision.change.get("training") is not False


def audience(
    session: Session, document: Document, revision: DocumentRevision, roles: Collection[str]
) -> list[int]:
    """Ids of the active users who hold one of ``roles`` where the revision applies.

    Where it applies: the lines its change record names, else the document's line, else the
    areas with the document's area code (in its site, when it has one), else everywhere. A
    grant covers a place when it is plant-wide, for the place's site, or for its area.
    """
    return list(session.scalars(_audience(session, document, revision, roles)))


def _audience(
    session: Session, document: Document, revision: DocumentRevision, roles: Collection[str]
) -> Select[int]:
    areas = _areas(session, document, revision)
    grant = select(RoleGrant.user_id).where(RoleGrant.role.in_(list(roles)))
    if areas is not None:
        site_ids = {site for site, _ in areas}
        area_ids = {area for _, area in areas}
        grant = grant.where(
            or_(
                (RoleGrant.site_id.is_(None)) & (RoleGrant.area_id.is_(None)),
                (RoleGrant.site_id.in_(site_ids)) & (RoleGrant.area_id.is_(None)),
                RoleGrant.area_id.in_(area_ids),
            )
        )
    return select(User.id).where(User.active.is_(True), User.id.in_(grant)).order_by(User.id)


def _areas(
    session: Session, document: Document, revision: DocumentRevision
) -> set[tuple[int, int]] | None:
    line_ids = [int(i) for i in revision.plan.get("lines", [])]
    if not line_ids and document.line_id is not None:
        line_ids = [document.line_id]
    if line_ids:
        rows = session.execute(
            select(Area.site_id, Area.id)
            .join(Line, Line.area_id == Area.id)
            .where(Line.id.in_(line_ids))
        )
        return {(site, area) for site, area in rows}
    if document.area_code is not None:
        query = select(Area.site_id, Area.id).where(Area.code == document.area_code)
        if document.site_id is not None:
            query = query.where(Area.site_id == document.site_id)
        return {(site, area) for site, area in session.execute(query)}
    if document.site_id is not None:
        return {
            (document.site_id, area)
            for area in session.scalars(select(Area.id).where(Area.site_id == document.site_id))
        }
    return None


def on_effective(
    session: Session,
    document: Document,
    revision: DocumentRevision,
    previous: DocumentRevision | None,
    rules: DocumentRules,
    at: datetime,
) -> int:
    """The tasks of ``revision`` taking effect now; returns how many were created."""
    earlier: dict[int, TrainingAssignment] = {}
    if previous is not None:
        earlier = {
            a.user_id: a
            for a in session.scalars(
                select(TrainingAssignment).where(TrainingAssignment.revision_id == previous.id)
            )
        }
    due_on = rules.training_due_on(at)
    created = 0
    if not needs_training(revision):
        # Carry the acknowledgements forward; open tasks keep their date on the new revision.
        for user_id, old in earlier.items():
            if old.status in (DONE, CARRIED):
                session.add(_task(document, revision, user_id, at, old.due_on, CARRIED, old))
            elif old.status == DUE:
                old.status = REPLACED
                session.add(_task(document, revision, user_id, at, old.due_on, DUE, None))
            else:
                continue
            created += 1
        return created
    for old in earlier.values():
        if old.status == DUE:
            old.status = REPLACED
    for user_id in audience(session, document, revision, rules.training_roles):
        prior = earlier.get(user_id)
        knew = prior if prior is not None and prior.status in (DONE, CARRIED) else None
        session.add(_task(document, revision, user_id, at, due_on, DUE, knew))
        created += 1
    return created


def assign_newcomers(
    session: Session,
    document: Document,
    revision: DocumentRevision,
    rules: DocumentRules,
    at: datetime,
) -> int:
    """Tasks for people who took up a training role after ``revision`` took effect.

    One query finds the people of the audience without a task for the revision (whatever
    its status: someone who already acknowledged is not asked again). A revision marked
    "no training needed" asks them too: the old acknowledgements it carries forward are other
    people's, and someone new to the role has read none.
    """
    newcomers = find_newcomers(session, document, revision, rules)
    due_on = rules.training_due_on(at)
    session.add_all(_task(document, revision, u, at, due_on, DUE, None) for u in newcomers)
    return len(newcomers)


def find_newcomers(
    session: Session, document: Document, revision: DocumentRevision, rules: DocumentRules
) -> list[int]:
    """Ids of the people in the revision's audience who have no task for it."""
    missing = _audience(session, document, revision, rules.training_roles).where(
        ~exists().where(
            TrainingAssignment.revision_id == revision.id,
            TrainingAssignment.user_id == User.id,
        )
    )
    return list(session.scalars(missing))


def _task(
    document: Document,
    revision: DocumentRevision,
    user_id: int,
    at: datetime,
    due_on: object,
    status: str,
    knew: TrainingAssignment | None,
) -> TrainingAssignment:
    return TrainingAssignment(
        document_id=document.id,
        revision_id=revision.id,
        user_id=user_id,
        status=status,
        assigned_at=at,
        due_on=due_on,
        previous_revision_id=knew.revision_id if knew is not None else None,
        acknowledged_at=knew.acknowledged_at if status == CARRIED and knew else None,
        signature_id=knew.signature_id if status == CARRIED and knew else None,
    )
